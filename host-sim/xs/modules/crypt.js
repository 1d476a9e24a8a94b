// Moddable's "crypt" module (Digest, BlockCipher, Mode) as device code sees it on the
// ESP32, computed by Node's crypto through the host bridge. The chip runs Moddable's kcl C
// code; what matters here is the API and the results, which are the same AES and SHA.
import { call } from "../runtime.js";
import { toBytes } from "./i2c.js";

const DIGESTS = { MD5: [64, 16], SHA1: [64, 20], SHA224: [64, 28], SHA256: [64, 32], SHA384: [128, 48], SHA512: [128, 64] };

function bytesOf(data) {
	if (typeof data === "string") return new TextEncoder().encode(data);
	return toBytes(data);
}
function concat(list) {
	let n = 0;
	for (const b of list) n += b.length;
	const out = new Uint8Array(n);
	let at = 0;
	for (const b of list) { out.set(b, at); at += b.length; }
	return out;
}
function into(result, bytes) {
	if (result === undefined) return bytes.slice().buffer;
	const r = toBytes(result);
	if (r.length < bytes.length) throw new RangeError("result too small");
	r.set(bytes);
	return result;
}

// Like the chip's C digest state, what has been written does not stay in the XS heap: past
// 4 KB it goes to the host's running hash (a firmware package is hashed as it streams in).
const DIGEST_FLUSH = 4096;

export class Digest {
	#type; #parts = []; #pending = 0; #id = 0;
	constructor(type) {
		if (!DIGESTS[type]) throw new Error(`unsupported digest: ${type}`);
		this.#type = type;
	}
	get blockSize() { return DIGESTS[this.#type][0]; }
	get outputSize() { return DIGESTS[this.#type][1]; }
	write(data) {
		const bytes = bytesOf(data);
		this.#parts.push(bytes.slice());
		this.#pending += bytes.length;
		if (this.#pending >= DIGEST_FLUSH) {
			this.#id = call({ op: "crypt.digestUpdate", type: this.#type, id: this.#id }, concat(this.#parts)).header.id;
			this.#parts.length = 0;
			this.#pending = 0;
		}
	}
	update(data) { this.write(data); }
	reset() {
		this.#parts.length = 0;
		this.#pending = 0;
		if (this.#id) call({ op: "crypt.digestDrop", id: this.#id });
		this.#id = 0;
	}
	close() {
		const reply = call({ op: "crypt.digest", type: this.#type, id: this.#id }, concat(this.#parts));
		this.#parts.length = 0;
		this.#pending = 0;
		this.#id = 0;
		return reply.payload.slice().buffer;
	}
	process(...items) {
		this.reset();
		for (const item of items) this.write(item);
		return this.close();
	}
}

export class BlockCipher {
	#id;
	constructor(cipher, key) {
		if (cipher !== "AES") throw new Error(`unsupported cipher: ${cipher}`);
		const k = toBytes(key);
		if (k.length !== 16 && k.length !== 24 && k.length !== 32) throw new RangeError("invalid key size");
		this.#id = call({ op: "crypt.key" }, k).header.id;
	}
	get keySize() { return call({ op: "crypt.keySize", id: this.#id }).header.size; }
	get blockSize() { return 16; }
	get id() { return this.#id; }
	encrypt(data, result) { return into(result, call({ op: "crypt.block", id: this.#id, decrypt: false }, toBytes(data)).payload); }
	decrypt(data, result) { return into(result, call({ op: "crypt.block", id: this.#id, decrypt: true }, toBytes(data)).payload); }
}

export class Mode {
	#id;
	constructor(mode, cipher, iv, pad) {
		if (mode !== "CBC" && mode !== "CTR" && mode !== "ECB") throw new Error(`unsupported mode: ${mode}`);
		if (!(cipher instanceof BlockCipher)) throw new TypeError("cipher must be a BlockCipher");
		this.#id = call({ op: "crypt.mode", mode, key: cipher.id, pad: !!pad }, iv === undefined ? undefined : toBytes(iv)).header.id;
	}
	setIV(iv) { call({ op: "crypt.setIV", id: this.#id }, toBytes(iv)); }
	encrypt(data, result, count) { return this.#run(data, result, count, false); }
	decrypt(data, result, count) { return this.#run(data, result, count, true); }
	#run(data, result, count, decrypt) {
		let bytes = toBytes(data);
		if (count !== undefined) bytes = bytes.subarray(0, count);
		return into(result, call({ op: "crypt.run", id: this.#id, decrypt }, bytes).payload);
	}
}

export default Object.freeze({ Digest, BlockCipher, Mode });
