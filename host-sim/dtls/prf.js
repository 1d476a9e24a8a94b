// The TLS 1.2 pseudo-random function (RFC 5246 §5) with SHA-256, which every cipher
// suite this server offers uses, and the secrets derived from it: the PSK premaster
// secret (RFC 4279 §2), the master secret (RFC 5246 §8.1, or RFC 7627 §4 with the
// extended-master-secret extension), the key block (RFC 5246 §6.3) and the Finished
// verify_data (RFC 5246 §7.4.9).
import { createHash, createHmac } from "node:crypto";

function hmac(secret, data) {
	return createHmac("sha256", secret).update(data).digest();
}

/** P_SHA256(secret, seed): A(i) = HMAC(secret, A(i-1)), output HMAC(secret, A(i) + seed)... */
export function pSha256(secret, seed, length) {
	const chunks = [];
	let produced = 0;
	let a = seed;
	while (produced < length) {
		a = hmac(secret, a);
		const chunk = hmac(secret, Buffer.concat([a, seed]));
		chunks.push(chunk);
		produced += chunk.length;
	}
	return Buffer.concat(chunks).subarray(0, length);
}

/** PRF(secret, label, seed) = P_SHA256(secret, label + seed) */
export function prf(secret, label, seed, length) {
	return pSha256(secret, Buffer.concat([Buffer.from(label, "ascii"), seed]), length);
}

export function sha256(data) {
	return createHash("sha256").update(data).digest();
}

/** RFC 4279 §2: uint16 N, N zero octets, uint16 N, the N-octet PSK. */
export function pskPremasterSecret(psk) {
	const n = psk.length;
	const out = Buffer.alloc(4 + 2 * n);
	out.writeUInt16BE(n, 0);
	out.writeUInt16BE(n, 2 + n);
	psk.copy(out, 4 + n);
	return out;
}

export function masterSecret(premaster, clientRandom, serverRandom) {
	return prf(premaster, "master secret", Buffer.concat([clientRandom, serverRandom]), 48);
}

/** RFC 7627: bound to the hash of the handshake up to and including ClientKeyExchange. */
export function extendedMasterSecret(premaster, sessionHash) {
	return prf(premaster, "extended master secret", sessionHash, 48);
}

/** Note the order: server_random first here, unlike the master secret. */
export function keyBlock(master, clientRandom, serverRandom, length) {
	return prf(master, "key expansion", Buffer.concat([serverRandom, clientRandom]), length);
}

/** 12 octets; label "client finished" or "server finished". */
export function verifyData(master, label, handshakeHash) {
	return prf(master, label, handshakeHash, 12);
}
