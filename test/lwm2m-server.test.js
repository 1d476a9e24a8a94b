// The local LwM2M server through its in-process API, driven by a hand-built client on
// npm `coap` (test/helpers/lwm2m-client.js) over loopback UDP, and by the simulated
// network in virtual time for registration lifetimes.
import test from "ava";
import dgram from "node:dgram";
import { once } from "node:events";
import { Encoder } from "cbor-x";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { Clock } from "../host-sim/clock.js";
import { SimulatedNetwork } from "../host-sim/network.js";
import { TestClient, reply, CF } from "./helpers/lwm2m-client.js";

// cbor-x as a client would use it, independent of the server's configuration
const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

async function setup(t, { endpoint = "thermo-1", register = true, ...options } = {}) {
	const server = new Lwm2mServer({ coapPort: 0, httpPort: null, requestTimeout: 2, ...options });
	const { coapPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint }).start();
	t.teardown(async () => {
		await client.stop();
		await server.stop();
	});
	if (register) t.is((await client.register()).code, "2.01");
	return { server, client, coapPort };
}

const lastRequest = (client) => client.requests[client.requests.length - 1];

// wall time bounds only a hang here (generous, for a loaded machine)
async function until(predicate, ms = 30_000) {
	const start = Date.now();
	while (!predicate()) {
		if (Date.now() - start > ms) throw new Error("timed out waiting");
		await new Promise((r) => setTimeout(r, 5));
	}
}

// ------------------------------------------------------------------ registration interface

test("Register is answered 2.01 with Location-Path /rd/<id>, and the registration keeps links, versions and root path", async (t) => {
	const { server, client } = await setup(t, { register: false });
	const registered = once(server, "registered");
	const res = await client.register();
	t.is(res.code, "2.01");
	t.regex(client.location, /^\/rd\/[0-9a-f]+$/);
	const [reg] = await registered;
	t.is(reg.endpoint, "thermo-1");
	t.is(`/rd/${reg.registrationId}`, client.location);
	t.is(reg.lifetime, 300);
	t.is(reg.lwM2mVersion, "1.1");
	t.is(reg.bindingMode, "U");
	t.is(reg.rootPath, "/");
	t.is(reg.address, `127.0.0.1:${client.port}`);
	t.deepEqual(reg.supportedObjects, { 1: "1.0", 3: "1.0", 3303: "1.1", 3308: "1.0", 5: "1.0" });
	t.deepEqual(reg.availableInstances, { 1: [0], 3: [0], 3303: [0], 3308: [0], 5: [0] });
	t.deepEqual(reg.supportedContentFormats, [60, 110, 112, 11542, 11544]);
	t.deepEqual(reg.objectLinks[0], { url: "/", attributes: { rt: "oma.lwm2m", ct: "60 110 112 11542 11544" } });
	t.deepEqual(server.clients().map((c) => c.endpoint), ["thermo-1"]);
	t.true(server.recentLog.some((l) => l.startsWith("registered thermo-1 from 127.0.0.1:")));
});

test("a client under an alternate root path is addressed under it; the Security object is ignored", async (t) => {
	const { server, client } = await setup(t, { register: false });
	const res = await client.register({ links: '</lwm2m>;rt="oma.lwm2m",</lwm2m/0/0>,</lwm2m/1/0>,</lwm2m/3/0>' });
	t.is(res.code, "2.01");
	const reg = server.client("thermo-1");
	t.is(reg.rootPath, "/lwm2m/");
	t.deepEqual(Object.keys(reg.availableInstances), ["1", "3"]);
	client.route("GET", "/lwm2m/3/0/0", (req, r) => reply(r, { format: CF.TEXT, payload: "Open Mobile Alliance" }));
	const read = await server.read("thermo-1", "/3/0/0");
	t.is(read.content.value, "Open Mobile Alliance");
	t.true(server.recentLog.some((l) => /ignored \/lwm2m\/0\/0/.test(l)));
});

test("device-management requests leave from the socket the client registered to", async (t) => {
	const { server, client, coapPort } = await setup(t);
	client.route("GET", "/3/0/0", (req, res) => reply(res, { format: CF.TEXT, payload: "OMA" }));
	await server.read("thermo-1", "/3/0/0");
	t.is(lastRequest(client).rinfo.port, coapPort);
	t.is(lastRequest(client).rinfo.address, "127.0.0.1");
});

test("Update with and without parameters refreshes the registration; requests follow a new source port", async (t) => {
	const { server, client } = await setup(t);
	const before = server.client("thermo-1");
	const updated = once(server, "updated");
	t.is((await client.update()).code, "2.04");
	const [{ registration, update }] = await updated;
	t.is(registration.registrationId, before.registrationId);
	t.deepEqual(Object.keys(update).sort(), ["address", "registrationId"]);

	t.is((await client.update({ query: "lt=120&b=UQ" })).code, "2.04");
	t.is(server.client("thermo-1").lifetime, 120);
	t.is(server.client("thermo-1").bindingMode, "UQ");
	t.true(server.client("thermo-1").queuemode);

	t.is((await client.update({ links: "</1/0>,</3/0>,</3303/0>,</3303/1>" })).code, "2.04");
	t.deepEqual(server.client("thermo-1").availableInstances, { 1: [0], 3: [0], 3303: [0, 1] });

	// the same registration updated from another port (a NAT rebinding)
	const moved = await new TestClient({ serverPort: client.serverPort }).start();
	t.teardown(() => moved.stop());
	moved.location = client.location;
	t.is((await moved.update()).code, "2.04");
	t.is(server.client("thermo-1").address, `127.0.0.1:${moved.port}`);
	moved.route("GET", "/3/0/0", (req, res) => reply(res, { format: CF.TEXT, payload: "moved" }));
	t.is((await server.read("thermo-1", "/3/0/0")).content.value, "moved");
});

