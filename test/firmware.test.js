// The firmware on the real XS engine, through host-sim, in virtual time.
import test from "ava";
import path from "node:path";
import fs from "node:fs";
import { simulation, fixture, tempDir, probes, HOUR, root } from "./helpers/sim.js";

test("the TMP117 driver reads the modelled room temperature to within 1 LSB", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("sampler.ts"), config: { traceEvery: 1 }, board: { sensor: { noise: 0 } } });
	const conversions = [];
	for (let i = 0; i < 30; i++) {
		await sim.run(1000);
		conversions.push((await dev.state()).sensor.lastConversion);
	}
	const samples = dev.traces().filter((l) => l.startsWith("sample ")).map((l) => l.split(" ")).map(([, n, at, value]) => ({ n: +n, at: +at, value: +value }));
	t.true(samples.length >= 29);
	let compared = 0;
	for (const s of samples) {
		// the newest conversion completed before the sample was taken
		const c = conversions.filter((c) => c && c.time <= s.at).at(-1);
		if (!c) continue;
		t.true(Math.abs(s.value - c.celsius) <= 0.0078125, `sample at ${s.at}: ${s.value} vs true ${c.celsius}`);
		compared++;
	}
	t.true(compared >= 25);
});

test("the relay pin heats the room in the model", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ config: { setpoint: 21 }, board: { room: { temperature: 15, outside: 0 } } });
	await sim.run(60_000);
	let state = await dev.state();
	t.true(state.room.heater, "below the setpoint the firmware switches the relay on");
	t.is(state.pins[26].level, 1);
	await sim.run(4 * HOUR);
	state = await dev.state();
	t.true(state.room.heaterOnMs > HOUR);
	t.true(Math.abs(state.room.temperature - 21) < 1, `room at ${state.room.temperature} °C`);
});

test("an active-low relay board: the firmware drives the inverted level and the room still heats", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ board: { relay: { activeLow: true }, room: { temperature: 15 } } });
	await sim.run(5000);
	const state = await dev.state();
	t.true(state.room.heater);
	t.is(state.pins[26].level, 0);
});

test("virtual time: 24 simulated hours of a 1 Hz sampling loop", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("sampler.ts"), config: { traceEvery: 3600 } });
	const start = sim.now;
	await sim.run(24 * HOUR);
	t.is(sim.now - start, 24 * HOUR);
	const hourly = dev.traces().filter((l) => l.startsWith("sample "));
	t.is(hourly.length, 24);
	t.is(hourly.at(-1).split(" ")[1], "86400");
	// device time (Date.now() inside XS) agrees with the simulation clock
	t.is(Number(hourly.at(-1).split(" ")[2]), start + 24 * HOUR);
	t.is(dev.resets.length, 0);
});

test("the Moddable API behaves as on the ESP32 (preference, UDP, Digital, I2C, timer)", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("api-probe.ts") });
	await sim.run(1000);
	const p = probes(dev);
	t.deepEqual(p["pref.int"].value, 42);
	t.is(p["pref.float"].error, "float unsupported");
	t.is(p["pref.afterFloat"].value, "lost", "the ESP32 erases the key before it rejects a float");
	t.deepEqual(p["pref.buffer"].value, [1, 2, 3]);
	t.is(p["pref.view"].error, "unsupported type");
	t.is(p["pref.longKey"].error, "nvs set fail");
	t.is(p["pref.longDomain"].error, "nvs_open fail");
	t.is(p["pref.bigString"].error, "nvs set fail");
	t.deepEqual(p["pref.keys"].value, ["ab", "b", "s"]);
	t.deepEqual([p["udp.hostname"].type, p["udp.hostname"].error], ["RangeError", "invalid IP address"]);
	t.true(p["udp.readEmpty"].value);
	t.is(p["udp.closedWrite"].type, "SyntaxError");
	t.is(p["digital.badPin"].error, "invalid pin");
	t.is(p["digital.inputOnly"].error, "input only");
	t.is(p["digital.inUse"].error, "in use");
	t.is(p["digital.readOutput"].error, "can't read output");
	t.is(p["digital.closed"].type, "SyntaxError");
	t.is(p["i2c.noHz"].error, "invalid hz");
	t.is(p["i2c.nack"].error, "write failed");
	t.is(p["i2c.probeNack"].value, 1);
	t.is(p["i2c.duplicate"].error, "duplicate address");
	t.deepEqual(p["smbus.deviceId"].value, [0x0117, 0x1701], "SMBus words are little-endian unless asked");
	t.deepEqual(p["timer.fired"].value, { fired: 3, elapsed: 250, ticks: 250, same: true, thisIsGlobal: true });
	// modTimer.c (SDK 8.2): clearing a fired one-shot or a cleared timer does nothing;
	// moving a cleared one throws, its host data is gone
	for (const name of ["timer.clearInCallback", "timer.clearTwice", "timer.clearFired"]) t.is(p[name].error, undefined, name);
	t.is(p["timer.scheduleCleared"].type, "SyntaxError");
	t.deepEqual(p["timer.repeat"].value, { fired: 4, elapsed: 300 });
	t.is(p["frozen"].type, "TypeError", "built-in prototypes are frozen, as after the XS linker's preload");
	// what was stored went to the device's flash
	t.is(dev.preferences.get("probe", "s"), "hello");
	t.is(dev.preferences.get("probe", "n"), undefined);
});

