// The firmware's LwM2M client on XS in virtual time, against a bare test server that
// speaks raw CoAP through `coap-packet`: what the device puts on the wire (registration,
// payloads in each content format, error codes) checked by decoders we did not write
// (cbor-x, JSON.parse, hand-written expectations from the specification).
import test from "ava";
import { decode as cborDecode } from "cbor-x";
import { simulation, fixture } from "./helpers/sim.js";
import { RawServer, num, option, options } from "./helpers/raw-lwm2m.js";

const TEXT = 0, LINK = 40, OPAQUE = 42, JSON_CF = 50, SENML_JSON = 110, SENML_CBOR = 112, TLV = 11542;

async function setup(t, config = {}, serverOptions = {}) {
	const sim = simulation(t, { seed: 11, latencyMs: 1 });
	const server = new RawServer(sim, serverOptions);
	const dev = await sim.addDevice({ entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", lifetime: 120, ...config } });
	await sim.run(500);
	return { sim, server, dev };
}

/** RFC 6690 links, parsed here: [{path, attrs}] */
function links(text) {
	return text.split(",").map((link) => {
		const [target, ...params] = link.split(";");
		const attrs = {};
		for (const p of params) {
			const [k, v] = p.split("=");
			attrs[k] = v === undefined ? true : v.replace(/^"|"$/g, "");
		}
		return { path: target.replace(/^<|>$/g, ""), attrs };
	});
}

/** TLV (Core TS §7.4.3), parsed here for the assertions: [{type, id, value: Buffer|children}] */
function tlv(buf) {
	const out = [];
	for (let i = 0; i < buf.length;) {
		const t = buf[i++];
		const type = t >> 6;
		const id = t & 0x20 ? buf.readUInt16BE((i += 2) - 2) : buf[i++];
		let length = t & 7;
		const lengthBytes = (t >> 3) & 3;
		if (lengthBytes) {
			length = buf.readUIntBE(i, lengthBytes);
			i += lengthBytes;
		}
		const value = buf.subarray(i, i + length);
		i += length;
		out.push({ type, id, value: type === 0 || type === 2 ? tlv(value) : value });
	}
	return out;
}

test("Register: link-format of the objects and instances (no Security), lwm2m=1.1, lifetime, binding; Update before the lifetime ends", async (t) => {
	const { sim, server } = await setup(t, { lifetime: 60 });
	const [register] = server.registrations();
	t.is(register.p.code, "0.02");
	t.deepEqual(options(register.p, "Uri-Path"), ["rd"]);
	t.deepEqual(options(register.p, "Uri-Query").sort(), ["b=U", "ep=test-ep", "lt=60", "lwm2m=1.1"]);
	t.is(num(option(register.p, "Content-Format")), LINK);
	const payload = register.p.payload.toString();
	// one bare ct (the preferred SenML CBOR): stock Wakaama refuses a quoted list or a repeated ct
	t.true(payload.startsWith('</>;rt="oma.lwm2m";ct=112,'), payload);
	const l = links(payload);
	t.deepEqual(l[0], { path: "/", attrs: { rt: "oma.lwm2m", ct: "112" } });
	// LwM2M 1.1.1's object versions: a lwm2m=1.1 server knows them (Server 1.2 needs LwM2M 1.2)
	const ver = (p) => l.find((x) => x.path === p)?.attrs.ver;
	t.deepEqual(["/1", "/3", "/4"].map(ver), ["1.1", "1.1", "1.2"]);
	const paths = l.map((x) => x.path);
	for (const p of ["/1/0", "/3/0", "/4/0", "/3303/0", "/3308/0"]) t.true(paths.includes(p), p);
	t.false(paths.some((p) => p.startsWith("/0")), "the Security object is never announced");
	t.is(l.find((x) => x.path === "/3303").attrs.ver, "1.1");
	await sim.run(10 * 60_000);
	const updates = server.registrations().filter((r) => options(r.p, "Uri-Path").join("/") === "rd/x1" && r.p.code === "0.02");
	t.true(updates.length >= 18, `${updates.length} updates in 10 min with a 60 s lifetime`);
	let last = register.at;
	for (const u of updates) {
		t.true(u.at - last < 60_000, "each Update before the lifetime ran out");
		last = u.at;
	}
	t.is(updates[0].p.payload.length, 0, "a plain Update carries no links");
});

test("Read /3/0 in TLV, SenML CBOR, SenML JSON; a resource in text; 4.06 where a format cannot hold the value", async (t) => {
	const { server } = await setup(t);
	const plain = await server.request("GET", "/3/0");
	t.is(plain.code, "2.05");
	t.is(plain.format, TLV, "TLV by default for an instance");
	const resources = tlv(plain.payload);
	const byId = Object.fromEntries(resources.map((r) => [r.id, r]));
	t.is(byId[0].value.toString(), "host-sim");
	t.is(byId[1].value.toString(), "test-thermostat");
	t.is(byId[16].value.toString(), "U");
	t.is(byId[11].type, 2, "Error Code is a multiple resource");
	t.deepEqual(byId[11].value.map((ri) => [ri.id, ri.value[0]]), [[0, 0]]);
	// the same again when asked for TLV (but Memory Free, which moves)
	const strip = (buf) => tlv(buf).filter((r) => r.id !== 10);
	t.deepEqual(strip((await server.request("GET", "/3/0", { accept: TLV })).payload), strip(plain.payload));

	const cbor = await server.request("GET", "/3/0", { accept: SENML_CBOR });
	t.is(cbor.format, SENML_CBOR);
	const records = cborDecode(cbor.payload);
	const base = records[0][-2];
	const named = Object.fromEntries(records.map((r) => [base + r[0], r[2] ?? r[3] ?? r[4]]));
	t.is(named["/3/0/0"], "host-sim");
	t.is(named["/3/0/16"], "U");
	t.is(named["/3/0/11/0"], 0);
	t.true(named["/3/0/10"] > 8 && named["/3/0/10"] < 96, `memory free ${named["/3/0/10"]} KB of 96`);
	t.is(named["/3/0/21"], 96);
	t.true(Math.abs(named["/3/0/13"] - 1767571200) < 10, "current time in seconds");

	const json = await server.request("GET", "/3/0", { accept: SENML_JSON });
	const parsed = JSON.parse(json.text);
	t.is(parsed[0].bn, "/3/0/");
	t.deepEqual(parsed.find((r) => r.n === "1"), { n: "1", vs: "test-thermostat" });

	const temp = await server.request("GET", "/3303/0/5700");
	t.is(temp.format, TEXT);
	t.is(temp.text, "20");
	t.is((await server.request("GET", "/3303/0/5701", { accept: TEXT })).text, "Cel");
	t.is((await server.request("GET", "/3/0", { accept: TEXT })).code, "4.06");
	t.is((await server.request("GET", "/3303/0/5700", { accept: OPAQUE })).code, "4.06");
	t.is((await server.request("GET", "/3303/0/5700", { accept: JSON_CF })).code, "4.06");
	// the whole object: TLV object-instance wrappers
	const object = tlv((await server.request("GET", "/3303")).payload);
	t.is(object[0].type, 0);
	t.is(object[0].id, 0);
});

test("every refused operation answers the documented code and changes nothing", async (t) => {
	const { server } = await setup(t);
	const read = async (path) => (await server.request("GET", path)).text;
	const cases = [
		["unknown object", "GET", "/9999", {}, "4.04"],
		["unknown instance", "GET", "/3303/7", {}, "4.04"],
		["unknown resource", "GET", "/3/0/999", {}, "4.04"],
		["a path that is no path", "GET", "/3/x", {}, "4.04"],
		["Security is off limits", "GET", "/0/0", {}, "4.01"],
		["read-only resource", "PUT", "/3303/0/5700", { contentFormat: TEXT, payload: "30" }, "4.05"],
		["wrong type: text on a Float", "PUT", "/3308/0/5900", { contentFormat: TEXT, payload: "warm" }, "4.00"],
		["wrong type: SenML string on a Float", "PUT", "/3308/0/5900", { contentFormat: SENML_JSON, payload: JSON.stringify([{ bn: "/3308/0/5900", vs: "warm" }]) }, "4.00"],
		["unsupported content format", "PUT", "/3308/0/5900", { contentFormat: JSON_CF, payload: "{}" }, "4.15"],
		["no content format", "PUT", "/3308/0/5900", { payload: "22" }, "4.00"],
		["malformed SenML CBOR", "PUT", "/3308/0", { contentFormat: SENML_CBOR, payload: Buffer.from([0x9f, 0xa1, 0x00]) }, "4.00"],
		["a value outside the request's path", "PUT", "/3308/0/5900", { contentFormat: SENML_JSON, payload: JSON.stringify([{ n: "/3308/0/5750", vs: "x" }]) }, "4.00"],
		["Write on an object", "PUT", "/3308", { contentFormat: TEXT, payload: "1" }, "4.05"],
		["execute a readable resource", "POST", "/3303/0/5700", {}, "4.05"],
		["execute with bad arguments", "POST", "/1/0/8", { payload: "0=unquoted" }, "4.00"],
		["delete the Server instance", "DELETE", "/1/0", {}, "4.05"],
		["delete an object", "DELETE", "/3308", {}, "4.05"],
		["the application refuses to delete", "DELETE", "/3308/0", {}, "4.00"],
		["Create on a single-instance object", "POST", "/3", { contentFormat: SENML_JSON, payload: JSON.stringify([{ n: "/3/1/14", vs: "+01:00" }]) }, "4.05"],
		["unknown method on the root", "GET", "/", {}, "4.05"],
		["gt on a string resource", "PUT", "/3303/0/5750", { query: ["gt=3"] }, "4.00"],
		["lt above gt", "PUT", "/3303/0/5700", { query: ["gt=20", "lt=25"] }, "4.00"],
		["unknown attribute", "PUT", "/3303/0/5700", { query: ["often=1"] }, "4.00"],
		["negative pmin", "PUT", "/3303/0/5700", { query: ["pmin=-1"] }, "4.00"],
		["lifetime 0", "PUT", "/1/0/1", { contentFormat: TEXT, payload: "0" }, "4.00"],
		["an unsupported binding", "PUT", "/1/0/7", { contentFormat: TEXT, payload: "UQ" }, "4.00"],
	];
	for (const [what, method, path, opts, code] of cases) {
		const r = await server.request(method, path, opts);
		t.is(r.code, code, `${what}: ${r.text}`);
	}
	// a write with one bad value applies none of them
	const bad = JSON.stringify([{ bn: "/3308/0/", n: "5900", v: 25 }, { n: "5750", vs: "boiler!" }]);
	t.is((await server.request("POST", "/3308/0", { contentFormat: SENML_JSON, payload: bad })).code, "4.00");
	t.is(await read("/3308/0/5900"), "21");
	t.is(await read("/3308/0/5750"), "heating");
	t.is(await read("/1/0/1"), "120");
	t.is(await read("/1/0/7"), "U");
});

test("Write (replace and partial update), then read back; a TLV write", async (t) => {
	const { server } = await setup(t);
	t.is((await server.request("PUT", "/3308/0/5900", { contentFormat: TEXT, payload: "22.5" })).code, "2.04");
	t.is((await server.request("GET", "/3308/0/5900")).text, "22.5");
	const partial = JSON.stringify([{ bn: "/3308/0/", n: "5900", v: 19.25 }, { n: "5750", vs: "floor" }]);
	t.is((await server.request("POST", "/3308/0", { contentFormat: SENML_JSON, payload: partial })).code, "2.04");
	t.is((await server.request("GET", "/3308/0/5900")).text, "19.25");
	t.is((await server.request("GET", "/3308/0/5750")).text, "floor");
	// TLV: resource 5900, 8-byte float 23.75 (type 0xE8 with 16-bit id, 8-bit length)
	const value = Buffer.alloc(8);
	value.writeDoubleBE(23.75);
	const body = Buffer.concat([Buffer.from([0xe8, 0x17, 0x0c, 8]), value]);
	t.is((await server.request("PUT", "/3308/0/5900", { contentFormat: TLV, payload: body })).code, "2.04");
	t.is((await server.request("GET", "/3308/0/5900")).text, "23.75");
});

test("Create and Delete an instance; the registration is updated with the new links", async (t) => {
	const { sim, server, dev } = await setup(t);
	const created = await server.request("POST", "/3308", { contentFormat: SENML_JSON, payload: JSON.stringify([{ bn: "/3308/", n: "5/5900", v: 17 }]) });
	t.is(created.code, "2.01");
	t.true(dev.traces().includes("created /3308/5 setpoint 17"));
	// without an instance id (TLV resources straight under the object): the device picks one
	const f = Buffer.alloc(4);
	f.writeFloatBE(16);
	const noId = await server.request("POST", "/3308", { contentFormat: TLV, payload: Buffer.concat([Buffer.from([0xe4, 0x17, 0x0c]), f]) });
	t.is(noId.code, "2.01");
	t.deepEqual(options(noId, "Location-Path"), ["3308", "1"], "the device chose the lowest free id");
	t.is((await server.request("GET", "/3308/5/5900")).text, "17");
	t.is((await server.request("POST", "/3308", { contentFormat: SENML_JSON, payload: JSON.stringify([{ bn: "/3308/5/", n: "5900", v: 1 }]) })).code, "4.00", "exists");
	await sim.run(1000);
	const update = server.registrations().filter((r) => r.p.payload.length && options(r.p, "Uri-Path").length === 2).at(-1);
	t.truthy(update, "an Update with links");
	t.true(links(update.p.payload.toString()).some((l) => l.path === "/3308/5"));
	t.is((await server.request("DELETE", "/3308/5")).code, "2.02");
	t.is((await server.request("GET", "/3308/5")).code, "4.04");
	await sim.run(1000);
	const after = server.registrations().filter((r) => r.p.payload.length && options(r.p, "Uri-Path").length === 2).at(-1);
	t.false(links(after.p.payload.toString()).some((l) => l.path === "/3308/5"));
});

test("Discover with attributes; Write-Attributes then Observe honours pmin, pmax and st", async (t) => {
	const { sim, server } = await setup(t, { stepMs: 2000 });
	t.is((await server.request("PUT", "/3303/0/5700", { query: ["pmin=10", "pmax=30"] })).code, "2.04");
	const discovered = links((await server.request("GET", "/3303/0", { accept: LINK })).text);
	t.deepEqual(discovered.find((l) => l.path === "/3303/0/5700").attrs, { pmin: "10", pmax: "30" });
	t.true(discovered.some((l) => l.path === "/3303/0/5605"));
	const token = Buffer.from("t1");
	const first = await server.request("GET", "/3303/0/5700", { observe: 0, token });
	t.is(first.code, "2.05");
	t.not(option(first, "Observe"), undefined);
	await sim.run(120_000);
	const notes = server.notifications(token);
	const gaps = notes.map((n, i) => (i ? n.at : n.at) - (i ? notes[i - 1].at : first.at ?? notes[0].at)).slice(1);
	t.true(notes.length >= 10, `${notes.length} notifications in 2 min`);
	t.true(gaps.every((g) => g >= 10_000 - 5), `pmin 10 s: gaps ${gaps}`);
	// the value ramps every 2 s: with pmin 10 a notification is due as soon as pmin allows
	t.true(gaps.every((g) => g <= 12_000), `gaps ${gaps}`);

	// st: only moves of >= 1 °C (the ramp moves 0.25 per 2 s: one notification per 8 s, held to pmin 10)
	t.is((await server.request("PUT", "/3303/0/5700", { query: ["st=1", "pmin=1", "pmax"] })).code, "2.04");
	const from = server.received.length;
	await sim.run(60_000);
	const stNotes = server.received.slice(from).filter((r) => r.p.token.equals(token)).map((r) => Number(r.p.payload.toString()));
	t.true(stNotes.length >= 5 && stNotes.length <= 9, `st=1: ${stNotes}`);
	for (let i = 1; i < stNotes.length; i++) t.true(Math.abs(stNotes[i] - stNotes[i - 1]) >= 1 - 1e-9, `moves ${stNotes}`);
});

test("pmax: without changes a notification still comes every pmax", async (t) => {
	const { sim, server } = await setup(t);
	await server.request("PUT", "/3303/0/5700", { query: ["pmax=20"] });
	const token = Buffer.from("t2");
	await server.request("GET", "/3303/0/5700", { observe: 0, token });
	const start = sim.now;
	await sim.run(100_000);
	const notes = server.notifications(token);
	t.is(notes.length, 5, "5 notifications in 100 s");
	notes.forEach((n, i) => t.true(Math.abs(n.at - start - (i + 1) * 20_000) < 100));
});

test("Read-Composite, Write-Composite and Observe-Composite in SenML", async (t) => {
	const { sim, server } = await setup(t, { stepMs: 5000 });
	const paths = JSON.stringify([{ n: "/3303/0/5700" }, { n: "/3/0/0" }, { n: "/3308/0/5900" }, { n: "/9/9/9" }]);
	const r = await server.request("FETCH", "/", { contentFormat: SENML_JSON, accept: SENML_CBOR, payload: paths });
	t.is(r.code, "2.05");
	const records = cborDecode(r.payload);
	let base = "";
	const values = {};
	for (const rec of records) {
		if (rec[-2] !== undefined) base = rec[-2];
		values[base + (rec[0] ?? "")] = rec[2] ?? rec[3];
	}
	t.deepEqual(values, { "/3303/0/5700": 20, "/3/0/0": "host-sim", "/3308/0/5900": 21 });
	const write = JSON.stringify([{ n: "/3308/0/5900", v: 20.5 }, { n: "/1/0/2", v: 5 }]);
	t.is((await server.request("iPATCH", "/", { contentFormat: SENML_JSON, payload: write })).code, "2.04");
	t.is((await server.request("GET", "/3308/0/5900")).text, "20.5");
	t.is((await server.request("GET", "/1/0/2")).text, "5");
	const refused = JSON.stringify([{ n: "/3308/0/5900", v: 30 }, { n: "/3303/0/5700", v: 1 }]);
	t.is((await server.request("iPATCH", "/", { contentFormat: SENML_JSON, payload: refused })).code, "4.05");
	t.is((await server.request("GET", "/3308/0/5900")).text, "20.5", "all or nothing");

	const token = Buffer.from("comp");
	const obs = await server.request("FETCH", "/", { contentFormat: SENML_JSON, accept: SENML_JSON, observe: 0, token, payload: JSON.stringify([{ n: "/3303/0/5700" }, { n: "/3308/0/5900" }]) });
	t.is(obs.code, "2.05");
	await sim.run(30_000);
	const notes = server.notifications(token).map((n) => JSON.parse(n.p.payload.toString()));
	t.true(notes.length >= 4, `${notes.length} composite notifications`);
	t.deepEqual(notes.at(-1).map((x) => x.n ?? x.bn).length, 2);
});

test("Send: POST /dp with SenML CBOR the server can decode", async (t) => {
	const { sim, server } = await setup(t, { sendEveryMs: 10_000 });
	await sim.run(25_000);
	const sends = server.received.filter((r) => options(r.p, "Uri-Path")[0] === "dp");
	t.is(sends.length, 2);
	t.is(num(option(sends[0].p, "Content-Format")), SENML_CBOR);
	const records = cborDecode(sends[0].p.payload);
	const named = {};
	let base = "";
	for (const rec of records) {
		if (rec[-2] !== undefined) base = rec[-2];
		named[base + (rec[0] ?? "")] = rec[2];
	}
	t.deepEqual(named, { "/3303/0/5700": 20, "/3308/0/5900": 21 });
});

test("an Update answered 4.04 makes the client register again", async (t) => {
	const { sim, server } = await setup(t, { lifetime: 60 });
	server.location = "rd/other"; // the server forgot rd/x1
	await sim.run(40_000);
	const regs = server.registrations().map((r) => `${r.p.code} ${options(r.p, "Uri-Path").join("/")}`);
	t.deepEqual(regs.slice(0, 3), ["0.02 rd", "0.02 rd/x1", "0.02 rd"]);
});

test("registration retry: attempts with back-off, then the sequence ends in the slow retry", async (t) => {
	const { sim, server, dev } = await setup(t, { retryTimer: 10, retryCount: 3, sequenceRetryCount: 1 }, {});
	// the server never answers: set before the first Register could be answered
	server.answerRegistration = false;
	const d2 = await sim.addDevice({ name: "t2", entry: fixture("lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", endpoint: "silent", retryTimer: 10, retryCount: 3, sequenceRetryCount: 1, registrationRetryPeriod: 86400 } });
	await sim.run(20 * 60_000);
	const registers = server.registrations().filter((r) => r.rinfo.port === d2.udpPorts()[0] && options(r.p, "Uri-Path").length === 1);
	const attempts = new Set(registers.map((r) => r.p.messageId)).size;
	t.is(attempts, 3, "3 attempts (each a CON retransmitted 4 times)");
	t.is(registers.length, 15);
	t.true(d2.traces().some((l) => l.startsWith("state waiting for a slow retry")));
	void dev;
});

test("Execute reboot: the device restarts and registers again; De-register on shutdown", async (t) => {
	const { sim, server, dev } = await setup(t);
	t.is((await server.request("POST", "/3/0/4")).code, "2.04");
	await sim.run(5_000);
	t.is(dev.resets.length, 1);
	t.regex(dev.resets[0].reason, /restart/);
	const registers = server.registrations().filter((r) => options(r.p, "Uri-Path").length === 1 && r.p.code === "0.02");
	t.is(registers.length, 2, "registered again after the reboot");
	await dev.setInput(0, 0); // the button: shut down
	await sim.run(2_000);
	const last = server.registrations().at(-1);
	t.is(last.p.code, "0.04");
	t.deepEqual(options(last.p, "Uri-Path"), ["rd", "x1"]);
	t.true(dev.traces().includes("stopped"));
});

test("requests from anyone but the registered server are refused", async (t) => {
	const { sim, server } = await setup(t);
	const stranger = new RawServer(sim, { address: "127.0.0.9", port: 5683 });
	stranger.client = server.client;
	const r = await stranger.request("GET", "/3/0");
	t.is(r.code, "4.01");
});

test("XS heap when registered with 3 observations is within budget and flat over 6 hours of notifications", async (t) => {
	const { sim, server } = await setup(t, { stepMs: 5000, lifetime: 300, sendEveryMs: 600_000 });
	await server.request("PUT", "/3303/0/5700", { query: ["pmin=5", "pmax=60"] });
	await server.request("GET", "/3303/0/5700", { observe: 0, token: Buffer.from("a") });
	await server.request("GET", "/3308/0/5900", { observe: 0, token: Buffer.from("b") });
	await server.request("GET", "/3/0", { observe: 0, token: Buffer.from("c") });
	await sim.run(10 * 60_000);
	const dev = sim.devices[0];
	const early = await dev.heap();
	await sim.run(6 * 3_600_000);
	const late = await dev.heap();
	t.true(server.notifications(Buffer.from("a")).length > 2000);
	t.log(`runtime heap: ${early.runtimeSlots} -> ${late.runtimeSlots} slots, ${early.runtimeChunkBytes} -> ${late.runtimeChunkBytes} chunk bytes`);
	// budget, as for the thermostat: 2,500 slots (40 KB on the ESP32) and 24 KB of chunks above the preloaded modules
	t.true(late.runtimeSlots < 2500, `${late.runtimeSlots} slots`);
	t.true(late.runtimeChunkBytes < 24 * 1024, `${late.runtimeChunkBytes} chunk bytes`);
	t.true(late.runtimeSlots <= early.runtimeSlots + 32, "no growth over 6 h");
	t.true(late.runtimeChunkBytes <= early.runtimeChunkBytes + 512, "no growth over 6 h");
});
