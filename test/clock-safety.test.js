// A server writes the device's clock (Device Current Time /3/0/13): back an hour, forward
// a day, or as far back as the device accepts, in each phase of a heating cycle. The
// firmware measures its intervals on the monotonic clock, so none of that may show: the
// relay keeps its minimum times and follows the control law, the relay's on time
// (3306/0/5852) counts only real time, observations keep their pmax, and Updates keep
// their schedule. On XS in virtual time, through the local server's REST API.
import test from "ava";
import path from "node:path";
import { root, HOUR } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";

const EP = "thermostat-clock";
const DDF = path.join(root, "device", "thermostat", "ddf");
const MIN_HOLD = 120_000; // minOnTime / minOffTime of the manifest, ms
const LIFETIME = 300; // s, the manifest's
const PMAX = 60; // s, set on the temperature observation below
const EARLIEST = 1577836800; // 2020-01-01T00:00:00Z, the earliest time the device accepts

async function setup(t) {
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF] });
	const events = [];
	for (const name of ["registered", "updated", "deregistered", "expired", "notification"]) env.state.server.on(name, (e) => events.push({ name, at: env.sim.now, e }));
	const dev = await env.sim.addDevice({
		board: { room: { temperature: 19, outside: 0 } },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, ssid: "host-sim" },
	});
	const relay = [];
	dev.on("relay", (on, at) => relay.push({ on, at }));
	await env.sim.run(5_000);
	const read = async (p) => (await env.rest("GET", `/clients/${EP}${p}`)).body;
	const write = async (p, v) => (await env.rest("PUT", `/clients/${EP}${p}`, String(v))).body;
	t.true((await env.rest("PUT", `/clients/${EP}/3303/0/5700/attributes?pmin=10&pmax=${PMAX}`)).body.success);
	t.true((await env.rest("POST", `/clients/${EP}/3303/0/5700/observe`)).body.success);
	await env.sim.run(HOUR); // warm up into regular cycles
	return { ...env, dev, relay, events, read, write };
}

/** Run until the relay switches to `on` (a switch after now). */
async function untilRelay(sim, relay, on) {
	const seen = relay.length;
	for (let i = 0; i < 3 * 3600; i++) {
		if (relay.slice(seen).some((r) => r.on === on)) return;
		await sim.run(1000);
	}
	throw new Error(`the relay did not switch ${on ? "on" : "off"} within 3 h`);
}

/** Seconds the relay was on between `from` and `to`, as the room saw it. */
function onTime(relay, from, to) {
	let ms = 0, on = false, since = from;
	for (const r of relay) {
		if (r.at > to) break;
		if (r.at <= from) { on = r.on; continue; }
		if (on) ms += r.at - since;
		on = r.on;
		since = r.at;
	}
	if (on) ms += to - since;
	return ms / 1000;
}

const PHASES = {
	"right after the relay went on": async (sim, relay) => untilRelay(sim, relay, true),
	"right after the relay went off": async (sim, relay) => untilRelay(sim, relay, false),
	"in the middle of a minimum off time": async (sim, relay) => {
		await untilRelay(sim, relay, false);
		await sim.run(MIN_HOLD / 2);
	},
};

