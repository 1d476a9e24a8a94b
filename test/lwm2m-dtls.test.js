// The thermostat firmware in security mode PSK on XS, against the local LwM2M server
// behind host-sim's DTLS server (written apart from the firmware's client), in virtual
// time: the whole LwM2M exchange runs over DTLS, nothing goes in the clear, a wrong key
// fails clearly and boundedly, and a server that loses the session is found again.
import test from "ava";
import path from "node:path";
import packet from "coap-packet";
import { root } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";

const EP = "secure-thermostat";
const PSK = { identity: "thermostat-psk-01", key: "00112233445566778899aabbccddeeff" };
const DDF = path.join(root, "device", "thermostat", "ddf");

async function setup(t, { key = PSK.key, config = {}, dtlsMtu } = {}) {
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF], psk: PSK, dtlsMtu });
	const events = [];
	const watch = (server) => {
		for (const name of ["registered", "updated", "deregistered", "notification"]) server.on(name, (e) => events.push({ name, at: env.sim.now, e }));
	};
	watch(env.state.server);
	const dev = await env.sim.addDevice({
		board: { room: { temperature: 19, outside: 5 } },
		config: { serverUri: "coaps://127.0.0.1:5684", endpoint: EP, pskIdentity: PSK.identity, pskKey: key, lifetime: 120, ...config },
	});
	const out = [];
	dev.on("datagram", (d) => out.push(d));
	await env.sim.run(5_000);
	return { ...env, dev, events, watch, out };
}

test("LwM2M over DTLS: register, read, write, observe; every datagram the device sends is a DTLS record", async (t) => {
	const { sim, rest, events, out, dev, state } = await setup(t);
	t.truthy(events.find((e) => e.name === "registered"), dev.traces().join("\n"));
	const [session] = state.dtls.sessions();
	t.is(session.identity, PSK.identity);
	t.true(dev.traces().some((l) => /dtls: session with 127\.0\.0\.1:5684 established \(PSK-AES128-CCM8\)/.test(l)));
	const read = await rest("GET", `/clients/${EP}/3303/0/5700`);
	t.true(read.body.success, JSON.stringify(read.body));
	t.true(read.body.content.value > 15);
	t.true((await rest("PUT", `/clients/${EP}/3308/0/5900`, "22")).body.success);
	t.is((await rest("GET", `/clients/${EP}/3308/0/5900`)).body.content.value, 22);
	t.true((await rest("PUT", `/clients/${EP}/3303/0/5700/attributes?pmin=20&pmax=60`)).body.success);
	t.true((await rest("POST", `/clients/${EP}/3303/0/5700/observe`)).body.success);
	const from = sim.now;
	await sim.run(5 * 60_000);
	t.true(events.filter((e) => e.name === "notification" && e.at > from).length >= 5);
	// nothing in the clear: each datagram is one or more DTLS 1.2 records
	t.true(out.length > 20);
	for (const d of out) {
		t.true(d.data[0] >= 20 && d.data[0] <= 23 && d.data[1] === 254 && d.data[2] === 253, `not a DTLS record: ${d.data.subarray(0, 8).toString("hex")}`);
	}
});

test("a plaintext CoAP request to the device in PSK mode gets no answer", async (t) => {
	const { sim, dev } = await setup(t);
	const socket = sim.network.createSocket();
	socket.bind(5683, "127.0.0.1");
	const answers = [];
	socket.on("message", (m) => answers.push(m));
	const [port] = dev.udpPorts();
	socket.send(packet.generate({ messageId: 7, token: Buffer.from([1]), code: "GET", options: [{ name: "Uri-Path", value: Buffer.from("3") }] }), port, "127.0.0.1");
	await sim.run(5_000);
	t.deepEqual(answers, []);
	t.is(dev.resets.length, 0);
});

test("a wrong key: the handshake fails with a clear reason, retries are bounded and end as the Server object says, no crash", async (t) => {
	// a day between the slow retries that follow: this run sees the 1.1 sequence alone
	const { sim, dev, events } = await setup(t, { key: "ffeeddccbbaa99887766554433221100", config: { registrationRetryPeriod: 86400 } });
	// the Server object's defaults: 5 attempts, 60 s doubling, one sequence
	await sim.run(45 * 60_000);
	t.is(events.filter((e) => e.name === "registered").length, 0);
	const failures = dev.traces().filter((l) => l.startsWith("lwm2m: DTLS: "));
	t.regex(failures[0] ?? "", /127\.0\.0\.1:5684: the server sent (BadRecordMac|DecryptError) \(a wrong pre-shared key or identity\?\)/, dev.traces().join("\n"));
	const handshakes = dev.traces().filter((l) => l.startsWith("dtls: handshake with")).length;
	t.true(handshakes >= 5 && handshakes <= 12, `${handshakes} handshakes for 5 registration attempts`);
	t.true(dev.traces().some((l) => l.startsWith("lwm2m: waiting for a slow retry: registration failed after 1 sequence(s) of 5 attempts; next attempt in")), "the sequence ended as the Server object says");
	t.is(dev.resets.length, 0);
});

test("the server goes away and comes back without the session: the client handshakes again and re-registers", async (t) => {
	const { sim, dev, events, state, startServer, watch } = await setup(t, { config: { lifetime: 60, retryTimer: 10 } });
	t.is(events.filter((e) => e.name === "registered").length, 1);
	await state.server.stop(); // sessions and registrations gone
	await sim.run(20_000);
	state.server = await startServer();
	watch(state.server);
	await sim.run(4 * 60_000);
	t.true(events.filter((e) => e.name === "registered").length >= 2, dev.traces().join("\n"));
	t.truthy(state.server.client(EP));
	t.true(dev.traces().filter((l) => l.includes("established (PSK-AES128-CCM8)")).length >= 2, "a second handshake");
	t.is(dev.resets.length, 0);
});

test("deregistration closes the session with close_notify", async (t) => {
	const { sim, dev, events, state } = await setup(t);
	const closed = [];
	state.dtls.on("sessionClosed", (e) => closed.push(e));
	await dev.setInput(35, 0); // power failing
	await sim.run(3_000);
	t.is(events.filter((e) => e.name === "deregistered").length, 1);
	t.true(closed.some((c) => /close_notify|closed by peer|peer/i.test(JSON.stringify(c))), JSON.stringify(closed));
});

