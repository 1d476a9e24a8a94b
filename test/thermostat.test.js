// The thermostat firmware (device/main.ts) on XS in virtual time: its control of the
// modelled room over a day, tuning by LwM2M writes through the local server's REST API,
// persistence across a reboot, the sensor fail-safe, and observe notifications.
import test from "ava";
import { HOUR } from "./helpers/sim.js";
import { EP, thermostatSimulation as setup } from "./helpers/thermostat-sim.js";

test("24 h with a daily outside curve: the room stays within set point ± (h/2 + 0.3 °C), no relay cycle shorter than the minimum times", async (t) => {
	const { sim, dev, relay, events } = await setup(t);
	t.truthy(events.find((e) => e.name === "registered"), "registered over Wi-Fi");
	await sim.run(2 * HOUR); // warm-up from 17 °C
	const samples = [];
	const start = sim.now;
	while (sim.now - start < 24 * HOUR) {
		await sim.run(60_000);
		samples.push((await dev.state()).room.temperature);
	}
	const low = Math.min(...samples), high = Math.max(...samples);
	t.log(`room ${low.toFixed(2)}..${high.toFixed(2)} °C over 24 h; ${relay.filter((r) => r.on).length} heating cycles`);
	// set point 21, hysteresis 0.5 (manifest defaults): 21 ± 0.55
	t.true(low >= 21 - 0.55 && high <= 21 + 0.55, `${low}..${high}`);
	const cycles = relay.filter((r) => r.at >= start);
	t.true(cycles.length > 20, `${cycles.length} relay switches`);
	for (let i = 1; i < cycles.length; i++) {
		const held = cycles[i].at - cycles[i - 1].at;
		t.true(held >= 120_000, `the relay was ${cycles[i - 1].on ? "on" : "off"} for only ${held} ms`);
	}
	t.is(dev.resets.length, 0);
});

test("a set point written through the REST API acts within one control period and survives a reboot", async (t) => {
	const { sim, dev, relay, read, write, rest } = await setup(t, { board: { room: { temperature: 21, outside: 10 } } });
	await sim.run(HOUR);
	t.false((await dev.state()).room.heater === undefined);
	// raise the set point well above the room: the relay is on by the next control step
	// (10 s), or when the relay's minimum off time (120 s) ends if it had just switched off
	const w = await write("/3308/0/5900", "24.5");
	t.true(w.success, JSON.stringify(w));
	const writtenAt = sim.now;
	const last = relay.filter((r) => r.at <= writtenAt).at(-1);
	const deadline = last && !last.on && writtenAt - last.at < 120_000 ? last.at + 120_000 + 10_000 : writtenAt + 10_000;
	await sim.run(deadline - sim.now);
	t.true((await dev.state()).room.heater, "heating by the deadline");
	t.is((await read("/3308/0/5900")).content.value, 24.5);
	// tuning values too, and a value out of range is refused by the device's model
	t.true((await write("/32700/0/0", "0.8")).success);
	const bad = await rest("PUT", `/clients/${EP}/32700/0/0`, "9");
	t.true(bad.status === 400 || bad.body.success === false, "hysteresis 9 °C is refused");
	// reboot: the set point (24.5, stored as 2450 hundredths: NVS has no floats) is still there
	t.true((await rest("POST", `/clients/${EP}/3/0/4`)).body.success);
	await sim.run(20_000);
	t.is(dev.resets.length, 1);
	t.is((await read("/3308/0/5900")).content.value, 24.5);
	t.is((await read("/32700/0/0")).content.value, 0.8);
});

test("set point limits: a write outside them is refused with the reason, and changes nothing", async (t) => {
	const { read, write } = await setup(t);
	const r = await write("/3308/0/5900", "31");
	t.false(r.success);
	t.is(r.code, "4.00");
	t.regex(r.errormessage ?? JSON.stringify(r), /outside 5\.\.30/);
	t.is((await read("/3308/0/5900")).content.value, 21);
});

test("sensor unplugged: relay off within one control period, Device error 8, recovery when it is back", async (t) => {
	const { sim, dev, read } = await setup(t, { board: { room: { temperature: 15, outside: 0 } } });
	await sim.run(60_000);
	t.true((await dev.state()).room.heater, "heating the cold room");
	await dev.sensorFault("absent");
	await sim.run(10_000);
	t.false((await dev.state()).room.heater, "off within one control period");
	t.deepEqual((await read("/3/0/11")).content.values, { 0: 8 }, "peripheral malfunction");
	t.is((await read("/32700/0/9")).content.value, 1, "sensor state: not answering");
	await dev.sensorFault("none");
	await sim.run(200_000);
	t.true((await dev.state()).room.heater, "heating again");
	t.deepEqual((await read("/3/0/11")).content.values, { 0: 0 });
	// out of range readings count as a failure too
	await dev.sensorFault("range");
	await sim.run(10_000);
	t.false((await dev.state()).room.heater);
	t.is((await read("/32700/0/9")).content.value, 2);
});

