// host-sim/cli/lwm2m.js (npm run lwm2m -- <cmd>) against a running server: readable
// output by default, --json for scripts, and exit codes that say what went wrong.
import test from "ava";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Lwm2mServer, realClock } from "../host-sim/lwm2m-server/index.js";
import { TestClient, reply, CF } from "./helpers/lwm2m-client.js";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "host-sim", "cli", "lwm2m.js");

function cli(args) {
	return new Promise((resolve) => {
		execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
	});
}

async function setup(t, { clock } = {}) {
	const server = new Lwm2mServer({ coapPort: 0, httpPort: 0, requestTimeout: 2, ...(clock ? { clock } : {}) });
	const { coapPort, httpPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint: "thermo-1" }).start();
	t.teardown(async () => {
		await client.stop();
		await server.stop();
	});
	await client.register();
	const api = ["--api", `http://127.0.0.1:${httpPort}`];
	return { server, client, run: (...args) => cli([...args, ...api]) };
}

const last = (client) => client.requests[client.requests.length - 1];

test("clients, read and discover print readable lines, or JSON with --json", async (t) => {
	const { client, run } = await setup(t);
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	client.route("GET", "/3/0", (req, res) => reply(res, { format: CF.SENML_JSON, payload: '[{"bn":"/3/0/","n":"0","vs":"OMA"},{"n":"7/0","v":3800},{"n":"7/1","v":5000}]' }));
	client.route("GET", "/3", (req, res) => reply(res, { format: CF.LINK, payload: "</3/0>,</3/0/7>;dim=2" }));

	const clients = await run("clients");
	t.is(clients.code, 0);
	t.regex(clients.stdout, /^thermo-1 {2}127\.0\.0\.1:\d+ {2}lwm2m 1\.1 {2}lifetime 300s {2}binding U/);
	t.is(JSON.parse((await run("clients", "--json")).stdout)[0].endpoint, "thermo-1");

	t.is((await run("read", "thermo-1", "/3303/0/5700")).stdout, "/3303/0/5700 Sensor Value = 21.5\n");
	const json = await run("read", "thermo-1", "/3303/0/5700", "--format", "text", "--json");
	t.like(JSON.parse(json.stdout), { status: "CONTENT", content: { value: 21.5 } });
	t.is(last(client).accept, CF.TEXT);
	t.is((await run("read", "thermo-1", "/3/0")).stdout, "/3/0 Device\n  /3/0/0 Manufacturer = OMA\n  /3/0/7 Power Source Voltage:\n    [0] = 3800\n    [1] = 5000\n");
	t.is((await run("discover", "thermo-1", "/3")).stdout, "</3/0>\n</3/0/7>;dim=2\n");
});

test("write, exec, create, delete and attributes send what they say", async (t) => {
	const { client, run } = await setup(t);
	for (const [method, p, code] of [["PUT", "/3308/0/5900", "2.04"], ["POST", "/3/0/4", "2.04"], ["POST", "/3303", "2.01"], ["DELETE", "/3303/1", "2.02"], ["PUT", "/3303/0/5700", "2.04"]]) {
		client.route(method, p, (req, res) => reply(res, { code }));
	}
	t.deepEqual(await run("write", "thermo-1", "/3308/0/5900", "22.5"), { code: 0, stdout: "CHANGED\n", stderr: "" });
	t.is(last(client).payload.toString(), "22.5");
	// a negative number is the value, not an option, wherever the options are
	t.deepEqual(await run("write", "thermo-1", "/3308/0/5900", "-0.5", "--format", "text"), { code: 0, stdout: "CHANGED\n", stderr: "" });
	t.is(last(client).payload.toString(), "-0.5");
	t.is((await run("exec", "thermo-1", "/3/0/4", "0='a',1")).stdout, "CHANGED\n");
	t.is(last(client).payload.toString(), "0='a',1");
	t.is((await run("create", "thermo-1", "/3303", "5701=Cel", "--id", "1", "--format", "senml-json")).stdout, "CREATED /3303/1\n");
	t.deepEqual(JSON.parse(last(client).payload), [{ n: "/3303/1/5701", vs: "Cel" }]);
	t.is((await run("delete", "thermo-1", "/3303/1")).stdout, "DELETED\n");
	t.is((await run("attributes", "thermo-1", "/3303/0/5700", "pmin=10", "pmax=60")).stdout, "CHANGED\n");
	t.deepEqual(last(client).query, ["pmin=10", "pmax=60"]);
});

/** A server whose clock is not the wall clock (as npm start's, in simulated time): 03:04:05 on a day in 2031. */
const simulatedClock = () => {
	const offset = Date.parse("2031-05-06T03:04:05Z") - Date.now();
	return { now: () => Date.now() + offset, after: realClock.after, cancel: realClock.cancel };
};

