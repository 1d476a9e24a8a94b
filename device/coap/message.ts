// The CoAP message format (RFC 7252 §3): decoding a datagram in place, into a Message
// whose token, options and payload are views of the datagram, and encoding into a
// reused buffer. Decoding never throws: it says whether to use, ignore or reject.

import { VERSION, Option } from "./constants";
import { utf8Length, utf8Read, utf8Write } from "./utf8";

export const Decoded = {
	OK: 0,
	/** not CoAP we can answer (too short, wrong version): drop silently (§3) */
	Ignore: 1,
	/** a message format error: reject a CON with RST, drop a NON (§4.2, §4.3) */
	FormatError: 2,
} as const;

// Known options: [min length, max length, repeatable]. §5.10 table 4, RFC 7641, 7959, 7967.
const KNOWN: { [n: number]: readonly [number, number, boolean] } = {
	[Option.IfMatch]: [0, 8, true],
	[Option.UriHost]: [1, 255, false],
	[Option.ETag]: [1, 8, true],
	[Option.IfNoneMatch]: [0, 0, false],
	[Option.Observe]: [0, 3, false],
	[Option.UriPort]: [0, 2, false],
	[Option.LocationPath]: [0, 255, true],
	[Option.UriPath]: [0, 255, true],
	[Option.ContentFormat]: [0, 2, false],
	[Option.MaxAge]: [0, 4, false],
	[Option.UriQuery]: [0, 255, true],
	[Option.Accept]: [0, 2, false],
	[Option.LocationQuery]: [0, 255, true],
	[Option.Block2]: [0, 3, false],
	[Option.Block1]: [0, 3, false],
	[Option.Size2]: [0, 4, false],
	[Option.ProxyUri]: [1, 1034, false],
	[Option.ProxyScheme]: [1, 255, false],
	[Option.Size1]: [0, 4, false],
	[Option.NoResponse]: [0, 1, false],
};

export const MAX_OPTIONS = 32;

export class Message {
	type = 0;
	code = 0;
	mid = 0;
	bytes: Uint8Array = new Uint8Array(0);
	tokenStart = 4;
	tokenLength = 0;
	payloadStart = 0; // == bytes.length when there is no payload
	optionCount = 0;
	readonly optionNumber = new Uint16Array(MAX_OPTIONS);
	readonly optionStart = new Uint16Array(MAX_OPTIONS);
	readonly optionLength = new Uint16Array(MAX_OPTIONS);
	/** the first critical option this host does not recognize (§5.4.1), or 0 */
	badCriticalOption = 0;

	/** Parse `bytes` in place; the message refers to it until the next decode. */
	decode(bytes: Uint8Array): number {
		this.bytes = bytes;
		this.optionCount = 0;
		this.badCriticalOption = 0;
		const length = bytes.length;
		if (length < 4) return Decoded.Ignore;
		const first = bytes[0];
		if (first >> 6 !== VERSION) return Decoded.Ignore;
		this.type = (first >> 4) & 3;
		this.tokenLength = first & 0x0f;
		this.code = bytes[1];
		this.mid = (bytes[2] << 8) | bytes[3];
		this.payloadStart = length;
		if (this.tokenLength > 8) return Decoded.FormatError;
		const cls = this.code >> 5;
		if (this.code === 0) {
			// an Empty message is the 4-byte header and nothing else (§4.1)
			return this.tokenLength === 0 && length === 4 ? Decoded.OK : Decoded.FormatError;
		}
		if (cls === 1 || cls === 6 || cls === 7) return Decoded.FormatError; // reserved classes
		let i = 4 + this.tokenLength;
		if (i > length) return Decoded.FormatError;
		let number = 0;
		let previous = -1, repeated = 0;
		while (i < length) {
			const byte = bytes[i++];
			if (byte === 0xff) {
				if (i === length) return Decoded.FormatError; // a marker must be followed by payload
				this.payloadStart = i;
				break;
			}
			let delta = byte >> 4, size = byte & 0x0f;
			if (delta === 15 || size === 15) return Decoded.FormatError;
			if (delta === 13) { if (i >= length) return Decoded.FormatError; delta = bytes[i++] + 13; }
			else if (delta === 14) { if (i + 1 >= length) return Decoded.FormatError; delta = ((bytes[i] << 8) | bytes[i + 1]) + 269; i += 2; }
			if (size === 13) { if (i >= length) return Decoded.FormatError; size = bytes[i++] + 13; }
			else if (size === 14) { if (i + 1 >= length) return Decoded.FormatError; size = ((bytes[i] << 8) | bytes[i + 1]) + 269; i += 2; }
			number += delta;
			if (number > 0xffff) return Decoded.FormatError;
			if (i + size > length) return Decoded.FormatError;
			const known = KNOWN[number];
			repeated = number === previous ? repeated + 1 : 0;
			previous = number;
			// an unrecognized option, one of bad length, or a repetition of a non-repeatable
			// one is "unrecognized" (§5.4.3, §5.4.5): critical ones fail the request, others are skipped
			if (!known || size < known[0] || size > known[1] || (repeated && !known[2])) {
				if (number & 1 && !this.badCriticalOption) this.badCriticalOption = number;
			} else {
				if (this.optionCount === MAX_OPTIONS) return Decoded.FormatError;
				const k = this.optionCount++;
				this.optionNumber[k] = number;
				this.optionStart[k] = i;
				this.optionLength[k] = size;
			}
			i += size;
		}
		return Decoded.OK;
	}