test("De-register removes the client; Update and De-register of an unknown registration get 4.04", async (t) => {
	const { server, client } = await setup(t);
	const location = client.location;
	const gone = once(server, "deregistered");
	t.is((await client.deregister()).code, "2.02");
	t.is((await gone)[0].endpoint, "thermo-1");
	t.deepEqual(server.clients(), []);
	t.is((await client.update()).code, "4.04");
	t.is((await client.deregister()).code, "4.04");
	client.location = "/rd/nosuchid";
	t.is((await client.update({ query: "lt=60" })).code, "4.04");
	t.is(location.startsWith("/rd/"), true);
	await t.throwsAsync(server.read("thermo-1", "/3/0"), { message: /no registered client/ });
});

test("a second Register of the same endpoint replaces the first registration", async (t) => {
	const { server, client } = await setup(t);
	const first = client.location;
	t.is((await client.register()).code, "2.01");
	t.not(client.location, first);
	t.is(server.clients().length, 1);
	client.location = first;
	t.is((await client.update()).code, "4.04");
});

const badRegistrations = [
	["missing ep", { query: "lt=60&lwm2m=1.1" }, /missing endpoint client name/],
	["empty ep", { query: "ep=&lt=60" }, /missing endpoint client name/],
	["non-numeric lifetime", { query: "ep=x&lt=abc&lwm2m=1.1" }, /bad lifetime/],
	["zero lifetime", { query: "ep=x&lt=0&lwm2m=1.1" }, /bad lifetime/],
	["LwM2M 2.0", { query: "ep=x&lt=60&lwm2m=2.0" }, /unsupported LwM2M version 2.0/],
	["LwM2M 1.2, newer than the server", { query: "ep=x&lt=60&lwm2m=1.2" }, /unsupported LwM2M version 1.2/],
	["garbled version", { query: "ep=x&lt=60&lwm2m=one" }, /bad LwM2M version/],
	["unknown binding", { query: "ep=x&lt=60&lwm2m=1.1&b=X" }, /bad binding/],
	["parameter twice", { query: "ep=x&ep=y&lt=60" }, /given twice/],
	["unterminated link", { links: "</1/0>,</3/0" }, /bad link-format/],
	["link without <>", { links: "</1/0>,3/0" }, /bad link-format/],
	["not an object path", { links: "</1/0>,</abc>" }, /not an LwM2M object/],
	["a resource path", { links: "</1/0>,</3/0/1>" }, /objects and object instances only/],
	["bad object version", { links: "</1/0>,</3303>;ver=x" }, /bad object version/],
	["no objects", { links: "" }, /lists no objects/],
];
for (const [what, params, reason] of badRegistrations) {
	test(`Register refused with 4.00 and the reason logged: ${what}`, async (t) => {
		const { server, client } = await setup(t, { register: false });
		const res = await client.register(params);
		t.is(res.code, "4.00");
		t.regex(res.payload.toString(), reason);
		t.true(server.recentLog.some((l) => l.startsWith("refused Register") && reason.test(l)));
		t.deepEqual(server.clients(), []);
		t.is((await client.register()).code, "2.01", "the server still serves");
	});
}

test("a Register in the wrong content format is refused", async (t) => {
	const { client } = await setup(t, { register: false });
	const res = await client.request({ pathname: "/rd", query: "ep=x&lt=60&lwm2m=1.1", format: CF.SENML_JSON, payload: "[]" });
	t.is(res.code, "4.00");
	t.regex(res.payload.toString(), /link-format/);
});

test("malformed CoAP datagrams are answered 4.00 and logged, and the server keeps serving", async (t) => {
	const { server, client, coapPort } = await setup(t, { register: false });
	const raw = dgram.createSocket("udp4");
	t.teardown(() => raw.close());
	await new Promise((r) => raw.bind(0, "127.0.0.1", r));
	const answer = once(raw, "message");
	raw.send(Buffer.from([0x40, 0x02, 0x12, 0x34, 0xf1]), coapPort, "127.0.0.1"); // option delta 15 is reserved
	const [msg] = await answer;
	t.is(msg[1], (4 << 5) | 0, "4.00");
	t.is(msg.readUInt16BE(2), 0x1234, "piggybacked on the ACK of the message");
	raw.send(Buffer.from([0x00, 0x01, 0x02, 0x03]), coapPort, "127.0.0.1"); // version 0
	raw.send(Buffer.from([0x40]), coapPort, "127.0.0.1");
	await until(() => server.recentLog.filter((l) => l.startsWith("refused a malformed CoAP datagram")).length === 3);
	t.is((await client.register()).code, "2.01");
});