test("observe: temperature notifications honour st and pmin; set point changes notify, also when made with the button", async (t) => {
	const { sim, dev, rest, events } = await setup(t, { board: { room: { temperature: 18, outside: 0 } } });
	t.true((await rest("PUT", `/clients/${EP}/3303/0/5700/attributes?pmin=30&st=0.2`)).body.success);
	t.true((await rest("POST", `/clients/${EP}/3303/0/5700/observe`)).body.success);
	t.true((await rest("POST", `/clients/${EP}/3308/0/5900/observe`)).body.success);
	const from = sim.now;
	await sim.run(30 * 60_000);
	const temps = events.filter((e) => e.name === "notification" && e.at > from && JSON.stringify(e.e).includes("5700")).map((e) => ({ at: e.at, v: Number(JSON.stringify(e.e).match(/"value":(-?[\d.]+)/)?.[1]) }));
	t.true(temps.length >= 10, `${temps.length} temperature notifications in 30 min`);
	for (let i = 1; i < temps.length; i++) {
		t.true(temps[i].at - temps[i - 1].at >= 29_990, "pmin 30 s");
		t.true(Math.abs(temps[i].v - temps[i - 1].v) >= 0.2 - 1e-9, `st 0.2: ${temps[i - 1].v} -> ${temps[i].v}`);
	}
	// the button raises the set point by 0.5 locally: the observer hears of it
	const before = events.filter((e) => e.name === "notification" && JSON.stringify(e.e).includes("5900")).length;
	await dev.setInput(0, 0);
	await dev.setInput(0, 1);
	await sim.run(5_000);
	const sp = events.filter((e) => e.name === "notification" && JSON.stringify(e.e).includes("5900"));
	t.is(sp.length, before + 1);
	t.regex(JSON.stringify(sp.at(-1).e), /21\.5/);
});

test("Wi-Fi lost for ten minutes: heating goes on, the firmware reconnects with back-off and registers again", async (t) => {
	const { sim, dev, events, state } = await setup(t, { board: { room: { temperature: 19, outside: 0 } } });
	t.is(events.filter((e) => e.name === "registered").length, 1);
	await dev.setNetwork(false);
	await sim.run(10 * 60_000);
	t.true(dev.traces().includes("wifi: connection lost"));
	const relayDuring = (await dev.state()).room.heater !== undefined;
	t.true(relayDuring, "the control loop kept running");
	await dev.setNetwork(true);
	await sim.run(3 * 60_000);
	t.is(dev.traces().filter((l) => l.startsWith("wifi: connected")).length, 2);
	t.true(events.filter((e) => e.name === "registered").length >= 2, "registered again once the network returned");
	t.truthy(state.server.client(EP));
	t.is(dev.resets.length, 0);
});

test("modes and calibration: manual lets the server switch the relay, off keeps it off, the sensor offset shifts the reading", async (t) => {
	const { sim, dev, read, write } = await setup(t, { board: { room: { temperature: 22, outside: 15 } } });
	await sim.run(5 * 60_000);
	t.false((await dev.state()).room.heater, "warm room: off in auto");
	const refused = await write("/3306/0/5850", "true");
	t.false(refused.success);
	t.regex(refused.errormessage ?? JSON.stringify(refused), /set mode manual/);
	t.true((await write("/32700/0/3", "2")).success, "mode manual");
	t.true((await write("/3306/0/5850", "true")).success);
	await sim.run(1000);
	t.true((await dev.state()).room.heater, "the server switched it on");
	t.is((await read("/3306/0/5850")).content.value, true);
	t.true((await write("/32700/0/3", "0")).success, "mode off");
	await sim.run(1000);
	t.false((await dev.state()).room.heater, "off at once, minimum on time or not");
	// calibration: +1.5 °C
	const before = (await read("/3303/0/5700")).content.value;
	t.true((await write("/32700/0/4", "1.5")).success);
	await sim.run(20_000);
	const after = (await read("/3303/0/5700")).content.value;
	const room = (await dev.state()).room.temperature;
	t.true(Math.abs(after - (room + 1.5)) < 0.05, `reported ${after}, room ${room}`);
	t.true(after - before > 1.3);
});

test("a stuck sensor (the same reading for 15 minutes) is a failure: relay off, sensor state 3", async (t) => {
	const { sim, dev, read } = await setup(t, { board: { room: { temperature: 16, outside: 0 } } });
	await sim.run(60_000);
	t.true((await dev.state()).room.heater);
	await dev.sensorFault("stuck");
	await sim.run(14 * 60_000);
	t.true((await dev.state()).room.heater, "not yet: a quiet room can read steady for a while");
	await sim.run(2 * 60_000);
	t.false((await dev.state()).room.heater, "off after 15 minutes of the very same reading");
	t.is((await read("/32700/0/9")).content.value, 3);
	t.deepEqual((await read("/3/0/11")).content.values, { 0: 8 });
});

test("after the supply monitor's shutdown, button presses change nothing and crash nothing: heating stays off", async (t) => {
	const { sim, dev, relay, read, events } = await setup(t, { board: { room: { temperature: 17, outside: 0 } }, config: { powerFailPin: 35 } });
	await sim.run(10 * 60_000);
	t.true(relay.some((r) => r.on), "heating before the shutdown");
	const setpoint = (await read("/3308/0/5900")).content.value;
	await dev.setInput(35, 0); // the supply fails
	await sim.run(5_000);
	t.is(events.filter((e) => e.name === "deregistered").length, 1);
	const off = relay.length;
	for (let i = 0; i < 3; i++) {
		await dev.setInput(0, 0);
		await dev.setInput(0, 1);
		await sim.run(1_000);
	}
	await sim.run(10 * 60_000);
	t.is(dev.resets.length, 0, dev.traces().join("\n"));
	t.false((await dev.state()).room.heater, "the relay stays off");
	t.is(relay.length, off, "no relay switching after the shutdown");
	t.deepEqual(dev.traces().filter((l) => /exception|abort/i.test(l)), []);
	t.true(dev.traces().some((l) => /thermostat: button ignored, the thermostat is stopped/.test(l)), dev.traces().slice(-10).join("\n"));
	t.is(setpoint, 21);
});
