// Our firmware package (issue 13): a 160-byte little-endian header, then the payload (the
// ESP-IDF app image on the ESP32, a host-sim app image in host-sim).
//
//    0..3   magic "LTFW"          4..5  header format (1)     6..7  header length (160)
//    8..23  target, NUL-padded ("esp32", "host-sim")
//   24..39  version, NUL-padded ("1.0.1")
//   40..43  payload length        44..75  SHA-256 of the payload
//   76..77  signature algorithm (0 none)   78..79 signature length   80..143 signature
//  144..159 reserved
//
// PackageReader reads a package as it streams in: the header into a buffer of its own,
// the payload out to a sink (the Updater) and through SHA-256 on the way. Nothing of the
// payload is kept.

import { Digest } from "crypt";

export const HEADER_LENGTH = 160;
const MAGIC = [0x4c, 0x54, 0x46, 0x57]; // "LTFW"

/** Update Result values a package problem maps to (object 5, resource 5). */
export const PackageProblem = { None: 0, NotEnoughFlash: 2, Integrity: 5, Unsupported: 6 } as const;

export interface PayloadSink {
	/** the header is read: the payload that follows has `length` bytes (throws to refuse) */
	open(length: number): void;
	write(bytes: Uint8Array): void;
}

export class PackageReader {
	readonly header = new Uint8Array(HEADER_LENGTH);
	#headerBytes = 0;
	target = "";
	version = "";
	payloadLength = 0;
	written = 0;
	/** the Update Result a problem maps to, 0 while all is well; `problem` says what */
	result: number = PackageProblem.None;
	problem = "";
	#digest: Digest | undefined = undefined;
	#expectedTarget: string;
	#capacity: number;
	#sink: PayloadSink;

	/** @param capacity bytes the slot holds (-1 unknown) */
	constructor(expectedTarget: string, capacity: number, sink: PayloadSink) {
		this.#expectedTarget = expectedTarget;
		this.#capacity = capacity;
		this.#sink = sink;
	}

	get headerRead() {
		return this.#headerBytes === HEADER_LENGTH;
	}

	/** The next bytes of the package; false once it has a problem (and from then on). */
	write(bytes: Uint8Array): boolean {
		if (this.result) return false;
		let at = 0;
		if (this.#headerBytes < HEADER_LENGTH) {
			const n = Math.min(HEADER_LENGTH - this.#headerBytes, bytes.length);
			this.header.set(bytes.subarray(0, n), this.#headerBytes);
			this.#headerBytes += n;
			at = n;
			if (this.#headerBytes < HEADER_LENGTH) return true;
			if (!this.#parse()) return false;
		}
		if (at >= bytes.length) return true;
		const payload = at ? bytes.subarray(at) : bytes;
		if (this.written + payload.length > this.payloadLength) {
			return this.#fail(PackageProblem.Integrity, `more than the ${this.payloadLength} payload bytes the header announces`);
		}
		this.#digest!.write(payload);
		this.written += payload.length;
		try {
			this.#sink.write(payload);
		} catch (e) {
			return this.#fail(PackageProblem.NotEnoughFlash, `the flash refused the write: ${(e as Error).message}`);
		}
		return true;
	}

	/** Every byte is in: whether the payload is whole and its SHA-256 is the header's. */
	finish(): boolean {
		if (this.result) return false;
		if (!this.headerRead) return this.#fail(PackageProblem.Unsupported, `${this.#headerBytes} bytes are no package (its header alone is ${HEADER_LENGTH})`);
		if (this.written !== this.payloadLength) return this.#fail(PackageProblem.Integrity, `the payload has ${this.written} bytes, the header says ${this.payloadLength}`);
		const hash = new Uint8Array(this.#digest!.close());
		this.#digest = undefined;
		for (let i = 0; i < 32; i++) if (hash[i] !== this.header[44 + i]) return this.#fail(PackageProblem.Integrity, "the payload's SHA-256 is not the one in the header");
		return true;
	}

	#parse(): boolean {
		const h = this.header;
		for (let i = 0; i < 4; i++) if (h[i] !== MAGIC[i]) return this.#fail(PackageProblem.Unsupported, "not a firmware package (no LTFW header)");
		const format = u16(h, 4), length = u16(h, 6);
		if (format !== 1) return this.#fail(PackageProblem.Unsupported, `header format ${format} is not supported (1 is)`);
		if (length !== HEADER_LENGTH) return this.#fail(PackageProblem.Unsupported, `a header of ${length} bytes is not format 1's ${HEADER_LENGTH}`);
		this.target = ascii(h, 8, 16);
		this.version = ascii(h, 24, 16);
		if (this.target !== this.#expectedTarget) return this.#fail(PackageProblem.Unsupported, `the package is for ${JSON.stringify(this.target)}, this device is ${JSON.stringify(this.#expectedTarget)}`);
		this.payloadLength = u32(h, 40);
		const algorithm = u16(h, 76);
		if (algorithm !== 0) return this.#fail(PackageProblem.Integrity, `signature algorithm ${algorithm} is not supported (packages are unsigned for now)`);
		if (this.#capacity >= 0 && this.payloadLength > this.#capacity) return this.#fail(PackageProblem.NotEnoughFlash, `the payload has ${this.payloadLength} bytes, the update slot holds ${this.#capacity}`);
		try {
			this.#sink.open(this.payloadLength);
		} catch (e) {
			return this.#fail(PackageProblem.NotEnoughFlash, `the update slot cannot be opened: ${(e as Error).message}`);
		}
		this.#digest = new Digest("SHA256");
		return true;
	}

	#fail(result: number, problem: string): false {
		this.result = result;
		this.problem = problem;
		this.#digest = undefined;
		return false;
	}
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function ascii(b: Uint8Array, at: number, length: number): string {
	let s = "";
	for (let i = at; i < at + length && b[i]; i++) s += String.fromCharCode(b[i] < 0x20 || b[i] > 0x7e ? 0x3f : b[i]);
	return s;
}
