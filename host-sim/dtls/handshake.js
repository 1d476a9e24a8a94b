// Handshake message framing (RFC 6347 §4.2.2-4.2.3): every handshake message carries
//   msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3) body
// so it can be split over records and datagrams and put together again in order.
export const HandshakeType = Object.freeze({
	helloRequest: 0, clientHello: 1, serverHello: 2, helloVerifyRequest: 3,
	serverKeyExchange: 12, serverHelloDone: 14, clientKeyExchange: 16, finished: 20,
});
export const HEADER_LENGTH = 12;
const MAX_MESSAGE = 16384; // nothing a PSK client sends comes near this

/** Handshake fragments in one record's plaintext; throws on a malformed one. */
export function parseFragments(data) {
	const fragments = [];
	let at = 0;
	while (at < data.length) {
		if (data.length - at < HEADER_LENGTH) throw new Error("truncated handshake header");
		const f = {
			msgType: data[at],
			length: data.readUIntBE(at + 1, 3),
			messageSeq: data.readUInt16BE(at + 4),
			fragmentOffset: data.readUIntBE(at + 6, 3),
			fragmentLength: data.readUIntBE(at + 9, 3),
		};
		if (f.fragmentOffset + f.fragmentLength > f.length || at + HEADER_LENGTH + f.fragmentLength > data.length) {
			throw new Error("handshake fragment exceeds its message or record");
		}
		f.body = data.subarray(at + HEADER_LENGTH, at + HEADER_LENGTH + f.fragmentLength);
		fragments.push(f);
		at += HEADER_LENGTH + f.fragmentLength;
	}
	return fragments;
}

function header(msgType, length, messageSeq, offset, fragmentLength) {
	const h = Buffer.alloc(HEADER_LENGTH);
	h[0] = msgType;
	h.writeUIntBE(length, 1, 3);
	h.writeUInt16BE(messageSeq, 4);
	h.writeUIntBE(offset, 6, 3);
	h.writeUIntBE(fragmentLength, 9, 3);
	return h;
}

/**
 * The message as one unfragmented piece - the form that goes into the Finished hash
 * (RFC 6347 §4.2.6) whatever fragments it travelled in.
 */
export function encodeMessage(msgType, messageSeq, body) {
	return Buffer.concat([header(msgType, body.length, messageSeq, 0, body.length), body]);
}

/** The message split into fragments of at most maxBody octets of body each. */
export function fragmentMessage(msgType, messageSeq, body, maxBody) {
	if (body.length <= maxBody) return [encodeMessage(msgType, messageSeq, body)];
	const out = [];
	for (let offset = 0; offset < body.length; offset += maxBody) {
		const piece = body.subarray(offset, offset + maxBody);
		out.push(Buffer.concat([header(msgType, body.length, messageSeq, offset, piece.length), piece]));
	}
	return out;
}

/**
 * Puts fragments together and hands out whole messages strictly in message_seq order.
 * Messages ahead of the next expected one are buffered (a few); older ones mean the
 * peer retransmitted a flight we already have, which the caller answers by
 * retransmitting its own last flight.
 */
export class Reassembler {
	constructor(nextSeq = 0, { window = 8 } = {}) {
		this.nextSeq = nextSeq;
		this.window = window;
		this.pending = new Map(); // messageSeq -> {msgType, body, have: Uint8Array, missing}
	}
	/** @returns {{messages: Array<{msgType, messageSeq, body}>, old: boolean}} */
	add(f) {
		if (f.messageSeq < this.nextSeq) return { messages: [], old: true };
		if (f.messageSeq >= this.nextSeq + this.window || f.length > MAX_MESSAGE) return { messages: [], old: false };
		let p = this.pending.get(f.messageSeq);
		if (!p) {
			p = { msgType: f.msgType, body: Buffer.alloc(f.length), have: new Uint8Array(f.length), missing: f.length };
			this.pending.set(f.messageSeq, p);
		} else if (p.msgType !== f.msgType || p.body.length !== f.length) {
			return { messages: [], old: false }; // inconsistent with what we have: ignore
		}
		for (let i = 0; i < f.fragmentLength; i++) {
			const at = f.fragmentOffset + i;
			if (!p.have[at]) {
				p.have[at] = 1;
				p.missing--;
			}
		}
		f.body.copy(p.body, f.fragmentOffset);
		const messages = [];
		for (;;) {
			const next = this.pending.get(this.nextSeq);
			if (!next || next.missing > 0) break;
			this.pending.delete(this.nextSeq);
			messages.push({ msgType: next.msgType, messageSeq: this.nextSeq, body: next.body });
			this.nextSeq++;
		}
		return { messages, old: false };
	}
}