test("requests to anything but /rd and /dp get 4.04, wrong methods 4.05", async (t) => {
	const { client } = await setup(t);
	t.is((await client.request({ method: "GET", pathname: "/foo" })).code, "4.04");
	t.is((await client.request({ method: "GET", pathname: "/rd" })).code, "4.05");
	t.is((await client.request({ method: "PUT", pathname: client.location })).code, "4.05");
});

test("a retransmitted Register (same message id) is handled once", async (t) => {
	const { server, coapPort } = await setup(t, { register: false });
	const raw = dgram.createSocket("udp4");
	t.teardown(() => raw.close());
	await new Promise((r) => raw.bind(0, "127.0.0.1", r));
	const links = Buffer.from("</1/0>,</3/0>");
	// CON POST /rd?ep=dup&lt=60 (Content-Format 40), message id 0x0101, token 0xab
	const msg = Buffer.concat([
		Buffer.from([0x41, 0x02, 0x01, 0x01, 0xab]),
		Buffer.from([0xb2]), Buffer.from("rd"), // Uri-Path (11)
		Buffer.from([0x11, 40]), // Content-Format (12): 40
		Buffer.from([0x36]), Buffer.from("ep=dup"), // Uri-Query (15)
		Buffer.from([0x05]), Buffer.from("lt=60"), // Uri-Query
		Buffer.from([0xff]), links,
	]);
	const answers = [];
	raw.on("message", (m) => answers.push(m));
	raw.send(msg, coapPort, "127.0.0.1");
	await until(() => answers.length === 1);
	raw.send(msg, coapPort, "127.0.0.1");
	await until(() => answers.length === 2);
	t.deepEqual(answers[1], answers[0], "the same answer, from memory");
	t.is(answers[0][1], (2 << 5) | 1, "2.01");
	t.is(server.recentLog.filter((l) => l.startsWith("registered dup")).length, 1);
	t.is(server.clients().length, 1);
});

// ------------------------------------------------------------------ reads in every format

// /3/0 of the LwM2M specification's example client, TLV (Core TS 1.1 §7.4.3.2)
const DEVICE_TLV = Buffer.from([
	0xc8, 0x00, 0x14, ...Buffer.from("Open Mobile Alliance"),
	0xc8, 0x01, 0x16, ...Buffer.from("Lightweight M2M Client"),
	0xc8, 0x02, 0x09, ...Buffer.from("345000123"),
	0xc3, 0x03, ...Buffer.from("1.0"),
	0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05,
	0x88, 0x07, 0x08, 0x42, 0x00, 0x0e, 0xd8, 0x42, 0x01, 0x13, 0x88,
	0x87, 0x08, 0x41, 0x00, 0x7d, 0x42, 0x01, 0x03, 0x84,
	0xc1, 0x09, 0x64,
	0xc1, 0x0a, 0x0f,
	0x83, 0x0b, 0x41, 0x00, 0x00,
	0xc4, 0x0d, 0x51, 0x82, 0x42, 0x8f,
	0xc6, 0x0e, ...Buffer.from("+02:00"),
	0xc1, 0x10, 0x55,
]);

const sensorValue = (v) => ({ id: 5700, kind: "singleResource", type: "FLOAT", value: v });

const readCases = [
	["TEXT", CF.TEXT, Buffer.from("21.5")],
	["TLV", CF.TLV, Buffer.from([0xe4, 0x16, 0x44, 0x41, 0xac, 0x00, 0x00])], // resource 5700, float32 21.5
	["SENML_JSON", CF.SENML_JSON, Buffer.from('[{"bn":"/3303/0/5700","v":21.5}]')],
	["SENML_CBOR", CF.SENML_CBOR, cbor.encode([new Map([[-2, "/3303/0/5700"], [2, 21.5]])])],
	["LWM2M_CBOR", CF.LWM2M_CBOR, cbor.encode(new Map([[3303, new Map([[0, new Map([[5700, 21.5]])]])]]))],
	["CBOR", CF.CBOR, cbor.encode(21.5)],
];
for (const [name, cf, payload] of readCases) {
	test(`Read /3303/0/5700 with ?format=${name}: Accept ${cf}, decoded to a FLOAT`, async (t) => {
		const { server, client } = await setup(t);
		client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: cf, payload }));
		const r = await server.read("thermo-1", "/3303/0/5700", { format: name });
		t.is(lastRequest(client).accept, cf);
		t.like(r, { status: "CONTENT", valid: true, success: true, format: name });
		t.deepEqual(r.content, sensorValue(21.5));
	});
}

