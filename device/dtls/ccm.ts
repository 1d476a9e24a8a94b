// AES-CCM (RFC 3610, NIST SP 800-38C), which Moddable lacks, on its AES primitives: the
// CBC-MAC through Mode("CBC") with a zero IV, the encryption through Mode("CTR") started
// at counter block A1, and the tag masked with E(K, A0). TLS_PSK_WITH_AES_128_CCM_8 uses
// a 12-byte nonce (so L = 3) and an 8-byte tag (RFC 6655).

import { BlockCipher, Mode } from "crypt";

export class AesCcm {
	readonly tagLength: number;
	#aes: BlockCipher;
	#mac: Mode;
	#ctr: Mode;
	#block = new Uint8Array(16);
	#s0 = new Uint8Array(16);

	constructor(key: Uint8Array, tagLength = 8) {
		if (tagLength < 4 || tagLength > 16 || tagLength & 1) throw new RangeError("CCM: tag length must be 4..16 and even");
		this.tagLength = tagLength;
		this.#aes = new BlockCipher("AES", key);
		this.#mac = new Mode("CBC", this.#aes, new Uint8Array(16), false);
		this.#ctr = new Mode("CTR", this.#aes, new Uint8Array(16));
	}

	/** plaintext -> ciphertext || tag */
	seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
		const tag = this.#tag(nonce, aad, plaintext);
		const out = new Uint8Array(plaintext.length + this.tagLength);
		this.#counter(nonce, 1);
		this.#ctr.setIV(this.#block);
		if (plaintext.length) out.set(new Uint8Array(this.#ctr.encrypt(plaintext)), 0);
		for (let i = 0; i < this.tagLength; i++) out[plaintext.length + i] = tag[i] ^ this.#s0[i];
		return out;
	}

	/** ciphertext || tag -> plaintext, or undefined when the tag does not match */
	open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
		const n = sealed.length - this.tagLength;
		if (n < 0) return undefined;
		this.#counter(nonce, 1);
		this.#ctr.setIV(this.#block);
		const plaintext = n ? new Uint8Array(this.#ctr.decrypt(sealed.subarray(0, n))) : new Uint8Array(0);
		const tag = this.#tag(nonce, aad, plaintext);
		// compare in constant time: a timing leak would reveal how much of a forged tag was right
		let diff = 0;
		for (let i = 0; i < this.tagLength; i++) diff |= (tag[i] ^ this.#s0[i]) ^ sealed[n + i];
		return diff === 0 ? plaintext : undefined;
	}

	// A_i: flags (L - 1) | nonce | i (big-endian in L bytes)
	#counter(nonce: Uint8Array, i: number) {
		const b = this.#block;
		const L = 15 - nonce.length;
		b[0] = L - 1;
		b.set(nonce, 1);
		for (let k = 15; k > nonce.length; k--) {
			b[k] = i & 0xff;
			i = Math.floor(i / 256);
		}
	}

	// the CBC-MAC over B0 | encoded AAD, zero padded | plaintext, zero padded; also computes S0
	#tag(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
		const L = 15 - nonce.length;
		if (L < 2 || L > 8) throw new RangeError("CCM: nonce must be 7..13 bytes");
		const aadHeader = aad.length ? (aad.length < 0xff00 ? 2 : 6) : 0;
		const aadBlocks = Math.ceil((aadHeader + aad.length) / 16);
		const total = 16 + aadBlocks * 16 + Math.ceil(plaintext.length / 16) * 16;
		const m = new Uint8Array(total);
		// B0: flags = Adata << 6 | ((M - 2) / 2) << 3 | (L - 1), nonce, message length
		m[0] = (aad.length ? 0x40 : 0) | (((this.tagLength - 2) / 2) << 3) | (L - 1);
		m.set(nonce, 1);
		for (let k = 15, len = plaintext.length; k > nonce.length; k--) {
			m[k] = len & 0xff;
			len = Math.floor(len / 256);
		}
		let at = 16;
		if (aad.length) {
			if (aadHeader === 2) {
				m[at++] = aad.length >> 8;
				m[at++] = aad.length & 0xff;
			} else {
				m[at++] = 0xff;
				m[at++] = 0xfe;
				m[at++] = (aad.length >>> 24) & 0xff;
				m[at++] = (aad.length >> 16) & 0xff;
				m[at++] = (aad.length >> 8) & 0xff;
				m[at++] = aad.length & 0xff;
			}
			m.set(aad, at);
			at = 16 + aadBlocks * 16;
		}
		m.set(plaintext, at);
		this.#mac.setIV(new Uint8Array(16));
		const mac = new Uint8Array(this.#mac.encrypt(m));
		this.#counter(nonce, 0);
		this.#s0.set(new Uint8Array(this.#aes.encrypt(this.#block)));
		return mac.subarray(mac.length - 16);
	}
}
