// A flood of hostile datagrams at the thermostat (device/main.ts): the simulated ESP32
// drops what its socket's receive queue cannot hold, as lwIP does, instead of queueing it
// in Node; the firmware stays registered with its settings, answers its server within a
// bounded number of tries, and summarizes what it refused instead of tracing each one.
import test from "ava";
import dgram from "node:dgram";
import { once } from "node:events";
import packet from "coap-packet";
import { simulation } from "./helpers/sim.js";
import { RawServer, options } from "./helpers/raw-lwm2m.js";
import { freePort } from "./helpers/ports.js";

const STRANGER = "127.0.0.9";

/** The i-th hostile datagram: a stranger's GET, a Block1 body that would be buffered, garbage. */
function hostile(i) {
	switch (i % 3) {
		case 0:
			return packet.generate({ messageId: i & 0xffff, token: Buffer.from([0xba, i & 0xff]), code: "GET", confirmable: true, options: [{ name: "Uri-Path", value: Buffer.from("3") }, { name: "Uri-Path", value: Buffer.from("0") }] });
		case 1:
			return packet.generate({
				messageId: i & 0xffff, token: Buffer.from([0xbb, i & 0xff]), code: "PUT", confirmable: true, payload: Buffer.alloc(64, 0x31),
				options: [{ name: "Uri-Path", value: Buffer.from("3308") }, { name: "Uri-Path", value: Buffer.from("0") }, { name: "Block1", value: Buffer.from([0x0a]) }],
			});
		default:
			return Buffer.from([0x40 | (i & 0x0f), 0xff, i & 0xff, 0x07, 0xde, 0xad]); // a token length the header cannot have
	}
}

/** A GET from the server, tried again (a new request) until answered: how many tries it took. */
async function readWithRetries(server, path, tries = 8) {
	for (let i = 1; i <= tries; i++) {
		try {
			const r = await server.request("GET", path);
			return { tries: i, r };
		} catch (e) {
			if (!/no answer/.test(e.message)) throw e;
		}
	}
	return { tries: Infinity };
}

function deviceLines(dev, since) {
	return dev.log.filter((l) => l.at >= since);
}

