// One peer's record layer: read and write states per epoch (epoch 0 in the clear, epoch
// 1 under the negotiated suite), 48-bit write sequence numbers per epoch, and an
// anti-replay window per read epoch. Retransmitted handshake records get fresh sequence
// numbers (RFC 6347 §4.2.4), so every call to seal() consumes one.
import { DTLS_1_2, MAX_SEQUENCE, encodeRecord } from "./record.js";
import { ReplayWindow } from "./replay-window.js";

export class RecordLayer {
	/** @param firstWriteSeq the epoch-0 sequence number to start at (see DtlsSession) */
	constructor({ firstWriteSeq = 0 } = {}) {
		this.read = new Map([[0, { cipher: undefined, window: new ReplayWindow() }]]);
		this.write = new Map([[0, { cipher: undefined, seq: firstWriteSeq }]]);
		this.writeEpoch = 0;
	}
	hasReadEpoch(epoch) {
		return this.read.has(epoch);
	}
	setReadEpoch(epoch, cipher) {
		this.read.set(epoch, { cipher, window: new ReplayWindow() });
	}
	setWriteEpoch(epoch, cipher) {
		this.write.set(epoch, { cipher, seq: 0 });
	}
	/** Mark epoch 0's window with a record the server handled before this layer existed. */
	markReceived(epoch, seq) {
		this.read.get(epoch)?.window.accept(seq);
	}
	/**
	 * Replay check, then authentication, then the window moves.
	 * @returns {{plaintext: Buffer} | {drop: "epoch" | "replay" | "badMac"}}
	 */
	open(record) {
		const state = this.read.get(record.epoch);
		if (!state) return { drop: "epoch" };
		if (!state.window.check(record.seq)) return { drop: "replay" };
		let plaintext = record.fragment;
		if (state.cipher) {
			plaintext = state.cipher.open(record.type, record.version, record.epoch, record.seq, record.fragment);
			if (!plaintext) return { drop: "badMac" };
		}
		state.window.accept(record.seq);
		return { plaintext };
	}
	/** One protected record, ready to go in a datagram. */
	seal(type, payload, epoch = this.writeEpoch, version = DTLS_1_2) {
		const state = this.write.get(epoch);
		if (!state) throw new Error(`dtls: no write state for epoch ${epoch}`);
		if (state.seq > MAX_SEQUENCE) throw new Error("dtls: record sequence numbers exhausted");
		const seq = state.seq++;
		const fragment = state.cipher ? state.cipher.seal(type, version, epoch, seq, payload) : payload;
		return encodeRecord({ type, version, epoch, seq, fragment });
	}
}
