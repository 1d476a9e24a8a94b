// A minimal CBOR (RFC 8949) for SenML CBOR and LwM2M CBOR: writer functions on a
// ByteWriter, and a cursor reader that walks the input in place, never recursing, so that
// hostile nesting costs a bounded stack and a FormatError rather than a reset.

import { ByteWriter, FormatError, utf8Size, utf8Strict } from "./record";

// Integers are JS numbers, so only those that are exact as doubles travel: |v| <= 2^53
// (a larger one read is refused, not rounded; writing one is a RangeError).
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

// ---------------------------------------------------------------- writing

/** A head: major type and argument n (0 <= n <= 2^53), in the shortest form (§4.2.1). */
export function writeHead(w: ByteWriter, major: number, n: number): void {
	const m = major << 5;
	if (n < 24) w.u8(m | n);
	else if (n < 0x100) w.u8(m | 24).u8(n);
	else if (n < 0x10000) w.u8(m | 25).u16(n);
	else if (n < TWO_32) w.u8(m | 26).u32(n);
	else {
		const hi = Math.floor(n / TWO_32);
		w.u8(m | 27).u32(hi).u32(n - hi * TWO_32);
	}
}

/** An integer, -2^53 <= v <= 2^53. */
export function writeInt(w: ByteWriter, v: number): void {
	if (!Number.isInteger(v) || Math.abs(v) > TWO_53) throw new RangeError(`cbor: ${v} is not an exact integer`);
	if (v >= 0) writeHead(w, 0, v);
	else writeHead(w, 1, -1 - v);
}

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and a buffer
// a module body makes lives in flash on the ESP32, read-only ("read-only buffer" at the first write)
let f32: DataView | undefined;

/** The half-precision bits of v when it is exactly one, else -1. */
function halfBits(v: number): number {
	f32 ??= new DataView(new ArrayBuffer(4));
	f32.setFloat32(0, v);
	const bits = f32.getUint32(0);
	const sign = (bits >>> 16) & 0x8000;
	const exp = (bits >>> 23) & 0xff;
	const mant = bits & 0x7fffff;
	if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // infinities; NaN as the canonical quiet NaN
	if (exp === 0) return mant ? -1 : sign;
	const e = exp - 127;
	if (e >= -14 && e <= 15) return mant & 0x1fff ? -1 : sign | ((e + 15) << 10) | (mant >> 13);
	if (e >= -24 && e < -14) {
		// a half subnormal: m * 2^-24 with m < 1024
		const full = 0x800000 | mant;
		const shift = -1 - e;
		return full & ((1 << shift) - 1) ? -1 : sign | (full >> shift);
	}
	return -1;
}

/** A float in the shortest of half, single and double that holds it exactly (§4.2.2). */
export function writeFloat(w: ByteWriter, v: number): void {
	if (Math.fround(v) === v || v !== v) {
		const half = halfBits(v);
		if (half >= 0) w.u8(0xf9).u16(half);
		else w.u8(0xfa).f32(v);
	} else w.u8(0xfb).f64(v);
}

/** A number as an integer when it is one (exactly, and not -0), else as writeFloat. */
export function writeNumber(w: ByteWriter, v: number): void {
	if (Number.isInteger(v) && Math.abs(v) <= TWO_53 && !(v === 0 && 1 / v < 0)) writeInt(w, v);
	else writeFloat(w, v);
}

export function writeText(w: ByteWriter, s: string): void {
	writeHead(w, 3, utf8Size(s));
	w.utf8(s);
}
export function writeBytes(w: ByteWriter, b: Uint8Array): void {
	writeHead(w, 2, b.length);
	w.bytesOf(b);
}
export const writeArray = (w: ByteWriter, count: number) => writeHead(w, 4, count);
export const writeMap = (w: ByteWriter, pairs: number) => writeHead(w, 5, pairs);
export const writeBool = (w: ByteWriter, v: boolean) => void w.u8(v ? 0xf5 : 0xf4);
export const writeNull = (w: ByteWriter) => void w.u8(0xf6);

// ---------------------------------------------------------------- reading

/** What CborReader.next() found. */
export const Kind = {
	Int: 0,
	Bytes: 2,
	Text: 3,
	Array: 4,
	Map: 5,
	Float: 7,
	False: 8,
	True: 9,
	Null: 10,
	Undefined: 11,
	Simple: 12,
} as const;