	get isRequest() { return this.code >= 1 && this.code <= 31; }
	get isResponse() { return this.code >= 64; }
	get isEmpty() { return this.code === 0; }
	get hasPayload() { return this.payloadStart < this.bytes.length; }
	get payloadLength() { return this.bytes.length - this.payloadStart; }

	/** The payload as a view (empty when there is none). */
	payload(): Uint8Array {
		return this.bytes.subarray(this.payloadStart);
	}
	token(): Uint8Array {
		return this.bytes.subarray(this.tokenStart, this.tokenStart + this.tokenLength);
	}
	/** Token as a number key (tokens up to 8 bytes: hex string beyond 6). */
	tokenKey(): string {
		return hexKey(this.bytes, this.tokenStart, this.tokenLength);
	}

	indexOf(option: number, from = 0): number {
		for (let k = from; k < this.optionCount; k++) if (this.optionNumber[k] === option) return k;
		return -1;
	}
	has(option: number): boolean {
		return this.indexOf(option) >= 0;
	}
	/** An unsigned option (network byte order, minimal length), or `fallback`. */
	uint(option: number, fallback = -1): number {
		const k = this.indexOf(option);
		if (k < 0) return fallback;
		let v = 0;
		for (let i = this.optionStart[k], end = i + this.optionLength[k]; i < end; i++) v = v * 256 + this.bytes[i];
		return v;
	}
	string(option: number): string | undefined {
		const k = this.indexOf(option);
		return k < 0 ? undefined : utf8Read(this.bytes, this.optionStart[k], this.optionStart[k] + this.optionLength[k]);
	}
	strings(option: number): string[] {
		const out: string[] = [];
		for (let k = this.indexOf(option); k >= 0; k = this.indexOf(option, k + 1)) out.push(utf8Read(this.bytes, this.optionStart[k], this.optionStart[k] + this.optionLength[k]));
		return out;
	}
	opaque(option: number): Uint8Array | undefined {
		const k = this.indexOf(option);
		return k < 0 ? undefined : this.bytes.subarray(this.optionStart[k], this.optionStart[k] + this.optionLength[k]);
	}
	/** Uri-Path joined with "/" (no leading slash); "" for the root. */
	path(): string {
		let out = "";
		for (let k = this.indexOf(Option.UriPath), n = 0; k >= 0; k = this.indexOf(Option.UriPath, k + 1), n++) {
			if (n) out += "/";
			out += utf8Read(this.bytes, this.optionStart[k], this.optionStart[k] + this.optionLength[k]);
		}
		return out;
	}
}