test("Read of the Device instance in the specification's TLV example", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3/0", (req, res) => reply(res, { format: CF.TLV, payload: DEVICE_TLV }));
	const r = await server.read("thermo-1", "/3/0");
	t.is(lastRequest(client).accept, undefined, "no format asked: the client chooses");
	const byId = Object.fromEntries(r.content.resources.map((x) => [x.id, x]));
	t.is(byId[0].value, "Open Mobile Alliance");
	t.is(byId[2].value, "345000123");
	t.deepEqual(byId[6], { id: 6, kind: "multiResource", type: "INTEGER", values: { 0: 1, 1: 5 } });
	t.deepEqual(byId[7].values, { 0: 3800, 1: 5000 });
	t.deepEqual(byId[8].values, { 0: 125, 1: 900 });
	t.like(byId[13], { type: "TIME", value: 1367491215 });
});

test("Read of an opaque resource in the opaque format", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/5/0/0", (req, res) => reply(res, { format: CF.OPAQUE, payload: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }));
	const r = await server.read("thermo-1", "/5/0/0", { format: "opaque" });
	t.deepEqual(r.content, { id: 0, kind: "singleResource", type: "OPAQUE", value: "deadbeef" });
});

test("a client's CoAP error is an unsuccessful response, not an exception", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { code: "4.05", payload: "not now" }));
	const r = await server.read("thermo-1", "/3303/0/5700");
	t.like(r, { status: "METHOD_NOT_ALLOWED", valid: true, success: false, failure: true, errormessage: "not now" });
	const missing = await server.read("thermo-1", "/3303/9");
	t.is(missing.status, "NOT_FOUND");
});

test("a client that does not answer makes the request fail with a 504 timeout", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3303/0/5700", () => {}); // never answers
	const e = await t.throwsAsync(server.read("thermo-1", "/3303/0/5700", { timeout: 0.3 }));
	t.is(e.status, 504);
	// the caller's timeout applied, not the default 5 s (said by the error, not timed)
	t.regex(e.message, /no response from 127\.0\.0\.1:\d+ within 0\.3 s/);
});

test("an undecodable answer is an error with status 502", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TLV, payload: Buffer.from([0xc8, 0x00, 0x14, 0x01]) }));
	const e = await t.throwsAsync(server.read("thermo-1", "/3303/0/5700"));
	t.is(e.status, 502);
	t.regex(e.message, /TLV truncated/);
});

// ------------------------------------------------------------------ writes

test("Write of a single value: PUT in text/plain by default, exact TLV bytes when asked", async (t) => {
	const { server, client } = await setup(t);
	client.route("PUT", "/3308/0/5900", (req, res) => reply(res, { code: "2.04" }));
	const r = await server.write("thermo-1", "/3308/0/5900", 22.5);
	t.like(r, { status: "CHANGED", success: true });
	t.like(lastRequest(client), { method: "PUT", format: CF.TEXT });
	t.is(lastRequest(client).payload.toString(), "22.5");

	await server.write("thermo-1", "/3308/0/5900", { id: 5900, kind: "singleResource", value: "19.25" }, { format: "TLV" });
	t.is(lastRequest(client).format, CF.TLV);
	t.deepEqual([...lastRequest(client).payload], [0xe4, 0x17, 0x0c, 0x41, 0x9a, 0x00, 0x00]); // 16-bit id 5900, float32 19.25
});

test("Write partial update (POST) and replace (PUT) of an instance in SenML JSON and SenML CBOR", async (t) => {
	const { server, client } = await setup(t);
	client.route("POST", "/3308/0", (req, res) => reply(res, { code: "2.04" }));
	client.route("PUT", "/3308/0", (req, res) => reply(res, { code: "2.04" }));
	const instance = { id: 0, kind: "instance", resources: [{ id: 5900, value: 21 }, { id: 5750, value: "room" }] };
	const r = await server.write("thermo-1", "/3308/0", instance, { replace: false, format: "senml-json" });
	t.is(r.status, "CHANGED");
	t.like(lastRequest(client), { method: "POST", format: CF.SENML_JSON });
	t.deepEqual(JSON.parse(lastRequest(client).payload), [{ n: "/3308/0/5900", v: 21 }, { n: "/3308/0/5750", vs: "room" }]);

	await server.write("thermo-1", "/3308/0", instance, { format: "SENML_CBOR" });
	t.like(lastRequest(client), { method: "PUT", format: CF.SENML_CBOR });
	const decoded = new (await import("cbor-x")).Decoder({ mapsAsObjects: false, useRecords: false }).decode(lastRequest(client).payload);
	t.deepEqual(decoded, [new Map([[0, "/3308/0/5900"], [2, 21]]), new Map([[0, "/3308/0/5750"], [3, "room"]])]);
});

test("Write with no format to an instance uses what the client announced (ct=), else TLV", async (t) => {
	const { server, client } = await setup(t);
	client.route("PUT", "/3308/0", (req, res) => reply(res, { code: "2.04" }));
	await server.write("thermo-1", "/3308/0", { resources: [{ id: 5900, value: 21 }] });
	t.is(lastRequest(client).format, CF.SENML_CBOR, "announced in ct=");

	await client.register({ links: "</1/0>,</3/0>,</3308/0>" }); // announces no content formats
	await server.write("thermo-1", "/3308/0", { resources: [{ id: 5900, value: 21 }] });
	t.is(lastRequest(client).format, CF.TLV);
	t.deepEqual([...lastRequest(client).payload], [0xe4, 0x17, 0x0c, 0x41, 0xa8, 0x00, 0x00]); // bare resource TLV, float32 21
});

