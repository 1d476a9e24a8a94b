// The LwM2M server's REST API (Leshan server demo shape) end to end: HTTP requests with
// Node's fetch, a hand-built CoAP client behind the server, and the event stream.
import test from "ava";
import { Encoder } from "cbor-x";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { TestClient, reply, CF } from "./helpers/lwm2m-client.js";
import { openEvents } from "./helpers/sse.js";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

async function setup(t, { endpoint = "thermo-1", register = true } = {}) {
	const server = new Lwm2mServer({ coapPort: 0, httpPort: 0, requestTimeout: 2 });
	const { coapPort, httpPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint }).start();
	const base = `http://127.0.0.1:${httpPort}`;
	const streams = [];
	t.teardown(async () => {
		for (const s of streams) await s.close();
		await client.stop();
		await server.stop();
	});
	if (register) await client.register();
	const api = async (path, { method = "GET", body } = {}) => {
		const res = await fetch(base + path, { method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
		const text = await res.text();
		return { status: res.status, type: res.headers.get("content-type"), json: text ? JSON.parse(text) : undefined };
	};
	const events = async (query = "") => {
		const s = await openEvents(`${base}/api/event${query}`);
		streams.push(s);
		return s;
	};
	return { server, client, api, events, base };
}

const last = (client) => client.requests[client.requests.length - 1];

// ------------------------------------------------------------------ registrations and models

test("GET /api/clients lists registrations; /api/clients/{ep} shows one; an unknown one is 404", async (t) => {
	const { api, client } = await setup(t);
	const list = await api("/api/clients");
	t.is(list.status, 200);
	t.regex(list.type, /application\/json/);
	t.is(list.json.length, 1);
	t.like(list.json[0], { endpoint: "thermo-1", lwM2mVersion: "1.1", lifetime: 300, bindingMode: "U", rootPath: "/", secure: false, address: `127.0.0.1:${client.port}` });
	t.is(`/rd/${list.json[0].registrationId}`, client.location);
	const one = await api("/api/clients/thermo-1");
	t.deepEqual(one.json, list.json[0]);
	const missing = await api("/api/clients/nobody");
	t.is(missing.status, 404);
	t.regex(missing.json.error, /no registered client with endpoint name "nobody"/);
	t.is((await api("/api/clients/nobody/3/0")).status, 404);
});

test("GET /api/objectspecs and /api/server describe the models and the ports", async (t) => {
	const { api, server } = await setup(t, { register: false });
	const specs = await api("/api/objectspecs");
	t.true(specs.json.some((o) => o.id === 3308 && o.name === "Set Point"));
	const temperature = await api("/api/objectspecs/3303");
	t.like(temperature.json.resourcedefs.find((r) => r.id === 5700), { name: "Sensor Value", operations: "R", type: "FLOAT", instancetype: "single" });
	t.is((await api("/api/objectspecs/4242")).status, 404);
	const info = (await api("/api/server")).json;
	t.true(Number.isFinite(info.now), "the server's clock, which the CLI stamps notifications with");
	const { now, ...ports } = info;
	t.deepEqual(ports, { host: "127.0.0.1", coapPort: server.coapPort, httpPort: server.httpPort, lwm2mVersion: "1.1" });
	t.is((await api("/nothing")).status, 404);
	t.is((await api("/api/nothing")).status, 404);
});

// ------------------------------------------------------------------ device management

test("GET /api/clients/{ep}/{path}?format= reads, in the Leshan response shape", async (t) => {
	const { api, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.SENML_CBOR, payload: cbor.encode([new Map([[-2, "/3303/0/5700"], [2, 21.5]])]) }));
	const r = await api("/api/clients/thermo-1/3303/0/5700?format=SENML_CBOR&timeout=2");
	t.is(r.status, 200);
	t.deepEqual(r.json, {
		status: "CONTENT",
		code: "2.05",
		valid: true,
		success: true,
		failure: false,
		content: { id: 5700, kind: "singleResource", type: "FLOAT", value: 21.5 },
		format: "SENML_CBOR",
	});
	t.is(last(client).accept, CF.SENML_CBOR);
	const lower = await api("/api/clients/thermo-1/3303/0/5700?format=senml-cbor");
	t.is(lower.json.content.value, 21.5);
});

