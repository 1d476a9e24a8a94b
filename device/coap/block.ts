// Block-wise transfers (RFC 7959), server side.
//  - Block1: request bodies that arrive in blocks are reassembled per peer and path;
//    each block but the last is answered 2.31 Continue; a gap is 4.08, a body past the
//    limit 4.13 with Size1 saying the limit.
//  - Block2: a representation larger than the block size is kept for a while with an
//    ETag, and the client fetches it block by block.
//  - Block1Stream: for one chosen path (a firmware package), each block goes straight to a
//    sink as it arrives, never the whole body in RAM; matched by peer, path and block
//    number (not by token), block 0 restarts, a block sent again is not written twice.

import { Code, EXCHANGE_LIFETIME } from "./constants";
import { blockNum, blockMore, blockSzx, blockSize, blockValue } from "./message";
import type { Exchange } from "./endpoint";
import { monotonic } from "../monotonic";

interface Assembly {
	szx: number;
	buffer: Uint8Array;
	length: number;
	expires: number;
}

export const Block1Result = { Continue: 0, Complete: 1, Failed: 2 } as const;

export class Block1Receiver {
	#assemblies = new Map<string, Assembly>();
	readonly maxBody: number;
	readonly maxSzx: number;

	constructor(maxBody: number, maxSzx = 6) {
		this.maxBody = maxBody;
		this.maxSzx = maxSzx;
	}

	/**
	 * One block of a request body. Answers the exchange itself unless the body is complete;
	 * then `body()` gives it and `finalBlock1` the option value for the final response.
	 */
	receive(exchange: Exchange, key: string, value: number, payload: Uint8Array, size1: number): number {
		const num = blockNum(value), more = blockMore(value), szx = blockSzx(value);
		const o = exchange.options();
		if (szx === 7) {
			exchange.respond(Code.BadRequest, "Block1 SZX 7 is reserved");
			return Block1Result.Failed;
		}
		if (size1 > this.maxBody) {
			o.size1 = this.maxBody;
			exchange.respond(Code.RequestEntityTooLarge, undefined, o);
			return Block1Result.Failed;
		}
		const size = blockSize(szx);
		if (more && payload.length !== size) {
			exchange.respond(Code.BadRequest, "a Block1 block but the last must fill its size");
			return Block1Result.Failed;
		}
		let a = this.#assemblies.get(key);
		if (num === 0) {
			a = { szx, buffer: new Uint8Array(Math.min(this.maxBody, size1 > 0 ? size1 : size * 2)), length: 0, expires: 0 };
			this.#assemblies.set(key, a);
		}
		// blocks must be contiguous: this one starts where the body so far ends
		if (!a || num * size !== a.length) {
			exchange.respond(Code.RequestEntityIncomplete, "Block1 out of sequence");
			if (a) this.#assemblies.delete(key);
			return Block1Result.Failed;
		}
		const end = num * size + payload.length;
		if (end > this.maxBody) {
			this.#assemblies.delete(key);
			o.size1 = this.maxBody;
			exchange.respond(Code.RequestEntityTooLarge, undefined, o);
			return Block1Result.Failed;
		}
		if (end > a.buffer.length) {
			const grown = new Uint8Array(Math.min(this.maxBody, Math.max(end, a.buffer.length * 2)));
			grown.set(a.buffer.subarray(0, a.length));
			a.buffer = grown;
		}
		a.buffer.set(payload, num * size);
		a.length = end;
		a.szx = szx;
		a.expires = monotonic() + EXCHANGE_LIFETIME;
		if (more) {
			// the server may ask for smaller blocks (§2.3): never larger than it takes
			const reply = Math.min(szx, this.maxSzx);
			o.block1 = blockValue(num, true, reply);
			a.szx = reply;
			exchange.respond(Code.Continue, undefined, o);
			return Block1Result.Continue;
		}
		this.#assemblies.delete(key);
		this.completed = a.buffer.subarray(0, a.length);
		this.finalBlock1 = blockValue(num, false, szx);
		return Block1Result.Complete;
	}
	completed: Uint8Array = new Uint8Array(0);
	finalBlock1 = -1;

	/** Drop assemblies abandoned by their clients. */
	expire(now: number) {
		for (const [key, a] of this.#assemblies) if (a.expires < now) this.#assemblies.delete(key);
	}
	get pending() {
		return this.#assemblies.size;
	}
}

interface Representation {
	payload: Uint8Array;
	contentFormat: number;
	etag: Uint8Array;
	expires: number;
}

export class Block2Sender {
	#kept = new Map<string, Representation>();
	#etag = 0;
	readonly szx: number;
	readonly maxKept: number;

