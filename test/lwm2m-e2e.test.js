// The firmware's LwM2M client on XS against the local LwM2M server, driven through the
// server's REST API as a user would, in virtual time. The server decodes everything the
// device sends with its own codecs (independent of device/).
import test from "ava";
import { fixture } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";

const EP = "e2e-thermo";

async function setup(t, config = {}) {
	const env = await lwm2mSimulation(t);
	const events = [];
	const watch = (server) => {
		for (const name of ["registered", "updated", "deregistered", "expired", "notification", "send"]) {
			server.on(name, (e) => events.push({ name, at: env.sim.now, e }));
		}
	};
	watch(env.state.server);
	const dev = await env.sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, lifetime: 120, ...config } });
	await env.sim.run(1000);
	return { ...env, dev, events, watch };
}

const value = (r) => r.body.content.value;
const resources = (r) => Object.fromEntries(r.body.content.resources.map((x) => [x.id, x.value ?? x.values]));

test("register, then read /3/0 in every content format the device writes", async (t) => {
	const { rest, events } = await setup(t);
	const reg = events.find((e) => e.name === "registered");
	t.truthy(reg, "registered");
	const clients = (await rest("GET", "/clients")).body;
	const me = clients.find((c) => c.endpoint === EP);
	t.is(me.lwM2mVersion ?? me.lwm2mVersion ?? me.version, "1.1");
	t.is(me.lifetime, 120);
	for (const format of ["TLV", "SENML_JSON", "SENML_CBOR", "LWM2M_CBOR"]) {
		const r = await rest("GET", `/clients/${EP}/3/0?format=${format}`);
		t.is(r.status, 200, format);
		t.true(r.body.success, `${format}: ${JSON.stringify(r.body)}`);
		const res = resources(r);
		t.is(res[0], "host-sim", format);
		t.is(res[1], "test-thermostat", format);
		t.is(res[16], "U", format);
		t.deepEqual(res[11], { 0: 0 }, format);
	}
	const text = await rest("GET", `/clients/${EP}/3303/0/5700?format=TEXT`);
	t.is(value(text), 20);
	const plain = await rest("GET", `/clients/${EP}/3303/0/5700`);
	t.is(value(plain), 20);
});

test("write and read back; a refused write is reported and changes nothing", async (t) => {
	const { rest } = await setup(t);
	const w = await rest("PUT", `/clients/${EP}/3308/0/5900`, "22.5");
	t.true(w.body.success, JSON.stringify(w.body));
	t.is(value(await rest("GET", `/clients/${EP}/3308/0/5900`)), 22.5);
	// partial update of the instance in SenML CBOR
	const partial = await rest("PUT", `/clients/${EP}/3308/0?replace=false&format=SENML_CBOR`, { id: 0, kind: "instance", resources: [{ id: 5900, kind: "singleResource", value: 19 }, { id: 5750, kind: "singleResource", value: "floor" }] });
	t.true(partial.body.success, JSON.stringify(partial.body));
	t.deepEqual([value(await rest("GET", `/clients/${EP}/3308/0/5900`)), value(await rest("GET", `/clients/${EP}/3308/0/5750`))], [19, "floor"]);
	// the device's own check refuses "!" in the application type: 4.00, nothing applied
	const refused = await rest("PUT", `/clients/${EP}/3308/0?replace=false`, { id: 0, kind: "instance", resources: [{ id: 5900, kind: "singleResource", value: 25 }, { id: 5750, kind: "singleResource", value: "boiler!" }] });
	t.false(refused.body.success);
	t.is(refused.body.code, "4.00");
	t.is(value(await rest("GET", `/clients/${EP}/3308/0/5900`)), 19);
	// a value the server's model refuses never reaches the device
	t.is((await rest("PUT", `/clients/${EP}/3308/0/5900`, "warm")).status, 400);
});