test("a client's CoAP error is HTTP 200 with success false and the client's message", async (t) => {
	const { api, client } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { code: "4.04", payload: "no sensor" }));
	const r = await api("/api/clients/thermo-1/3303/0/5700");
	t.is(r.status, 200);
	t.like(r.json, { status: "NOT_FOUND", success: false, failure: true, valid: true, errormessage: "no sensor" });
});

test("PUT writes (replace), ?replace=false sends a partial update; invalid values are 400 and never sent", async (t) => {
	const { api, client } = await setup(t);
	client.route("PUT", "/3308/0/5900", (req, res) => reply(res, { code: "2.04" }));
	client.route("POST", "/3308/0", (req, res) => reply(res, { code: "2.04" }));
	const r = await api("/api/clients/thermo-1/3308/0/5900", { method: "PUT", body: { id: 5900, kind: "singleResource", value: 22.5, type: "FLOAT" } });
	t.like(r.json, { status: "CHANGED", success: true });
	t.like(last(client), { method: "PUT", format: CF.TEXT });
	t.is(last(client).payload.toString(), "22.5");

	const partial = await api("/api/clients/thermo-1/3308/0?replace=false&format=TLV", { method: "PUT", body: { id: 0, kind: "instance", resources: [{ id: 5900, kind: "singleResource", value: "21" }] } });
	t.is(partial.json.status, "CHANGED");
	t.like(last(client), { method: "POST", format: CF.TLV });
	t.deepEqual([...last(client).payload], [0xe4, 0x17, 0x0c, 0x41, 0xa8, 0x00, 0x00]);

	const before = client.requests.length;
	const bad = await api("/api/clients/thermo-1/3308/0/5900", { method: "PUT", body: "\"abc\"" });
	t.is(bad.status, 400);
	t.regex(bad.json.error, /"abc" is not a number/);
	t.is((await api("/api/clients/thermo-1/3308/0/5900", { method: "PUT", body: "{not json" })).status, 400);
	t.is((await api("/api/clients/thermo-1/3308/0/5900", { method: "PUT" })).status, 400);
	const readOnly = await api("/api/clients/thermo-1/3303/0/5700", { method: "PUT", body: 20 });
	t.is(readOnly.status, 400);
	t.regex(readOnly.json.error, /not writable/);
	const format = await api("/api/clients/thermo-1/3308/0/5900?format=XML", { method: "PUT", body: 20 });
	t.is(format.status, 400);
	t.regex(format.json.error, /unknown content format "XML"/);
	const textInstance = await api("/api/clients/thermo-1/3308/0?format=TEXT", { method: "PUT", body: { resources: [{ id: 5900, value: 1 }] } });
	t.is(textInstance.status, 400);
	t.is(client.requests.length, before, "nothing reached the client");
});

test("POST on a resource executes with the body as arguments; POST on an object creates", async (t) => {
	const { api, client } = await setup(t);
	client.route("POST", "/3/0/4", (req, res) => reply(res, { code: "2.04" }));
	client.route("POST", "/3303", (req, res) => reply(res, { code: "2.01" }));
	t.like((await api("/api/clients/thermo-1/3/0/4", { method: "POST", body: "0='a',1" })).json, { status: "CHANGED", success: true });
	t.is(last(client).payload.toString(), "0='a',1");
	const badArgs = await api("/api/clients/thermo-1/3/0/4", { method: "POST", body: "zero" });
	t.is(badArgs.status, 400);

	const created = await api("/api/clients/thermo-1/3303?format=SENML_JSON", { method: "POST", body: { id: 1, kind: "instance", resources: [{ id: 5701, kind: "singleResource", value: "Cel" }] } });
	t.like(created.json, { status: "CREATED", success: true, location: "/3303/1" });
	t.deepEqual(JSON.parse(last(client).payload), [{ n: "/3303/1/5701", vs: "Cel" }]);
	const onInstance = await api("/api/clients/thermo-1/3303/0", { method: "POST", body: {} });
	t.is(onInstance.status, 400);
	t.regex(onInstance.json.error, /Execute takes .* Create takes/);
});

