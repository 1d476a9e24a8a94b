// The cipher suites this server implements, and the record protection each uses:
//   0xC0A8 TLS_PSK_WITH_AES_128_CCM_8     (RFC 6655) AEAD, AES-128-CCM with an 8-octet tag;
//          nonce = 4-octet salt from the key block + 8-octet explicit nonce sent in the
//          record (this server uses epoch + sequence number, as RFC 6655 §3 suggests);
//          additional data = seq_num(8) + type + version + plaintext length.
//   0x00AE TLS_PSK_WITH_AES_128_CBC_SHA256 (RFC 5487) AES-128-CBC with an explicit
//          per-record IV (RFC 5246 §6.2.3.2), HMAC-SHA256, MAC-then-encrypt (no
//          encrypt_then_mac extension is negotiated).
// Both use the SHA-256 PRF. "seq_num" in DTLS is the 16-bit epoch + the 48-bit sequence
// number (RFC 6347 §4.1.2.1).
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { keyBlock } from "./prf.js";

export const TLS_PSK_WITH_AES_128_CCM_8 = 0xc0a8;
export const TLS_PSK_WITH_AES_128_CBC_SHA256 = 0x00ae;

export const SUITES = new Map([
	[TLS_PSK_WITH_AES_128_CCM_8, { id: TLS_PSK_WITH_AES_128_CCM_8, name: "TLS_PSK_WITH_AES_128_CCM_8", kind: "ccm8", macKeyLength: 0, keyLength: 16, fixedIvLength: 4 }],
	[TLS_PSK_WITH_AES_128_CBC_SHA256, { id: TLS_PSK_WITH_AES_128_CBC_SHA256, name: "TLS_PSK_WITH_AES_128_CBC_SHA256", kind: "cbc", macKeyLength: 32, keyLength: 16, fixedIvLength: 0 }],
]);

