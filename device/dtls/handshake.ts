// DTLS handshake messages for a PSK client (RFC 6347 §4.2, RFC 5246 §7.4, RFC 4279):
// writing ClientHello / ClientKeyExchange / Finished, reading HelloVerifyRequest /
// ServerHello / ServerKeyExchange / ServerHelloDone / Finished, and putting fragmented
// messages back together.

import { HANDSHAKE_HEADER, HandshakeType, VERSION_MAJOR, VERSION_MINOR } from "./constants";

export class DecodeError extends Error {}

/** A handshake message with its DTLS header, as the handshake hash takes it (unfragmented). */
export function handshakeMessage(type: number, seq: number, body: Uint8Array): Uint8Array {
	const out = new Uint8Array(HANDSHAKE_HEADER + body.length);
	out[0] = type;
	put24(out, 1, body.length);
	out[4] = seq >> 8;
	out[5] = seq & 0xff;
	put24(out, 6, 0);
	put24(out, 9, body.length);
	out.set(body, HANDSHAKE_HEADER);
	return out;
}

export function clientHello(random: Uint8Array, cookie: Uint8Array, suites: readonly number[]): Uint8Array {
	const n = 2 + 32 + 1 + 1 + cookie.length + 2 + suites.length * 2 + 2;
	const b = new Uint8Array(n);
	let i = 0;
	b[i++] = VERSION_MAJOR;
	b[i++] = VERSION_MINOR;
	b.set(random, i);
	i += 32;
	b[i++] = 0; // no session id: every connection is a full handshake
	b[i++] = cookie.length;
	b.set(cookie, i);
	i += cookie.length;
	b[i++] = (suites.length * 2) >> 8;
	b[i++] = (suites.length * 2) & 0xff;
	for (const s of suites) {
		b[i++] = s >> 8;
		b[i++] = s & 0xff;
	}
	b[i++] = 1; // compression methods: null only
	b[i++] = 0;
	return b;
}

/** ClientKeyExchange for PSK: the identity (RFC 4279 §2). */
export function pskClientKeyExchange(identity: Uint8Array): Uint8Array {
	const b = new Uint8Array(2 + identity.length);
	b[0] = identity.length >> 8;
	b[1] = identity.length & 0xff;
	b.set(identity, 2);
	return b;
}

/** premaster secret for plain PSK: uint16 N, N zeros, uint16 N, the key (RFC 4279 §2). */
export function pskPremaster(psk: Uint8Array): Uint8Array {
	const n = psk.length;
	const b = new Uint8Array(4 + 2 * n);
	b[0] = n >> 8;
	b[1] = n & 0xff;
	b[2 + n] = n >> 8;
	b[3 + n] = n & 0xff;
	b.set(psk, 4 + n);
	return b;
}

export function cookieOf(body: Uint8Array): Uint8Array {
	// server_version (2), cookie <0..255>
	if (body.length < 3 || body.length < 3 + body[2]) throw new DecodeError("HelloVerifyRequest too short");
	return body.slice(3, 3 + body[2]);
}

export interface ServerHello {
	random: Uint8Array;
	suite: number;
}

export function parseServerHello(body: Uint8Array): ServerHello {
	if (body.length < 38) throw new DecodeError("ServerHello too short");
	if (body[0] !== VERSION_MAJOR || body[1] !== VERSION_MINOR) throw new DecodeError(`ServerHello version ${body[0]}.${body[1]} is not DTLS 1.2`);
	const random = body.slice(2, 34);
	const sidLength = body[34];
	let i = 35 + sidLength;
	if (body.length < i + 3) throw new DecodeError("ServerHello too short");
	const suite = (body[i] << 8) | body[i + 1];
	i += 2;
	if (body[i] !== 0) throw new DecodeError("ServerHello chose a compression method");
	return { random, suite };
}

/** ServerKeyExchange for PSK carries the identity hint (may be empty). */
export function parsePskHint(body: Uint8Array): Uint8Array {
	if (body.length < 2) throw new DecodeError("ServerKeyExchange too short");
	const n = (body[0] << 8) | body[1];
	if (body.length < 2 + n) throw new DecodeError("ServerKeyExchange too short");
	return body.slice(2, 2 + n);
}

export function put24(b: Uint8Array, at: number, v: number) {
	b[at] = (v >> 16) & 0xff;
	b[at + 1] = (v >> 8) & 0xff;
	b[at + 2] = v & 0xff;
}
export const get24 = (b: Uint8Array, at: number) => (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];

/**
 * Collects handshake fragments and hands out whole messages in message_seq order. Bounded:
 * a message larger than `max` or too far ahead is refused (a flood must not fill the heap).
 */
export class Reassembly {
	next = 0; // the message_seq expected next
	#pending = new Map<number, { type: number; body: Uint8Array; have: Uint8Array; filled: number }>();
	readonly max: number;
	constructor(max = 2048) {
		this.max = max;
	}
	reset(next = 0) {
		this.next = next;
		this.#pending.clear();
	}
	/** Add one fragment (header included). */
	add(fragment: Uint8Array) {
		if (fragment.length < HANDSHAKE_HEADER) throw new DecodeError("handshake fragment too short");
		const type = fragment[0];
		const length = get24(fragment, 1);
		const seq = (fragment[4] << 8) | fragment[5];
		const offset = get24(fragment, 6);
		const flen = get24(fragment, 9);
		if (fragment.length < HANDSHAKE_HEADER + flen || offset + flen > length) throw new DecodeError("bad handshake fragment");
		if (seq < this.next || seq > this.next + 4) return; // old (a retransmission) or far ahead
		if (length > this.max) throw new DecodeError(`handshake message of ${length} bytes`);
		let m = this.#pending.get(seq);
		if (!m) {
			m = { type, body: new Uint8Array(length), have: new Uint8Array(length), filled: 0 };
			this.#pending.set(seq, m);
		}
		if (m.type !== type || m.body.length !== length) throw new DecodeError("inconsistent handshake fragments");
		m.body.set(fragment.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + flen), offset);
		for (let i = offset; i < offset + flen; i++) if (!m.have[i]) {
			m.have[i] = 1;
			m.filled++;
		}
	}
	/** The next whole message, if it has arrived. */
	take(): { type: number; seq: number; body: Uint8Array } | undefined {
		const m = this.#pending.get(this.next);
		if (!m || m.filled !== m.body.length) return undefined;
		this.#pending.delete(this.next);
		return { type: m.type, seq: this.next++, body: m.body };
	}
}

export { HandshakeType };
