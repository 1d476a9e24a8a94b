// UDP between device code on XS and peers in Node: real sockets on loopback (real
// clock) and the in-process simulated network (virtual time), with link impairment.
import test from "ava";
import dgram from "node:dgram";
import { once } from "node:events";
import { simulation, fixture } from "./helpers/sim.js";

// wall time bounds only a hang here (generous, for a loaded machine)
function waitFor(predicate, ms = 30_000) {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const poll = () => {
			if (predicate()) return resolve();
			if (Date.now() - started > ms) return reject(new Error("timed out"));
			setTimeout(poll, 5);
		};
		poll();
	});
}

test("a datagram exchange between device code on XS and a Node dgram peer on 127.0.0.1", async (t) => {
	const peer = dgram.createSocket("udp4");
	t.teardown(() => peer.close());
	peer.bind(0, "127.0.0.1");
	await once(peer, "listening");
	const greetings = [];
	peer.on("message", (msg, rinfo) => greetings.push({ text: msg.toString(), rinfo }));

	const sim = simulation(t, { clock: "real", seed: 5 });
	const dev = await sim.addDevice({ entry: fixture("echo.ts"), config: { port: 0, peerPort: peer.address().port } });
	await waitFor(() => greetings.length === 1);
	t.is(greetings[0].text, "hello from xs");
	t.is(greetings[0].rinfo.address, "127.0.0.1");
	const devicePort = greetings[0].rinfo.port;

	peer.send("ping 1", devicePort, "127.0.0.1");
	await waitFor(() => greetings.length === 2);
	t.is(greetings[1].text, "echo:ping 1");
	t.true(dev.traces().some((l) => l.startsWith(`rx 127.0.0.1:${peer.address().port} ping 1`)));
	t.is(dev.stats.datagramsIn, 1);
	t.is(dev.stats.datagramsOut, 2);
});

test("a datagram larger than one frame is dropped at the device, as the ESP32 does not reassemble", async (t) => {
	const sim = simulation(t, { clock: "real", seed: 5 });
	const peer = dgram.createSocket("udp4");
	t.teardown(() => peer.close());
	const replies = [];
	peer.on("message", (m) => replies.push(m.toString()));
	peer.bind(0, "127.0.0.1");
	await once(peer, "listening");
	const dev = await sim.addDevice({ entry: fixture("echo.ts"), config: { port: 0, peerPort: peer.address().port } });
	await waitFor(() => replies.length === 1);
	const port = [...dev.sockets.values()][0].port;
	peer.send(Buffer.alloc(2000, 0x41), port, "127.0.0.1");
	peer.send("small", port, "127.0.0.1");
	await waitFor(() => replies.length === 2);
	t.deepEqual(replies, ["hello from xs", "echo:small"]);
	t.is(dev.link.stats.oversize, 1);
	t.true(dev.log.some((l) => /dropped a 2000-byte datagram/.test(l.text)));
});

test("virtual time: a simulated-network peer exchanges datagrams with the device at simulated times", async (t) => {
	const sim = simulation(t, { seed: 9, latencyMs: 5 });
	const peer = sim.network.createSocket("udp4");
	peer.bind(5683, "127.0.0.1");
	const got = [];
	peer.on("message", (msg, rinfo) => got.push({ text: msg.toString(), port: rinfo.port, at: sim.now }));
	const dev = await sim.addDevice({ entry: fixture("echo.ts"), config: { port: 5684, peerPort: 5683 } });
	const t0 = sim.now;
	await sim.run(100);
	t.deepEqual(got.map((g) => [g.text, g.port, g.at - t0]), [["hello from xs", 5684, 5]]);
	// a reply scheduled by the peer 10 s later crosses at that simulated time
	sim.clock.after(10_000, () => peer.send("later", 5684, "127.0.0.1"));
	await sim.run(20_000);
	t.deepEqual(got.map((g) => [g.text, g.at - t0]), [["hello from xs", 5], ["echo:later", 100 + 10_000 + 10]]);
	t.true(dev.traces().some((l) => l === `rx 127.0.0.1:5683 later at ${t0 + 100 + 10_005}`));
});

test("virtual time: a lossy, duplicating link is repeatable for a given seed", async (t) => {
	const run = async (seed) => {
		const sim = simulation(t, { seed });
		const peer = sim.network.createSocket();
		peer.bind(7000, "127.0.0.1");
		const echoes = [];
		peer.on("message", (m) => echoes.push(m.toString()));
		const dev = await sim.addDevice({ entry: fixture("echo.ts"), config: { port: 7001 }, link: { loss: 0.3, duplicate: 0.1 } });
		for (let i = 0; i < 200; i++) sim.clock.after(i * 10, () => peer.send(`m${i}`, 7001, "127.0.0.1"));
		await sim.run(5000);
		return { echoes, stats: { ...dev.link.stats } };
	};
	const a = await run(1234), b = await run(1234);
	t.deepEqual(a, b);
	// each way: 30 % lost, 10 % of the rest doubled
	t.true(a.echoes.length > 80 && a.echoes.length < 170, `${a.echoes.length} echoes`);
	t.true(a.stats.dropped > 60, `dropped ${a.stats.dropped}`);
	t.true(a.stats.duplicated > 5, `duplicated ${a.stats.duplicated}`);
});
