// The handshake message bodies a DTLS 1.2 PSK server reads and writes (RFC 5246 §7.4,
// RFC 6347 §4.2.1-4.3.2, RFC 4279 §2). Parsers throw a DecodeError on malformed input.
import { DTLS_1_0, DTLS_1_2 } from "./record.js";

export const ExtensionType = Object.freeze({ extendedMasterSecret: 0x0017, renegotiationInfo: 0xff01 });
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

export class DecodeError extends Error {}

class Reader {
	constructor(buf) {
		this.buf = buf;
		this.at = 0;
	}
	need(n, what) {
		if (this.at + n > this.buf.length) throw new DecodeError(`truncated ${what}`);
	}
	u8(what) {
		this.need(1, what);
		return this.buf[this.at++];
	}
	u16(what) {
		this.need(2, what);
		const v = this.buf.readUInt16BE(this.at);
		this.at += 2;
		return v;
	}
	bytes(n, what) {
		this.need(n, what);
		const v = this.buf.subarray(this.at, this.at + n);
		this.at += n;
		return v;
	}
	vector8(what, max = 255) {
		const n = this.u8(what);
		if (n > max) throw new DecodeError(`${what} too long`);
		return this.bytes(n, what);
	}
	vector16(what) {
		return this.bytes(this.u16(what), what);
	}
	get left() {
		return this.buf.length - this.at;
	}
}

/**
 * @returns {{clientVersion, random, sessionId, cookie, cipherSuites: number[],
 *            compressionMethods: Buffer, extensions: Map<number, Buffer>}}
 */
export function parseClientHello(body) {
	const r = new Reader(body);
	const clientVersion = r.u16("client_version");
	const random = r.bytes(32, "random");
	const sessionId = r.vector8("session_id", 32);
	const cookie = r.vector8("cookie");
	const suites = r.vector16("cipher_suites");
	if (suites.length < 2 || suites.length % 2) throw new DecodeError("bad cipher_suites length");
	const cipherSuites = [];
	for (let i = 0; i < suites.length; i += 2) cipherSuites.push(suites.readUInt16BE(i));
	const compressionMethods = r.vector8("compression_methods");
	if (compressionMethods.length < 1) throw new DecodeError("empty compression_methods");
	const extensions = new Map();
	if (r.left > 0) {
		const ext = new Reader(r.vector16("extensions"));
		while (ext.left > 0) {
			const type = ext.u16("extension type");
			const data = ext.vector16("extension data");
			if (extensions.has(type)) throw new DecodeError(`duplicate extension ${type}`);
			extensions.set(type, data);
		}
	}
	if (r.left !== 0) throw new DecodeError("trailing bytes after ClientHello");
	return { clientVersion, random, sessionId, cookie, cipherSuites, compressionMethods, extensions };
}

/** Server version DTLS 1.0, as RFC 6347 §4.2.1 recommends for the HelloVerifyRequest. */
export function helloVerifyRequest(cookie) {
	return Buffer.concat([u16(DTLS_1_0), Buffer.from([cookie.length]), cookie]);
}

/** @param extensions Array<[type, data]> */
export function serverHello({ random, sessionId = Buffer.alloc(0), cipherSuite, extensions = [] }) {
	const parts = [u16(DTLS_1_2), random, Buffer.from([sessionId.length]), sessionId, u16(cipherSuite), Buffer.from([0])];
	if (extensions.length) {
		const ext = Buffer.concat(extensions.flatMap(([type, data]) => [u16(type), u16(data.length), data]));
		parts.push(u16(ext.length), ext);
	}
	return Buffer.concat(parts);
}

/** RFC 4279 §2: the PSK ServerKeyExchange carries only psk_identity_hint<0..2^16-1>. */
export function serverKeyExchangePsk(hint) {
	const h = Buffer.from(hint, "utf8");
	return Buffer.concat([u16(h.length), h]);
}

/** RFC 4279 §2: psk_identity<0..2^16-1>, UTF-8 (RFC 4279 §5.1). */
export function parseClientKeyExchangePsk(body) {
	const r = new Reader(body);
	const identity = r.vector16("psk_identity");
	if (r.left !== 0) throw new DecodeError("trailing bytes after ClientKeyExchange");
	return { identity };
}

function u16(v) {
	const b = Buffer.alloc(2);
	b.writeUInt16BE(v);
	return b;
}
