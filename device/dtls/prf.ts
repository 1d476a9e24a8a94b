// The TLS 1.2 pseudo-random function (RFC 5246 §5) with SHA-256, P_SHA256:
//   A(0) = seed, A(i) = HMAC(secret, A(i-1))
//   P(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
//   PRF(secret, label, seed) = P_SHA256(secret, label + seed)
// Moddable has HMAC over its Digest but no PRF: this is it, on `hmac`'s process().

import { Digest } from "crypt";
import HMAC from "hmac";
import { utf8Encode } from "../coap/utf8";

// Constructed at first use, not at module top level: this module is preloaded, and xsl runs
// preloaded module bodies at link time, where host constructors such as Digest are unavailable.
let digest: Digest | undefined;
function sha256(): Digest {
	return (digest ??= new Digest("SHA256"));
}

/** `length` bytes of PRF(secret, label, seed); `seed` may be given in parts (client random, server random). */
export function prf(secret: Uint8Array, label: string, seeds: readonly Uint8Array[], length: number): Uint8Array {
	const hmac = new HMAC(sha256(), secret);
	const labelBytes = utf8Encode(label);
	let n = labelBytes.length;
	for (const s of seeds) n += s.length;
	const seed = new Uint8Array(n);
	seed.set(labelBytes, 0);
	let at = labelBytes.length;
	for (const s of seeds) {
		seed.set(s, at);
		at += s.length;
	}
	const out = new Uint8Array(length);
	let a: ArrayBuffer = hmac.process(seed); // A(1)
	for (let filled = 0; filled < length;) {
		const block = new Uint8Array(hmac.process(a, seed));
		const take = Math.min(block.length, length - filled);
		out.set(block.subarray(0, take), filled);
		filled += take;
		a = hmac.process(a);
	}
	return out;
}

/** HMAC-SHA256 of the parts. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
	return new Uint8Array(new HMAC(sha256(), key).process(...parts));
}

/** SHA-256 of the parts (the handshake hash). */
export function sha256Of(...parts: Uint8Array[]): Uint8Array {
	return new Uint8Array(sha256().process(...parts));
}