test("observe --count N prints N reports (the value, then N-1 notifications), stamped with the server's time", async (t) => {
	const { server, client, run } = await setup(t, { clock: simulatedClock() });
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "21.5" }));
	const done = run("observe", "thermo-1", "/3303/0/5700", "--count", "3");
	const started = Date.now();
	while (!client.observers.has("/3303/0/5700")) {
		if (Date.now() - started > 30_000) throw new Error("the CLI never observed");
		await new Promise((r) => setTimeout(r, 10));
	}
	client.notify("/3303/0/5700", CF.TEXT, "21.75");
	client.notify("/3303/0/5700", CF.TEXT, "22");
	client.notify("/3303/0/5700", CF.TEXT, "22.25");
	const { code, stdout } = await done;
	t.is(code, 0);
	const lines = stdout.trim().split("\n");
	for (const l of lines) t.regex(l, /^03:04:\d\d /, "the server's (simulated) time, not the wall clock");
	t.deepEqual(lines.map((l) => l.replace(/^\d\d:\d\d:\d\d /, "")), [
		"/3303/0/5700 Sensor Value = 21.5",
		"/3303/0/5700 Sensor Value = 21.75",
		"/3303/0/5700 Sensor Value = 22",
	]);
	t.is(server.observations().length, 0, "cancelled on the way out");
	t.like(last(client), { method: "GET", observe: 1 });
});

test("observe --count 1 --json: one line, the current value with the server's timestamp", async (t) => {
	const clock = simulatedClock();
	const { client, run } = await setup(t, { clock });
	client.route("GET", "/3303/0/5700", (req, res) => reply(res, { format: CF.TEXT, payload: "19.5" }));
	const before = clock.now();
	const { code, stdout } = await run("observe", "thermo-1", "/3303/0/5700", "--count", "1", "--json");
	t.is(code, 0);
	const lines = stdout.trim().split("\n");
	t.is(lines.length, 1);
	const report = JSON.parse(lines[0]);
	t.like(report, { ep: "thermo-1", res: "/3303/0/5700", val: { value: 19.5 } });
	t.true(report.timestamp >= Math.floor(before) && report.timestamp <= clock.now() + 1, `timestamp ${report.timestamp}`);
	t.is((await run("observe", "thermo-1", "/3303/0/5700", "--count", "0")).code, 2);
});

test("errors: a clear message and a non-zero exit code", async (t) => {
	const { client, run } = await setup(t);
	client.route("GET", "/3/0/1", (req, res) => reply(res, { code: "4.04", payload: "no such thing" }));
	const refused = await run("read", "thermo-1", "/3/0/1");
	t.is(refused.code, 1);
	t.is(refused.stdout, "NOT_FOUND (4.04): no such thing\n");
	// as the thermostat answers the README's create and delete examples
	client.route("POST", "/3303", (req, res) => reply(res, { code: "4.05", payload: "instances of object 3303 are not created by a server" }));
	client.route("DELETE", "/3303/1", (req, res) => reply(res, { code: "4.04", payload: "no instance /3303/1" }));
	t.deepEqual(await run("create", "thermo-1", "/3303", "5701=Cel", "--id", "1"), { code: 1, stdout: "METHOD_NOT_ALLOWED (4.05): instances of object 3303 are not created by a server\n", stderr: "" });
	t.deepEqual(await run("delete", "thermo-1", "/3303/1"), { code: 1, stdout: "NOT_FOUND (4.04): no instance /3303/1\n", stderr: "" });
	const unknown = await run("read", "nobody", "/3/0");
	t.is(unknown.code, 1);
	t.regex(unknown.stderr, /no registered client with endpoint name "nobody" \(HTTP 404\)/);
	const invalid = await run("write", "thermo-1", "/3308/0/5900", "warm");
	t.is(invalid.code, 1);
	t.regex(invalid.stderr, /"warm" is not a number \(HTTP 400\)/);
	const badPath = await run("read", "thermo-1", "3303/zero");
	t.is(badPath.code, 2);
	t.regex(badPath.stderr, /is not an LwM2M path/);
	const usage = await run("frobnicate");
	t.is(usage.code, 2);
	t.regex(usage.stderr, /unknown command "frobnicate"[\s\S]*usage: npm run lwm2m/);
	const missing = await run("read", "thermo-1");
	t.is(missing.code, 2);
	const down = await cli(["clients", "--api", "http://127.0.0.1:9"]);
	t.is(down.code, 1);
	t.regex(down.stderr, /cannot reach the LwM2M server's REST API at http:\/\/127\.0\.0\.1:9 .*npm run lwm2m -- serve/);
});

test("serve starts a standalone server on the ports asked for and stops on SIGINT", async (t) => {
	const child = spawn(process.execPath, [CLI, "serve", "--coap-port", "0", "--http-port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
	t.teardown(() => child.kill("SIGKILL"));
	let out = "";
	child.stdout.on("data", (d) => (out += d));
	const started = Date.now();
	let m;
	while (!(m = /CoAP on 127\.0\.0\.1:(\d+), REST API on http:\/\/127\.0\.0\.1:(\d+)\/api/.exec(out))) {
		if (Date.now() - started > 30_000) throw new Error(`serve did not start: ${out}`);
		await new Promise((r) => setTimeout(r, 20));
	}
	const [, coapPort, httpPort] = m.map(Number);
	const client = await new TestClient({ serverPort: coapPort, endpoint: "standalone" }).start();
	t.teardown(() => client.stop());
	t.is((await client.register()).code, "2.01");
	const clients = await (await fetch(`http://127.0.0.1:${httpPort}/api/clients`)).json();
	t.deepEqual(clients.map((c) => c.endpoint), ["standalone"]);
	t.regex(out, /registered standalone from 127\.0\.0\.1:\d+/);
	child.kill("SIGINT");
	const [code] = await once(child, "exit");
	t.is(code, 0);
});