test("virtual time: 20,000 hostile datagrams at full speed; the device stays registered with its settings, the queue drops are summarized", async (t) => {
	const sim = simulation(t, { seed: 29, latencyMs: 1 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", endpoint: "flooded", ssid: "host-sim", lifetime: 60 } });
	await sim.run(10_000);
	t.is(server.registrations().length, 1, "registered");
	t.is((await server.request("PUT", "/3308/0/5900", { contentFormat: 0, payload: "22.5" })).code, "2.04");
	const answered = []; // what the device sent the strangers
	const strangers = [0, 1, 2, 3].map((k) => {
		const s = sim.network.createSocket();
		s.bind(40000 + k, STRANGER);
		s.on("message", (m) => answered.push(packet.parse(m)));
		return s;
	});
	const port = server.client.port;
	const firstMid = (server.mid + 1) & 0xffff;
	const start = sim.now;
	// 20,000 in 2 s (one every 0.1 ms of simulated time), from four source ports
	let jitter = 12345; // arrival times jittered (a seeded LCG): a flood is no metronome
	const next = () => (jitter = (Math.imul(jitter, 1103515245) + 12345) >>> 0) / 2 ** 32;
	for (let i = 0; i < 20_000; i++) sim.clock.at(start + (i + next()) / 10, () => strangers[i % 4].send(hostile(i), port, "127.0.0.1"));
	// the server reads every 20 ms meanwhile: what gets in is answered at once, the rest is dropped
	const sent = [];
	for (let k = 0; k < 100; k++) sim.clock.at(start + 10 + k * 20 + next(), () => { sent.push(sim.now); server.request("GET", "/3303/0/5700").catch(() => {}); });
	await sim.run(2_500);
	const end = sim.now;
	const answers = server.received.filter((r) => r.p.ack && r.p.code === "2.05" && r.at >= start && r.at <= end);
	const latencies = answers.map((r) => r.at - sent[(r.p.messageId - firstMid) & 0xffff]);
	t.log(`receive queue full ${dev.stats.receiveQueueFull} times; ${dev.stats.datagramsIn} datagrams taken in; ${answers.length} of 100 Reads answered during the flood, in ${Math.min(...latencies)}..${Math.max(...latencies)} ms`);
	t.true(answers.length > 0, "some Reads got through");
	t.true(latencies.every((ms) => ms <= 2 + 16 + 2), "each answered within the queue's 16 datagrams of the task's time");
	t.true(dev.stats.receiveQueueFull > 10_000, `${dev.stats.receiveQueueFull} drops: the queue holds 16 and the task takes ~1 per ms`);
	await sim.run(3 * 60_000);
	t.is(dev.resets.length, 0, "no reset");
	const after = await server.request("GET", "/3308/0/5900");
	t.is(after.text, "22.5", "the set point survived");
	t.is((await readWithRetries(server, "/3303/0/5700")).tries, 1, "answered at once after the flood");
	const regs = server.registrations();
	const updates = regs.filter((r) => r.at > end && options(r.p, "Uri-Path").length === 2);
	t.true(updates.length >= 2, "Updates go on after the flood");
	t.false(dev.traces().some((l) => /state (failed|unregistered)|registration failed/.test(l)), "never gave up its registration");
	const lines = deviceLines(dev, start).filter((l) => l.at <= end + 60_000);
	t.true(lines.length < 40, `${lines.length} log lines for the flood:\n${lines.slice(0, 40).map((l) => l.text).join("\n")}`);
	t.log(lines.map((l) => `${l.at - start} ${l.source} ${l.text}`).join("\n"));
	// the device refused each hostile datagram it took in (4.01, or RST for garbage) and said so in a summary
	t.true(answered.length > 1000);
	t.deepEqual([...new Set(answered.map((p) => (p.reset ? "RST" : p.code)))].sort(), ["4.01", "RST"], "4.01 for every request, Block1 or not: nothing buffered, no 2.31");
	const refused = lines.filter((l) => /^coap: (refused|malformed|ignored|rejected)/.test(l.text));
	t.true(refused.length <= 3, "the first of each kind, then one line at the end of the 10 s period");
	const summarized = refused.map((l) => Number(/refused (\d+) more/.exec(l.text)?.[1] ?? 1)).reduce((a, b) => a + b, 0);
	t.is(summarized, answered.length, "the summaries count every refusal");
	const full = lines.filter((l) => /receive queue full/.test(l.text));
	t.true(full.length >= 1, "the drops are visible");
	const counted = full.map((l) => Number(/dropped (\d+) more/.exec(l.text)?.[1] ?? 1)).reduce((a, b) => a + b, 0);
	t.is(counted, dev.stats.receiveQueueFull, "the summary lines count every drop");
});

/** Wait (wall clock, generously: the machine may be busy) until `predicate` holds. */
async function until(predicate, what, ms = 20_000) {
	const started = Date.now();
	while (!predicate()) {
		if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

/**
 * A request from the raw server over real sockets, sent again (as a new request) every
 * 2 s as a server's CoAP layer would: its first answer, however long the machine takes.
 */
async function patiently(server, code, path, opts, tries = 10) {
	const mids = [];
	const answer = () => server.received.find((r) => r.p.ack && mids.includes(r.p.messageId));
	for (let i = 0; i < tries && !answer(); i++) {
		mids.push((server.mid + 1) & 0xffff);
		try {
			return await server.request(code, path, opts);
		} catch (e) {
			if (!/no answer/.test(e.message)) throw e;
		}
		await until(answer, `an answer to ${code} ${path}`, 2000).catch(() => {});
	}
	const r = answer();
	if (!r) throw new Error(`no answer to ${code} ${path} after ${tries} tries`);
	return Object.assign(r.p, { text: r.p.payload.toString() });
}

test("real time on loopback: 4,000 hostile datagrams at ~2,000 a second; drops instead of a backlog, still registered", async (t) => {
	t.timeout(120_000);
	// at x4 the summaries' 10 s period is 2.5 s of wall time, and CoAP's timeouts still 0.5 s or more
	const sim = simulation(t, { clock: "real", speed: 4, seed: 31 });
	const serverPort = await freePort();
	const server = new RawServer(sim, { port: serverPort });
	t.teardown(() => server.socket.close());
	const dev = await sim.addDevice({ config: { serverUri: `coap://127.0.0.1:${serverPort}`, endpoint: "flooded-rt", ssid: "host-sim", lifetime: 300 } });
	await until(() => server.client, "the Register");
	t.is((await patiently(server, "PUT", "/3308/0/5900", { contentFormat: 0, payload: "22.5" })).code, "2.04");
	const stranger = dgram.createSocket("udp4");
	t.teardown(() => stranger.close());
	stranger.bind(0, STRANGER);
	await once(stranger, "listening");
	let replies = 0;
	stranger.on("message", () => replies++);
	const logged = dev.log.length; // (host lines carry the device's time, which may lag the clock's)
	// 20 every 10 ms of wall time: each burst is more than the 16 the socket holds
	let sent = 0;
	await new Promise((resolve) => {
		const timer = setInterval(() => {
			for (let i = 0; i < 20; i++, sent++) stranger.send(hostile(sent), server.client.port, "127.0.0.1");
			if (sent >= 4000) {
				clearInterval(timer);
				resolve();
			}
		}, 10);
	});
	const read = await patiently(server, "GET", "/3308/0/5900");
	t.is(read.text, "22.5", "the set point survived, and the server's Read got its answer");
	await until(() => replies + dev.stats.receiveQueueFull >= sent, "every hostile datagram refused or dropped");
	t.log(`${sent} sent, ${dev.stats.receiveQueueFull} dropped at the receive queue, ${replies} refused by the firmware`);
	t.true(dev.stats.receiveQueueFull > 0, "bursts beyond the queue are dropped, not queued in Node");
	t.true(replies < sent, "the firmware did not see them all");
	// each hostile datagram was refused by the firmware or dropped at the queue (a few drops may be the server's tries)
	t.true(replies + dev.stats.receiveQueueFull <= sent + 10);
	await sim.run(11_000); // the summaries' period, after the last drop
	t.is(dev.resets.length, 0);
	t.is(server.registrations().filter((r) => r.p.code === "0.02" && r.p.options.filter((o) => o.name === "Uri-Path").length === 1).length, 1, "never registered again");
	const lines = dev.log.slice(logged);
	t.true(lines.length < 12, `${lines.length} lines:\n${lines.map((l) => l.text).join("\n")}`);
	const drops = lines.filter((l) => /receive queue full/.test(l.text)).map((l) => Number(/dropped (\d+) more/.exec(l.text)?.[1] ?? 1));
	t.is(drops.reduce((a, b) => a + b, 0), dev.stats.receiveQueueFull, "the summary counts every drop");
});