test("invalid values are refused before anything is sent", async (t) => {
	const { server, client } = await setup(t);
	const refused = async (promise, pattern) => {
		const e = await t.throwsAsync(promise);
		t.is(e.status, 400);
		t.regex(e.message, pattern);
	};
	await refused(server.write("thermo-1", "/3308/0/5900", "abc"), /"abc" is not a number/);
	await refused(server.write("thermo-1", "/3303/0/5700", 20), /not writable/);
	await refused(server.write("thermo-1", "/3306/0/5851", 101), /outside 0\.\.100/); // Dimmer
	await refused(server.write("thermo-1", "/3308/0/5900", { kind: "multiResource", values: { 0: 1 } }), /single-instance/);
	await refused(server.write("thermo-1", "/3308/0", { resources: [{ id: 5900, value: true }] }), /is not a number/);
	await refused(server.write("thermo-1", "/9999/0/1", 5), /no model/);
	await refused(server.write("thermo-1", "/3308", { id: 0, resources: [] }), /Write applies to/);
	await refused(server.write("thermo-1", "/3308/x/5900", 1), /not an LwM2M path/);
	await refused(server.read("thermo-1", "/3303/0/5700", { format: "XML" }), /unknown content format/);
	t.is(client.requests.length, 0);
});

// ------------------------------------------------------------------ execute, create, delete, discover, attributes

test("Execute: POST with the arguments as payload; bad arguments and non-executable resources refused", async (t) => {
	const { server, client } = await setup(t);
	client.route("POST", "/3/0/4", (req, res) => reply(res, { code: "2.04" }));
	t.is((await server.execute("thermo-1", "/3/0/4")).status, "CHANGED");
	t.is(lastRequest(client).payload.length, 0);
	t.is((await server.execute("thermo-1", "/3/0/4", "0='a',1")).status, "CHANGED");
	t.is(lastRequest(client).payload.toString(), "0='a',1");
	t.is(lastRequest(client).format, CF.TEXT);
	const before = client.requests.length;
	await t.throwsAsync(server.execute("thermo-1", "/3/0/4", "a=1"), { message: /is not digit or digit='value'/ });
	await t.throwsAsync(server.execute("thermo-1", "/3/0/4", "0='unterminated"), { message: /unterminated quote/ });
	await t.throwsAsync(server.execute("thermo-1", "/3303/0/5700"), { message: /not executable/ });
	await t.throwsAsync(server.execute("thermo-1", "/3/0"), { message: /Execute applies to a resource path/ });
	t.is(client.requests.length, before);
});

test("Create: POST on the object with the new instance; the lowest free id when none is given", async (t) => {
	const { server, client } = await setup(t);
	client.route("POST", "/3303", (req, res) => {
		res.setOption("Location-Path", [Buffer.from("3303"), Buffer.from("1")]);
		reply(res, { code: "2.01" });
	});
	const r = await server.create("thermo-1", "/3303", { resources: [{ id: 5701, value: "Cel" }, { id: 5750, value: "hall" }] }, { format: "TLV" });
	t.like(r, { status: "CREATED", success: true, location: "/3303/1" });
	t.like(lastRequest(client), { method: "POST", format: CF.TLV });
	// instance 1 (0 is taken) wrapping resources 5701 "Cel" and 5750 "hall"
	t.deepEqual([...lastRequest(client).payload], [0x08, 0x01, 0x0d, 0xe3, 0x16, 0x45, ...Buffer.from("Cel"), 0xe4, 0x16, 0x76, ...Buffer.from("hall")]);

	await server.create("thermo-1", "/3303", { id: 7, resources: [{ id: 5701, value: "Cel" }] }, { format: "SENML_JSON" });
	t.deepEqual(JSON.parse(lastRequest(client).payload), [{ n: "/3303/7/5701", vs: "Cel" }]);
	await t.throwsAsync(server.create("thermo-1", "/3303/0", { resources: [] }), { message: /Create applies to an object path/ });
});

test("Delete: DELETE on the instance", async (t) => {
	const { server, client } = await setup(t);
	client.route("DELETE", "/3303/1", (req, res) => reply(res, { code: "2.02" }));
	t.like(await server.delete("thermo-1", "/3303/1"), { status: "DELETED", success: true });
	t.is(lastRequest(client).method, "DELETE");
});

test("Discover: GET with Accept link-format, answered with the client's links and attributes", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3/0", (req, res) => reply(res, { format: CF.LINK, payload: "</3/0>;pmax=60,</3/0/1>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2" }));
	const r = await server.discover("thermo-1", "/3/0");
	t.is(lastRequest(client).accept, CF.LINK);
	t.is(r.status, "CONTENT");
	t.deepEqual(r.objectLinks, [
		{ url: "/3/0", attributes: { pmax: "60" } },
		{ url: "/3/0/1", attributes: {} },
		{ url: "/3/0/6", attributes: { dim: "8" } },
		{ url: "/3/0/7", attributes: { dim: "8", gt: "50", lt: "42.2" } },
	]);
});

