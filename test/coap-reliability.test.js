// CoAP reliability of the firmware's endpoint on XS, in virtual time on the simulated
// network, against a test client built on the npm coap-packet codec.
import test from "ava";
import packet from "coap-packet";
import { simulation, fixture } from "./helpers/sim.js";
import { CoapPeer, simClock } from "./helpers/coap-peer.js";
import { Random } from "../host-sim/models/random.js";

const PORT = 5683;

async function setup(t, { link, seed = 21, config = {} } = {}) {
	const sim = simulation(t, { seed, latencyMs: 2 });
	const dev = await sim.addDevice({ entry: fixture("coap-resources.ts"), config: { port: PORT, ...config }, link });
	const socket = sim.network.createSocket();
	socket.bind(40000, "127.0.0.2");
	const random = new Random(seed);
	const peer = new CoapPeer(socket, simClock(sim, () => random.next()));
	return { sim, dev, peer, socket };
}

test("200 confirmable requests over a link that drops 30 % and duplicates 10 % each way: all complete, none handled twice", async (t) => {
	const { sim, dev, peer } = await setup(t, { link: { loss: 0.3, duplicate: 0.1 } });
	const results = [];
	let timeouts = 0;
	const run = (async () => {
		for (let i = 0; i < 200; i++) {
			// a request whose exchange times out (5 transmissions lost) is sent again as a new message
			for (;;) {
				try {
					const r = await peer.request({ method: "POST", path: "count", payload: `id${i}`, port: PORT });
					results.push({ i, code: r.response.code, payload: r.response.payload.toString(), transmissions: r.transmissions });
					break;
				} catch (e) {
					if (!e.timeout) throw e;
					timeouts++;
				}
			}
		}
	})();
	const start = sim.now;
	let failure;
	run.catch((e) => { failure = e; });
	// virtual time runs until every request is answered (bounded: a hang is a failure, not a stuck test)
	while (results.length < 200 && !failure && sim.now - start < 24 * 3_600_000) await sim.run(10_000);
	if (failure) throw failure;
	t.is(results.length, 200);
	t.true(results.every((r, i) => r.code === "2.04" && r.payload.startsWith(`id${i} `)));
	const handled = dev.traces().filter((l) => l.startsWith("handled ")).map((l) => l.split(" "));
	const mids = handled.map(([, mid]) => mid);
	t.is(new Set(mids).size, mids.length, "no Message ID reached the handler twice");
	// every handled message is one the client sent: the 200, plus re-sends after timeouts that got through
	t.true(handled.length >= 200 && handled.length <= 200 + timeouts, `${handled.length} handled, ${timeouts} client timeouts`);
	t.true(results.some((r) => r.transmissions > 1), "retransmissions happened");
	t.true(dev.link.stats.dropped > 100 && dev.link.stats.duplicated > 20, JSON.stringify(dev.link.stats));
	t.is(dev.resets.length, 0);
});

test("a duplicate of a request gets the same response again and is not handled again", async (t) => {
	const { sim, dev, peer, socket } = await setup(t);
	const bytes = packet.generate({ messageId: 0x1234, token: Buffer.from("ab"), code: "POST", confirmable: true, options: [{ name: "Uri-Path", value: Buffer.from("count") }], payload: Buffer.from("once") });
	for (let i = 0; i < 3; i++) sim.clock.after(i * 1000, () => socket.send(bytes, PORT, "127.0.0.1"));
	await sim.run(5000);
	const acks = peer.received.filter((r) => r.packet.messageId === 0x1234);
	t.is(acks.length, 3);
	t.true(acks.every((a) => a.packet.ack && a.packet.code === "2.04" && a.packet.payload.toString() === "once 1"));
	t.deepEqual(dev.traces().filter((l) => l.startsWith("handled ")), [`handled ${0x1234} once`]);
});

test("a request the device sends is retransmitted with exponential back-off, then fails", async (t) => {
	const { sim, dev, peer } = await setup(t);
	// a peer that never answers: 127.0.0.3:5683 is bound but silent
	const silent = sim.network.createSocket();
	const seen = [];
	silent.on("message", (msg) => seen.push({ at: sim.now, mid: packet.parse(msg).messageId }));
	silent.bind(5683, "127.0.0.3");
	const answer = peer.request({ method: "POST", path: "fetch", payload: "127.0.0.3 5683 nothing", port: PORT });
	await sim.run(120_000);
	const { response } = await answer;
	t.is(response.code, "5.03");
	t.is(response.payload.toString(), "timeout");
	t.is(seen.length, 5, "1 transmission + MAX_RETRANSMIT 4");
	t.true(seen.every((s) => s.mid === seen[0].mid));
	const gaps = seen.slice(1).map((s, i) => s.at - seen[i].at);
	const first = gaps[0];
	t.true(first >= 2000 && first <= 3000, `initial timeout ${first} ms in [ACK_TIMEOUT, ACK_TIMEOUT * 1.5]`);
	// each timeout doubles the last (timers count whole ms: each gap is rounded)
	for (let i = 1; i < gaps.length; i++) t.true(Math.abs(gaps[i] - gaps[i - 1] * 2) <= 2, `gap ${i}: ${gaps[i]} after ${gaps[i - 1]}`);
	t.is(dev.resets.length, 0);
});

test("NSTART 1: a second request to the same peer waits until the first is answered", async (t) => {
	const { sim, peer } = await setup(t);
	const server = sim.network.createSocket();
	const arrivals = [];
	server.on("message", (msg, rinfo) => {
		const p = packet.parse(msg);
		arrivals.push({ at: sim.now, path: p.options.filter((o) => o.name === "Uri-Path").map((o) => o.value.toString()).join("/") });
		// answer after 3 s with a separate response
		const ack = packet.generate({ messageId: p.messageId, ack: true, code: "0.00", token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) });
		server.send(ack, rinfo.port, rinfo.address);
		sim.clock.after(3000, () => server.send(packet.generate({ messageId: 900 + arrivals.length, confirmable: false, code: "2.05", token: p.token, options: [], payload: Buffer.from("ok") }), rinfo.port, rinfo.address));
	});
	server.bind(5683, "127.0.0.4");
	const a = peer.request({ method: "POST", path: "fetch", payload: "127.0.0.4 5683 first", port: PORT });
	const b = peer.request({ method: "POST", path: "fetch", payload: "127.0.0.4 5683 second", port: PORT });
	await sim.run(10_000);
	t.is((await a).response.payload.toString(), "2.05 ok");
	t.is((await b).response.payload.toString(), "2.05 ok");
	t.deepEqual(arrivals.map((x) => x.path), ["first", "second"]);
	// the empty ACK ends the first interaction as far as NSTART goes (§4.7)
	t.true(arrivals[1].at - arrivals[0].at < 100);
});

test("a CON ping is answered with RST; an unknown separate response is rejected with RST", async (t) => {
	const { sim, peer, socket } = await setup(t);
	socket.send(Buffer.from([0x40, 0x00, 0x12, 0x34]), PORT, "127.0.0.1");
	socket.send(packet.generate({ messageId: 77, confirmable: true, code: "2.05", token: Buffer.from("zz"), options: [], payload: Buffer.from("?") }), PORT, "127.0.0.1");
	await sim.run(100);
	t.deepEqual(peer.received.map((r) => [r.packet.reset, r.packet.messageId]), [[true, 0x1234], [true, 77]]);
});
