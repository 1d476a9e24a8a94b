// The local LwM2M server's behaviour a user or a peer sees (issue 11, items 10-12, 16):
// one caller's cancel leaves other observers of the path alone; an oversize HTTP body
// gets 413 with a reason; writes larger than a datagram go out with Block1, to the
// firmware on XS and to npm coap's server; a DTLS registration says "secure"; and the
// server's retransmissions run on the virtual clock over a lossy link.
import test from "ava";
import path from "node:path";
import packet from "coap-packet";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { CoapEndpoint } from "../host-sim/lwm2m-server/coap-endpoint.js";
import { TestClient, reply, CF } from "./helpers/lwm2m-client.js";
import { fixture, root, simulation } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";
import { Random } from "../host-sim/models/random.js";

async function setup(t) {
	const server = new Lwm2mServer({ coapPort: 0, httpPort: 0, requestTimeout: 5 });
	const { coapPort, httpPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint: "thermo-1" }).start();
	t.teardown(async () => {
		await client.stop();
		await server.stop();
	});
	t.is((await client.register()).code, "2.01");
	const api = async (method, url, body) => {
		const res = await fetch(`http://127.0.0.1:${httpPort}/api${url}`, { method, body });
		return { status: res.status, json: await res.json() };
	};
	return { server, client, api };
}

// wall time bounds only a hang here (generous, for a loaded machine)
async function until(predicate, ms = 30_000) {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > ms) throw new Error("timed out waiting");
		await new Promise((r) => setTimeout(r, 5));
	}
}

test("cancelling one observation over REST leaves another observer of the same path its notifications", async (t) => {
	const { server, client, api } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	const dashboard = [];
	// the dashboard's own observation, in-process
	const own = await server.observe("thermo-1", "/3303/0/5700", (n) => dashboard.push(n.content.value));
	t.true(own.success);
	// a user's: REST POST, then DELETE without an id (curl), then the CLI's way, with its id
	const rest = await api("POST", "/clients/thermo-1/3303/0/5700/observe");
	t.true(rest.json.success, JSON.stringify(rest.json));
	t.not(rest.json.observation.id, own.observation.id);
	t.is(server.observations("thermo-1").length, 2);
	const cancels = () => client.requests.filter((r) => r.observe === 1).length;
	t.deepEqual((await api("DELETE", "/clients/thermo-1/3303/0/5700/observe")).json, { cancelled: 1 });
	t.is(cancels(), 0, "the client is not told to stop while the dashboard observes");
	const cli = await api("POST", "/clients/thermo-1/3303/0/5700/observe");
	t.deepEqual((await api("DELETE", `/clients/thermo-1/3303/0/5700/observe?id=${cli.json.observation.id}`)).json, { cancelled: 1 });
	t.deepEqual((await api("DELETE", "/clients/thermo-1/3303/0/5700/observe")).json, { cancelled: 0 }, "REST cannot cancel the dashboard's");
	t.is(cancels(), 0);
	client.notify("/3303/0/5700", CF.TEXT, "22.25");
	await until(() => dashboard.length === 1);
	t.deepEqual(dashboard, [22.25]);
	t.is(server.observations("thermo-1").length, 1);
	// the last observer's cancel is the one the client hears of
	t.is(await server.cancelObservation("thermo-1", "/3303/0/5700"), 1);
	t.is(cancels(), 1);
	t.is(server.observations("thermo-1").length, 0);
});

test("an HTTP body over 1 MiB is answered 413 with a reason, not a dropped connection", async (t) => {
	const { api } = await setup(t);
	const r = await api("PUT", "/clients/thermo-1/3308/0/5750", JSON.stringify("x".repeat(1_100_000)));
	t.is(r.status, 413);
	t.regex(r.json.error, /larger than 1048576 bytes/);
});

