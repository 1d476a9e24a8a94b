// host-sim/dtls: the DTLS 1.2 PSK server of the local LwM2M server, proven against
// independent clients - node-dtls-client 2.0.3, openssl s_client (OpenSSL 3.0) and
// libcoap's coap-client (OpenSSL and GnuTLS builds) - plus its record-layer defences
// (replay window, bad MAC, cookies, retransmission) through a UDP relay in the middle.
import test from "ava";
import { execFile, spawn } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { dtls } from "node-dtls-client";
import packet from "coap-packet";
import { Clock } from "../host-sim/clock.js";
import { SimulatedNetwork } from "../host-sim/network.js";
import { DtlsServer, recordOverhead } from "../host-sim/dtls/index.js";
import { ReplayWindow } from "../host-sim/dtls/replay-window.js";
import { CookieJar } from "../host-sim/dtls/cookie.js";
import { prf } from "../host-sim/dtls/prf.js";
import { createCipher, TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8 } from "../host-sim/dtls/suites.js";
import { HandshakeType, Reassembler, encodeMessage, fragmentMessage, parseFragments } from "../host-sim/dtls/handshake.js";
import { ContentType, DTLS_1_2, encodeRecord, parseRecords } from "../host-sim/dtls/record.js";

const IDENTITY = "thermostat-1";
const KEY = Buffer.from("0123456789abcdef0123456789abcdef", "hex");
const TEXT_KEY = "secretPSK"; // libcoap's -k takes the key as text
const SUITE_NAMES = { [TLS_PSK_WITH_AES_128_CCM_8]: "TLS_PSK_WITH_AES_128_CCM_8", [TLS_PSK_WITH_AES_128_CBC_SHA256]: "TLS_PSK_WITH_AES_128_CBC_SHA256" };
const OPENSSL_NAMES = { [TLS_PSK_WITH_AES_128_CCM_8]: "PSK-AES128-CCM8", [TLS_PSK_WITH_AES_128_CBC_SHA256]: "PSK-AES128-CBC-SHA256" };

const keys = { [IDENTITY]: KEY, "coap-client": Buffer.from(TEXT_KEY) };

function waitFor(predicate, ms = 5000, what = "condition") {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const poll = () => {
			if (predicate()) return resolve();
			if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
			setTimeout(poll, 5);
		};
		poll();
	});
}

/** A DtlsServer on a real loopback socket, echoing application data with an "echo:" prefix. */
async function startServer(t, options = {}) {
	const lines = [];
	const server = new DtlsServer({ socket: dgram.createSocket("udp4"), psk: (id) => keys[id], log: (l) => lines.push(l), ...options });
	const received = [];
	const events = { handshake: [], handshakeFailed: [], sessionClosed: [] };
	for (const name of Object.keys(events)) server.on(name, (e) => events[name].push({ ...e, stats: { ...server.stats } }));
	server.socket.on("message", (msg, rinfo) => {
		received.push({ text: msg.toString(), rinfo });
		if (options.echo !== false) server.socket.send(Buffer.concat([Buffer.from("echo:"), msg]), rinfo.port, rinfo.address);
	});
	await new Promise((resolve) => server.socket.bind(0, "127.0.0.1", resolve));
	t.teardown(() => new Promise((resolve) => server.socket.close(resolve)));
	return { server, port: server.socket.address().port, received, events, lines };
}

/** node-dtls-client, resolved once connected. */
function connectClient(t, { port, identity = IDENTITY, key = KEY, suite, timeout = 3000 }) {
	const client = dtls.createSocket({ type: "udp4", address: "127.0.0.1", port, psk: { [identity]: key }, ciphers: suite ? [SUITE_NAMES[suite]] : undefined, timeout });
	const messages = [];
	let closed = false;
	client.on("message", (m) => messages.push(m.toString()));
	const closedPromise = new Promise((resolve) => client.once("close", () => { closed = true; resolve(); }));
	t.teardown(() => { if (!closed) try { client.close(); } catch {} });
	return new Promise((resolve, reject) => {
		client.once("connected", () => resolve({ client, messages, closed: closedPromise }));
		client.once("error", reject);
		client.once("close", () => reject(new Error("closed before connecting")));
	});
}

