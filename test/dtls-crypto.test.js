// The firmware's AES-CCM and TLS 1.2 PRF, on XS over host-sim's crypt/hmac modules,
// checked against RFC 3610's published vectors and OpenSSL (Node's crypto) for many
// random inputs, tampering included.
import test from "ava";
import crypto from "node:crypto";
import { simulation, fixture } from "./helpers/sim.js";
import { Random } from "../host-sim/models/random.js";

async function run(t, cases) {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("dtls-crypto-probe.ts"), config: { cases } });
	await sim.run(10);
	const out = [];
	for (const line of dev.traces()) if (line.startsWith("case ")) {
		const r = JSON.parse(line.slice(5));
		out[r.i] = r.out;
	}
	t.is(dev.resets.length, 0, dev.log.map((l) => l.text).join("\n"));
	return out;
}

const opensslSeal = (key, nonce, aad, data, tag) => {
	const c = crypto.createCipheriv(`aes-${key.length * 8}-ccm`, key, nonce, { authTagLength: tag });
	c.setAAD(aad, { plaintextLength: data.length });
	return Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
};

test("AES-CCM: RFC 3610 packet vectors #1 and #2", async (t) => {
	const key = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf";
	const cases = [
		// #1: nonce 00000003020100a0a1a2a3a4a5, 8 bytes of header, 23 of payload, M = 8
		{ kind: "seal", key, nonce: "00000003020100a0a1a2a3a4a5", aad: "0001020304050607", data: "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e", tag: 8 },
		// #2: 24 bytes of payload
		{ kind: "seal", key, nonce: "00000004030201a0a1a2a3a4a5", aad: "0001020304050607", data: "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", tag: 8 },
	];
	const out = await run(t, cases);
	t.is(out[0], "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0");
	t.is(out[1], "72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916");
});

test("AES-CCM-8 with TLS's 12-byte nonce agrees with OpenSSL over 60 random messages, and rejects tampering", async (t) => {
	const random = new Random(77);
	const bytes = (n) => Buffer.from(Array.from({ length: n }, () => random.nextUint32() & 0xff));
	const cases = [];
	const expected = [];
	for (let i = 0; i < 60; i++) {
		const key = bytes(16), nonce = bytes(12), aad = bytes(13), data = bytes(i * 7 % 300), tag = i % 3 === 0 ? 16 : 8;
		cases.push({ kind: "seal", key: key.toString("hex"), nonce: nonce.toString("hex"), aad: aad.toString("hex"), data: data.toString("hex"), tag });
		const sealed = opensslSeal(key, nonce, aad, data, tag);
		expected.push(sealed.toString("hex"));
		cases.push({ kind: "open", key: key.toString("hex"), nonce: nonce.toString("hex"), aad: aad.toString("hex"), data: sealed.toString("hex"), tag });
		expected.push(data.toString("hex"));
		const bad = Buffer.from(sealed);
		bad[i % bad.length] ^= 1 << (i % 8);
		cases.push({ kind: "open", key: key.toString("hex"), nonce: nonce.toString("hex"), aad: aad.toString("hex"), data: bad.toString("hex"), tag });
		expected.push("rejected");
	}
	t.deepEqual(await run(t, cases), expected);
});

test("TLS 1.2 PRF (P_SHA256) agrees with an HMAC construction from OpenSSL", async (t) => {
	const p = (secret, label, seed, length) => {
		const s = Buffer.concat([Buffer.from(label), seed]);
		const out = [];
		let a = s;
		while (Buffer.concat(out).length < length) {
			a = crypto.createHmac("sha256", secret).update(a).digest();
			out.push(crypto.createHmac("sha256", secret).update(Buffer.concat([a, s])).digest());
		}
		return Buffer.concat(out).subarray(0, length);
	};
	const cases = [], expected = [];
	// the widely used TLS 1.2 PRF test vector (secret, seed, "test label", 100 bytes)
	const secret = Buffer.from("9bbe436ba940f017b17652849a71db35", "hex");
	const seed = Buffer.from("a0ba9f936cda311827a6f796ffd5198c", "hex");
	cases.push({ kind: "prf", secret: secret.toString("hex"), label: "test label", seed: seed.toString("hex"), length: 100 });
	expected.push(p(secret, "test label", seed, 100).toString("hex"));
	for (const length of [12, 48, 40, 72]) {
		const s = crypto.randomBytes(20), sd = crypto.randomBytes(64);
		cases.push({ kind: "prf", secret: s.toString("hex"), label: "key expansion", seed: sd.toString("hex"), length });
		expected.push(p(s, "key expansion", sd, length).toString("hex"));
	}
	const out = await run(t, cases);
	t.deepEqual(out, expected);
	t.true(out[0].startsWith("e3f229ba727be17b8d122620557cd453"), "the published vector's first bytes");
});