test("Write-Attributes: PUT with the attributes as Uri-Query and no payload; nonsense refused", async (t) => {
	const { server, client } = await setup(t);
	client.route("PUT", "/3303/0/5700", (req, res) => reply(res, { code: "2.04" }));
	const r = await server.writeAttributes("thermo-1", "/3303/0/5700", { pmin: 10, pmax: "60", st: 0.5, epmin: null });
	t.is(r.status, "CHANGED");
	t.deepEqual(lastRequest(client).query, ["pmin=10", "pmax=60", "st=0.5", "epmin"]);
	t.is(lastRequest(client).payload.length, 0);
	await t.throwsAsync(server.writeAttributes("thermo-1", "/3303/0/5700", { pmin: 60, pmax: 10 }), { message: /pmax \(10\) must not be less than pmin/ });
	await t.throwsAsync(server.writeAttributes("thermo-1", "/3303/0/5700", { foo: 1 }), { message: /unknown attribute/ });
	await t.throwsAsync(server.writeAttributes("thermo-1", "/3303/0/5700", { pmin: -1 }), { message: /whole number/ });
	await t.throwsAsync(server.writeAttributes("thermo-1", "/3303/0", { gt: 30 }), { message: /numeric resource/ });
	await t.throwsAsync(server.writeAttributes("thermo-1", "/3303/0/5701", { gt: 30 }), { message: /numeric resources/ });
});

// ------------------------------------------------------------------ observe and composite

test("Observe: the first answer and each notification reach the caller; Cancel stops them", async (t) => {
	const { server, client, coapPort } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	const seen = [];
	const events = [];
	server.on("notification", (n) => events.push(n));
	const r = await server.observe("thermo-1", "/3303/0/5700", (n) => seen.push(n.content.value));
	t.like(r, { status: "CONTENT", success: true });
	t.deepEqual(r.content, sensorValue(21.5));
	t.is(lastRequest(client).observe, 0);
	t.is(lastRequest(client).rinfo.port, coapPort);
	t.is(server.observations("thermo-1").length, 1);

	client.notify("/3303/0/5700", CF.TEXT, "21.75");
	client.notify("/3303/0/5700", CF.TLV, [0xe4, 0x16, 0x44, 0x41, 0xb0, 0x00, 0x00]); // 22.0
	client.notify("/3303/0/5700", CF.SENML_JSON, '[{"n":"/3303/0/5700","v":22.25}]');
	await until(() => seen.length === 3);
	t.deepEqual(seen, [21.75, 22, 22.25]);
	t.like(events[0], { endpoint: "thermo-1", path: "/3303/0/5700", composite: false, format: "TEXT" });

	t.is(await server.cancelObservation("thermo-1", "/3303/0/5700"), 1);
	t.like(lastRequest(client), { method: "GET", observe: 1 });
	t.is(server.observations("thermo-1").length, 0);
	t.is(await server.cancelObservation("thermo-1", "/3303/0/5700"), 0);
});

test("an observation ends when its client re-registers, deregisters or answers an error", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	await server.observe("thermo-1", "/3303/0/5700");
	await client.register();
	t.is(server.observations().length, 0);

	await server.observe("thermo-1", "/3303/0/5700");
	const stream = client.observers.get("/3303/0/5700");
	stream.statusCode = "5.00";
	stream.write(Buffer.alloc(0)); // an error notification ends it
	await until(() => server.observations().length === 0);
	t.pass();
});

test("Observe refused by the client is an unsuccessful response and leaves no observation", async (t) => {
	const { server, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { code: "4.05" }));
	const r = await server.observe("thermo-1", "/3303/0/5700");
	t.like(r, { status: "METHOD_NOT_ALLOWED", success: false });
	t.is(server.observations().length, 0);
});

test("Read-Composite: FETCH / with the SenML path list, answered with values per path", async (t) => {
	const { server, client } = await setup(t);
	client.route("FETCH", "/", (req, res) =>
		reply(res, { format: CF.SENML_CBOR, payload: cbor.encode([new Map([[0, "/3/0/0"], [3, "Open Mobile Alliance"]]), new Map([[0, "/3303/0/5700"], [2, 21.5]])]) }),
	);
	const r = await server.readComposite("thermo-1", ["/3/0/0", "/3303/0/5700"]);
	t.like(lastRequest(client), { method: "FETCH", path: "/", format: CF.SENML_CBOR, accept: CF.SENML_CBOR });
	t.deepEqual(new (await import("cbor-x")).Decoder({ mapsAsObjects: false, useRecords: false }).decode(lastRequest(client).payload), [new Map([[0, "/3/0/0"]]), new Map([[0, "/3303/0/5700"]])]);
	t.is(r.status, "CONTENT");
	t.deepEqual(r.content, {
		"/3/0/0": { id: 0, kind: "singleResource", type: "STRING", value: "Open Mobile Alliance" },
		"/3303/0/5700": sensorValue(21.5),
	});

	await server.readComposite("thermo-1", "/3/0/0,/3303/0/5700", { format: "SENML_JSON" });
	t.deepEqual(JSON.parse(lastRequest(client).payload), [{ n: "/3/0/0" }, { n: "/3303/0/5700" }]);
	t.is(lastRequest(client).accept, CF.SENML_JSON);
	await t.throwsAsync(server.readComposite("thermo-1", "/3/0/0", { format: "TLV" }), { message: /composite operations use/ });
});

