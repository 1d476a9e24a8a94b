// The two clock modes as a user sees them: virtual time jumps, real time follows the
// wall clock (scaled by speed), and device time agrees with the simulation in both.
import test from "ava";
import { simulation, fixture } from "./helpers/sim.js";
import { Clock, EventQueue } from "../host-sim/clock.js";

// Real time never runs ahead of wall x speed (it may run slower on a busy machine: how much
// slower is not asserted, speed is for the benchmarks).
test("real clock with speed 50: 5 simulated seconds take at least 100 ms of wall time; the device samples on the simulated clock", async (t) => {
	const sim = simulation(t, { clock: "real", speed: 50, seed: 3 });
	const dev = await sim.addDevice({ entry: fixture("sampler.ts"), config: { traceEvery: 1 } });
	const start = sim.now;
	const wall = performance.now();
	await sim.run(5000);
	const elapsedWall = performance.now() - wall;
	t.true(elapsedWall >= 95, `${elapsedWall} ms`);
	t.true(sim.now - start >= 5000);
	// the device advances on wall-clock timers of its own: on a loaded machine it may trail
	// the clock; let it catch up before counting (bounded generously: only a hang fails here)
	for (const end = performance.now() + 30_000; dev.now < start + 5000 && performance.now() < end;) await new Promise((r) => setTimeout(r, 10));
	t.true(dev.now >= start + 5000, `the device reached ${dev.now - start} ms of the 5000`);
	// booting took wall time too, so count the samples taken during run()
	const times = dev.traces().filter((l) => l.startsWith("sample ")).map((l) => Number(l.split(" ")[2]));
	const during = times.filter((at) => at >= start && at <= start + 5000);
	t.true(during.length >= 4 && during.length <= 6, `${during.length} samples`);
	// device timestamps sit on the simulated clock, one second apart
	for (let i = 1; i < times.length; i++) t.is(times[i] - times[i - 1], 1000);
});

test("clock events run in time order; equal times in the order they were scheduled", async (t) => {
	const clock = new Clock({ mode: "virtual", start: 0 });
	const seen = [];
	clock.at(300, () => seen.push(["c", clock.now()]));
	clock.at(100, () => seen.push(["a", clock.now()]));
	clock.at(100, () => seen.push(["b", clock.now()]));
	await clock.run(250);
	t.deepEqual(seen, [["a", 100], ["b", 100]]);
	t.is(clock.now(), 250);
	await clock.run(100);
	t.deepEqual(seen.at(-1), ["c", 300]);
	const q = new EventQueue();
	for (const at of [5, 3, 9, 1, 7]) q.push(at, at);
	t.deepEqual([q.pop().at, q.pop().at, q.pop().at, q.pop().at, q.pop().at], [1, 3, 5, 7, 9]);
});

test("the XS meter of the last crank is exposed: heap slots and allocation", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({});
	await sim.run(10_000);
	t.true(dev.meter.currentHeapCount > 1000);
	t.true(dev.meter.allocate > 0);
	t.true(dev.meter.compute > 0);
});