test("a write larger than one datagram is sent with Block1 to a server we did not write (npm coap)", async (t) => {
	// npm coap's Server reassembles Block1 itself; it plays the LwM2M client's CoAP side
	const { server, client } = await setup(t);
	let received;
	client.route("PUT", "/3308/0/5750", (req, res) => {
		received = req;
		reply(res, { code: "2.04" });
	});
	const text = "abcdefghij".repeat(140); // 1400 characters
	const blocks = [];
	server.on("coaplog", () => {});
	server.endpoint.mux.on("datagram", (d) => {
		const b1 = d.packet.options.find((o) => o.name === "Block1");
		if (!d.incoming && b1) blocks.push([...b1.value].reduce((a, x) => a * 256 + x, 0));
	});
	const r = await server.write("thermo-1", "/3308/0/5750", text);
	t.like(r, { status: "CHANGED", success: true });
	t.is(received.payload.toString(), text);
	t.is(received.format, CF.TEXT);
	// two blocks of 1024 bytes: num 0 more, num 1 last (szx 6)
	t.deepEqual(blocks, [0x0e, 0x16]);
});

test("Block1 follows the block size a peer asks for in 2.31 and starts over on 4.08", async (t) => {
	// a hand-written peer: wants 256-byte blocks, and loses its reassembly once
	const sim = simulation(t, { seed: 3 });
	const peer = sim.network.createSocket();
	peer.bind(5690, "127.0.0.9");
	const { generate, parse } = packet;
	const seen = [];
	let lostOnce = false;
	let body = Buffer.alloc(0);
	peer.on("message", (msg, rinfo) => {
		const p = parse(msg);
		const b1 = [...p.options.find((o) => o.name === "Block1").value].reduce((a, x) => a * 256 + x, 0);
		const num = b1 >> 4, more = (b1 & 8) !== 0, szx = b1 & 7;
		seen.push(`${num}/${more ? 1 : 0}/${16 << szx}`);
		const answer = (code, block) => peer.send(generate({ code, ack: true, messageId: p.messageId, token: p.token, options: block === undefined ? [] : [{ name: "Block1", value: Buffer.from([block]) }] }), rinfo.port, rinfo.address);
		if (num === 0) body = Buffer.alloc(0);
		if (num === 5 && !lostOnce) {
			lostOnce = true;
			return answer("4.08");
		}
		body = Buffer.concat([body, p.payload]);
		if (more) return answer("2.31", (num << 4) | 8 | Math.min(szx, 4));
		answer("2.04", (num << 4) | szx);
	});
	const socket = sim.network.createSocket();
	const endpoint = new CoapEndpoint({ socket, clock: sim.clock, host: "127.0.0.1", port: 5683, onRequest: () => undefined });
	await endpoint.start();
	t.teardown(() => endpoint.stop());
	const payload = Buffer.from("0123456789abcdef".repeat(100)); // 1600 bytes
	const pending = endpoint.request({ address: "127.0.0.9", port: 5690, method: "PUT", pathname: "/3308/0/5750", contentFormat: 0, payload, timeoutMs: 60_000 });
	await sim.run(10_000);
	const res = await pending;
	t.is(res.code, "2.04");
	t.true(body.equals(payload));
	// 1024 bytes first; the peer's 2.31 asks for 256: on from byte 1024 (num 4); its 4.08
	// at num 5 starts the body over, at 256 bytes a block
	t.deepEqual(seen, ["0/1/1024", "4/1/256", "5/1/256", "0/1/256", "1/1/256", "2/1/256", "3/1/256", "4/1/256", "5/1/256", "6/0/256"]);
});

test("a 1400-character write reaches the firmware on XS with Block1, whole: the device answers its own limit", async (t) => {
	const env = await lwm2mSimulation(t);
	const dev = await env.sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", endpoint: "big-write", lifetime: 120 } });
	await env.sim.run(1000);
	const text = "The room thermostat in the hall, ".repeat(43).slice(0, 1400);
	const w = await env.rest("PUT", "/clients/big-write/3308/0/5750", JSON.stringify(text));
	// before: HTTP 500 "Max packet size is 1280"; now the device reassembles the 1400 bytes
	// and its model check (Application Type: at most 64 characters) answers
	t.is(w.status, 200, JSON.stringify(w.body));
	t.like(w.body, { success: false, code: "4.00", errormessage: "/3308/0/5750: longer than 64" });
	t.deepEqual(dev.traces().filter((l) => l.startsWith("applied 5750 ")), []);
	const fits = "x".repeat(64);
	t.true((await env.rest("PUT", "/clients/big-write/3308/0/5750", JSON.stringify(fits))).body.success);
	t.is((await env.rest("GET", "/clients/big-write/3308/0/5750")).body.content.value, fits);
});