	constructor(szx = 6, maxKept = 4) {
		this.szx = szx;
		this.maxKept = maxKept;
	}

	/** Keep a large representation for its later blocks; returns its ETag. */
	keep(key: string, payload: Uint8Array, contentFormat: number): Representation {
		if (this.#kept.size >= this.maxKept && !this.#kept.has(key)) {
			const oldest = this.#kept.keys().next().value;
			if (oldest !== undefined) this.#kept.delete(oldest);
		}
		this.#etag = (this.#etag + 1) & 0xffffffff;
		const etag = Uint8Array.of(this.#etag >>> 24, (this.#etag >> 16) & 0xff, (this.#etag >> 8) & 0xff, this.#etag & 0xff);
		const r = { payload: payload.slice(), contentFormat, etag, expires: monotonic() + EXCHANGE_LIFETIME };
		this.#kept.delete(key);
		this.#kept.set(key, r);
		return r;
	}
	kept(key: string): Representation | undefined {
		const r = this.#kept.get(key);
		if (r && r.expires < monotonic()) {
			this.#kept.delete(key);
			return undefined;
		}
		return r;
	}
	expire(now: number) {
		for (const [key, r] of this.#kept) if (r.expires < now) this.#kept.delete(key);
	}
}

/**
 * Where a Block1 *stream* puts a request body: each block goes to the sink as it arrives,
 * in order and once, never the whole body in RAM (a firmware package to flash). A method
 * returns 0 to go on, or a CoAP code to refuse with `reason` (the transfer ends there).
 */
export interface Block1Sink {
	/** text of the last refusal */
	reason: string;
	/** A new body starts (block 0, or a request without Block1): the sink drops whatever came before (no abort() first). */
	begin(peer: string, method: number, contentFormat: number, size1: number, payload: Uint8Array, more: boolean): number;
	/** The next bytes of the body, after the ones written before. */
	write(bytes: Uint8Array): number;
	/** Every byte is in: the code of the final response (2.04 or a refusal). */
	end(): number;
	/** The body will not be finished: a peer's block 0 elsewhere, a refusal, the peer gone quiet. */
	abort(why: string): void;
}

/** The transfer a stream is in, one per path: matched by peer, path and block number, never by token. */
class StreamState {
	peer = "";
	/** bytes written so far */
	received = 0;
	/** 0 nothing, 1 under way, 2 finished (final answer kept), 3 failed (refusal kept) */
	phase = 0;
	finalCode = 0;
	finalReason = "";
	finalBlock1 = -1;
	expires = 0;
}

export const StreamPhase = { None: 0, Open: 1, Finished: 2, Failed: 3 } as const;

/**
 * RFC 7959 Block1 into a sink, for one path:
 *  - block 0 (or a request without Block1) begins a new body, whatever came before
 *    (§2.5: a client may start over; a restarted push is never taken for a duplicate);
 *  - the next block is answered 2.31 first, then written (slow flash work after the ACK);
 *  - a block already written (sent again with a new Message ID or token) gets its 2.31
 *    again, or the final answer again, and is not written twice;
 *  - a block past the bytes received is 4.08, and the transfer stays where it was;
 *  - a transfer idle for `idleMs` is aborted (`expire`).
 */
export class Block1Stream {
	readonly path: string;
	readonly sink: Block1Sink;
	readonly maxSzx: number;
	idleMs: number;
	#s = new StreamState();

	constructor(path: string, sink: Block1Sink, maxSzx = 6, idleMs = EXCHANGE_LIFETIME) {
		this.path = path;
		this.sink = sink;
		this.maxSzx = maxSzx;
		this.idleMs = idleMs;
	}

	get phase() {
		return this.#s.phase;
	}
	get received() {
		return this.#s.received;
	}

	/** The server's part: one request on the path; block1 -1 when it has no Block1 option. */
	receive(exchange: Exchange, method: number, contentFormat: number, block1: number, size1: number, payload: Uint8Array) {
		const s = this.#s;
		const peer = exchange.peer.key;
		const num = block1 >= 0 ? blockNum(block1) : 0;
		const more = block1 >= 0 ? blockMore(block1) : false;
		const szx = block1 >= 0 ? blockSzx(block1) : 6;
		if (szx === 7) {
			exchange.respond(Code.BadRequest, "Block1 SZX 7 is reserved");
			return;
		}
		const size = blockSize(szx);
		if (more && payload.length !== size) {
			exchange.respond(Code.BadRequest, "a Block1 block but the last must fill its size");
			return;
		}
		const sink = this.sink;
		const now = monotonic();
		if (num === 0) {
			s.peer = peer;
			s.received = 0;
			s.phase = StreamPhase.Open;
			s.expires = now + this.idleMs;
			const code = sink.begin(peer, method, contentFormat, size1, payload, more);
			if (code) return this.#fail(exchange, code, sink.reason);
			return this.#accept(exchange, 0, payload, more, szx, block1);
		}
		const offset = num * size;
		const end = offset + payload.length;
		if (s.peer !== peer || s.phase === StreamPhase.None) {
			exchange.respond(Code.RequestEntityIncomplete, "Block1 out of sequence: no transfer under way (start from block 0)");
			return;
		}
		if (s.phase === StreamPhase.Failed) return this.#final(exchange, s.finalCode, s.finalReason, -1);
		// a repeat of a block already written (a new Message ID or token): the same answer
		// again, nothing written twice
		if (end <= s.received) {
			if (!more && s.phase === StreamPhase.Finished) return this.#final(exchange, s.finalCode, s.finalReason, s.finalBlock1);
			s.expires = now + this.idleMs;
			const o = exchange.options();
			o.block1 = blockValue(num, true, Math.min(szx, this.maxSzx));
			exchange.respond(Code.Continue, undefined, o);
			return;
		}
		if (s.phase === StreamPhase.Finished) {
			exchange.respond(Code.RequestEntityIncomplete, "Block1 out of sequence: the transfer is finished (start from block 0)");
			return;
		}
		if (offset > s.received) {
			exchange.respond(Code.RequestEntityIncomplete, `Block1 out of sequence: block ${num} starts at byte ${offset}, ${s.received} received`);
			return;
		}
		s.expires = now + this.idleMs;
		// a block overlapping what is in (the block size shrank): only its new bytes
		this.#accept(exchange, num, offset < s.received ? payload.subarray(s.received - offset) : payload, more, szx, block1);
	}

	#accept(exchange: Exchange, num: number, bytes: Uint8Array, more: boolean, szx: number, block1: number) {
		const s = this.#s;
		const sink = this.sink;
		if (more) {
			// 2.31 first: the ACK leaves before the flash work the write may do
			const o = exchange.options();
			o.block1 = blockValue(num, true, Math.min(szx, this.maxSzx));
			exchange.respond(Code.Continue, undefined, o);
			s.received += bytes.length;
			const code = sink.write(bytes);
			if (code) this.#failed(code, sink.reason);
			return;
		}
		s.received += bytes.length;
		let code = sink.write(bytes);
		if (!code) code = sink.end();
		const reason = code < Code.BadRequest ? "" : sink.reason;
		if (code >= Code.BadRequest) {
			sink.abort(reason);
			s.phase = StreamPhase.Failed;
		} else s.phase = StreamPhase.Finished;
		s.finalCode = code;
		s.finalReason = reason;
		s.finalBlock1 = block1 >= 0 ? blockValue(num, false, szx) : -1;
		this.#final(exchange, code, reason, s.finalBlock1);
	}

	#failed(code: number, reason: string) {
		const s = this.#s;
		this.sink.abort(reason);
		s.phase = StreamPhase.Failed;
		s.finalCode = code;
		s.finalReason = reason;
	}

	#fail(exchange: Exchange, code: number, reason: string) {
		this.#failed(code, reason);
		this.#final(exchange, code, reason, -1);
	}

	#final(exchange: Exchange, code: number, reason: string, block1: number) {
		const o = exchange.options();
		o.block1 = block1;
		exchange.respond(code, reason ? reason : undefined, o);
	}

	/** Abort a transfer whose peer went quiet. */
	expire(now: number) {
		const s = this.#s;
		if (s.phase === StreamPhase.Open && s.expires < now) {
			s.phase = StreamPhase.None;
			this.sink.abort("no block for a while: the transfer is abandoned");
		}
	}

	/** Forget the transfer (the application cancelled it): later blocks are out of sequence. */
	reset() {
		this.#s.phase = StreamPhase.None;
		this.#s.received = 0;
	}

	/** When expire() has something to do (monotonic ms), or Infinity. */
	get deadline() {
		return this.#s.phase === StreamPhase.Open ? this.#s.expires : Infinity;
	}
}
