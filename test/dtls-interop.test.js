// The firmware's DTLS 1.2 PSK client on XS, in real time on loopback, against servers we
// did not write: OpenSSL's `s_server` (both suites) and libcoap's CoAP servers built on
// OpenSSL and GnuTLS (.ci/run installs openssl and libcoap3-bin). A small UDP relay in
// the middle replays and corrupts records to show they are dropped.
import test from "ava";
import dgram from "node:dgram";
import fs from "node:fs";
import { spawn } from "node:child_process";
import { Simulation } from "../host-sim/index.js";
import { freePort } from "./helpers/ports.js";
import { fixture } from "./helpers/sim.js";

const HOST = "127.0.0.1";
const KEY = "73656372657420666f722074657374696e67"; // "secret for testing"
const IDENTITY = "thermostat-01";
const has = (bin) => fs.existsSync(`/usr/bin/${bin}`);
const needs = (bin) => (has(bin) ? test.serial : (title) => test.serial(title, (t) => t.fail(`${bin} is not installed (.ci/run installs it)`)));

// The peers run in wall time: waits are on what they print or do, bounded only against a
// hang (generous, for two busy CPU loops beside the test); nothing measures speed.
const WAIT_MS = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(t, condition, ms = WAIT_MS) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (condition()) return true;
		await sleep(50);
	}
	return false;
}

function spawnServer(t, bin, args) {
	const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
	let out = "";
	child.stdout.on("data", (d) => (out += d));
	child.stderr.on("data", (d) => (out += d));
	t.teardown(() => child.kill());
	return { child, output: () => out };
}

async function device(t, config) {
	const sim = new Simulation({ clock: "real", seed: 9 });
	t.teardown(() => sim.close());
	const dev = await sim.addDevice({ entry: fixture("dtls-client.ts"), config: { identity: IDENTITY, key: KEY, address: HOST, ...config } });
	return dev;
}

for (const [cipher, suite] of [["PSK-AES128-CCM8", 0xc0a8], ["PSK-AES128-CBC-SHA256", 0x00ae]]) {
	needs("openssl")(`openssl s_server -dtls1_2 ${cipher}: handshake, data both ways, close_notify`, async (t) => {
		const port = await freePort();
		const server = spawnServer(t, "openssl", ["s_server", "-dtls1_2", "-nocert", "-psk", KEY, "-psk_identity", IDENTITY, "-cipher", cipher, "-accept", `${HOST}:${port}`]);
		t.true(await until(t, () => /^ACCEPT$/m.test(server.output())), `s_server did not listen: ${server.output()}`);
		const dev = await device(t, { mode: "raw", port, message: "hello from XS\n", closeAfterMs: 3000 });
		t.true(await until(t, () => dev.traces().includes(`established ${suite}`)), dev.traces().join("\n"));
		t.true(await until(t, () => server.output().includes("hello from XS")), server.output());
		server.child.stdin.write("hello from OpenSSL\n");
		t.true(await until(t, () => dev.traces().includes("app hello from OpenSSL")), dev.traces().join("\n"));
		t.true(await until(t, () => dev.traces().includes("closed")));
		// s_server prints DONE when the peer's close_notify ends the connection
		t.true(await until(t, () => /^DONE$/m.test(server.output())), server.output());
		t.is(dev.resets.length, 0);
	});
}

for (const bin of ["coap-server-openssl", "coap-server-gnutls"]) {
	needs(bin)(`${bin} with a PSK: cookie exchange, handshake, and a CoAP GET answered 2.05`, async (t) => {
		const port = await freePort();
		// libcoap serves DTLS on its CoAP port + 1; -k is the key as text
		const server = spawnServer(t, bin, ["-A", HOST, "-p", String(port), "-k", Buffer.from(KEY, "hex").toString(), "-v", "7"]);
		t.true(await until(t, () => /created DTLS endpoint/.test(server.output())), `${bin} did not listen: ${server.output()}`);
		const dev = await device(t, { mode: "coap", port: port + 1, path: "time" });
		t.true(await until(t, () => dev.traces().some((l) => l.startsWith("response 2.05 "))), dev.traces().join("\n") + server.output());
		t.true(dev.traces().includes("established 49320"), "TLS_PSK_WITH_AES_128_CCM_8 chosen");
		t.regex(server.output(), /got psk_identity: 'thermostat-01'/);
		t.regex(server.output(), bin.endsWith("gnutls") ? /GnuTLS established/ : /SSL_accept:SSLv3\/TLS write finished/);
	});
}

needs("openssl")("a replayed record is dropped, a record with a bad tag is dropped, the session goes on", async (t) => {
	const serverPort = await freePort();
	// (-quiet prints nothing when it listens: a ClientHello sent too early is retransmitted)
	const server = spawnServer(t, "openssl", ["s_server", "-dtls1_2", "-nocert", "-psk", KEY, "-psk_identity", IDENTITY, "-cipher", "PSK-AES128-CCM8", "-accept", `${HOST}:${serverPort}`, "-quiet"]);
	await sleep(400);
	// relay: device <-> relay <-> s_server; `mangle` decides what happens to server datagrams
	const relay = dgram.createSocket("udp4");
	await new Promise((r) => relay.bind(0, HOST, r));
	t.teardown(() => relay.close());
	let devicePeer;
	let mangle = (msg) => [msg];
	relay.on("message", (msg, rinfo) => {
		if (rinfo.port === serverPort) {
			for (const out of mangle(msg)) relay.send(out, devicePeer.port, devicePeer.address);
		} else {
			devicePeer = rinfo;
			relay.send(msg, serverPort, HOST);
		}
	});
	const dev = await device(t, { mode: "raw", port: relay.address().port, message: "hi\n" });
	t.true(await until(t, () => dev.traces().includes("established 49320")), dev.traces().join("\n"));
	const appLines = () => dev.traces().filter((l) => l.startsWith("app "));
	// 1. the server's record arrives twice
	mangle = (msg) => [msg, Buffer.from(msg)];
	server.child.stdin.write("first\n");
	t.true(await until(t, () => appLines().length === 1));
	await sleep(300);
	t.deepEqual(appLines(), ["app first"], "delivered once");
	// 2. one bit flipped in the ciphertext: dropped
	mangle = (msg) => {
		const bad = Buffer.from(msg);
		bad[bad.length - 3] ^= 0x10;
		return [bad];
	};
	server.child.stdin.write("second\n");
	await sleep(500);
	t.deepEqual(appLines(), ["app first"], "the forged record is not delivered");
	// 3. untouched again: the session is intact
	mangle = (msg) => [msg];
	server.child.stdin.write("third\n");
	t.true(await until(t, () => appLines().length === 2));
	t.deepEqual(appLines(), ["app first", "app third"]);
	t.is(dev.resets.length, 0);
});