test("a DTLS registration is listed as secure, with its PSK identity", async (t) => {
	const PSK = { identity: "thermostat-psk-01", key: "00112233445566778899aabbccddeeff" };
	const env = await lwm2mSimulation(t, { modelsDirs: [path.join(root, "device", "thermostat", "ddf")], psk: PSK });
	await env.sim.addDevice({
		board: { room: { temperature: 19, outside: 5 } },
		config: { serverUri: "coaps://127.0.0.1:5684", endpoint: "secure-1", pskIdentity: PSK.identity, pskKey: PSK.key, lifetime: 120 },
	});
	await env.sim.run(5000);
	const clients = (await env.rest("GET", "/clients")).body;
	t.like(clients.find((c) => c.endpoint === "secure-1"), { secure: true, pskIdentity: PSK.identity });
});

test("300 writes over a link that loses 30 % each way complete in virtual time with no caller retry, each applied once", async (t) => {
	const sim = simulation(t, { seed: 5, latencyMs: 2 });
	const random = new Random(99);
	// 17 transmissions at most, the interval capped at 8 s: the last leaves within ~121 s of
	// the first, inside the device's 247 s duplicate memory (EXCHANGE_LIFETIME)
	const server = new Lwm2mServer({
		coapPort: 5683,
		httpPort: null,
		socket: sim.network.createSocket(),
		clock: sim.clock,
		requestTimeout: 300,
		reliability: { maxRetransmit: 16, maxIntervalMs: 8000 },
		random: () => random.next(),
	});
	await server.start();
	t.teardown(() => server.stop());
	const dev = await sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", endpoint: "lossy", lifetime: 3600 }, link: { loss: 0.3 } });
	// the device's answers, by Message ID: one answered twice is a retransmission the device received
	const answers = new Map();
	dev.on("datagram", ({ data }) => {
		const p = packet.parse(data);
		if (p.ack && p.code === "2.04") answers.set(p.messageId, (answers.get(p.messageId) ?? 0) + 1);
	});
	// the server's requests as its COAPLOG shows them: a Message ID sent again is a retransmission
	const sent = new Map();
	server.on("coaplog", (e) => {
		if (!e.incoming && e.type === "CON") sent.set(e.mId, (sent.get(e.mId) ?? 0) + 1);
	});
	for (let s = 0; !server.client("lossy") && s < 600; s++) await sim.run(1000);
	t.truthy(server.client("lossy"), `registered over the lossy link\n${dev.traces().join("\n")}`);
	const results = [];
	let failure;
	(async () => {
		for (let i = 0; i < 300; i++) results.push(await server.write("lossy", "/3308/0/5750", `w${i}`));
	})().catch((e) => (failure = e));
	const start = sim.now;
	while (results.length < 300 && !failure && sim.now - start < 24 * 3_600_000) await sim.run(1000);
	if (failure) throw failure;
	t.is(results.length, 300);
	t.true(results.every((r) => r.success), JSON.stringify(results.find((r) => !r.success)));
	const applied = dev.traces().filter((l) => l.startsWith("applied 5750 ")).map((l) => l.split(" ")[3]);
	t.deepEqual(applied, Array.from({ length: 300 }, (_, i) => `w${i}`), "every write applied once, in order: retransmissions were answered from the device's memory");
	const retransmitted = [...sent.values()].reduce((a, n) => a + n - 1, 0);
	t.true(retransmitted > 100, `${retransmitted} retransmissions`);
	t.true(dev.link.stats.dropped > 150, JSON.stringify(dev.link.stats));
	const answeredAgain = [...answers.values()].filter((n) => n > 1).length;
	t.true(answeredAgain > 30, `${answeredAgain} requests answered again from the device's duplicate memory`);
	t.log(`retransmissions ${retransmitted}, answered again ${answeredAgain}, link ${JSON.stringify(dev.link.stats)}, ${(sim.now - start) / 1000} s simulated`);
});
