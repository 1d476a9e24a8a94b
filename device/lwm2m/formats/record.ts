// The data model every LwM2M content format (Core TS 1.1 §7.4) decodes into and encodes
// from: a flat list of Entry records, one per resource or resource instance value. Codecs
// reuse the caller's Entry objects and output buffer, so that a request costs the device
// no garbage beyond the strings and views the values themselves are.

import { utf8Length, utf8Write } from "../../coap/utf8";

/** LwM2M resource data types (Core TS 1.1 appendix C). */
export const DataType = {
	/** no value: a path only (read-composite requests), or an empty multiple-instance resource */
	None: 0,
	String: 1,
	Integer: 2,
	Unsigned: 3,
	Float: 4,
	Boolean: 5,
	Opaque: 6,
	Time: 7,
	Objlnk: 8,
	Corelnk: 9,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/**
 * String, Corelnk: string. Integer, Unsigned, Time (seconds): a safe integer. Float: a
 * finite number. Boolean: boolean. Opaque: Uint8Array. Objlnk: "objectId:instanceId".
 */
export type Value = string | number | boolean | Uint8Array;

export class Entry {
	object = -1;
	instance = -1;
	resource = -1;
	/** resource instance id; -1 for a single-instance resource */
	index = -1;
	type: DataType = DataType.None;
	value: Value = 0;

	set(object: number, instance: number, resource: number, index: number, type: DataType, value: Value): this {
		this.object = object;
		this.instance = instance;
		this.resource = resource;
		this.index = index;
		this.type = type;
		this.value = value;
		return this;
	}
}

/** A request's path; -1 for levels not given (all -1: the root, as composite operations use). */
export type Path = { object: number; instance: number; resource: number; index: number };

/** The type of a resource in the object model; undefined for a resource the model lacks. */
export type TypeOf = (object: number, resource: number) => DataType | undefined;

/** Malformed or unsupported content; the LwM2M layer answers 4.00 (or 4.06 when encoding). */
export class FormatError extends Error {
	// a field, not an assignment: Error.prototype.name is read-only where intrinsics are frozen
	override name = "FormatError";
}

/** Decodes `payload` into out[0..n) and returns n. Throws FormatError only. */
export type Decoder = (payload: Uint8Array, path: Path, typeOf: TypeOf, out: Entry[]) => number;
/** Appends entries[0..count) to `into`. FormatError: not expressible in the format; RangeError: too large. */
export type Encoder = (entries: readonly Entry[], count: number, path: Path, into: ByteWriter) => void;

/** Entries a decoder fills at most: bounds what one request can make the device allocate. */
export const MAX_ENTRIES = 128;
/** Largest id at any path level (Core TS §7.1: 65535 is reserved, but appears as "no link" in Objlnk). */
export const MAX_ID = 65535;

/** out[n], reset; created the first time. The decoders' only way to take an Entry. */
export function entryAt(out: Entry[], n: number): Entry {
	if (n >= MAX_ENTRIES) throw new FormatError(`more than ${MAX_ENTRIES} values`);
	let e = out[n];
	if (!e) out[n] = e = new Entry();
	return e.set(-1, -1, -1, -1, DataType.None, 0);
}

export const path = (object = -1, instance = -1, resource = -1, index = -1): Path => ({ object, instance, resource, index });

/** "/3/0/7/1" for a path (or an entry); "/" for the root. */
export function pathString(p: Path): string {
	if (p.object < 0) return "/";
	let s = "/" + p.object;
	if (p.instance >= 0) {
		s += "/" + p.instance;
		if (p.resource >= 0) {
			s += "/" + p.resource;
			if (p.index >= 0) s += "/" + p.index;
		}
	}
	return s;
}

/** Whether `e` lies at or below `p` (levels -1 in `p` match anything). */
export function isUnder(e: Path, p: Path): boolean {
	return (p.object < 0 || p.object === e.object)
		&& (p.instance < 0 || p.instance === e.instance)
		&& (p.resource < 0 || p.resource === e.resource)
		&& (p.index < 0 || p.index === e.index);
}

/**
 * Parses "/o/i/r/x" (1-4 levels, or "/" for the root; one trailing "/" allowed) into `e`.
 * Throws FormatError for anything else: names come from the peer.
 */
export function parsePath(text: string, e: Path): void {
	const n = text.length;
	if (n === 0 || text.charCodeAt(0) !== 47) throw new FormatError(`bad path "${text}"`);
	e.object = e.instance = e.resource = e.index = -1;
	let level = 0, i = 1;
	while (i < n) {
		let v = 0, digits = 0;
		for (; i < n; i++) {
			const c = text.charCodeAt(i);
			if (c === 47) break;
			// digits only, no leading zeros, at most 65535
			if (c < 48 || c > 57 || digits === 5 || (digits === 1 && v === 0)) throw new FormatError(`bad path "${text}"`);
			v = v * 10 + c - 48;
			digits++;
		}
		if (!digits || v > MAX_ID || level === 4) throw new FormatError(`bad path "${text}"`);
		if (level === 0) e.object = v;
		else if (level === 1) e.instance = v;
		else if (level === 2) e.resource = v;
		else e.index = v;
		level++;
		if (i < n) i++; // the "/": a final one is allowed ("/3/0/" names the instance)
	}
}

/** "a:b" with both ids 0-65535, as a canonical string; FormatError otherwise. */
export function checkObjlnk(text: string): string {
	const colon = text.indexOf(":");
	const a = colon > 0 ? parseId(text, 0, colon) : -1;
	const b = colon > 0 ? parseId(text, colon + 1, text.length) : -1;
	if (a < 0 || b < 0) throw new FormatError(`bad object link "${text}"`);
	return a + ":" + b;
}
function parseId(text: string, start: number, end: number): number {
	if (end <= start || end - start > 5) return -1;
	let v = 0;
	for (let i = start; i < end; i++) {
		const c = text.charCodeAt(i);
		if (c < 48 || c > 57) return -1;
		v = v * 10 + c - 48;
	}
	return v <= MAX_ID ? v : -1;
}

/**
 * Checks a decoded number against the type of the resource `at` names; the reason names
 * that resource and what was received (`text` when the format had one: "1e400", not Infinity).
 */
export function checkNumber(type: DataType, v: number, at: Path, text?: string): number {
	if (Number.isFinite(v) && (type === DataType.Float || (Number.isSafeInteger(v) && (type !== DataType.Unsigned || v >= 0)))) return v === 0 && type !== DataType.Float ? 0 : v; // -0 is no integer value of its own
	const shown = text ?? String(v);
	let problem: string;
	if (!Number.isFinite(v)) problem = "is not a finite number";
	else if (!Number.isInteger(v)) problem = "is not an integer";
	else if (!Number.isSafeInteger(v)) problem = `is beyond the integers this device holds exactly (-${Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER})`;
	else problem = "is negative, and the resource is unsigned";
	throw new FormatError(`${pathString(at)}: ${shown} ${problem}`);
}

// ---------------------------------------------------------------- UTF-8

/**
 * Strict UTF-8 decoding of bytes[start, end): overlong forms, surrogates and truncated
 * sequences throw FormatError (coap/utf8's utf8Read substitutes U+FFFD, which would
 * silently change a value the server wrote).
 */
export function utf8Strict(bytes: Uint8Array, start: number, end: number): string {
	let out = "";
	let i = start;
	// runs of ASCII go to String.fromCharCode in chunks rather than a char at a time
	while (i < end) {
		const b = bytes[i];
		if (b < 0x80) {
			let j = i + 1;
			while (j < end && bytes[j] < 0x80 && j - i < 64) j++;
			out += String.fromCharCode.apply(null, bytes.subarray(i, j) as unknown as number[]);
			i = j;
			continue;
		}
		const need = b >= 0xf0 && b <= 0xf4 ? 3 : b >= 0xe0 ? (b < 0xf0 ? 2 : -1) : b >= 0xc2 ? 1 : -1;
		if (need < 0 || i + need >= end) throw new FormatError("invalid UTF-8");
		let c = b & (need === 3 ? 0x07 : need === 2 ? 0x0f : 0x1f);
		for (let k = 1; k <= need; k++) {
			const n = bytes[i + k];
			if ((n & 0xc0) !== 0x80) throw new FormatError("invalid UTF-8");
			c = (c << 6) | (n & 0x3f);
		}
		if ((need === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (need === 3 && (c < 0x10000 || c > 0x10ffff))) throw new FormatError("invalid UTF-8");
		out += String.fromCodePoint(c);
		i += need + 1;
	}
	return out;
}

// ---------------------------------------------------------------- output

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and a buffer
// a module body makes lives in flash on the ESP32, read-only ("read-only buffer" at the first write)
let scratch: DataView | undefined;

/**
 * Output of the encoders: a buffer the caller keeps and reuses, grown (by doubling) up to
 * a hard cap. Past the cap a write throws RangeError("too large"): the LwM2M layer answers
 * 4.13 or 5.00 instead of letting a large object exhaust the heap.
 */
export class ByteWriter {
	buffer: Uint8Array;
	length = 0;
	readonly limit: number;

	constructor(initial = 256, limit = 16384) {
		this.buffer = new Uint8Array(Math.min(initial, limit));
		this.limit = limit;
	}
	reset(): this {
		this.length = 0;
		return this;
	}
	/** What was written: a view, valid until the next write or reset. */
	bytes(): Uint8Array {
		return this.buffer.subarray(0, this.length);
	}
	/** Room for n more bytes. */
	ensure(n: number): void {
		const need = this.length + n;
		if (need <= this.buffer.length) return;
		if (need > this.limit) throw new RangeError(`too large: more than ${this.limit} bytes`);
		let size = this.buffer.length * 2 || 64;
		while (size < need) size *= 2;
		const grown = new Uint8Array(Math.min(size, this.limit));
		grown.set(this.buffer.subarray(0, this.length));
		this.buffer = grown;
	}
	u8(v: number): this {
		this.ensure(1);
		this.buffer[this.length++] = v;
		return this;
	}
	u16(v: number): this {
		this.ensure(2);
		const b = this.buffer;
		b[this.length++] = (v >> 8) & 0xff;
		b[this.length++] = v & 0xff;
		return this;
	}
	u32(v: number): this {
		this.ensure(4);
		const b = this.buffer;
		b[this.length++] = (v >>> 24) & 0xff;
		b[this.length++] = (v >> 16) & 0xff;
		b[this.length++] = (v >> 8) & 0xff;
		b[this.length++] = v & 0xff;
		return this;
	}
	f32(v: number): this {
		scratch ??= new DataView(new ArrayBuffer(8));
		scratch.setFloat32(0, v);
		return this.u32(scratch.getUint32(0));
	}
	f64(v: number): this {
		scratch ??= new DataView(new ArrayBuffer(8));
		scratch.setFloat64(0, v);
		return this.u32(scratch.getUint32(0)).u32(scratch.getUint32(4));
	}
	bytesOf(v: Uint8Array): this {
		this.ensure(v.length);
		this.buffer.set(v, this.length);
		this.length += v.length;
		return this;
	}
	/** A string known to be ASCII (numbers, paths, attribute names). */
	ascii(s: string): this {
		this.ensure(s.length);
		const b = this.buffer;
		for (let i = 0; i < s.length; i++) b[this.length++] = s.charCodeAt(i);
		return this;
	}
	/** UTF-8; a lone surrogate becomes U+FFFD so that the output is always valid UTF-8. */
	utf8(s: string): this {
		this.ensure(utf8Length(s));
		this.length = utf8Write(s, this.buffer, this.length);
		return this;
	}
}

/** Bytes ByteWriter.utf8 writes for `s`. */
export const utf8Size = utf8Length;

// ---------------------------------------------------------------- base64 (RFC 4648 §4, §5)

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Writes base64 of `data` (url: the URL-safe alphabet without padding, as SenML JSON's vd). */
export function base64Write(data: Uint8Array, into: ByteWriter, url: boolean): void {
	const abc = url ? URL_ALPHABET : ALPHABET;
	const n = data.length;
	into.ensure(Math.ceil(n / 3) * 4);
	const b = into.buffer;
	let at = into.length, i = 0;
	for (; i + 2 < n; i += 3) {
		const v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
		b[at++] = abc.charCodeAt(v >> 18);
		b[at++] = abc.charCodeAt((v >> 12) & 63);
		b[at++] = abc.charCodeAt((v >> 6) & 63);
		b[at++] = abc.charCodeAt(v & 63);
	}
	if (i < n) {
		const v = (data[i] << 16) | (i + 1 < n ? data[i + 1] << 8 : 0);
		b[at++] = abc.charCodeAt(v >> 18);
		b[at++] = abc.charCodeAt((v >> 12) & 63);
		if (i + 1 < n) b[at++] = abc.charCodeAt((v >> 6) & 63);
		else if (!url) b[at++] = 61;
		if (!url) b[at++] = 61;
	}
	into.length = at;
}

function sextet(c: number, url: boolean): number {
	if (c >= 65 && c <= 90) return c - 65;
	if (c >= 97 && c <= 122) return c - 71;
	if (c >= 48 && c <= 57) return c + 4;
	if (c === (url ? 45 : 43)) return 62;
	if (c === (url ? 95 : 47)) return 63;
	return -1;
}

/**
 * Decodes base64 text held in bytes[start, end) (url: the URL-safe alphabet). Padding is
 * optional; characters outside the alphabet, a dangling sextet or non-zero trailing bits
 * throw FormatError.
 */
export function base64Read(bytes: Uint8Array, start: number, end: number, url: boolean): Uint8Array {
	let stop = end;
	if (stop - start >= 2 && (stop - start) % 4 === 0) {
		if (bytes[stop - 1] === 61) stop--;
		if (bytes[stop - 1] === 61) stop--;
	}
	const chars = stop - start;
	if (chars % 4 === 1) throw new FormatError("bad base64 length");
	const out = new Uint8Array(Math.floor((chars * 3) / 4));
	let acc = 0, bits = 0, k = 0;
	for (let i = start; i < stop; i++) {
		const v = sextet(bytes[i], url);
		if (v < 0) throw new FormatError("bad base64 character");
		acc = ((acc << 6) | v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (acc >> bits) & 0xff;
		}
	}
	if (acc & ((1 << bits) - 1)) throw new FormatError("bad base64 padding bits");
	return out;
}
