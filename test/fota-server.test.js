// Firmware update (object 5) from the local LwM2M server's side: a push (Write /5/0/0 in
// Block1) and a pull (the server serves the package over CoAP with Block2 and writes its
// URI into /5/0/1), then Execute Update and the client's reboot, with progress on the
// event stream, the REST routes and the CLI (npm run lwm2m -- update). The client is a
// fake built on npm `coap` (test/helpers/lwm2m-client.js) playing object 5's state
// machine; libcoap's coap-client-notls fetches a served package as the independent check.
import test from "ava";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { TestClient, reply, CF } from "./helpers/lwm2m-client.js";
import { openEvents } from "./helpers/sse.js";
import { ltfw, fakeFirmware } from "./helpers/fota.js";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "host-sim", "cli", "lwm2m.js");

function run(cmd, args, timeout = 60_000) {
	return new Promise((resolve) => {
		execFile(cmd, args, { timeout, encoding: "buffer", maxBuffer: 16 << 20 }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr: stderr.toString() }));
	});
}
const cli = async (...args) => {
	const r = await run(process.execPath, [CLI, ...args]);
	return { ...r, stdout: r.stdout.toString() };
};

async function setup(t, options) {
	const server = new Lwm2mServer({ coapPort: 0, httpPort: 0, requestTimeout: 5 });
	const { coapPort, httpPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint: "thermo-1" }).start();
	const base = `http://127.0.0.1:${httpPort}`;
	const streams = [];
	t.teardown(async () => {
		for (const s of streams) await s.close();
		await client.stop();
		await server.stop();
	});
	const dev = fakeFirmware(client, options);
	await client.register();
	const events = async (query = "") => {
		const s = await openEvents(`${base}/api/event${query}`);
		streams.push(s);
		return s;
	};
	const post = async (url, body) => {
		const res = await fetch(base + url, { method: "POST", body });
		return { status: res.status, json: await res.json() };
	};
	return { server, client, dev, base, events, post, api: ["--api", base] };
}

const firmwareEvents = (stream) => stream.events.filter((e) => e.event === "FIRMWARE").map((e) => e.data);
// the byte counts of the progress events (a state change in between repeats the count)
const progress = (events) => events.filter((e) => e.phase === "downloading" && e.sent > 0).map((e) => e.sent).filter((n, i, all) => n !== all[i - 1]);
const finalEvent = (stream) => stream.next((e) => e.event === "FIRMWARE" && e.data.final, 30_000).then((e) => e.data);

test("push: the package goes to /5/0/0 in Block1, progress and each step are FIRMWARE events, then Update and the reboot", async (t) => {
	const { dev, events, post } = await setup(t);
	const pkg = ltfw({ version: "1.0.1", payload: randomBytes(5000) });
	const stream = await events("?ep=thermo-1");
	const started = await post("/api/clients/thermo-1/firmware", pkg);
	t.is(started.status, 202);
	t.like(started.json, { ep: "thermo-1", mode: "push", total: pkg.length, final: false, package: { target: "host-sim", version: "1.0.1", hashOk: true } });

	const final = await finalEvent(stream);
	t.like(final, { id: started.json.id, phase: "done", success: true, state: 0, stateText: "Idle", result: 1, resultText: "firmware updated successfully", firmwareVersion: "1.0.1" });
	// what the client got: the whole package, as opaque
	t.is(dev.received.length, 1);
	t.is(dev.received[0].format, CF.OPAQUE);
	t.true(dev.received[0].payload.equals(pkg));
	// Block1 in 1024-byte blocks, each acknowledged one reported
	const job = firmwareEvents(stream).filter((e) => e.id === started.json.id);
	t.deepEqual(progress(job), [1024, 2048, 3072, 4096, 5120, pkg.length]);
	const phases = [...new Set(job.map((e) => e.phase))];
	t.deepEqual(phases, ["started", "downloading", "downloaded", "updating", "rebooted", "done"]);
	// GET .../firmware shows the last job
	const status = await (await fetch(stream.res.url.replace(/\/api\/event.*/, "/api/clients/thermo-1/firmware"))).json();
	t.like(status, { phase: "done", success: true, result: 1 });
});

test("pull: the server serves the package with Block2 at the URI it writes into /5/0/1, and follows the download", async (t) => {
	const { dev, events, post, server } = await setup(t);
	const pkg = ltfw({ version: "2.0.0", payload: randomBytes(3000) });
	const stream = await events("?ep=thermo-1");
	const started = await post("/api/clients/thermo-1/firmware?mode=pull&name=thermostat-2.0.0", pkg);
	t.is(started.status, 202);
	const final = await finalEvent(stream);
	t.like(final, { phase: "done", success: true, result: 1, firmwareVersion: "2.0.0", mode: "pull" });
	t.is(dev.uris.length, 1);
	t.regex(dev.uris[0], new RegExp(`^coap://127\\.0\\.0\\.1:${server.coapPort}/fw/thermostat-2\\.0\\.0-[0-9a-f]{8}$`));
	t.is(final.uri, dev.uris[0]);
	t.is(dev.downloads.length, 1);
	t.is(dev.downloads[0].code, "2.05");
	t.true(dev.downloads[0].body.equals(pkg));
	// each 512-byte block the client asked for is progress
	t.deepEqual(progress(firmwareEvents(stream)), [512, 1024, 1536, 2048, 2560, 3072, pkg.length]);
	// the package is served only while the job needs it
	t.deepEqual(server.firmware.packages.list(), []);
});

