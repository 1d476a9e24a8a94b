// Factory Reset (/3/0/5): every setting goes back to the manifest's defaults, the tuning
// and the LwM2M Server resources alike; a plain Reboot (/3/0/4) keeps them all.
import test from "ava";
import { EP, thermostatSimulation } from "./helpers/thermostat-sim.js";

const TUNED = { "/3308/0/5900": 23, "/32700/0/0": 0.8, "/32700/0/7": 28, "/1/0/1": 600 };
const DEFAULTS = { "/3308/0/5900": 21, "/32700/0/0": 0.5, "/32700/0/7": 30, "/1/0/1": 300 };

async function values(read) {
	const out = {};
	for (const p of Object.keys(TUNED)) out[p] = (await read(p)).content?.value;
	return out;
}

test("Factory Reset returns the tuning and the Server resources to the defaults; a Reboot keeps them", async (t) => {
	const { sim, dev, events, rest, read, write } = await thermostatSimulation(t, { board: { room: { temperature: 19, outside: 5 } } });
	for (const [p, v] of Object.entries(TUNED)) {
		const w = await write(p, String(v));
		t.true(w.success, `${p} = ${v}: ${JSON.stringify(w)}`);
	}
	t.deepEqual(await values(read), TUNED);

	// a reboot: the device comes back with everything it was told
	t.true((await rest("POST", `/clients/${EP}/3/0/4`)).body.success);
	await sim.run(20_000);
	t.deepEqual(await values(read), TUNED, "after a reboot");
	t.is(events.filter((e) => e.name === "registered").at(-1).e.lifetime, 600, "registered again with the written lifetime");

	// a factory reset: the device comes back as the manifest made it
	const registrations = events.filter((e) => e.name === "registered").length;
	const reset = await rest("POST", `/clients/${EP}/3/0/5`);
	t.true(reset.body.success, JSON.stringify(reset.body));
	await sim.run(20_000);
	t.true(dev.traces().includes("lwm2m: factory reset requested by the server"));
	t.is(events.filter((e) => e.name === "registered").length, registrations + 1, "registered again after the reset");
	t.is(events.filter((e) => e.name === "registered").at(-1).e.lifetime, 300, "with the manifest's lifetime");
	t.deepEqual(await values(read), DEFAULTS, "after the factory reset");
	// and it stays so across the next reboot (nothing half-erased comes back)
	t.true((await rest("POST", `/clients/${EP}/3/0/4`)).body.success);
	await sim.run(20_000);
	t.deepEqual(await values(read), DEFAULTS, "after a reboot that follows the reset");
	t.is(dev.resets.length, 3, "three restarts, each one the server asked for");
});
