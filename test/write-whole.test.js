// A write that sets several resources (Write-Composite, a write to an instance) is judged by
// what it leaves, not value by value against the old ones: a set point and its new bounds go
// together in either order, and a write refused as a whole changes nothing.
import test from "ava";
import { EP, thermostatSimulation } from "./helpers/thermostat-sim.js";

async function setup(t) {
	const env = await thermostatSimulation(t, { board: { room: { temperature: 19, outside: 5 } } });
	const composite = async (values) => (await env.rest("PUT", `/clients/${EP}/composite`, values)).body;
	const value = async (p) => (await env.read(p)).content.value;
	return { ...env, composite, value };
}

test("Write-Composite of a set point and its minimum, in either order: accepted and applied together", async (t) => {
	const { composite, value, dev } = await setup(t);
	t.is(await value("/3308/0/5900"), 21);
	// the set point first: the minimum 23 is above the old set point 21, but not the new one
	const up = await composite({ "/3308/0/5900": 24, "/32700/0/6": 23 });
	t.true(up.success, JSON.stringify(up));
	t.is(await value("/3308/0/5900"), 24);
	t.is(await value("/32700/0/6"), 23);
	// the minimum first: 24.5 is above the set point 24 it replaces
	const again = await composite({ "/32700/0/6": 24.5, "/3308/0/5900": 25 });
	t.true(again.success, JSON.stringify(again));
	t.is(await value("/32700/0/6"), 24.5);
	t.is(await value("/3308/0/5900"), 25);
	t.true(dev.traces().includes("thermostat: setpointMin = 24.5"));
});

test("a Write-Composite whose outcome breaks a relation is refused with the reason and changes nothing", async (t) => {
	const { composite, value, dev } = await setup(t);
	// each value alone would pass against the old values (max 30, set point 21): together the
	// set point 26 lies above the new maximum 25
	const r = await composite({ "/32700/0/7": 25, "/3308/0/5900": 26 });
	t.false(r.success);
	t.is(r.code, "4.00");
	t.regex(r.errormessage ?? JSON.stringify(r), /set point 26 is outside 5\.\.25|maximum 25 is below the set point 26/);
	t.is(await value("/3308/0/5900"), 21);
	t.is(await value("/32700/0/7"), 30);
	t.false(dev.traces().some((l) => /thermostat: (setpoint|setpointMax) =/.test(l)), "nothing applied, nothing stored");
});

test("manual mode and the relay in one Write-Composite, in either order: the relay follows the write", async (t) => {
	const { sim, composite, value, dev } = await setup(t);
	await sim.run(60_000);
	// mode is automatic: a relay write alone is refused
	const alone = await composite({ "/3306/0/5850": true });
	t.false(alone.success);
	t.regex(alone.errormessage ?? "", /set mode manual/);
	// the relay before the mode: judged on the mode it leaves
	const on = await composite({ "/3306/0/5850": true, "/32700/0/3": 2 });
	t.true(on.success, JSON.stringify(on));
	await sim.run(1_000);
	t.is(await value("/32700/0/3"), 2);
	t.true(await value("/3306/0/5850"));
	// and back to automatic with the relay written off in the same request: refused as a
	// whole (the relay belongs to the thermostat in automatic mode), still manual and on
	const back = await composite({ "/32700/0/3": 0, "/3306/0/5850": false });
	t.false(back.success);
	t.is(await value("/32700/0/3"), 2);
	t.true(await value("/3306/0/5850"));
	t.is(dev.resets.length, 0);
});

test("a write to the tuning instance is checked as a whole: bounds that exclude the set point change nothing", async (t) => {
	const { write, value } = await setup(t);
	const instance = (resources) => JSON.stringify({ id: 0, kind: "instance", resources: resources.map(([id, v]) => ({ id, kind: "singleResource", value: v })) });
	// both bounds move up together, past the set point 21: refused, neither is applied
	const r = await write("/32700/0?replace=false", instance([[7, 28], [6, 22]]));
	t.false(r.success, JSON.stringify(r));
	t.regex(r.errormessage ?? "", /minimum 22 is above the set point 21/);
	t.is(await value("/32700/0/6"), 5);
	t.is(await value("/32700/0/7"), 30);
	// bounds that keep it: applied together
	const ok = await write("/32700/0?replace=false", instance([[7, 22], [6, 20]]));
	t.true(ok.success, JSON.stringify(ok));
	t.is(await value("/32700/0/6"), 20);
	t.is(await value("/32700/0/7"), 22);
});