/** Containers skip() descends into at most: deeper input is refused, not walked. */
export const MAX_DEPTH = 16;
const EMPTY = new Uint8Array(0);
let float: DataView | undefined; // made at first use: see f32

/**
 * Reads one data item head at a time. After next(): Int/Float/Simple have `value`;
 * Bytes/Text have their content between `start` and `stop` (start -1: indefinite length,
 * chunks from `stop`), read with text()/bytesValue(); Array/Map have `count` items or
 * pairs (-1: indefinite, ended by a break that isBreak() consumes). Tags are skipped.
 * Truncation, reserved additional information (28-30), misplaced breaks and integers
 * beyond ±2^53 throw FormatError.
 */
export class CborReader {
	bytes: Uint8Array = EMPTY;
	pos = 0;
	end = 0;
	kind: number = Kind.Null;
	value = 0;
	count = 0;
	start = 0;
	stop = 0;
	// made at first use: a reader a preloaded module makes at load time lives in flash (see f32)
	#remaining: Float64Array | undefined;

	reset(bytes: Uint8Array, start = 0, end = bytes.length): this {
		this.bytes = bytes;
		this.pos = start;
		this.end = end;
		return this;
	}
	get done(): boolean {
		return this.pos >= this.end;
	}
	/** At a break (0xff): consume it and say so. */
	isBreak(): boolean {
		if (this.pos >= this.end) throw new FormatError("cbor: truncated");
		if (this.bytes[this.pos] !== 0xff) return false;
		this.pos++;
		return true;
	}
	#byte(): number {
		if (this.pos >= this.end) throw new FormatError("cbor: truncated");
		return this.bytes[this.pos++];
	}
	/** The argument of a head with additional information ai; -1 for indefinite (31). */
	#argument(ai: number): number {
		if (ai < 24) return ai;
		const b = this.bytes;
		let p = this.pos;
		switch (ai) {
			case 24:
				if (p + 1 > this.end) break;
				this.pos = p + 1;
				return b[p];
			case 25:
				if (p + 2 > this.end) break;
				this.pos = p + 2;
				return (b[p] << 8) | b[p + 1];
			case 26:
				if (p + 4 > this.end) break;
				this.pos = p + 4;
				return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
			case 27: {
				if (p + 8 > this.end) break;
				const hi = ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
				p += 4;
				const lo = ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
				this.pos = p + 4;
				if (hi > 0x200000 || (hi === 0x200000 && lo !== 0)) throw new FormatError("cbor: integer beyond 2^53");
				return hi * TWO_32 + lo;
			}
			case 31:
				return -1;
			default:
				throw new FormatError(`cbor: reserved additional information ${ai}`);
		}
		throw new FormatError("cbor: truncated");
	}
	/** Reads the next item's head (and a string's content); returns its Kind. */
	next(): number {
		for (;;) {
			const head = this.#byte();
			const major = head >> 5, ai = head & 31;
			if (major === 7) return this.#simple(ai);
			const n = this.#argument(ai);
			switch (major) {
				case 0:
				case 1:
					if (n < 0) throw new FormatError("cbor: indefinite integer");
					if (major === 1 && n === TWO_53) throw new FormatError("cbor: integer beyond -2^53");
					this.value = major === 0 ? n : -1 - n;
					return (this.kind = Kind.Int);
				case 2:
				case 3:
					if (n >= 0) {
						if (n > this.end - this.pos) throw new FormatError("cbor: truncated string");
						this.start = this.pos;
						this.stop = this.pos += n;
					} else this.#chunks(major);
					return (this.kind = major);
				case 4:
				case 5:
					// every item takes a byte at least: a count the input cannot hold is truncation
					if (n > (this.end - this.pos) / (major === 5 ? 2 : 1)) throw new FormatError("cbor: truncated container");
					this.count = n;
					return (this.kind = major);
				default: // 6: a tag; its item follows
					if (n < 0) throw new FormatError("cbor: indefinite tag");
			}
		}
	}
	#simple(ai: number): number {
		switch (ai) {
			case 20: return (this.kind = Kind.False);
			case 21: return (this.kind = Kind.True);
			case 22: return (this.kind = Kind.Null);
			case 23: return (this.kind = Kind.Undefined);
			case 24: {
				const v = this.#byte();
				if (v < 32) throw new FormatError("cbor: two-byte simple value below 32");
				this.value = v;
				return (this.kind = Kind.Simple);
			}
			case 25: {
				const h = this.#argument(25);
				const exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
				const v = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (mant + 1024) * 2 ** (exp - 25);
				this.value = h & 0x8000 ? -v : v;
				return (this.kind = Kind.Float);
			}
			case 26:
			case 27: {
				const p = this.pos, size = ai === 26 ? 4 : 8;
				if (p + size > this.end) throw new FormatError("cbor: truncated");
				float ??= new DataView(new ArrayBuffer(8));
				for (let i = 0; i < size; i++) float.setUint8(i, this.bytes[p + i]);
				this.value = size === 4 ? float.getFloat32(0) : float.getFloat64(0);
				this.pos = p + size;
				return (this.kind = Kind.Float);
			}
			case 31:
				throw new FormatError("cbor: unexpected break");
			default:
				if (ai < 20) {
					this.value = ai;
					return (this.kind = Kind.Simple);
				}
				throw new FormatError(`cbor: reserved additional information ${ai}`);
		}
	}
	/** Walks the chunks of an indefinite-length string: each a definite one of the same major type. */
	#chunks(major: number) {
		this.start = -1;
		this.stop = this.pos;
		for (;;) {
			const head = this.#byte();
			if (head === 0xff) return;
			if (head >> 5 !== major) throw new FormatError("cbor: bad chunk in an indefinite string");
			const n = this.#argument(head & 31);
			if (n < 0) throw new FormatError("cbor: nested indefinite string");
			if (n > this.end - this.pos) throw new FormatError("cbor: truncated string");
			this.pos += n;
		}
	}
	/** Calls fn(start, end) for each chunk of the last string read. */
	#eachChunk(fn: (start: number, end: number) => void) {
		if (this.start >= 0) return fn(this.start, this.stop);
		const saved = this.pos;
		this.pos = this.stop;
		for (;;) {
			const head = this.#byte();
			if (head === 0xff) break;
			const n = this.#argument(head & 31);
			fn(this.pos, this.pos + n);
			this.pos += n;
		}
		this.pos = saved;
	}
	/** The last Text item, strictly decoded (each chunk must be valid UTF-8 on its own). */
	text(): string {
		if (this.start >= 0) return utf8Strict(this.bytes, this.start, this.stop);
		let s = "";
		this.#eachChunk((a, b) => { s += utf8Strict(this.bytes, a, b); });
		return s;
	}
	/** The last Bytes item: a view of the input, or a copy joining indefinite chunks. */
	bytesValue(): Uint8Array {
		if (this.start >= 0) return this.bytes.subarray(this.start, this.stop);
		let size = 0;
		this.#eachChunk((a, b) => { size += b - a; });
		const out = new Uint8Array(size);
		let k = 0;
		this.#eachChunk((a, b) => {
			out.set(this.bytes.subarray(a, b), k);
			k += b - a;
		});
		return out;
	}
	/** Whether the last Text item is `ascii`, without making a string. */
	textIs(ascii: string): boolean {
		if (this.start < 0) return this.text() === ascii;
		if (this.stop - this.start !== ascii.length) return false;
		for (let i = 0; i < ascii.length; i++) if (this.bytes[this.start + i] !== ascii.charCodeAt(i)) return false;
		return true;
	}
	/** Skips what remains of the item next() just returned: a container's contents, iteratively. */
	skip(): void {
		if (this.kind !== Kind.Array && this.kind !== Kind.Map) return;
		const remaining = (this.#remaining ??= new Float64Array(MAX_DEPTH));
		let depth = 0;
		remaining[0] = this.count < 0 ? -1 : this.kind === Kind.Map ? this.count * 2 : this.count;
		while (depth >= 0) {
			const left = remaining[depth];
			if (left === 0 || (left < 0 && this.isBreak())) {
				depth--;
				continue;
			}
			if (left > 0) remaining[depth] = left - 1;
			const kind = this.next();
			if (kind === Kind.Array || kind === Kind.Map) {
				if (++depth === MAX_DEPTH) throw new FormatError("cbor: nested too deeply");
				remaining[depth] = this.count < 0 ? -1 : kind === Kind.Map ? this.count * 2 : this.count;
			}
		}
	}
}