/** Write the clock in each phase in turn and check what a user and the server see afterwards. */
async function clockWrites(t, env, newTime) {
	const { sim, dev, relay, events, read, write } = env;
	for (const [phase, reach] of Object.entries(PHASES)) {
		await reach(sim, relay);
		const deviceTime = (await read("/3/0/13")).content.value;
		const onBefore = (await read("/3306/0/5852")).content.value;
		const from = sim.now;
		const target = newTime(deviceTime);
		const w = await write("/3/0/13", target);
		t.true(w.success, `${phase}: writing the clock to ${target}: ${JSON.stringify(w)}`);
		const samples = [];
		while (sim.now - from < HOUR) {
			await sim.run(60_000);
			samples.push((await dev.state()).room.temperature);
		}
		const to = sim.now;
		// the control law: set point 21, hysteresis 0.5: within 21 ± (0.25 + 0.3) as over a normal day
		const low = Math.min(...samples), high = Math.max(...samples);
		t.true(low >= 21 - 0.55 && high <= 21 + 0.55, `${phase}: the room went ${low.toFixed(2)}..${high.toFixed(2)} °C in the hour after the write`);
		// minimum times, including the switch before the write
		const switches = relay.filter((r) => r.at >= from - 2 * MIN_HOLD && r.at <= to);
		t.true(switches.length >= 4, `${phase}: ${switches.length} switches in the hour after the write`);
		for (let i = 1; i < switches.length; i++) {
			const held = switches[i].at - switches[i - 1].at;
			t.true(held >= MIN_HOLD, `${phase}: the relay was ${switches[i - 1].on ? "on" : "off"} for only ${held} ms`);
		}
		// the relay's on time counts real time, not clock writes
		const onAfter = (await read("/3306/0/5852")).content.value;
		const expected = onTime(relay, from, sim.now);
		t.true(Math.abs(onAfter - onBefore - expected) <= 2, `${phase}: 3306/0/5852 went ${onBefore} -> ${onAfter} s; the relay was on for ${expected.toFixed(1)} s`);
		// the clock itself runs on from what was written
		const now = (await read("/3/0/13")).content.value;
		const ran = (sim.now - from) / 1000;
		t.true(Math.abs(now - (target + ran)) <= 2, `${phase}: /3/0/13 reads ${now}, ${target} + ${ran.toFixed(0)} s was expected`);
		// notifications keep their pmax
		const notes = events.filter((e) => e.name === "notification" && e.at >= from && e.at <= to && JSON.stringify(e.e).includes("5700")).map((e) => e.at);
		notes.unshift(from);
		for (let i = 1; i < notes.length; i++) t.true(notes[i] - notes[i - 1] <= (PMAX + 2) * 1000, `${phase}: ${notes[i] - notes[i - 1]} ms between temperature notifications (pmax ${PMAX} s)`);
		t.true(to - notes.at(-1) <= (PMAX + 2) * 1000, `${phase}: no temperature notification in the last ${to - notes.at(-1)} ms`);
		// the registration keeps its Update schedule
		const reg = events.filter((e) => (e.name === "updated" || e.name === "registered") && e.at <= to).map((e) => e.at);
		const updates = reg.filter((at) => at >= from);
		t.true(updates.length >= Math.floor(HOUR / (LIFETIME * 1000)), `${phase}: ${updates.length} Updates in the hour after the write`);
		for (let i = 1; i < reg.length; i++) t.true(reg[i] - reg[i - 1] < LIFETIME * 1000, `${phase}: ${reg[i] - reg[i - 1]} ms between Updates (lifetime ${LIFETIME} s)`);
	}
	t.is(events.filter((e) => e.name === "registered").length, 1, "registered once, never again");
	t.is(events.filter((e) => e.name === "expired" || e.name === "deregistered").length, 0, "the server never lost the registration");
	t.truthy(env.state.server.client(EP));
	t.is(dev.resets.length, 0);
}

test("the clock written back an hour in each phase of a heating cycle changes nothing the device does", async (t) => {
	await clockWrites(t, await setup(t), (now) => now - 3600);
});

test("the clock written a day forward in each phase of a heating cycle changes nothing the device does", async (t) => {
	await clockWrites(t, await setup(t), (now) => now + 86_400);
});

test("the clock written to 0 is refused; written back to the earliest time it accepts, in each phase, it changes nothing the device does", async (t) => {
	const env = await setup(t);
	const r = await env.write("/3/0/13", 0);
	t.false(r.success);
	t.is(r.code, "4.00");
	t.regex(r.errormessage ?? JSON.stringify(r), /2020-01-01/);
	t.true(Math.abs((await env.read("/3/0/13")).content.value - env.sim.now / 1000) < 5, "the clock is unchanged");
	await clockWrites(t, env, () => EARLIEST);
});
