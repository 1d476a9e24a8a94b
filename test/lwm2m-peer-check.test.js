// Only the registered server manages the device: anyone else is refused with 4.01 before
// the CoAP layer keeps anything for them (no Block1 reassembly, no duplicate memory).
// Raw CoAP through `coap-packet` on the simulation's network, in virtual time.
import test from "ava";
import { simulation, fixture } from "./helpers/sim.js";
import { RawServer, num, option } from "./helpers/raw-lwm2m.js";

async function setup(t) {
	const sim = simulation(t, { seed: 17, latencyMs: 1 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", lifetime: 120 } });
	await sim.run(500);
	const stranger = new RawServer(sim, { address: "127.0.0.9", port: 5683 });
	stranger.client = server.client;
	return { sim, server, stranger, dev };
}

const block1 = (n, more, szx = 2) => Buffer.from([(n << 4) | (more ? 8 : 0) | szx]);

test("a stranger's Block1 write is refused with 4.01 at its first block, and its last block changes nothing", async (t) => {
	const { server, stranger } = await setup(t);
	const body = "22.5".padEnd(64, " "); // a full first block of 64 bytes (SZX 2), a tail to follow
	const first = await stranger.request("PUT", "/3308/0/5900", { contentFormat: 0, payload: body, block1: block1(0, true) });
	t.is(first.code, "4.01", "refused before any buffering, not 2.31 Continue");
	t.is(option(first, "Block1"), undefined, "no Block1 in the answer: nothing was taken");
	t.regex(first.text, /not our server/);
	const last = await stranger.request("PUT", "/3308/0/5900", { contentFormat: 0, payload: "1", block1: block1(1, false) });
	t.is(last.code, "4.01", "not 4.08 (which would mean the device tracked the transfer)");
	t.is((await server.request("GET", "/3308/0/5900")).text, "21");
	// the registered server's own Block1 write still works
	const a = await server.request("PUT", "/3308/0/5900", { contentFormat: 0, payload: "23.5".padEnd(64, " "), block1: block1(0, true) });
	t.is(a.code, "2.31");
	t.is(num(option(a, "Block1")) & 0x08, 0x08);
});
