// Memory budget of the firmware on XS: what main holds after start, and that it does not
// grow over a simulated day (a leak on an ESP32 ends in a reset every few days).
import test from "ava";
import { simulation, HOUR } from "./helpers/sim.js";

// The thermostat's share of the XS heap (host layer excluded). On the ESP32 a slot is
// 16 bytes: 1,500 slots are 24 KB, a tenth of what an ESP32 app usually gets.
const SLOT_BUDGET = 1500;
const CHUNK_BUDGET = 16 * 1024;

test("device heap after start is within budget and flat over 24 simulated hours", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ board: { room: { outside: { mean: 5, amplitude: 5 } } } });
	await sim.run(60_000);
	const start = await dev.heap();
	t.true(start.deviceSlots > 0 && start.deviceSlots < SLOT_BUDGET, `device slots after start: ${start.deviceSlots}`);
	t.true(start.deviceChunkBytes > 0 && start.deviceChunkBytes < CHUNK_BUDGET, `device chunk bytes: ${start.deviceChunkBytes}`);
	await sim.run(24 * HOUR);
	const end = await dev.heap();
	t.true(end.deviceSlots <= start.deviceSlots * 1.02 + 8, `slots ${start.deviceSlots} -> ${end.deviceSlots}`);
	t.true(end.deviceChunkBytes <= start.deviceChunkBytes * 1.02 + 64, `chunks ${start.deviceChunkBytes} -> ${end.deviceChunkBytes}`);
	t.is(dev.resets.length, 0);
});
