// The main job (npm start): the embedded LwM2M server, the firmware on XS in real time on
// loopback, the dashboard's JSON API; Ctrl-C (stop()) de-registers; the command line.
import test from "ava";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { startMainJob, parseCommandLine, UsageError } from "../host-sim/main-job.js";
import { root, tempDir } from "./helpers/sim.js";

const START = path.join(root, "host-sim", "cli", "start.js");
const EP = "thermostat-1";

// Wall-time bounds here only stop a hang: each is at least HANG_MS whatever the caller asks
// (a 2-core machine running other work slows everything several times over).
const HANG_MS = 60_000;
async function waitFor(check, ms, what) {
	ms = Math.max(ms, HANG_MS);
	const deadline = performance.now() + ms;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

async function http(method, url, body) {
	const res = await fetch(url, { method, body: body === undefined || typeof body === "string" ? body : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": typeof body === "string" ? "text/plain" : "application/json" } });
	return { status: res.status, body: await res.json() };
}

/** Run start.js; `onOutput(stdout, child)` sees the output as it comes. */
function cli(args, { timeout = 4 * HANG_MS, onOutput } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [START, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
		let stdout = "", stderr = "";
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error(`start.js ${args.join(" ")} did not exit within ${timeout} ms\n${stdout}\n${stderr}`));
		}, timeout);
		child.stdout.on("data", (d) => {
			stdout += d;
			onOutput?.(stdout, child);
		});
		child.stderr.on("data", (d) => (stderr += d));
		child.on("exit", (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
	});
}

test.serial("in process: registers, a REST set-point write is reported within one control period, stop() de-registers and closes everything; the tuning survives a restart", async (t) => {
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ speed: 600, coapPort: 0, httpPort: 0, dashboardPort: 0, flash, seed: 3, log: (l) => lines.push(l) });
	t.teardown(() => job.stop());
	const deregistered = [];
	job.server.on("deregistered", (r) => deregistered.push(r));
	const api = (p) => `${job.apiUrl}${p}`;

	// the firmware registers with the embedded server (with the Thermostat Tuning model loaded)
	await waitFor(() => job.server.client(EP), 20_000, "the registration");
	const clients = (await http("GET", api("/clients"))).body;
	t.deepEqual(clients.map((c) => c.endpoint), [EP]);
	t.truthy(clients[0].supportedObjects["32700"], "the device announces 32700");
	t.true(lines.some((l) => /server: registered thermostat-1/.test(l)), "the console shows the registration");
	// the main job observes the temperature and the set point
	await waitFor(() => job.journal.latest("reported", EP, "/3308/0/5900") && job.journal.latest("reported", EP, "/3303/0/5700"), 10_000, "the first reported values");
	t.is(job.journal.latest("reported", EP, "/3308/0/5900").value, 21);

	// a longer control period (a tuning write), so that "one period" is longer than a scheduling hiccup at x600
	const period = await http("PUT", api(`/clients/${EP}/32700/0/5`), "300");
	t.true(period.body.success, JSON.stringify(period.body));
	const before = job.sim.now;
	const w = await http("PUT", api(`/clients/${EP}/3308/0/5900`), "23.5");
	t.true(w.body.success, JSON.stringify(w.body));
	const note = await waitFor(() => {
		const r = job.journal.latest("reported", EP, "/3308/0/5900");
		return r?.value === 23.5 && r;
	}, 5_000, "the device to report 23.5");
	t.true(note.t - before <= 300_000, `reported ${(note.t - before) / 1000} s after the write`);
	t.is((await http("GET", api(`/clients/${EP}/3308/0/5900`))).body.content.value, 23.5);
	await waitFor(() => lines.some((l) => /thermostat-1: thermostat: setpoint = 23.5/.test(l)), 2_000, "the firmware's trace");
	// out of range: the device answers 4.00 with its reason, and keeps its set point
	const refused = await http("PUT", api(`/clients/${EP}/3308/0/5900`), "40");
	t.is(refused.body.code, "4.00");
	t.regex(refused.body.errormessage, /outside 5\.\.30/);

	// the dashboard's JSON API: history, devices, fault injection
	const dash = (p) => new URL(p, job.dashboardUrl).href;
	await waitFor(() => job.journal.count("sample", EP) >= 3, 5_000, "samples of the room");
	const history = (await http("GET", dash("/sim/history"))).body;
	t.true(history.events.filter((e) => e.type === "sample").length >= 3, "samples in the history");
	t.true(history.events.some((e) => e.type === "registration" && e.kind === "registered"), "the registration in the history");
	const devices = (await http("GET", dash("/sim/devices"))).body;
	t.is(devices[0].reported["/3308/0/5900"], 23.5);
	const melted = await http("POST", dash(`/sim/devices/${EP}/fault`), { kind: "melted" });
	t.is(melted.status, 400);
	t.regex(melted.body.error, /fault kind must be one of absent, stuck, range, noise, none/);
	const nobody = await http("POST", dash("/sim/devices/nobody/fault"), { kind: "absent" });
	t.is(nobody.status, 404, JSON.stringify(nobody.body));
	t.is((await http("POST", dash(`/sim/devices/${EP}/room`), { outside: -8 })).status, 200);
	t.is((await http("GET", dash(`/api/clients/${EP}/3308/0/5900`))).body.content.value, 23.5, "the REST API through the dashboard");

	// Ctrl-C: power-fail pin low -> heating off, de-registration, everything closed
	await job.stop();
	t.is(deregistered.length, 1);
	t.is(deregistered[0].endpoint, EP);
	t.true(lines.some((l) => /thermostat-1: power failing: heating off, de-registering/.test(l)), "the firmware saw the power fail");
	t.true(lines.some((l) => /server: deregistered thermostat-1/.test(l)), "the server logged the deregistration");
	t.is(job.devices[0].relay, false, "heating off");
	await t.throwsAsync(fetch(api("/clients")));
	await t.throwsAsync(fetch(job.dashboardUrl));
	t.is(job.devices[0].worker, undefined, "the XS worker is gone");

	// the tuning was kept in flash: a new main job on the same flash boots with it
	const stored = JSON.parse(fs.readFileSync(path.join(flash, `${EP}.json`), "utf8"));
	t.is(stored.thermostat.sp.value, 2350);
	const again = await startMainJob({ speed: 600, coapPort: 0, httpPort: 0, headless: true, flash, log: () => {} });
	t.teardown(() => again.stop());
	await waitFor(() => again.server.client(EP), 20_000, "the registration after the restart");
	t.is((await http("GET", `${again.apiUrl}/clients/${EP}/3308/0/5900`)).body.content.value, 23.5);
	t.is((await http("GET", `${again.apiUrl}/clients/${EP}/32700/0/5`)).body.content.value, 300);
	t.is(again.dashboardUrl, undefined, "headless: no dashboard");
	await again.stop();
});