// names of suites other stacks commonly offer, for readable logs and failure reasons
const OTHER_NAMES = new Map([
	[0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"], [0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"],
	[0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"], [0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"],
	[0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"], [0xc0a4, "TLS_PSK_WITH_AES_128_CCM"],
	[0xc0a5, "TLS_PSK_WITH_AES_256_CCM"], [0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"],
	[0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"], [0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"],
	[0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"], [0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"],
	[0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"], [0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"],
]);

export function suiteName(id) {
	return SUITES.get(id)?.name ?? OTHER_NAMES.get(id) ?? `0x${id.toString(16).padStart(4, "0")}`;
}

/** Bytes a protected record adds to its plaintext (13-octet record header included). */
export function recordOverhead(suiteId, plaintextLength = 0) {
	const suite = SUITES.get(suiteId);
	if (suite.kind === "ccm8") return 13 + 8 + 8;
	const padded = Math.ceil((plaintextLength + 32 + 1) / 16) * 16; // data + MAC + 1..16 octets of padding
	return 13 + 16 + padded - plaintextLength;
}

/** Split the key block (RFC 5246 §6.3) into the client's and the server's write keys. */
export function deriveKeys(suiteId, master, clientRandom, serverRandom) {
	const s = SUITES.get(suiteId);
	const block = keyBlock(master, clientRandom, serverRandom, 2 * (s.macKeyLength + s.keyLength + s.fixedIvLength));
	let at = 0;
	const take = (n) => block.subarray(at, (at += n));
	const clientMac = take(s.macKeyLength), serverMac = take(s.macKeyLength);
	const clientKey = take(s.keyLength), serverKey = take(s.keyLength);
	const clientIv = take(s.fixedIvLength), serverIv = take(s.fixedIvLength);
	return {
		client: { macKey: clientMac, key: clientKey, iv: clientIv },
		server: { macKey: serverMac, key: serverKey, iv: serverIv },
	};
}

function seqNum(epoch, seq) {
	const b = Buffer.alloc(8);
	b.writeUInt16BE(epoch, 0);
	b.writeUIntBE(seq, 2, 6);
	return b;
}

function pseudoHeader(epoch, seq, type, version, length) {
	const b = Buffer.alloc(13);
	b.writeUInt16BE(epoch, 0);
	b.writeUIntBE(seq, 2, 6);
	b[8] = type;
	b.writeUInt16BE(version, 9);
	b.writeUInt16BE(length, 11);
	return b;
}

/**
 * One direction's record protection. seal() -> the record fragment; open() -> the
 * plaintext, or undefined when the record does not authenticate (bad_record_mac).
 */
export function createCipher(suiteId, { macKey, key, iv }) {
	const suite = SUITES.get(suiteId);
	if (!suite) throw new RangeError(`dtls: unsupported cipher suite ${suiteName(suiteId)}`);
	return suite.kind === "ccm8" ? ccm8(key, iv) : cbcSha256(key, macKey);
}

function ccm8(key, salt) {
	const TAG = 8;
	return {
		seal(type, version, epoch, seq, plaintext) {
			const explicit = seqNum(epoch, seq);
			const cipher = createCipheriv("aes-128-ccm", key, Buffer.concat([salt, explicit]), { authTagLength: TAG });
			cipher.setAAD(pseudoHeader(epoch, seq, type, version, plaintext.length), { plaintextLength: plaintext.length });
			// (an empty input must be a fresh zero-length Buffer: some zero-length views make
			// Node skip the CCM update and fail in final() with "tag not set")
			const body = Buffer.concat([cipher.update(plaintext.length ? plaintext : Buffer.alloc(0)), cipher.final()]);
			return Buffer.concat([explicit, body, cipher.getAuthTag()]);
		},
		open(type, version, epoch, seq, fragment) {
			if (fragment.length < 8 + TAG) return undefined;
			const explicit = fragment.subarray(0, 8);
			const body = fragment.subarray(8, fragment.length - TAG);
			try {
				const decipher = createDecipheriv("aes-128-ccm", key, Buffer.concat([salt, explicit]), { authTagLength: TAG });
				decipher.setAuthTag(fragment.subarray(fragment.length - TAG));
				decipher.setAAD(pseudoHeader(epoch, seq, type, version, body.length), { plaintextLength: body.length });
				const plaintext = decipher.update(body.length ? body : Buffer.alloc(0));
				decipher.final();
				return plaintext;
			} catch {
				return undefined;
			}
		},
	};
}

function cbcSha256(key, macKey) {
	const MAC = 32, BLOCK = 16;
	const mac = (epoch, seq, type, version, data) =>
		createHmac("sha256", macKey).update(pseudoHeader(epoch, seq, type, version, data.length)).update(data).digest();
	return {
		seal(type, version, epoch, seq, plaintext) {
			const tag = mac(epoch, seq, type, version, plaintext);
			const padLength = (BLOCK - ((plaintext.length + MAC + 1) % BLOCK)) % BLOCK;
			const padding = Buffer.alloc(padLength + 1, padLength); // padding_length + 1 octets, each = padding_length
			const iv = randomBytes(BLOCK);
			const cipher = createCipheriv("aes-128-cbc", key, iv).setAutoPadding(false);
			return Buffer.concat([iv, cipher.update(Buffer.concat([plaintext, tag, padding])), cipher.final()]);
		},
		open(type, version, epoch, seq, fragment) {
			// IV + at least one block holding MAC + padding_length, in whole blocks
			if (fragment.length < BLOCK + MAC + BLOCK || fragment.length % BLOCK !== 0) return undefined;
			let data;
			try {
				const decipher = createDecipheriv("aes-128-cbc", key, fragment.subarray(0, BLOCK)).setAutoPadding(false);
				data = Buffer.concat([decipher.update(fragment.subarray(BLOCK)), decipher.final()]);
			} catch {
				return undefined;
			}
			// Check padding and MAC both, whatever the padding says, so that a bad padding is
			// not answered faster than a bad MAC (RFC 5246 §6.2.3.2, implementation note).
			const padLength = data[data.length - 1];
			let good = padLength + 1 + MAC <= data.length;
			const pad = good ? padLength + 1 : 1;
			for (let i = data.length - pad; i < data.length; i++) good = good && data[i] === padLength;
			const contentLength = data.length - pad - MAC;
			const content = data.subarray(0, contentLength);
			const expected = mac(epoch, seq, type, version, content);
			const macOk = timingSafeEqual(expected, data.subarray(contentLength, contentLength + MAC));
			return good && macOk ? Buffer.from(content) : undefined;
		},
	};
}