test("libcoap's coap-client-notls fetches a package the server serves, block by block (-b), byte for byte", async (t) => {
	const { base, post } = await setup(t);
	const pkg = ltfw({ payload: randomBytes(4321) });
	const served = await post("/api/firmware?name=thermostat-1.0.1", pkg);
	t.is(served.status, 201);
	t.regex(served.json.uri, /^coap:\/\/127\.0\.0\.1:\d+\/fw\/thermostat-1\.0\.1-[0-9a-f]{8}$/);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-server-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	for (const block of [64, 1024]) {
		const out = path.join(dir, `pkg-${block}.bin`);
		const r = await run("coap-client-notls", ["-m", "get", "-b", String(block), "-o", out, served.json.uri]);
		t.is(r.code, 0, r.stderr);
		t.true(fs.readFileSync(out).equals(pkg), `-b ${block}`);
	}
	const listed = await (await fetch(`${base}/api/firmware`)).json();
	t.like(listed.packages[0], { name: served.json.name, size: pkg.length, version: "1.0.1", target: "host-sim" });
	t.true(listed.packages[0].requests >= Math.ceil(pkg.length / 64));
	// an unknown package is 4.04, and a removed one too
	const missing = await run("coap-client-notls", ["-m", "get", served.json.uri.replace(/-[0-9a-f]{8}$/, "-00000000")]);
	t.regex(missing.stdout.toString() + missing.stderr, /4\.04|no firmware package/);
	t.is((await fetch(`${base}/api/firmware/${served.json.name}`, { method: "DELETE" })).status, 200);
	const gone = await run("coap-client-notls", ["-m", "get", served.json.uri]);
	t.regex(gone.stdout.toString() + gone.stderr, /4\.04|no firmware package/);
});

test("npm run lwm2m -- update prints progress and the final State and Update Result (push and --pull)", async (t) => {
	const { api, dev } = await setup(t);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-cli-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	const file = path.join(dir, "thermostat-1.0.1.ltfw");
	fs.writeFileSync(file, ltfw({ version: "1.0.1", payload: randomBytes(20_000) }));

	const push = await cli("update", "thermo-1", file, ...api);
	t.is(push.code, 0, push.stderr);
	t.regex(push.stdout, /^started: pushing 20160 bytes \(host-sim 1\.0\.1\)$/m);
	t.regex(push.stdout, /^pushed {2}50% \(10240\/20160 bytes\)$/m);
	t.regex(push.stdout, /^pushed 100% \(20160\/20160 bytes\)$/m);
	t.regex(push.stdout, /^updating: Execute \/5\/0\/2 \(Update\)$/m);
	t.regex(push.stdout, /^State 0 \(Idle\), Update Result 1 \(firmware updated successfully\), firmware version 1\.0\.1\n$/m);
	t.is(dev.version, "1.0.1");

	fs.writeFileSync(file, ltfw({ version: "1.0.2", payload: randomBytes(2000) }));
	const pull = await cli("update", "thermo-1", file, "--pull", ...api);
	t.is(pull.code, 0, pull.stderr);
	t.regex(pull.stdout, /^downloading: Write \/5\/0\/1 \(Package URI\) coap:\/\/127\.0\.0\.1:\d+\/fw\/thermostat-1\.0\.1-[0-9a-f]{8}$/m);
	t.regex(pull.stdout, /^downloaded by the client 100% \(2160\/2160 bytes\)$/m);
	t.regex(pull.stdout, /firmware version 1\.0\.2\n$/);

	const json = await cli("update", "thermo-1", file, "--pull", "--json", ...api);
	t.like(JSON.parse(json.stdout), { phase: "done", success: true, result: 1, mode: "pull" });
});

