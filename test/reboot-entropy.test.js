// A reboot must not replay the entropy of an earlier boot: the chip's RNG is hardware.
// The Message IDs and tokens of the Register after `exec /3/0/4` are new (a server's
// deduplication would take a replayed MID for a retransmission), and a run stays
// repeatable for its seed.
import test from "ava";
import { simulation, fixture } from "./helpers/sim.js";
import { RawServer, options } from "./helpers/raw-lwm2m.js";

async function rebootOnce(t, seed) {
	const sim = simulation(t, { seed, latencyMs: 1 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", lifetime: 120 } });
	await sim.run(500);
	t.is((await server.request("POST", "/3/0/4")).code, "2.04");
	await sim.run(5_000);
	t.is(dev.resets.length, 1);
	const registers = server.registrations().filter((r) => r.p.code === "0.02" && options(r.p, "Uri-Path").length === 1);
	t.is(registers.length, 2, "registered again after the reboot");
	return registers.map((r) => ({ mid: r.p.messageId, token: r.p.token.toString("hex") }));
}

test("the Register after a reboot has a Message ID and a token the first boot did not use; the run repeats for its seed", async (t) => {
	const [first, second] = await rebootOnce(t, 41);
	t.not(second.mid, first.mid, `MID ${first.mid} replayed`);
	t.true(Math.abs(((second.mid - first.mid) & 0xffff)) > 4, "not the next MIDs of the same sequence either");
	t.not(second.token, first.token, `token ${first.token} replayed`);
	t.deepEqual(await rebootOnce(t, 41), [first, second], "the same seed gives the same run");
});
