// Moddable's "hmac" module (modules/crypt/etc/hmac.js): new HMAC(digest, key, bits) over a
// crypt Digest, with update()/close()/reset()/process(). As upstream, sign() and verify()
// call a write() the class does not have: firmware uses process().
export default class HMAC {
	#h; #ipad; #opad;
	constructor(h, key, bitlen = 0) {
		this.#h = h;
		this.hashLen = bitlen >> 3;
		let k = key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
		if (k.length > h.blockSize) k = new Uint8Array(h.process(k));
		this.#ipad = new Uint8Array(h.blockSize).fill(0x36);
		this.#opad = new Uint8Array(h.blockSize).fill(0x5c);
		for (let i = 0; i < k.length; i++) {
			this.#ipad[i] ^= k[i];
			this.#opad[i] ^= k[i];
		}
		this.reset();
	}
	update(...items) { for (const item of items) this.#h.write(item); }
	reset() {
		this.#h.reset();
		this.#h.write(this.#ipad);
	}
	close() {
		const inner = this.#h.close();
		this.#h.reset();
		this.#h.write(this.#opad);
		this.#h.write(inner);
		return this.#h.close();
	}
	process(...items) {
		this.reset();
		for (const item of items) this.#h.write(item);
		return this.close();
	}
	sign(H) { this.write(H); return this.close(); }
	verify(H) { this.write(H); return false; }
}