test("DELETE deletes; GET .../discover discovers; PUT .../attributes writes attributes", async (t) => {
	const { api, client } = await setup(t);
	client.route("DELETE", "/3303/1", (req, res) => reply(res, { code: "2.02" }));
	client.route("GET", "/3303/0", (req, res) => reply(res, { format: CF.LINK, payload: "</3303/0>,</3303/0/5700>;pmin=10,</3303/0/5701>" }));
	client.route("PUT", "/3303/0/5700", (req, res) => reply(res, { code: "2.04" }));
	t.is((await api("/api/clients/thermo-1/3303/1", { method: "DELETE" })).json.status, "DELETED");
	const d = await api("/api/clients/thermo-1/3303/0/discover");
	t.like(d.json, { status: "CONTENT", success: true });
	t.deepEqual(d.json.objectLinks[1], { url: "/3303/0/5700", attributes: { pmin: "10" } });
	const a = await api("/api/clients/thermo-1/3303/0/5700/attributes?pmin=10&pmax=60&gt=", { method: "PUT" });
	t.is(a.json.status, "CHANGED");
	t.deepEqual(last(client).query, ["pmin=10", "pmax=60", "gt"]);
	const bad = await api("/api/clients/thermo-1/3303/0/5700/attributes?pmin=ten", { method: "PUT" });
	t.is(bad.status, 400);
	t.is((await api("/api/clients/thermo-1/3303/0/5700/attributes")).status, 405);
});

test("POST .../observe observes, notifications arrive as NOTIFICATION events, DELETE .../observe cancels", async (t) => {
	const { api, client, events, server } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	const stream = await events("?ep=thermo-1");
	const r = await api("/api/clients/thermo-1/3303/0/5700/observe?format=TEXT", { method: "POST" });
	t.like(r.json, { status: "CONTENT", success: true, content: { value: 21.5 } });
	t.is(r.json.observation.paths[0], "/3303/0/5700");
	client.notify("/3303/0/5700", CF.TEXT, "22.5");
	const n = await stream.next((e) => e.event === "NOTIFICATION");
	t.like(n.data, { ep: "thermo-1", res: "/3303/0/5700", val: { id: 5700, kind: "singleResource", type: "FLOAT", value: 22.5 } });
	const cancelled = await api("/api/clients/thermo-1/3303/0/5700/observe", { method: "DELETE" });
	t.deepEqual(cancelled.json, { cancelled: 1 });
	t.like(last(client), { method: "GET", observe: 1 });
	t.is(server.observations().length, 0);
});

test("composite: GET reads, PUT writes, POST/DELETE .../composite/observe observe and cancel", async (t) => {
	const { api, client, events } = await setup(t);
	const values = (a) => Buffer.from(JSON.stringify([{ n: "/3/0/0", vs: "OMA" }, { n: "/3303/0/5700", v: a }]));
	client.route("FETCH", "/", (req, res) => reply(res, { format: CF.SENML_JSON, payload: values(21.5) }));
	client.route("iPATCH", "/", (req, res) => reply(res, { code: "2.04" }));
	const read = await api("/api/clients/thermo-1/composite?paths=/3/0/0,/3303/0/5700&nodeformat=SENML_JSON");
	t.is(read.status, 200);
	t.deepEqual(Object.keys(read.json.content), ["/3/0/0", "/3303/0/5700"]);
	t.is(read.json.content["/3303/0/5700"].value, 21.5);
	t.like(last(client), { method: "FETCH", format: CF.SENML_JSON, accept: CF.SENML_JSON });

	const write = await api("/api/clients/thermo-1/composite?format=SENML_CBOR", { method: "PUT", body: { "/3308/0/5900": { id: 5900, kind: "singleResource", value: 22 }, "/3308/0/5750": "hall" } });
	t.is(write.json.status, "CHANGED");
	t.like(last(client), { method: "iPATCH", format: CF.SENML_CBOR });

	const stream = await events("?ep=thermo-1");
	const observed = await api("/api/clients/thermo-1/composite/observe?paths=/3/0/0,/3303/0/5700&format=SENML_JSON", { method: "POST" });
	t.like(observed.json, { status: "CONTENT", success: true });
	client.notify("FETCH", CF.SENML_JSON, values(23));
	const n = await stream.next((e) => e.event === "NOTIFICATION");
	t.is(n.data.res, "/3/0/0,/3303/0/5700");
	t.is(n.data.val["/3303/0/5700"].value, 23);
	t.deepEqual((await api("/api/clients/thermo-1/composite/observe?paths=/3/0/0,/3303/0/5700", { method: "DELETE" })).json, { cancelled: 1 });
	t.is((await api("/api/clients/thermo-1/composite")).status, 400, "no paths");
	t.is((await api("/api/clients/thermo-1/composite?paths=/3/x")).status, 400);
});