test("an input pin's edge callback runs when the simulated button is pressed", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("api-probe.ts") });
	await sim.run(1000);
	const pressedAt = sim.now;
	await dev.setInput(0, 0); // press: pulled low
	await sim.run(200);
	await dev.setInput(0, null); // release: the pull-up takes it high, no callback on a rising edge
	await sim.run(200);
	await dev.setInput(0, 0);
	t.deepEqual(dev.traces().filter((l) => l.startsWith("button")), [`button pressed, level 0 at ${pressedAt}`, `button pressed, level 0 at ${pressedAt + 400}`]);
});

test("Math.random is seeded per device: two devices draw different numbers, one seed repeats", async (t) => {
	const draw = async (seed) => {
		const sim = simulation(t, { seed });
		const a = await sim.addDevice({ entry: fixture("api-probe.ts") });
		const b = await sim.addDevice({ entry: fixture("api-probe.ts") });
		return [probes(a).random.value, probes(b).random.value];
	};
	const [a1, b1] = await draw(11);
	const [a2] = await draw(11);
	t.notDeepEqual(a1, b1);
	t.deepEqual(a1, a2);
});

test("sensor absent at boot: a clear error in the log, relay off, no reset", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ board: { sensor: { absent: true }, room: { temperature: 10 } } });
	await sim.run(10_000);
	t.true(dev.traces().includes("sensor: TMP117: no answer at I2C address 0x48 (check wiring and power); heating off"), dev.traces().join("\n"));
	t.false((await dev.state()).room.heater);
	t.is(dev.resets.length, 0);
});

test("sensor lost while heating: relay off, then recovery when it answers again", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ board: { room: { temperature: 10 } } });
	await sim.run(5000);
	t.true((await dev.state()).room.heater);
	await dev.sensorFault("absent");
	await sim.run(10_000);
	t.false((await dev.state()).room.heater, "off within one control period (10 s)");
	t.true(dev.traces().some((l) => /^sensor: .*failed; heating off$/.test(l)), dev.traces().join("\n"));
	await dev.sensorFault("none");
	// back on at the first period after the relay's minimum off time (120 s)
	await sim.run(130_000);
	t.true((await dev.state()).room.heater);
	t.true(dev.traces().includes("sensor: ok again"));
	t.is(dev.resets.length, 0);
});

test("an uncaught exception resets the device: counted, logged, flash intact", async (t) => {
	const sim = simulation(t);
	const storage = path.join(tempDir(t), "flash.json");
	const dev = await sim.addDevice({ entry: fixture("crasher.ts"), storage, config: { failure: "throw", failTimes: 2, failAfterMs: 5000 } });
	await sim.run(30_000);
	t.is(dev.resets.length, 2);
	t.regex(dev.resets[0].reason, /uncaught exception: deliberate failure in a timer/);
	t.deepEqual(dev.traces().filter((l) => l.startsWith("boot ")), ["boot 1", "boot 2", "boot 3"]);
	t.true(dev.traces().includes("alive 3"));
	t.is(JSON.parse(fs.readFileSync(storage, "utf8")).test.boots.value, 3);
	t.true(dev.log.some((l) => l.source === "host" && /reset #2: uncaught exception/.test(l.text)));
});

test("device code that never returns is stopped and reset, as by the ESP32's watchdog", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("crasher.ts"), config: { failure: "loop", failAfterMs: 1000 }, meteringLimit: 2e7 });
	await sim.run(1500);
	t.is(dev.resets.length, 1);
	t.regex(dev.resets[0].reason, /watchdog/);
	t.deepEqual(dev.traces().filter((l) => l.startsWith("boot ")), ["boot 1", "boot 2"]);
});

test("a main that throws at every boot is halted as a boot loop, with the reason", async (t) => {
	const sim = simulation(t);
	const dev = await sim.addDevice({ entry: fixture("crasher.ts"), config: { failure: "main" } });
	t.truthy(dev.halted);
	t.regex(dev.halted, /halted after 5 resets.*main failed on purpose/);
	await sim.run(1000); // the rest of the simulation goes on
	t.is(dev.resets.length, 6);
});

test("bad host-sim input gets a message naming what is wrong", async (t) => {
	const sim = simulation(t);
	await t.throwsAsync(sim.addDevice({ pins: 3 }), { message: /unknown device option "pins"/ });
	await t.throwsAsync(sim.addDevice({ board: { pins: { relay: 24 } } }), { message: /pin "relay" is 24, not an ESP32 GPIO/ });
	await t.throwsAsync(sim.addDevice({ board: { relay: { pin: 36 } } }), { message: /relay pin 36 is not an output-capable/ });
	await t.throwsAsync(sim.addDevice({ board: { sensor: { port: 1 } } }), { message: /no I2C bus on port 1/ });
	await t.throwsAsync(sim.addDevice({ address: "192.168.1.20" }), { message: /loopback addresses only/ });
	await t.throwsAsync(sim.addDevice({ entry: path.join(root, "device", "nope.ts") }), { message: /device entry .* does not exist/ });
	const { Simulation } = await import("../host-sim/index.js");
	t.throws(() => new Simulation({ clock: "virtual", network: "loopback" }), { message: /loopback network bridges real sockets.*real clock/ });
	t.throws(() => new Simulation({ clock: "fast" }), { message: /mode must be "virtual" or "real"/ });
	t.throws(() => new Simulation({ speed: 10 }), { message: /speed applies to the "real" mode/ });
	t.throws(() => new Simulation({ tick: 1 }), { message: /unknown option "tick"/ });
});
