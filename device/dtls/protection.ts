// Record protection for the two PSK suites, once keys are derived (RFC 5246 §6.3 key
// block, RFC 6347 §4.1): AES-128-CCM-8 (AEAD: 4-byte implicit salt + 8-byte explicit
// nonce = epoch|sequence) and AES-128-CBC with HMAC-SHA256 (MAC-then-encrypt, explicit IV).

import { BlockCipher, Mode } from "crypt";
import RNG from "rng";
import { AesCcm } from "./ccm";
import { Suite, VERSION_MAJOR, VERSION_MINOR } from "./constants";
import { hmacSha256 } from "./prf";

export interface Protection {
	/** bytes the protection adds to a fragment of `length` bytes */
	overhead(length: number): number;
	seal(type: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array;
	/** undefined: the record does not authenticate (dropped silently, RFC 6347 §4.1.2.7) */
	open(type: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined;
}

/** Key block length for the suite: MAC keys, cipher keys, implicit IVs (client and server each). */
export function keyBlockLength(suite: number): number {
	return suite === Suite.PSK_AES128_CCM8 ? 2 * 16 + 2 * 4 : 2 * 32 + 2 * 16;
}

/** Both directions' protections from the key block (client side: we write with the client keys). */
export function protections(suite: number, kb: Uint8Array): { write: Protection; read: Protection } {
	if (suite === Suite.PSK_AES128_CCM8) {
		return {
			write: new CcmProtection(kb.subarray(0, 16), kb.subarray(32, 36)),
			read: new CcmProtection(kb.subarray(16, 32), kb.subarray(36, 40)),
		};
	}
	return {
		write: new CbcProtection(kb.subarray(0, 32), kb.subarray(64, 80)),
		read: new CbcProtection(kb.subarray(32, 64), kb.subarray(80, 96)),
	};
}

// epoch (2) | sequence (6) | type | version (2) | length (2)
function additionalData(out: Uint8Array, type: number, epoch: number, seq: number, length: number) {
	out[0] = epoch >> 8;
	out[1] = epoch & 0xff;
	writeSeq(out, 2, seq);
	out[8] = type;
	out[9] = VERSION_MAJOR;
	out[10] = VERSION_MINOR;
	out[11] = length >> 8;
	out[12] = length & 0xff;
}

export function writeSeq(out: Uint8Array, at: number, seq: number) {
	const high = Math.floor(seq / 0x100000000);
	out[at] = (high >> 8) & 0xff;
	out[at + 1] = high & 0xff;
	out[at + 2] = (seq >>> 24) & 0xff;
	out[at + 3] = (seq >>> 16) & 0xff;
	out[at + 4] = (seq >>> 8) & 0xff;
	out[at + 5] = seq & 0xff;
}

class CcmProtection implements Protection {
	#ccm: AesCcm;
	#salt: Uint8Array;
	#nonce = new Uint8Array(12);
	#aad = new Uint8Array(13);
	constructor(key: Uint8Array, salt: Uint8Array) {
		this.#ccm = new AesCcm(key.slice(), 8);
		this.#salt = salt.slice();
	}
	overhead() {
		return 8 + 8; // explicit nonce, tag
	}
	#prepare(type: number, epoch: number, seq: number, length: number) {
		this.#nonce.set(this.#salt, 0);
		this.#nonce[4] = epoch >> 8;
		this.#nonce[5] = epoch & 0xff;
		writeSeq(this.#nonce, 6, seq);
		additionalData(this.#aad, type, epoch, seq, length);
	}
	seal(type: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
		this.#prepare(type, epoch, seq, plaintext.length);
		const sealed = this.#ccm.seal(this.#nonce, this.#aad, plaintext);
		const out = new Uint8Array(8 + sealed.length);
		out.set(this.#nonce.subarray(4), 0);
		out.set(sealed, 8);
		return out;
	}
	open(type: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined {
		if (fragment.length < 16) return undefined;
		this.#prepare(type, epoch, seq, fragment.length - 16);
		// the explicit nonce must be what the record header says (we derive it, not trust it)
		for (let i = 0; i < 8; i++) if (fragment[i] !== this.#nonce[4 + i]) return undefined;
		return this.#ccm.open(this.#nonce, this.#aad, fragment.subarray(8));
	}
}

class CbcProtection implements Protection {
	#macKey: Uint8Array;
	#aes: BlockCipher;
	#cbc: Mode;
	#header = new Uint8Array(13);
	constructor(macKey: Uint8Array, key: Uint8Array) {
		this.#macKey = macKey.slice();
		this.#aes = new BlockCipher("AES", key.slice());
		this.#cbc = new Mode("CBC", this.#aes, new Uint8Array(16), false);
	}
	overhead(length: number) {
		return 16 + (Math.floor((length + 32) / 16) + 1) * 16 - length; // IV + MAC + padding
	}
	seal(type: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
		additionalData(this.#header, type, epoch, seq, plaintext.length);
		const mac = hmacSha256(this.#macKey, this.#header, plaintext);
		const unpadded = plaintext.length + 32;
		const pad = 16 - ((unpadded + 1) % 16 || 16) + 1; // padding bytes including the length byte
		const body = new Uint8Array(unpadded + pad);
		body.set(plaintext, 0);
		body.set(mac, plaintext.length);
		body.fill(pad - 1, unpadded);
		const iv = new Uint8Array(RNG.get(16));
		this.#cbc.setIV(iv);
		const out = new Uint8Array(16 + body.length);
		out.set(iv, 0);
		out.set(new Uint8Array(this.#cbc.encrypt(body)), 16);
		return out;
	}
	open(type: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array | undefined {
		if (fragment.length < 16 + 48 || fragment.length % 16) return undefined;
		this.#cbc.setIV(fragment.subarray(0, 16));
		const body = new Uint8Array(this.#cbc.decrypt(fragment.subarray(16)));
		const padLength = body[body.length - 1];
		// check padding and MAC together, so that a bad padding costs the same time (Lucky 13 lite)
		let bad = padLength + 1 + 32 > body.length ? 1 : 0;
		const n = bad ? 0 : body.length - padLength - 1 - 32;
		for (let i = body.length - 1 - padLength; !bad && i < body.length - 1; i++) if (body[i] !== padLength) bad = 1;
		additionalData(this.#header, type, epoch, seq, n);
		const mac = hmacSha256(this.#macKey, this.#header, body.subarray(0, n));
		for (let i = 0; i < 32; i++) bad |= mac[i] ^ body[n + i];
		return bad ? undefined : body.slice(0, n);
	}
}
