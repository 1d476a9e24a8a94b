// Block-wise transfers (RFC 7959), server side.
//  - Block1: request bodies that arrive in blocks are reassembled per peer and path;
//    each block but the last is answered 2.31 Continue; a gap is 4.08, a body past the
//    limit 4.13 with Size1 saying the limit.
//  - Block2: a representation larger than the block size is kept for a while with an
//    ETag, and the client fetches it block by block.

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