test.serial("npm start with Ctrl-C: registers, then SIGINT de-registers and exits 0", async (t) => {
	t.timeout(5 * HANG_MS, "a run of start.js");
	const flash = tempDir(t);
	let sent = false;
	const r = await cli(["--speed", "600", "--coap-port", "0", "--http-port", "0", "--headless", "--flash", flash], {
		onOutput(out, child) {
			if (!sent && /thermostat-1: lwm2m: registered/.test(out)) {
				sent = true;
				child.kill("SIGINT");
			}
		},
	});
	t.is(r.code, 0, r.stderr);
	t.regex(r.stdout, /real time x600; LwM2M server coap:\/\/127\.0\.0\.1:\d+, REST API http:\/\/127\.0\.0\.1:\d+\/api/);
	t.regex(r.stdout, /SIGINT: stopping/);
	t.regex(r.stdout, /server: deregistered thermostat-1/);
	t.regex(r.stdout, /all devices de-registered/);
});

test.serial("--hours 2: virtual time, a summary, exit 0", async (t) => {
	t.timeout(5 * HANG_MS, "a run of start.js");
	const flash = tempDir(t);
	const r = await cli(["--hours", "2", "--every", "30", "--flash", flash]);
	t.is(r.code, 0, r.stderr);
	t.regex(r.stdout, /virtual time, 2 h/);
	t.regex(r.stdout, /summary after 2\.00 simulated hours:/);
	t.regex(r.stdout, /thermostat-1: room \d+\.\d\d °C \(min [\d.]+, max [\d.]+\), set point 21 °C, heater on [\d.]+ h, relay switched on \d+ times?/);
	t.regex(r.stdout, /LwM2M: registered \(1 registration, \d+ updates\)/);
	t.is(r.stdout.match(/thermostat-1: room .* registered$/gm)?.length, 4, "a status line every 30 simulated minutes");
});