/** How a datagram looks on the wire: per record its type, epoch and (clear) handshake types. */
function describe(datagram) {
	return parseRecords(datagram).records.map((r) => {
		let handshake = [];
		if (r.type === ContentType.handshake && r.epoch === 0) {
			try { handshake = parseFragments(r.fragment).map((f) => f.msgType); } catch {}
		}
		return { type: r.type, epoch: r.epoch, seq: r.seq, handshake, length: r.fragment.length };
	});
}
const hasHandshake = (d, msgType) => describe(d).some((r) => r.handshake.includes(msgType));
const isApplicationData = (d) => describe(d).some((r) => r.type === ContentType.applicationData);

/**
 * A UDP relay between clients and the server: one front socket for clients, one back
 * socket towards the server (so every client appears to the server as the same peer).
 * Hooks see each datagram and return "drop", a Buffer list to send instead, or nothing.
 */
async function startRelay(t, serverPort, hooks = {}) {
	const front = dgram.createSocket("udp4");
	const back = dgram.createSocket("udp4");
	const relay = { toServer: [], toClient: [], client: undefined };
	front.on("message", (m, r) => {
		relay.client = r;
		relay.toServer.push(m);
		const verdict = hooks.toServer?.(m);
		if (verdict === "drop") return;
		for (const d of Array.isArray(verdict) ? verdict : [m]) back.send(d, serverPort, "127.0.0.1");
	});
	back.on("message", (m) => {
		relay.toClient.push(m);
		const verdict = hooks.toClient?.(m);
		if (verdict === "drop" || !relay.client) return;
		for (const d of Array.isArray(verdict) ? verdict : [m]) front.send(d, relay.client.port, relay.client.address);
	});
	await Promise.all([new Promise((r) => front.bind(0, "127.0.0.1", r)), new Promise((r) => back.bind(0, "127.0.0.1", r))]);
	t.teardown(() => { front.close(); back.close(); });
	relay.port = front.address().port;
	relay.backPort = back.address().port;
	relay.inject = (d) => back.send(d, serverPort, "127.0.0.1");
	return relay;
}

/** openssl s_client as a child process; `out` collects its stdout. */
function opensslClient(t, { port, suite, identity = IDENTITY, key = KEY, extra = [] }) {
	const child = spawn("openssl", ["s_client", "-dtls1_2", "-psk", key.toString("hex"), "-psk_identity", identity, "-cipher", OPENSSL_NAMES[suite], "-connect", `127.0.0.1:${port}`, "-quiet", ...extra], { stdio: ["pipe", "pipe", "pipe"] });
	const io = { child, out: "", err: "" };
	child.stdout.on("data", (d) => (io.out += d));
	child.stderr.on("data", (d) => (io.err += d));
	child.stdin.on("error", () => {});
	t.teardown(() => { if (child.exitCode === null) child.kill(); });
	return io;
}

