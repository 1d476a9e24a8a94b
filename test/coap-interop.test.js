// CoAP interop of the firmware's endpoint on XS, in real time on loopback sockets, with
// peers we did not write: the npm `coap` package (client and server) and Debian's
// libcoap3-bin (`coap-client-notls`, `coap-server-notls`), which .ci/run installs.
import test from "ava";
import coap from "coap";
import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { Simulation } from "../host-sim/index.js";
import { freePort } from "./helpers/ports.js";
import { fixture, tempDir } from "./helpers/sim.js";

const run = promisify(execFile);
const HOST = "127.0.0.1";


const hasLibcoap = (() => {
	try {
		fs.accessSync("/usr/bin/coap-client-notls", fs.constants.X_OK);
		return true;
	} catch {
		return false;
	}
})();
// CI installs libcoap3-bin; a developer machine without it says so instead of passing silently
const libcoap = hasLibcoap ? test.serial : (title) => test.serial(title, (t) => t.fail("libcoap3-bin is not installed (apt-get install -y libcoap3-bin); .ci/run installs it"));

let sim, dev, port;
test.before(async () => {
	port = await freePort();
	sim = new Simulation({ clock: "real", seed: 5 });
	dev = await sim.addDevice({ entry: fixture("coap-resources.ts"), config: { port, notifyMs: 300 } });
});
test.after.always(async () => {
	await sim?.close();
});

const agent = () => new coap.Agent({ type: "udp4" });

function request(options, body) {
	return new Promise((resolve, reject) => {
		const req = coap.request({ hostname: HOST, port, agent: agent(), ...options });
		req.on("response", (res) => {
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => resolve({ code: res.code, payload: Buffer.concat(chunks), options: res.options, headers: res.headers }));
		});
		req.on("error", reject);
		req.on("timeout", () => reject(new Error("timeout")));
		req.end(body);
	});
}

// ---------------------------------------------------------------- npm coap as client

test.serial("npm coap client: GET, 4.04, 4.05, piggybacked and separate responses", async (t) => {
	const hello = await request({ pathname: "/hello" });
	t.is(hello.code, "2.05");
	t.is(hello.payload.toString(), "hello from XS");
	t.is(hello.headers["Content-Format"], "text/plain");
	t.is((await request({ pathname: "/nothing-here" })).code, "4.04");
	t.is((await request({ pathname: "/hello", method: "DELETE" })).code, "4.05");
	const late = await request({ pathname: "/separate" });
	t.is(late.code, "2.05");
	t.is(late.payload.toString(), "late answer");
	const failed = await request({ pathname: "/fail" });
	t.is(failed.code, "5.00", "a handler that throws gives 5.00, not a reset");
	t.is(dev.resets.length, 0);
});

test.serial("npm coap client: a large GET arrives whole through Block2", async (t) => {
	const res = await request({ pathname: "/large" });
	t.is(res.code, "2.05");
	t.is(res.payload.length, 3000);
	t.true(res.payload.toString().startsWith("line 0 of a large representation\nline 1 of"));
});

test.serial("npm coap client: PUT in Block1 blocks, then read back", async (t) => {
	// npm coap segments a body into Block1 blocks when the option names the block size (SZX)
	const body = Buffer.from(Array.from({ length: 1500 }, (_, i) => i & 0xff));
	const res = await new Promise((resolve, reject) => {
		const req = coap.request({ hostname: HOST, port, pathname: "/store", method: "PUT", agent: agent() });
		req.setOption("Block1", Buffer.from([4])); // SZX 4: 256-byte blocks
		req.setOption("Content-Format", "application/octet-stream");
		req.on("response", resolve);
		req.on("error", reject);
		req.end(body);
	});
	t.is(res.code, "2.04");
	const back = await request({ pathname: "/store" });
	t.deepEqual(back.payload, body);
	t.true(dev.traces().includes("stored 1500 bytes"));
	t.true(dev.traces().filter((l) => l.startsWith("stored ")).length === 1, "the handler ran once, on the whole body");
});

test.serial("npm coap client: Observe delivers notifications with increasing sequence numbers", async (t) => {
	const seen = await new Promise((resolve, reject) => {
		const req = coap.request({ hostname: HOST, port, pathname: "/counter", observe: true, agent: agent() });
		req.on("response", (res) => {
			const values = [];
			res.on("data", (chunk) => {
				values.push({ value: Number(chunk.toString()), observe: res.headers.Observe });
				if (values.length === 4) {
					res.close();
					resolve(values);
				}
			});
		});
		req.on("error", reject);
		req.end();
	});
	t.is(seen.length, 4);
	for (let i = 1; i < seen.length; i++) t.true(seen[i].value > seen[i - 1].value, JSON.stringify(seen));
});