test("execute Reboot: the device restarts and registers again", async (t) => {
	const { rest, dev, events, sim } = await setup(t);
	const r = await rest("POST", `/clients/${EP}/3/0/4`);
	t.true(r.body.success, JSON.stringify(r.body));
	await sim.run(5000);
	t.is(dev.resets.length, 1);
	t.is(events.filter((e) => e.name === "registered").length, 2);
});

test("discover, write-attributes, then observe: pmin and pmax honoured in virtual time", async (t) => {
	const { rest, events, sim } = await setup(t, { stepMs: 3000 });
	const d = await rest("GET", `/clients/${EP}/3303/0/discover`);
	t.true(d.body.success);
	const links = JSON.stringify(d.body.objectLinks ?? d.body.content);
	t.true(links.includes("/3303/0/5700"), links);
	t.true((await rest("PUT", `/clients/${EP}/3303/0/5700/attributes?pmin=10&pmax=30`)).body.success);
	const attrs = await rest("GET", `/clients/${EP}/3303/0/5700/discover`);
	t.regex(JSON.stringify(attrs.body), /pmin.*10/);
	const o = await rest("POST", `/clients/${EP}/3303/0/5700/observe`);
	t.true(o.body.success, JSON.stringify(o.body));
	const from = sim.now;
	await sim.run(120_000);
	const notes = events.filter((e) => e.name === "notification" && e.at > from);
	t.true(notes.length >= 9 && notes.length <= 13, `${notes.length} notifications in 120 s with pmin 10`);
	for (let i = 1; i < notes.length; i++) t.true(notes[i].at - notes[i - 1].at >= 9_990, "not before pmin");
	// cancel: no more
	t.true((await rest("DELETE", `/clients/${EP}/3303/0/5700/observe`)).status < 300);
	const count = events.filter((e) => e.name === "notification").length;
	await sim.run(60_000);
	t.is(events.filter((e) => e.name === "notification").length, count);
});

test("composite read and write; Send arrives at the server", async (t) => {
	const { rest, events, sim } = await setup(t, { sendEveryMs: 30_000 });
	const r = await rest("GET", `/clients/${EP}/composite?paths=/3/0/0,/3303/0/5700,/3308/0/5900`);
	t.true(r.body.success, JSON.stringify(r.body));
	const body = JSON.stringify(r.body.content);
	t.true(body.includes("host-sim") && body.includes("21"), body);
	const w = await rest("PUT", `/clients/${EP}/composite`, { "/3308/0/5900": 20.5, "/3308/0/5750": "hall" });
	t.true(w.body.success, JSON.stringify(w.body));
	t.is(value(await rest("GET", `/clients/${EP}/3308/0/5900`)), 20.5);
	await sim.run(40_000);
	const sends = events.filter((e) => e.name === "send");
	t.true(sends.length >= 1);
	t.regex(JSON.stringify(sends[0].e), /3303\/0\/5700/);
});

test("updates keep the registration alive past its lifetime; deregistration on shutdown", async (t) => {
	const { events, sim, dev, state } = await setup(t, { lifetime: 60 });
	await sim.run(10 * 60_000);
	t.true(events.filter((e) => e.name === "updated").length >= 15);
	t.is(events.filter((e) => e.name === "expired").length, 0);
	t.truthy(state.server.client(EP));
	await dev.setInput(0, 0);
	await sim.run(2000);
	t.is(events.filter((e) => e.name === "deregistered").length, 1);
	t.falsy(state.server.client(EP));
});

test("the server restarts and forgets the client: the next Update gets 4.04 and the client registers again", async (t) => {
	const { sim, state, startServer, events, watch, rest } = await setup(t, { lifetime: 60 });
	await state.server.stop();
	state.server = await startServer();
	watch(state.server);
	await sim.run(60_000);
	t.truthy(state.server.client(EP), "registered with the new server");
	t.true(events.filter((e) => e.name === "registered").length >= 2);
	t.is(value(await rest("GET", `/clients/${EP}/3303/0/5700`)), 20);
});
