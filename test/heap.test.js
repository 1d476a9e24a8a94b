// Memory budget of the firmware on XS: what main holds after start, and that it does not
// grow over a simulated day (a leak on an ESP32 ends in a reset every few days).
import test from "ava";
import { simulation, HOUR } from "./helpers/sim.js";

// What the thermostat allocates once its modules have loaded: on the ESP32 they are
// preloaded into flash, so this is its RAM. A slot is 16 bytes there: 2,500 slots and 24 KB
// of chunks are 64 KB, inside the 96 KB XS heap of the ESP32 manifest (creation.static).
const SLOT_BUDGET = 2500;
const CHUNK_BUDGET = 24 * 1024;

test("device heap after start is within budget and flat over 24 simulated hours", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ board: { room: { outside: { mean: 5, amplitude: 5 } } } });
	await sim.run(60_000);
	const start = await dev.heap();
	t.log(`whole program: ${start.deviceSlots} slots, ${start.deviceChunkBytes} chunk bytes; allocated since load: ${start.runtimeSlots} slots, ${start.runtimeChunkBytes} chunk bytes`);
	t.true(start.runtimeSlots > 0 && start.runtimeSlots < SLOT_BUDGET, `slots after start: ${start.runtimeSlots}`);
	t.true(start.runtimeChunkBytes < CHUNK_BUDGET, `chunk bytes: ${start.runtimeChunkBytes}`);
	await sim.run(24 * HOUR);
	const end = await dev.heap();
	t.true(end.runtimeSlots <= start.runtimeSlots * 1.02 + 8, `slots ${start.runtimeSlots} -> ${end.runtimeSlots}`);
	t.true(end.runtimeChunkBytes <= start.runtimeChunkBytes * 1.02 + 64, `chunks ${start.runtimeChunkBytes} -> ${end.runtimeChunkBytes}`);
	t.is(dev.resets.length, 0);
});