// ---------------------------------------------------------------- the device as client

test.serial("the device as client: GET from an npm coap server on the same socket it serves on", async (t) => {
	const server = coap.createServer({ type: "udp4" }, (req, res) => {
		res.setOption("Content-Format", "text/plain");
		res.end(`you asked for ${req.url}`);
	});
	await new Promise((r) => server.listen(0, HOST, r));
	t.teardown(() => server.close());
	const serverPort = server._sock.address().port;
	const res = await request({ pathname: "/fetch", method: "POST" }, `${HOST} ${serverPort} sensor`);
	t.is(res.code, "2.05");
	t.is(res.payload.toString(), "2.05 you asked for /sensor");
});

libcoap("the device as client: GET from libcoap's coap-server-notls", async (t) => {
	const serverPort = await freePort();
	// -v 7: it says when its endpoint exists; the device's request goes after that (no guessed delay)
	const server = spawn("coap-server-notls", ["-A", HOST, "-p", String(serverPort), "-v", "7"], { stdio: ["ignore", "pipe", "pipe"] });
	t.teardown(() => server.kill());
	await new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error(`coap-server-notls did not listen within 30 s: ${out}`)), 30_000);
		const look = (d) => {
			out += d;
			if (/created UDP\s+endpoint/.test(out)) clearTimeout(timer), resolve();
		};
		server.stdout.on("data", look);
		server.stderr.on("data", look);
	});
	const res = await request({ pathname: "/fetch", method: "POST" }, `${HOST} ${serverPort} time`);
	t.is(res.code, "2.05");
	// libcoap's example server answers /time with the current date
	t.regex(res.payload.toString(), /^2\.05 .*\d\d:\d\d:\d\d/);
});

// ---------------------------------------------------------------- libcoap as client

libcoap("libcoap client: GET and 4.04", async (t) => {
	const { stdout } = await run("coap-client-notls", ["-m", "get", `coap://${HOST}:${port}/hello`]);
	t.is(stdout.trim(), "hello from XS");
	const missing = await run("coap-client-notls", ["-m", "get", `coap://${HOST}:${port}/nothing`]).catch((e) => e);
	t.regex(`${missing.stdout}${missing.stderr}`, /4\.04/);
});

libcoap("libcoap client: a large GET in 64-byte Block2 blocks", async (t) => {
	const { stdout } = await run("coap-client-notls", ["-m", "get", "-b", "64", `coap://${HOST}:${port}/large`]);
	t.is(stdout.length >= 3000 ? stdout.slice(0, 3000) : stdout, (await request({ pathname: "/large" })).payload.toString());
});

libcoap("libcoap client: PUT larger than one block (Block1), then GET it back", async (t) => {
	const dir = tempDir(t);
	const file = path.join(dir, "body.txt");
	const body = Array.from({ length: 120 }, (_, i) => `block-wise line ${i}\n`).join("");
	t.true(body.length > 2000);
	fs.writeFileSync(file, body);
	await run("coap-client-notls", ["-m", "put", "-b", "256", "-t", "text/plain", "-f", file, `coap://${HOST}:${port}/store`]);
	t.true(dev.traces().includes(`stored ${body.length} bytes`));
	const { stdout } = await run("coap-client-notls", ["-m", "get", "-b", "1024", `coap://${HOST}:${port}/store`]);
	t.is(stdout.slice(0, body.length), body);
});

libcoap("libcoap client: Observe gets at least 3 notifications", async (t) => {
	const { stdout } = await run("coap-client-notls", ["-m", "get", "-s", "2", `coap://${HOST}:${port}/counter`]);
	const values = stdout.split(/\s+/).filter(Boolean).map(Number);
	t.true(values.length >= 4, `initial response and notifications: ${JSON.stringify(values)}`);
	// a payload libcoap printed twice (a retransmission under load) may repeat; it never goes back
	for (let i = 1; i < values.length; i++) t.true(values[i] >= values[i - 1], JSON.stringify(values));
	t.true(new Set(values).size >= 4, `at least 4 distinct states: ${JSON.stringify(values)}`);
	t.is(dev.resets.length, 0);
});
