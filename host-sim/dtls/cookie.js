// Stateless cookies for the HelloVerifyRequest exchange (RFC 6347 §4.2.1): an HMAC over
// the client's address and port and the ClientHello parameters that must repeat in the
// second ClientHello (version, random, session_id, cipher_suites, compression_methods).
// The secret rotates every rotateMs; cookies made with the previous secret still verify,
// so a cookie stays good for rotateMs to 2 * rotateMs. Nothing is stored per client.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const COOKIE_LENGTH = 32;

export class CookieJar {
	constructor({ now, rotateMs = 5 * 60_000 }) {
		this.now = now;
		this.rotateMs = rotateMs;
		this.secret = randomBytes(32);
		this.previous = undefined;
		this.rotatedAt = now();
	}
	#rotate() {
		const elapsed = this.now() - this.rotatedAt;
		if (elapsed < this.rotateMs) return;
		this.previous = elapsed < 2 * this.rotateMs ? this.secret : undefined;
		this.secret = randomBytes(32);
		this.rotatedAt = this.now();
	}
	#mac(secret, address, port, hello) {
		const h = createHmac("sha256", secret);
		h.update(`${address}\0${port}\0`);
		const v = Buffer.alloc(2);
		v.writeUInt16BE(hello.clientVersion);
		h.update(v).update(hello.random);
		for (const field of [hello.sessionId, hello.compressionMethods]) h.update(Buffer.from([field.length])).update(field);
		const suites = Buffer.alloc(2 + 2 * hello.cipherSuites.length);
		suites.writeUInt16BE(hello.cipherSuites.length);
		hello.cipherSuites.forEach((s, i) => suites.writeUInt16BE(s, 2 + 2 * i));
		return h.update(suites).digest().subarray(0, COOKIE_LENGTH);
	}
	make(address, port, hello) {
		this.#rotate();
		return this.#mac(this.secret, address, port, hello);
	}
	verify(address, port, hello) {
		this.#rotate();
		if (hello.cookie.length !== COOKIE_LENGTH) return false;
		for (const secret of [this.secret, this.previous]) {
			if (secret && timingSafeEqual(this.#mac(secret, address, port, hello), hello.cookie)) return true;
		}
		return false;
	}
}