// ------------------------------------------------------------------ errors

test("bad paths are 400, wrong methods 405, silent clients 504, undecodable answers 502", async (t) => {
	const { api, client } = await setup(t);
	const badPath = await api("/api/clients/thermo-1/3303/x/5700");
	t.is(badPath.status, 400);
	t.regex(badPath.json.error, /not an LwM2M path/);
	t.is((await api("/api/clients/thermo-1/3303/0/5700/1/2")).status, 400);
	const method = await api("/api/clients/thermo-1/3303/0/5700", { method: "PATCH" });
	t.is(method.status, 405);
	t.is((await api("/api/clients/thermo-1/3303/0/5700/observe")).status, 405);
	t.is((await api("/api/clients", { method: "DELETE" })).status, 405);
	t.is((await api("/api/clients/thermo-1/3303/0/5700?timeout=abc")).status, 400);

	client.route("GET", "/3/0/0", () => {}); // never answers
	const timeout = await api("/api/clients/thermo-1/3/0/0?timeout=0.3");
	t.is(timeout.status, 504);
	t.regex(timeout.json.error, /no response from 127\.0\.0\.1:\d+ within 0\.3 s/);

	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.SENML_JSON, payload: "[oops" }));
	const invalid = await api("/api/clients/thermo-1/3303/0/5700");
	t.is(invalid.status, 502);
	t.regex(invalid.json.error, /cannot decode the client's SENML_JSON content/);
});

// ------------------------------------------------------------------ events

test("GET /api/event streams REGISTRATION, UPDATED, SEND and DEREGISTRATION, filtered by ?ep=", async (t) => {
	const { client, events, server } = await setup(t, { register: false });
	const all = await events();
	const mine = await events("?ep=thermo-1");
	const others = await events("?ep=someone-else");
	await client.register();
	const reg = await mine.next((e) => e.event === "REGISTRATION");
	t.like(reg.data, { endpoint: "thermo-1", lifetime: 300 });
	await client.update({ query: "lt=90" });
	const upd = await mine.next((e) => e.event === "UPDATED");
	t.like(upd.data, { registration: { endpoint: "thermo-1", lifetime: 90 }, update: { lifetime: 90 } });
	await client.send(CF.SENML_JSON, '[{"n":"/3303/0/5700","v":20.5}]');
	const sent = await mine.next((e) => e.event === "SEND");
	t.deepEqual(sent.data.val, { "/3303/0/5700": { id: 5700, kind: "singleResource", type: "FLOAT", value: 20.5 } });
	t.is(sent.data.ep, "thermo-1");
	const log = await mine.next((e) => e.event === "COAPLOG" && e.data.code === "POST" && e.data.incoming);
	t.like(log.data, { ep: "thermo-1", type: "CON" });
	await client.deregister();
	const dereg = await all.next((e) => e.event === "DEREGISTRATION");
	t.like(dereg.data, { endpoint: "thermo-1", expired: false });
	t.false(all.events.some((e) => e.event === "COAPLOG"), "COAPLOG only for streams that name a client");
	t.deepEqual(others.events, []);
	t.is(server.clients().length, 0);
});