test("Write-Composite: iPATCH / with every value, checked first", async (t) => {
	const { server, client } = await setup(t);
	client.route("iPATCH", "/", (req, res) => reply(res, { code: "2.04" }));
	const r = await server.writeComposite("thermo-1", { "/3308/0/5900": 22.5, "/3308/0/5750": "hall" }, { format: "SENML_JSON" });
	t.is(r.status, "CHANGED");
	t.like(lastRequest(client), { method: "iPATCH", format: CF.SENML_JSON });
	t.deepEqual(JSON.parse(lastRequest(client).payload), [{ n: "/3308/0/5900", v: 22.5 }, { n: "/3308/0/5750", vs: "hall" }]);
	await t.throwsAsync(server.writeComposite("thermo-1", { "/3308/0/5900": "warm" }), { message: /not a number/ });
});

test("Observe-Composite: FETCH with Observe, notifications carry every path", async (t) => {
	const { server, client } = await setup(t);
	const values = (a, b) => cbor.encode([new Map([[0, "/3303/0/5700"], [2, a]]), new Map([[0, "/3308/0/5900"], [2, b]])]);
	client.route("FETCH", "/", (req, res) => reply(res, { format: CF.SENML_CBOR, payload: values(21.5, 22) }));
	const seen = [];
	const r = await server.observeComposite("thermo-1", ["/3303/0/5700", "/3308/0/5900"], (n) => seen.push(n));
	t.is(r.content["/3308/0/5900"].value, 22);
	t.like(lastRequest(client), { method: "FETCH", observe: 0 });
	client.notify("FETCH", CF.SENML_CBOR, values(23, 22));
	await until(() => seen.length === 1);
	t.like(seen[0], { composite: true, paths: ["/3303/0/5700", "/3308/0/5900"] });
	t.is(seen[0].content["/3303/0/5700"].value, 23);
	t.is(await server.cancelCompositeObservation("thermo-1", ["/3303/0/5700", "/3308/0/5900"]), 1);
	t.like(lastRequest(client), { method: "FETCH", observe: 1 });
});

// ------------------------------------------------------------------ Send

test("Send: the client POSTs /dp in SenML CBOR or JSON; the server answers 2.04 and emits send", async (t) => {
	const { server, client } = await setup(t);
	const sent = once(server, "send");
	const res = await client.send(CF.SENML_CBOR, cbor.encode([new Map([[-2, "/3303/0/"], [0, "5700"], [2, 21.5]]), new Map([[0, "5701"], [3, "Cel"]])]));
	t.is(res.code, "2.04");
	const [event] = await sent;
	t.is(event.endpoint, "thermo-1");
	t.deepEqual(event.content, {
		"/3303/0/5700": sensorValue(21.5),
		"/3303/0/5701": { id: 5701, kind: "singleResource", type: "STRING", value: "Cel" },
	});

	const series = once(server, "send");
	t.is((await client.send(CF.SENML_JSON, '[{"bn":"/3303/0/5700","bt":1767225600,"v":20},{"t":60,"v":20.5}]')).code, "2.04");
	const [timed] = await series;
	t.is(timed.content["/3303/0/5700"].value, 20.5, "the latest value");
	t.deepEqual(timed.timestamped.map((x) => [x.timestamp, x.content["/3303/0/5700"].value]), [[1767225600, 20], [1767225660, 20.5]]);

	t.is((await client.send(CF.SENML_JSON, "[{")).code, "4.00");
	t.is((await client.send(CF.SENML_JSON, '[{"n":"/3303/0/5700","vs":"warm"}]')).code, "4.00");
	t.is((await client.send(CF.TEXT, "21.5")).code, "4.15");
	t.true(server.recentLog.some((l) => /refused Send from thermo-1/.test(l)));
});

test("Send is refused from an unregistered address and from an LwM2M 1.0 client", async (t) => {
	const { client } = await setup(t, { register: false });
	t.is((await client.send(CF.SENML_JSON, '[{"n":"/3303/0/5700","v":1}]')).code, "4.04");
	await client.register({ query: "ep=old&lt=60&lwm2m=1.0" });
	t.is((await client.send(CF.SENML_JSON, '[{"n":"/3303/0/5700","v":1}]')).code, "4.00");
});

// ------------------------------------------------------------------ virtual time

async function virtualSetup(t) {
	const clock = new Clock({ mode: "virtual" });
	const network = new SimulatedNetwork(clock, { latencyMs: 1 });
	const server = new Lwm2mServer({ coapPort: 5683, httpPort: null, socket: network.createSocket(), clock });
	await server.start();
	const client = await new TestClient({ serverPort: 5683, socket: network.createSocket() }).start();
	t.teardown(async () => {
		await client.stop();
		await server.stop();
		clock.close();
	});
	// a request is answered as the virtual clock moves the datagrams
	const exchange = async (promise) => {
		await clock.run(10);
		return promise;
	};
	return { clock, server, client, exchange };
}