export function hexKey(bytes: Uint8Array, start: number, length: number): string {
	let s = "";
	for (let i = start; i < start + length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
	return s;
}

// ---- Block options (RFC 7959 §2.2): NUM << 4 | M << 3 | SZX; size = 2^(SZX + 4)
export const blockNum = (value: number) => Math.floor(value / 16);
export const blockMore = (value: number) => (value & 8) !== 0;
export const blockSzx = (value: number) => value & 7;
export const blockSize = (szx: number) => 1 << (szx + 4);
export const blockValue = (num: number, more: boolean, szx: number) => num * 16 + (more ? 8 : 0) + szx;

// ---------------------------------------------------------------- encoding

/** Writes one message into a buffer it owns; options must come in ascending order. */
export class Encoder {
	readonly buffer: Uint8Array;
	length = 0;
	#last = 0;

	constructor(size: number) {
		this.buffer = new Uint8Array(size);
	}
	begin(type: number, code: number, mid: number, token?: Uint8Array): this {
		const tkl = token ? token.length : 0;
		if (tkl > 8) throw new RangeError("coap: token longer than 8 bytes");
		const b = this.buffer;
		b[0] = (VERSION << 6) | (type << 4) | tkl;
		b[1] = code;
		b[2] = (mid >> 8) & 0xff;
		b[3] = mid & 0xff;
		if (token) b.set(token, 4);
		this.length = 4 + tkl;
		this.#last = 0;
		return this;
	}
	#header(number: number, size: number) {
		if (number < this.#last) throw new RangeError(`coap: option ${number} after ${this.#last}`);
		const delta = number - this.#last;
		this.#last = number;
		const need = 1 + (delta >= 269 ? 2 : delta >= 13 ? 1 : 0) + (size >= 269 ? 2 : size >= 13 ? 1 : 0) + size;
		if (this.length + need > this.buffer.length) throw new RangeError("coap: message too large for the buffer");
		const b = this.buffer;
		const at = this.length++;
		let d = delta, s = size;
		if (delta >= 269) { d = 14; b[this.length++] = (delta - 269) >> 8; b[this.length++] = (delta - 269) & 0xff; }
		else if (delta >= 13) { d = 13; b[this.length++] = delta - 13; }
		if (size >= 269) { s = 14; b[this.length++] = (size - 269) >> 8; b[this.length++] = (size - 269) & 0xff; }
		else if (size >= 13) { s = 13; b[this.length++] = size - 13; }
		b[at] = (d << 4) | s;
	}
	bytes(number: number, value: Uint8Array): this {
		this.#header(number, value.length);
		this.buffer.set(value, this.length);
		this.length += value.length;
		return this;
	}
	string(number: number, value: string): this {
		this.#header(number, utf8Length(value));
		this.length = utf8Write(value, this.buffer, this.length);
		return this;
	}
	/** Each "/"-separated segment of `path` as one option (Uri-Path, Location-Path). */
	path(number: number, path: string): this {
		let start = path.charCodeAt(0) === 47 ? 1 : 0;
		if (start >= path.length) return this;
		for (;;) {
			const end = path.indexOf("/", start);
			this.string(number, end < 0 ? path.slice(start) : path.slice(start, end));
			if (end < 0) return this;
			start = end + 1;
		}
	}
	uint(number: number, value: number): this {
		const size = value === 0 ? 0 : value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
		this.#header(number, size);
		for (let i = size - 1; i >= 0; i--) this.buffer[this.length++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
		return this;
	}
	payload(value: Uint8Array | string): this {
		const size = typeof value === "string" ? utf8Length(value) : value.length;
		if (!size) return this;
		if (this.length + 1 + size > this.buffer.length) throw new RangeError("coap: payload too large for the buffer");
		this.buffer[this.length++] = 0xff;
		if (typeof value === "string") this.length = utf8Write(value, this.buffer, this.length);
		else {
			this.buffer.set(value, this.length);
			this.length += size;
		}
		return this;
	}
	/** The encoded message: a view of the shared buffer, valid until the next begin(). */
	end(): Uint8Array {
		return this.buffer.subarray(0, this.length);
	}
}