function run(cmd, args, ms = 10_000) {
	return new Promise((resolve) => {
		execFile(cmd, args, { timeout: ms }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
	});
}

function handshakeFigures(e) {
	return `${e.stats.datagramsIn} datagrams/${e.stats.bytesIn} B in, ${e.stats.datagramsOut} datagrams/${e.stats.bytesOut} B out`;
}

// ---------------------------------------------------------------- node-dtls-client

for (const [suite, hint] of [[TLS_PSK_WITH_AES_128_CCM_8, undefined], [TLS_PSK_WITH_AES_128_CBC_SHA256, undefined], [TLS_PSK_WITH_AES_128_CCM_8, "lwm2m-server"], [TLS_PSK_WITH_AES_128_CBC_SHA256, "lwm2m-server"]]) {
	test(`node-dtls-client 2.0.3: ${SUITE_NAMES[suite]}${hint ? " with a server hint" : ""} - handshake, echo both ways, close_notify`, async (t) => {
		const { server, port, received, events } = await startServer(t, { hint });
		const { client, messages, closed } = await connectClient(t, { port, suite });
		t.is(events.handshake.length, 1);
		const hs = events.handshake[0];
		t.is(hs.identity, IDENTITY);
		t.is(hs.suite, SUITE_NAMES[suite]);
		t.is(hs.peer, `127.0.0.1:${hs.port}`);
		t.log(`handshake with node-dtls-client, ${hs.suite}${hint ? " + hint" : ""}: ${handshakeFigures(hs)}`);
		t.deepEqual(server.sessions().map((s) => [s.identity, s.suite]), [[IDENTITY, SUITE_NAMES[suite]]]);

		const before = { ...server.stats };
		client.send(Buffer.from("hello 1"));
		await waitFor(() => messages.length === 1, 3000, "the echo");
		t.deepEqual(received.map((r) => r.text), ["hello 1"]);
		t.is(messages[0], "echo:hello 1");
		const overheadIn = server.stats.bytesIn - before.bytesIn - "hello 1".length;
		const overheadOut = server.stats.bytesOut - before.bytesOut - "echo:hello 1".length;
		t.is(overheadOut, recordOverhead(suite, "echo:hello 1".length));
		t.log(`record overhead: ${overheadIn} B for 7 B from the client, ${overheadOut} B for 12 B from the server`);

		// the server sends unprompted too (as an LwM2M server does)
		await new Promise((resolve, reject) => server.socket.send(Buffer.from("from server"), hs.port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
		await waitFor(() => messages.length === 2, 3000, "the server's datagram");
		t.is(messages[1], "from server");

		client.close();
		await closed;
		await waitFor(() => events.sessionClosed.length === 1, 3000, "sessionClosed");
		t.regex(events.sessionClosed[0].reason, /close_notify/);
		t.deepEqual(server.sessions(), []);
		t.is(server.stats.alertsReceived, 1);
	});
}

test("node-dtls-client: a wrong key fails the handshake with bad_record_mac; the server goes on serving", async (t) => {
	const { server, port, events } = await startServer(t);
	const error = await t.throwsAsync(connectClient(t, { port, key: Buffer.from("not the right key") }));
	t.regex(error.message, /bad_record_mac|alert/i);
	await waitFor(() => events.handshakeFailed.length === 1, 3000, "handshakeFailed");
	t.regex(events.handshakeFailed[0].reason, /Finished failed to authenticate/);
	t.is(events.handshakeFailed[0].identity, IDENTITY);
	t.deepEqual(server.sessions(), []);

	const { client, messages } = await connectClient(t, { port });
	client.send(Buffer.from("still there?"));
	await waitFor(() => messages.length === 1);
	t.is(messages[0], "echo:still there?");
	t.is(server.stats.handshakesFailed, 1);
	t.is(server.stats.handshakesCompleted, 1);
});

test("node-dtls-client: an unknown identity gets an unknown_psk_identity alert", async (t) => {
	const { server, port, events, lines } = await startServer(t);
	await t.throwsAsync(connectClient(t, { port, identity: "stranger", key: KEY }));
	await waitFor(() => events.handshakeFailed.length === 1);
	t.regex(events.handshakeFailed[0].reason, /unknown PSK identity "stranger"/);
	t.true(lines.some((l) => /fatal alert unknown_psk_identity/.test(l)));
	t.is(server.handshakesInProgress, 0);
});

// ---------------------------------------------------------------- openssl s_client

for (const suite of [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256]) {
	test(`openssl s_client -dtls1_2 -cipher ${OPENSSL_NAMES[suite]}: handshake, a typed line arrives decrypted, the echo returns`, async (t) => {
		const { server, port, received, events } = await startServer(t);
		const ssl = opensslClient(t, { port, suite });
		await waitFor(() => events.handshake.length === 1, 8000, `the handshake (openssl: ${ssl.err})`);
		const hs = events.handshake[0];
		t.is(hs.suite, SUITE_NAMES[suite]);
		t.is(hs.identity, IDENTITY);
		t.true(hs.extendedMasterSecret, "OpenSSL offers extended_master_secret (RFC 7627); it is used");
		t.log(`handshake with openssl ${OPENSSL_NAMES[suite]}: ${handshakeFigures(hs)}`);
		ssl.child.stdin.write("typed into s_client\n");
		await waitFor(() => received.length === 1, 3000, "the typed line");
		t.is(received[0].text, "typed into s_client\n");
		await waitFor(() => ssl.out.includes("echo:typed into s_client"), 3000, "the echo at s_client");
		t.is(server.sessions().length, 1);
	});
}

test("openssl s_client: a wrong key - the server answers bad_record_mac, reports why, and openssl gives up", async (t) => {
	const { port, events } = await startServer(t);
	const ssl = opensslClient(t, { port, suite: TLS_PSK_WITH_AES_128_CCM_8, key: Buffer.from("ffffffffffffffff", "hex") });
	await waitFor(() => events.handshakeFailed.length === 1, 8000, "handshakeFailed");
	t.regex(events.handshakeFailed[0].reason, /PSK .* is not the server's/);
	await waitFor(() => ssl.child.exitCode !== null, 5000, "openssl to exit");
	t.regex(ssl.err, /bad record mac|alert/i);
	t.is(events.handshake.length, 0);
});

test("handshake messages larger than the MTU are fragmented (mtu 128, a 120-octet hint); openssl and node-dtls-client reassemble them", async (t) => {
	const hint = "h".repeat(120); // OpenSSL takes hints of up to 128 octets
	const { port, events, received } = await startServer(t, { mtu: 128, hint });
	const relay = await startRelay(t, port);
	const ssl = opensslClient(t, { port: relay.port, suite: TLS_PSK_WITH_AES_128_CCM_8 });
	await waitFor(() => events.handshake.length === 1, 8000, `the handshake (openssl: ${ssl.err})`);
	t.true(relay.toClient.every((d) => d.length <= 128), "no datagram above the MTU");
	const fragments = relay.toClient.flatMap((d) => parseRecords(d).records)
		.filter((r) => r.type === ContentType.handshake && r.epoch === 0)
		.flatMap((r) => parseFragments(r.fragment));
	const ske = fragments.filter((f) => f.msgType === HandshakeType.serverKeyExchange);
	t.true(ske.length >= 3, `ServerKeyExchange in ${ske.length} fragments`);
	t.true(ske.every((f) => f.fragmentLength < f.length));
	ssl.child.stdin.write("after fragments\n");
	await waitFor(() => received.length === 1);
	t.is(received[0].text, "after fragments\n");

	const { client, messages } = await connectClient(t, { port });
	client.send(Buffer.from("fragmented too"));
	await waitFor(() => messages.length === 1);
	t.is(messages[0], "echo:fragmented too");
	t.is(events.handshake.length, 2);
});

// ---------------------------------------------------------------- libcoap

for (const variant of ["openssl", "gnutls"]) {
	test(`libcoap coap-client-${variant}: GET coaps://…/x against a CoAP responder on server.socket gets its 2.05`, async (t) => {
		const { server, port, events } = await startServer(t, { echo: false });
		const requests = [];
		server.socket.on("message", (msg, rinfo) => {
			const req = packet.parse(msg);
			requests.push(req);
			if (!req.confirmable || req.code !== "0.01") return;
			const reply = packet.generate({ messageId: req.messageId, token: req.token, code: "2.05", ack: true, options: [{ name: "Content-Format", value: Buffer.from([0]) }], payload: Buffer.from("22.5 C") });
			server.socket.send(reply, 0, reply.length, rinfo.port, rinfo.address);
		});
		const { error, stdout, stderr } = await run(`coap-client-${variant}`, ["-k", TEXT_KEY, "-u", "coap-client", "-m", "get", "-B", "5", `coaps://127.0.0.1:${port}/x`]);
		t.falsy(error, stderr);
		t.is(stdout.trim(), "22.5 C");
		t.is(requests.length, 1);
		t.deepEqual(requests[0].options.filter((o) => o.name === "Uri-Path").map((o) => o.value.toString()), ["x"]);
		t.is(events.handshake.length, 1);
		t.is(events.handshake[0].identity, "coap-client");
		t.log(`handshake with coap-client-${variant}: ${events.handshake[0].suite}, ${handshakeFigures(events.handshake[0])}`);
		await waitFor(() => events.sessionClosed.length === 1, 3000, "libcoap's close_notify");
	});
}

// ---------------------------------------------------------------- attacks and losses, through a relay

test("a replayed record is dropped by the anti-replay window; the application sees the data once", async (t) => {
	const { server, port, received } = await startServer(t);
	let captured;
	const relay = await startRelay(t, port, { toServer: (d) => { if (!captured && isApplicationData(d)) captured = Buffer.from(d); } });
	const { client, messages } = await connectClient(t, { port: relay.port, suite: TLS_PSK_WITH_AES_128_CCM_8 });
	client.send(Buffer.from("pay 5 EUR"));
	await waitFor(() => messages.length === 1);
	t.truthy(captured);
	relay.inject(captured);
	relay.inject(captured);
	await waitFor(() => server.stats.replayDropped === 2, 3000, "the replay counter");
	client.send(Buffer.from("next"));
	await waitFor(() => messages.length === 2);
	t.deepEqual(received.map((r) => r.text), ["pay 5 EUR", "next"]);
	t.is(server.stats.badMacDropped, 0);
});

for (const suite of [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256]) {
	test(`${SUITE_NAMES[suite]}: a record with a flipped ciphertext bit is dropped (bad MAC) and does not move the window`, async (t) => {
		const { server, port, received } = await startServer(t);
		let flipped = false;
		const relay = await startRelay(t, port, {
			toServer: (d) => {
				if (flipped || !isApplicationData(d)) return;
				flipped = true;
				const bad = Buffer.from(d);
				bad[bad.length - 20] ^= 0x01; // inside the ciphertext, before the tag/MAC+padding
				return [bad, d]; // the forgery first, then the genuine record with the same sequence number
			},
		});
		const { client, messages } = await connectClient(t, { port: relay.port, suite });
		client.send(Buffer.from("a message of some thirty octets"));
		await waitFor(() => messages.length === 1);
		t.is(server.stats.badMacDropped, 1);
		t.is(server.stats.replayDropped, 0);
		t.deepEqual(received.map((r) => r.text), ["a message of some thirty octets"]);
		t.is(server.sessions().length, 1, "a bad record does not end the session");
	});
}

test("a ClientHello without a cookie gets a HelloVerifyRequest and creates no state; a wrong cookie likewise", async (t) => {
	const { server, port } = await startServer(t);
	const raw = dgram.createSocket("udp4");
	t.teardown(() => raw.close());
	await new Promise((r) => raw.bind(0, "127.0.0.1", r));
	const replies = [];
	raw.on("message", (m) => replies.push(m));
	const random = randomBytes(32);
	raw.send(clientHelloDatagram({ random, recordSeq: 7, messageSeq: 0 }), port, "127.0.0.1");
	await waitFor(() => replies.length === 1);
	const [hvr] = parseRecords(replies[0]).records;
	t.is(hvr.type, ContentType.handshake);
	t.is(hvr.version, 0xfeff, "DTLS 1.0 in the HelloVerifyRequest record (RFC 6347 §4.2.1)");
	t.is(hvr.seq, 7, "the ClientHello's record sequence number");
	const [f] = parseFragments(hvr.fragment);
	t.is(f.msgType, HandshakeType.helloVerifyRequest);
	t.is(f.messageSeq, 0);
	t.is(f.body.readUInt16BE(0), 0xfeff);
	const cookie = f.body.subarray(3, 3 + f.body[2]);
	t.is(cookie.length, 32);
	t.is(server.handshakesInProgress, 0);
	t.deepEqual(server.sessions(), []);
	t.is(server.stats.helloVerifyRequests, 1);

	// a cookie for another random (or from another address) is no cookie
	raw.send(clientHelloDatagram({ random: randomBytes(32), cookie, recordSeq: 8, messageSeq: 1 }), port, "127.0.0.1");
	await waitFor(() => replies.length === 2);
	t.is(parseFragments(parseRecords(replies[1]).records[0].fragment)[0].msgType, HandshakeType.helloVerifyRequest);
	t.is(server.handshakesInProgress, 0);

	// the right cookie starts a handshake: ServerHello + ServerHelloDone
	raw.send(clientHelloDatagram({ random, cookie, recordSeq: 9, messageSeq: 1 }), port, "127.0.0.1");
	await waitFor(() => replies.length === 3);
	const flight = parseRecords(replies[2]).records;
	t.deepEqual(flight.map((r) => parseFragments(r.fragment)[0].msgType), [HandshakeType.serverHello, HandshakeType.serverHelloDone]);
	t.deepEqual(flight.map((r) => r.seq), [9, 10], "epoch-0 sequence numbers continue from the second ClientHello's");
	t.deepEqual(flight.map((r) => parseFragments(r.fragment)[0].messageSeq), [1, 2]);
	t.is(server.handshakesInProgress, 1);
});

test("the server retransmits its flight when the client's next flight is lost (openssl through a lossy relay)", async (t) => {
	const { server, port, events, received } = await startServer(t);
	let serverHellos = 0;
	let dropped = 0;
	const relay = await startRelay(t, port, {
		// drop the client's ClientKeyExchange flight until the server has sent its flight again
		toServer: (d) => (hasHandshake(d, HandshakeType.clientKeyExchange) && serverHellos < 2 ? (dropped++, "drop") : undefined),
		toClient: (d) => { if (hasHandshake(d, HandshakeType.serverHello)) serverHellos++; },
	});
	const started = Date.now();
	const ssl = opensslClient(t, { port: relay.port, suite: TLS_PSK_WITH_AES_128_CCM_8 });
	await waitFor(() => events.handshake.length === 1, 10_000, `the handshake (openssl: ${ssl.err})`);
	const took = Date.now() - started;
	t.true(dropped >= 1);
	t.true(serverHellos >= 2);
	t.true(server.stats.retransmissions >= 1);
	t.true(took >= 900, `the retransmission timer (1 s) ran: ${took} ms`);
	ssl.child.stdin.write("made it\n");
	await waitFor(() => received.length === 1);
	t.is(received[0].text, "made it\n");
});

test("a client that lost its state reconnects from the same address:port: a fresh handshake replaces the session", async (t) => {
	const { server, port, events } = await startServer(t);
	// the first client vanishes without its close_notify reaching the server
	const relay = await startRelay(t, port, { toServer: (d) => (describe(d).some((r) => r.type === ContentType.alert) ? "drop" : undefined) });
	const first = await connectClient(t, { port: relay.port, suite: TLS_PSK_WITH_AES_128_CBC_SHA256 });
	first.client.close();
	await first.closed;
	await waitFor(() => relay.toServer.some((d) => describe(d).some((r) => r.type === ContentType.alert)), 3000, "the dropped close_notify");
	t.is(server.sessions().length, 1);
	const second = await connectClient(t, { port: relay.port, suite: TLS_PSK_WITH_AES_128_CCM_8 });
	t.is(events.handshake.length, 2);
	t.is(events.handshake[0].peer, events.handshake[1].peer, "the same peer address:port");
	t.is(events.sessionClosed.length, 1);
	t.regex(events.sessionClosed[0].reason, /new handshake/);
	t.deepEqual(server.sessions().map((s) => s.suite), ["TLS_PSK_WITH_AES_128_CCM_8"]);
	second.client.send(Buffer.from("again"));
	await waitFor(() => second.messages.length === 1);
	t.is(second.messages[0], "echo:again");
});

test("closing server.socket sends close_notify to every established peer", async (t) => {
	const { server, port, events } = await startServer(t);
	const a = await connectClient(t, { port, suite: TLS_PSK_WITH_AES_128_CCM_8 });
	const b = await connectClient(t, { port, suite: TLS_PSK_WITH_AES_128_CBC_SHA256 });
	t.is(server.sessions().length, 2);
	let socketClosed = false;
	server.socket.once("close", () => (socketClosed = true));
	await new Promise((resolve) => server.socket.close(resolve));
	t.true(socketClosed);
	await Promise.all([a.closed, b.closed]); // node-dtls-client ends its connection on close_notify
	t.is(server.stats.alertsSent, 2);
	t.deepEqual(events.sessionClosed.map((e) => e.reason), ["server closed", "server closed"]);
	const error = await new Promise((r) => server.socket.send(Buffer.from("x"), 1, "127.0.0.1", r));
	t.truthy(error, "nothing goes out after close");
});

test("idle sessions expire", async (t) => {
	const { server, port, events } = await startServer(t, { idleTimeoutMs: 300 });
	const { client, messages } = await connectClient(t, { port });
	client.send(Buffer.from("x"));
	await waitFor(() => messages.length === 1);
	t.is(server.sessions().length, 1);
	await waitFor(() => events.sessionClosed.length === 1, 3000, "expiry");
	t.regex(events.sessionClosed[0].reason, /idle/);
	t.deepEqual(server.sessions(), []);
	// the client is told with a close_notify
	await waitFor(() => server.stats.alertsSent === 1);
});

// ---------------------------------------------------------------- virtual time

test("virtual time: flight 4 is retransmitted after 1, 2, 4, 8, 16, 32, 60 s, then the handshake is given up", async (t) => {
	const clock = new Clock();
	const network = new SimulatedNetwork(clock, { latencyMs: 1 });
	const server = new DtlsServer({ socket: network.createSocket(), psk: (id) => keys[id], clock });
	const failed = [];
	server.on("handshakeFailed", (e) => failed.push({ ...e, at: clock.now() }));
	server.socket.bind(5684, "127.0.0.1");
	const peer = network.createSocket();
	peer.bind(40000, "127.0.0.9");
	const arrivals = [];
	peer.on("message", (m) => arrivals.push({ at: clock.now(), m }));
	await clock.run(1);
	const random = randomBytes(32);
	peer.send(clientHelloDatagram({ random, recordSeq: 0, messageSeq: 0 }), 5684, "127.0.0.1");
	await clock.run(10);
	const [f] = parseFragments(parseRecords(arrivals[0].m).records[0].fragment);
	const cookie = f.body.subarray(3);
	peer.send(clientHelloDatagram({ random, cookie, recordSeq: 1, messageSeq: 1 }), 5684, "127.0.0.1");
	await clock.run(300_000);
	const flights = arrivals.filter((a) => hasHandshake(a.m, HandshakeType.serverHello));
	const gaps = flights.slice(1).map((a, i) => a.at - flights[i].at);
	t.deepEqual(gaps, [1000, 2000, 4000, 8000, 16000, 32000, 60000]);
	// every retransmission has fresh record sequence numbers
	const seqs = flights.flatMap((a) => describe(a.m).map((r) => r.seq));
	t.is(new Set(seqs).size, seqs.length);
	t.is(failed.length, 1);
	t.regex(failed[0].reason, /timed out/);
	t.is(failed[0].at - flights.at(-1).at, 60000 - 1);
	t.is(server.handshakesInProgress, 0);
	await new Promise((r) => server.socket.close(r));
	clock.close();
});

// ---------------------------------------------------------------- the socket face

test("server.socket refuses non-loopback addresses and sessionless peers with clear errors", async (t) => {
	const server = new DtlsServer({ socket: dgram.createSocket("udp4"), psk: () => undefined });
	t.throws(() => server.socket.bind(0, "0.0.0.0"), { instanceOf: RangeError, message: /loopback addresses \(127\.0\.0\.0\/8\) only/ });
	await new Promise((r) => server.socket.bind(0, "127.0.0.1", r));
	t.teardown(() => new Promise((r) => server.socket.close(r)));
	t.is(server.socket.address().address, "127.0.0.1");
	const e1 = await new Promise((r) => server.socket.send(Buffer.from("x"), 5683, "10.0.0.1", r));
	t.regex(e1.message, /loopback/);
	const e2 = await new Promise((r) => server.socket.send(Buffer.from("x"), 0, 1, 5683, "127.0.0.1", r));
	t.is(e2.code, "ENOTCONN");
	t.regex(e2.message, /no established DTLS session with 127\.0\.0\.1:5683/);
	t.throws(() => new DtlsServer({ socket: dgram.createSocket("udp4"), psk: () => undefined, cipherSuites: [0x00a8] }), { message: /cipherSuites/ });
});

// ---------------------------------------------------------------- units

test("units: PRF (P_SHA256 test vector), replay window, record protection, reassembly, cookie rotation", (t) => {
	// the widely used P_SHA256 vector (also reproduced with `openssl kdf ... TLS1-PRF`)
	const out = prf(Buffer.from("9bbe436ba940f017b17652849a71db35", "hex"), "test label", Buffer.from("a0ba9f936cda311827a6f796ffd5198c", "hex"), 100);
	t.is(out.toString("hex"), "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66");

	const w = new ReplayWindow();
	for (const seq of [5, 3, 70]) { t.true(w.check(seq)); w.accept(seq); }
	t.false(w.check(70));
	t.false(w.check(5), "64 behind the top: outside the window");
	t.true(w.check(69));
	t.true(w.check(7));
	w.accept(7);
	t.false(w.check(7));
	t.true(w.check(2 ** 48 - 1));

	for (const suite of [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256]) {
		const k = { macKey: randomBytes(32), key: randomBytes(16), iv: randomBytes(4) };
		const c = createCipher(suite, k);
		for (const n of [0, 1, 15, 16, 17, 100]) {
			const plain = randomBytes(n);
			const sealed = c.seal(23, DTLS_1_2, 1, 42, plain);
			t.is(13 + sealed.length - n, recordOverhead(suite, n));
			t.deepEqual(c.open(23, DTLS_1_2, 1, 42, sealed), plain);
			t.is(c.open(23, DTLS_1_2, 1, 43, sealed), undefined, "another sequence number is another MAC");
			const bad = Buffer.from(sealed);
			bad[bad.length - 1] ^= 0x80;
			t.is(c.open(23, DTLS_1_2, 1, 42, bad), undefined);
		}
	}

	const body = randomBytes(100);
	const pieces = fragmentMessage(HandshakeType.serverKeyExchange, 3, body, 30).map((p) => parseFragments(p)[0]);
	t.is(pieces.length, 4);
	const r = new Reassembler(3);
	const got = [];
	for (const p of [pieces[2], pieces[0], pieces[3], pieces[0]]) got.push(...r.add(p).messages);
	t.deepEqual(got, []);
	got.push(...r.add(pieces[1]).messages);
	t.is(got.length, 1);
	t.deepEqual(got[0].body, body);
	t.true(r.add(pieces[1]).old, "a fragment of a finished message is a retransmission");
	t.deepEqual(encodeMessage(HandshakeType.serverKeyExchange, 3, body).subarray(12), body);

	let now = 0;
	const jar = new CookieJar({ now: () => now, rotateMs: 1000 });
	const hello = { clientVersion: 0xfefd, random: randomBytes(32), sessionId: Buffer.alloc(0), compressionMethods: Buffer.from([0]), cipherSuites: [0xc0a8] };
	const cookie = jar.make("127.0.0.1", 1234, hello);
	t.true(jar.verify("127.0.0.1", 1234, { ...hello, cookie }));
	t.false(jar.verify("127.0.0.1", 1235, { ...hello, cookie }), "bound to the client's port");
	t.false(jar.verify("127.0.0.1", 1234, { ...hello, cipherSuites: [0x00ae], cookie }), "bound to the ClientHello");
	now = 1500;
	t.true(jar.verify("127.0.0.1", 1234, { ...hello, cookie }), "the previous secret still verifies");
	now = 2600;
	t.false(jar.verify("127.0.0.1", 1234, { ...hello, cookie }), "two rotations later it does not");
});

/** A minimal DTLS 1.2 ClientHello offering CCM-8, in one record (for the stateless tests). */
function clientHelloDatagram({ random, cookie = Buffer.alloc(0), recordSeq, messageSeq }) {
	const bodyParts = [Buffer.from([0xfe, 0xfd]), random, Buffer.from([0]), Buffer.from([cookie.length]), cookie, Buffer.from([0, 2, 0xc0, 0xa8]), Buffer.from([1, 0])];
	const message = encodeMessage(HandshakeType.clientHello, messageSeq, Buffer.concat(bodyParts));
	return encodeRecord({ type: ContentType.handshake, version: 0xfeff, epoch: 0, seq: recordSeq, fragment: message });
}