test("a refused package, a refused Update and a rollback end as failures with the client's reason; the CLI exits 1", async (t) => {
	const { api, dev, events, post, client } = await setup(t);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-cli-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	const file = path.join(dir, "bad.ltfw");
	// the header's SHA-256 is not the payload's: the client says integrity check failure
	fs.writeFileSync(file, ltfw({ payload: randomBytes(3000), hash: Buffer.alloc(32, 7) }));
	const bad = await cli("update", "thermo-1", file, ...api);
	t.is(bad.code, 1);
	t.regex(bad.stdout, /^failed: the client refused the package: Update Result 5 \(integrity check failure for new downloaded package\), State 0 \(Idle\)$/m);
	t.regex(bad.stdout, /^State 0 \(Idle\), Update Result 5 \(integrity check failure for new downloaded package\)$/m);

	// not a package at all: refused by the server, nothing sent
	fs.writeFileSync(file, "hello");
	const notPkg = await cli("update", "thermo-1", file, ...api);
	t.is(notPkg.code, 1);
	t.regex(notPkg.stderr, /not a firmware package.*\(HTTP 400\)/);
	t.is(dev.received.length, 1);

	// Update refused (the fake says 4.05 unless Downloaded): --download-only, then the state is moved
	const stream = await events("?ep=thermo-1");
	const ok = ltfw({ version: "1.1.0", payload: randomBytes(100) });
	const started = await post("/api/clients/thermo-1/firmware?execute=false", ok);
	t.like(await finalEvent(stream), { id: started.json.id, phase: "done", success: true, state: 2, message: "downloaded; Update (/5/0/2) not executed" });

	// a rollback: the new image registers but never confirms, the old one boots and says 8
	dev.set(0, 0);
	let boots = 0;
	client.route("POST", "/5/0/2", (req, res) => {
		reply(res, { code: "2.04" });
		dev.set(3);
		setTimeout(async () => {
			boots++;
			await client.register(); // the new image: State 3, Result 0
			setTimeout(async () => {
				boots++;
				Object.assign(dev, { state: 0, result: 8 });
				await client.register(); // the previous image, after rollback()
			}, 300);
		}, 50);
	});
	fs.writeFileSync(file, ltfw({ version: "1.2.0", payload: randomBytes(1500) }));
	const rolled = await cli("update", "thermo-1", file, ...api);
	t.is(rolled.code, 1);
	t.is(boots, 2);
	t.regex(rolled.stdout, /^failed: Update Result 8 \(firmware update failed\), State 0 \(Idle\), firmware version 1\.0\.0$/m);

	// an Update the client refuses: its reason is the failure
	client.route("POST", "/5/0/2", (req, res) => reply(res, { code: "4.05", payload: "Update needs State 2 (Downloaded)" }));
	fs.writeFileSync(file, ltfw({ version: "1.3.0", payload: randomBytes(10) }));
	const refused = await cli("update", "thermo-1", file, ...api);
	t.is(refused.code, 1);
	t.regex(refused.stdout, /^failed: Execute \/5\/0\/2 \(Update\): 4\.05 METHOD_NOT_ALLOWED \(Update needs State 2 \(Downloaded\)\)$/m);
});

test("DELETE .../firmware cancels a pull in progress: the client is written an empty Package URI", async (t) => {
	const { dev, client, events, post, base } = await setup(t);
	// this client takes the URI but never downloads
	client.route("PUT", "/5/0/1", (req, res) => {
		dev.uris.push(req.payload.toString());
		reply(res, { code: "2.04" });
		dev.set(req.payload.length ? 1 : 0, req.payload.length ? 0 : 10);
	});
	const stream = await events("?ep=thermo-1");
	const started = await post("/api/clients/thermo-1/firmware?mode=pull", ltfw({ payload: randomBytes(2000) }));
	t.is(started.status, 202);
	await stream.next((e) => e.event === "FIRMWARE" && e.data.phase === "downloading" && e.data.state === 1, 10_000);
	const busy = await post("/api/clients/thermo-1/firmware", ltfw({ payload: randomBytes(10) }));
	t.is(busy.status, 409);
	t.regex(busy.json.error, /in progress/);
	const cancel = await (await fetch(`${base}/api/clients/thermo-1/firmware`, { method: "DELETE" })).json();
	t.deepEqual(cancel, { cancelled: true });
	const final = await finalEvent(stream);
	t.like(final, { phase: "cancelled", success: false, state: 0, result: 10, resultText: "firmware update cancelled" });
	t.deepEqual(dev.uris.slice(-1), [""]);
});

test("a client that refuses a pushed package mid-transfer (Update Result 6) stops the Block1 push", async (t) => {
	const { dev, events, post, server } = await setup(t);
	const stream = await events("?ep=thermo-1");
	const pkg = ltfw({ target: "esp32", payload: randomBytes(50_000) });
	// the refusal, as a notification, while block 3 goes out
	const refuse = (e) => {
		if (e.ep === "thermo-1" && e.phase === "downloading" && e.sent >= 3072) {
			server.off("firmware", refuse);
			dev.set(0, 6);
		}
	};
	server.on("firmware", refuse);
	t.is(dev.state, 0);
	const started = await post("/api/clients/thermo-1/firmware", pkg);
	t.is(started.status, 202);
	const final = await finalEvent(stream);
	t.like(final, { phase: "failed", success: false, result: 6, message: "the client refused the package: Update Result 6 (unsupported package type), State 0 (Idle)" });
	t.true(final.sent < pkg.length / 2, `sent ${final.sent} of ${pkg.length}`);
	t.is(dev.received.length, 0, "the Write never completed");
	// and the server's own log says why
	t.true(server.recentLog.some((l) => /firmware update \w+ of thermo-1 \(push\): failed: the client refused the package: Update Result 6/.test(l)));
});