test.serial("--psk-identity/--psk-key: the whole main job over DTLS 1.2 PSK", async (t) => {
	t.timeout(10 * HANG_MS, "two runs of start.js");
	const flash = tempDir(t);
	const r = await cli(["--hours", "1", "--flash", flash, "--psk-identity", "thermostat-psk", "--psk-key", "00112233445566778899aabbccddeeff"]);
	t.is(r.code, 0, r.stderr);
	t.regex(r.stdout, /LwM2M server coaps:\/\/127\.0\.0\.1:5684/);
	t.regex(r.stdout, /thermostat-1: dtls: session with 127\.0\.0\.1:5684 established \(PSK-AES128-CCM8\)/);
	t.regex(r.stdout, /server: DTLS session with 127\.0\.0\.1:\d+ \(thermostat-psk\)/);
	t.regex(r.stdout, /server: registered thermostat-1/);
	t.regex(r.stdout, /server: deregistered thermostat-1/);
	// a second run on the same flash without the PSK goes back to plain CoAP
	const plain = await cli(["--hours", "1", "--flash", flash]);
	t.regex(plain.stdout, /server: registered thermostat-1/);
	t.notRegex(plain.stdout, /dtls: session/);
	t.throws(() => parseCommandLine(["--psk-identity", "x"]), { instanceOf: UsageError, message: /go together/ });
	t.throws(() => parseCommandLine(["--psk-identity", "x", "--psk-key", "xyz"]), { instanceOf: UsageError, message: /in hex/ });
});

test("bad options exit 2 with a message; --help exits 0", async (t) => {
	t.timeout(10 * HANG_MS, "three runs of start.js");
	const zero = await cli(["--devices", "0"]);
	t.is(zero.code, 2);
	t.regex(zero.stderr, /--devices 0: give a whole number of thermostats, 1-50/);
	const cases = [
		[["--speed", "fast"], /--speed fast: not a number/],
		[["--server", "coap://192.168.1.20:5683"], /only loopback addresses/],
		[["--hours", "2", "--server", "coap://127.0.0.1:5683"], /do not go together/],
		[["--http-port", "70000"], /a port is a whole number 0-65535/],
		[["--colour"], /Unknown option '--colour'/],
		[["extra"], /Unexpected argument 'extra'/],
	];
	for (const [args, message] of cases) {
		t.throws(() => parseCommandLine(args), { instanceOf: UsageError, message }, args.join(" "));
	}
	const bad = await cli(["--server", "coap://10.0.0.1:5683"]);
	t.is(bad.code, 2);
	t.regex(bad.stderr, /only loopback addresses/);
	const help = await cli(["--help"]);
	t.is(help.code, 0);
	t.regex(help.stdout, /usage: npm start -- \[options\]/);
	t.regex(help.stdout, /--dashboard-port P/);
	t.deepEqual(
		(({ speed, devices, coapPort, httpPort, dashboardPort, names }) => ({ speed, devices, coapPort, httpPort, dashboardPort, names }))(parseCommandLine(["--devices", "2", "--endpoint", "hall"])),
		{ speed: 60, devices: 2, coapPort: 5683, httpPort: 8080, dashboardPort: 8090, names: ["hall-1", "hall-2"] },
	);
});