test("virtual time: a registration expires when its lifetime passes without an Update", async (t) => {
	const { clock, server, client, exchange } = await virtualSetup(t);
	const expired = [];
	server.on("expired", (r) => expired.push({ endpoint: r.endpoint, at: clock.now() }));
	const start = clock.now();
	t.is((await exchange(client.register({ query: "ep=sim-1&lt=60&lwm2m=1.1" }))).code, "2.01");

	await clock.run(50_000);
	t.is((await exchange(client.update())).code, "2.04", "an Update 50 s in restarts the lifetime");
	await clock.run(55_000);
	t.is(server.clients().length, 1, "105 s after Register, 55 s after the Update: still registered");
	await clock.run(10_000);
	t.deepEqual(server.clients(), []);
	t.is(expired.length, 1);
	t.is(expired[0].endpoint, "sim-1");
	t.true(expired[0].at - start >= 110_000 && expired[0].at - start <= 110_100, "60 s after the Update");
	t.true(server.recentLog.some((l) => /registration of sim-1 .* expired/.test(l)));
	t.is((await exchange(client.update())).code, "4.04", "an expired client must register again");
});

test("virtual time: device management and its timeout follow the injected clock", async (t) => {
	const { clock, server, client, exchange } = await virtualSetup(t);
	await exchange(client.register({ query: "ep=sim-1&lt=600&lwm2m=1.1" }));
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "19.5" }));
	t.is((await exchange(server.read("sim-1", "/3303/0/5700"))).content.value, 19.5);
	t.is(lastRequest(client).rinfo.port, 5683);

	client.route("GET", "/3/0/0", () => {}); // silent
	const pending = server.read("sim-1", "/3/0/0", { timeout: 30 });
	let settled = false;
	pending.catch(() => {}).finally(() => (settled = true));
	await clock.run(29_000);
	t.false(settled, "not before 30 virtual seconds");
	await clock.run(2_000);
	const e = await t.throwsAsync(pending);
	t.is(e.status, 504);
});

// ------------------------------------------------------------------ hostile input

test("random datagrams and garbled LwM2M payloads never take the server down", async (t) => {
	const { server, client, coapPort } = await setup(t);
	const raw = dgram.createSocket("udp4");
	t.teardown(() => raw.close());
	await new Promise((r) => raw.bind(0, "127.0.0.1", r));
	let seed = 12345;
	const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
	for (let i = 0; i < 300; i++) {
		const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.floor(random() * 256)));
		if (i % 3 === 0) bytes[0] = 0x40 | (bytes[0] & 0x0f & 0x07); // CoAP version 1, so parsing gets further
		raw.send(bytes, coapPort, "127.0.0.1");
		// in batches, so the kernel's receive buffer does not drop the client's datagrams
		if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
	}
	for (const links of ["<", "<<>>", "</1/0>;;", '</1/0>;a="', "\u0000\u00ff", "</1/0>,</9999999>"]) {
		t.is((await client.register({ links })).code, "4.00", links);
	}
	for (const payload of [Buffer.from([0xff, 0x00]), Buffer.from("[1,2]"), Buffer.from('[{"n":5}]'), Buffer.alloc(0)]) {
		t.is((await client.send(CF.SENML_CBOR, payload)).code, "4.00");
		t.is((await client.send(CF.SENML_JSON, payload)).code, "4.00");
	}
	// a notification that cannot be decoded is dropped and logged, the observation lives on
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	const seen = [];
	await server.observe("thermo-1", "/3303/0/5700", (n) => seen.push(n.content.value));
	client.notify("/3303/0/5700", CF.TLV, [0xc8, 0x00]);
	client.notify("/3303/0/5700", CF.TEXT, "22");
	await until(() => seen.length === 1);
	t.deepEqual(seen, [22]);
	t.true(server.recentLog.some((l) => /notification from thermo-1 for \/3303\/0\/5700 dropped: .*TLV truncated/.test(l)));
	client.route("GET", "/3/0/0", (req, res) => reply(res, { format: CF.TEXT, payload: "still here" }));
	t.is((await server.read("thermo-1", "/3/0/0")).content.value, "still here");
	t.false(server.recentLog.some((l) => /could not be handled|listener failed/.test(l)));
});

test("a throwing event listener is logged, and the client still gets its answer", async (t) => {
	const { server, client } = await setup(t, { register: false });
	server.on("registered", () => {
		throw new Error("listener bug");
	});
	t.is((await client.register()).code, "2.01");
	t.true(server.recentLog.some((l) => /a "registered" listener failed: Error: listener bug/.test(l)));
});

test("the server listens on loopback addresses only", (t) => {
	t.throws(() => new Lwm2mServer({ host: "0.0.0.0" }), { message: /loopback addresses \(127\.0\.0\.0\/8\) only/ });
	t.throws(() => new Lwm2mServer({ host: "192.168.1.10" }), { message: /loopback/ });
	t.notThrows(() => new Lwm2mServer({ host: "127.0.0.2", coapPort: 0, httpPort: null }));
});
