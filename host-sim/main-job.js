// The main job (npm start), as a module: the local LwM2M server, N simulated thermostats
// running the real firmware (device/main.ts) on XS with their rooms, and the web
// dashboard, in one process. host-sim/cli/start.js is its command line; tests start it
// in-process with port 0 everywhere:
//
//   const job = await startMainJob({ speed: 600, coapPort: 0, httpPort: 0, dashboardPort: 0, flash: dir, log: () => {} });
//   job.server, job.sim, job.devices, job.dashboardUrl, job.apiUrl
//   await job.stop();     // as Ctrl-C: power-fail pin low, wait for de-registration, close all
//
// Two ways to run:
//   real time (default) - wall clock x speed, devices on real UDP sockets on 127.0.0.1, so
//                         external tools (npm run lwm2m, libcoap) reach devices and server;
//   hours               - H simulated hours in virtual time as fast as possible, on the
//                         simulated network (the embedded server joins it), then a summary.
import fs from "node:fs";
import path from "node:path";
import { parseArgsWithNegatives } from "./cli/args.js";
import { Simulation } from "./index.js";
import { buildHost, buildDevice, root } from "./build.js";
import { PreferenceFile } from "./storage.js";
import dgram from "node:dgram";
import { Lwm2mServer, realClock, coapLogLine } from "./lwm2m-server/index.js";
import { DtlsServer } from "./dtls/index.js";
import { Journal } from "./dashboard/journal.js";
import { DashboardServer } from "./dashboard/server.js";

export const POWER_FAIL_PIN = 35;
export const DDF_DIR = path.join(root, "device", "thermostat", "ddf");
/** What the main job observes on each registered device (and the dashboard plots). */
export const OBSERVED = ["/3303/0/5700", "/3308/0/5900", "/3306/0/5850", "/32700/0/9"];
const ROOM_START = 18; // °C: each run starts with a room cooled down overnight
// a fleet's rooms differ a little: heat loss (W/K) and thermal mass (J/K), the first one is the model's default
const ROOMS = [
	{ lossWPerK: 50, thermalMassJPerK: 600_000 },
	{ lossWPerK: 62, thermalMassJPerK: 480_000 },
	{ lossWPerK: 42, thermalMassJPerK: 750_000 },
	{ lossWPerK: 70, thermalMassJPerK: 900_000 },
	{ lossWPerK: 55, thermalMassJPerK: 400_000 },
];
const STOP_WAIT_MS = 2000; // wall: how long Ctrl-C waits for the devices to de-register
const MAX_SPEED = 3600;
const MAX_DEVICES = 50;

export const USAGE = `usage: npm start -- [options]

Runs the local LwM2M server, simulated thermostats (the firmware in device/ on XS, each
heating its room model) and a web dashboard, in real time x speed on 127.0.0.1.

  --speed N           real-time factor (default 60: a simulated minute per second), up to ${MAX_SPEED}
  --devices N         number of thermostats, 1-${MAX_DEVICES} (default 1)
  --endpoint NAME     LwM2M endpoint name (default thermostat-1; with --devices N: NAME-1..NAME-N)
  --server URI        register with this LwM2M server (coap://127.x.x.x:port, or
                      coaps://127.x.x.x:port with --psk-identity/--psk-key) instead of
                      the embedded one: then no server is started and the dashboard shows
                      model data only
  --coap-port P       the embedded server's CoAP port (default 5683, 5684 with a PSK; 0: any free port)
  --psk-identity ID   secure everything with DTLS 1.2 PSK: the thermostats get this identity
  --psk-key HEX       and key (security mode 0); the embedded server takes coaps with them,
                      an external one (--server coaps://...) must know them
  --http-port P       its REST API port (default 8080; 0: any free port)
  --dashboard-port P  the dashboard's port (default 8090; 0: any free port)
  --headless          no dashboard, console only
  --hours H           run H simulated hours in virtual time as fast as possible, print a
                      summary and exit (no dashboard; the embedded server joins the
                      simulated network)
  --flash DIR         where each device keeps its flash (default .host-sim/); the tuning
                      survives restarts
  --outside C         mean outside temperature in °C (default 5; varies ±5 over the day), e.g. --outside -5
  --every MIN         a status line per device every MIN simulated minutes (default 5)
  --seed N            make the run repeatable (device RNGs, link impairments)
  --verbose           also print the host's log, LwM2M updates and the server's log
  --help              this text

Ctrl-C drives each device's power-fail pin (GPIO ${POWER_FAIL_PIN}) low: the firmware switches the
heating off and de-registers; then everything stops.`;

export class UsageError extends Error {}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** argv (without node and the script) -> options for startMainJob, or {help: true}. */
export function parseCommandLine(argv) {
	let values;
	try {
		({ values } = parseArgsWithNegatives({
			args: argv,
			strict: true,
			allowPositionals: false,
			options: {
				speed: { type: "string" }, hours: { type: "string" }, devices: { type: "string" }, endpoint: { type: "string" },
				server: { type: "string" }, "coap-port": { type: "string" }, "http-port": { type: "string" }, "dashboard-port": { type: "string" },
				headless: { type: "boolean" }, flash: { type: "string" }, outside: { type: "string" }, every: { type: "string" },
				seed: { type: "string" }, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" },
				"psk-identity": { type: "string" }, "psk-key": { type: "string" },
			},
		}));
	} catch (e) {
		throw new UsageError(e.message.replace(/\. To specify a positional argument.*$/s, ""));
	}
	if (values.help) return { help: true };
	const number = (name) => {
		const text = values[name];
		if (text === undefined) return undefined;
		const n = Number(text);
		if (text.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} ${text}: not a number`);
		return n;
	};
	return checkOptions({
		speed: number("speed"),
		hours: number("hours"),
		devices: number("devices"),
		endpoint: values.endpoint,
		server: values.server,
		coapPort: number("coap-port"),
		httpPort: number("http-port"),
		dashboardPort: number("dashboard-port"),
		headless: values.headless ?? false,
		flash: values.flash,
		outside: number("outside"),
		every: number("every"),
		seed: number("seed"),
		verbose: values.verbose ?? false,
		pskIdentity: values["psk-identity"],
		pskKey: values["psk-key"],
	});
}

/** Fill in defaults and check everything; a UsageError says what is wrong. */
const CHECKED = Symbol("checked");
export function checkOptions(options = {}) {
	if (options[CHECKED]) return options;
	const o = { ...options };
	const fail = (text) => {
		throw new UsageError(text);
	};
	const port = (name, flag, fallback) => {
		const p = o[name] ?? fallback;
		if (!Number.isInteger(p) || p < 0 || p > 65535) fail(`--${flag} ${p}: a port is a whole number 0-65535 (0: any free port)`);
		return p;
	};
	if ((o.pskIdentity === undefined) !== (o.pskKey === undefined)) fail("--psk-identity and --psk-key go together");
	if (o.pskIdentity !== undefined) {
		if (!o.pskIdentity || o.pskIdentity.length > 128) fail(`--psk-identity "${o.pskIdentity}": give 1 to 128 characters`);
		if (!/^([0-9a-fA-F]{2}){1,64}$/.test(o.pskKey)) fail(`--psk-key: give the key in hex, 1 to 64 bytes (e.g. 000102030405060708090a0b0c0d0e0f)`);
	}
	if (o.hours !== undefined) {
		if (!(o.hours > 0) || o.hours > 24 * 366) fail(`--hours ${o.hours}: give a number of simulated hours, more than 0 and at most a year`);
		if (o.speed !== undefined) fail("--speed and --hours do not go together: --hours runs virtual time as fast as it can");
		if (o.server !== undefined) fail("--server and --hours do not go together: an external server keeps wall-clock time, which virtual time cannot wait for");
	}
	o.speed ??= 60;
	if (!(o.speed > 0) || o.speed > MAX_SPEED) fail(`--speed ${o.speed}: give a factor more than 0 and at most ${MAX_SPEED} (faster, CoAP exchanges over real sockets cannot keep up; use --hours)`);
	o.devices ??= 1;
	if (!Number.isInteger(o.devices) || o.devices < 1 || o.devices > MAX_DEVICES) fail(`--devices ${o.devices}: give a whole number of thermostats, 1-${MAX_DEVICES}`);
	if (o.endpoint !== undefined && !NAME.test(o.endpoint)) fail(`--endpoint ${JSON.stringify(o.endpoint)}: 1-64 characters of A-Z a-z 0-9 _ . -`);
	if (o.server !== undefined) {
		const m = /^(coaps?):\/\/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d{1,5}))?\/?$/.exec(o.server);
		if (!m) fail(`--server ${o.server}: give coap://<IPv4 address>[:port] or coaps://... (the firmware has no DNS), e.g. coap://127.0.0.1:5683`);
		const [, scheme, address, port] = m;
		if (!LOOPBACK.test(address) || address.split(".").some((x) => Number(x) > 255)) fail(`--server ${o.server}: only loopback addresses (127.0.0.0/8) are accepted`);
		// the firmware's Security object: PSK (mode 0) for coaps, NoSec (mode 3) for coap
		if (scheme === "coaps" && o.pskIdentity === undefined) fail(`--server ${o.server}: coaps (DTLS) needs the identity and key the server knows the device by: add --psk-identity ID --psk-key HEX`);
		if (scheme === "coap" && o.pskIdentity !== undefined) fail(`--server ${o.server}: --psk-identity/--psk-key secure the connection with DTLS, which takes coaps://`);
		const p = port === undefined ? (scheme === "coaps" ? 5684 : 5683) : Number(port);
		if (p < 1 || p > 65535) fail(`--server ${o.server}: bad port`);
		o.serverUri = `${scheme}://${address}:${p}`;
	}
	o.coapPort = port("coapPort", "coap-port", o.pskIdentity !== undefined ? 5684 : 5683);
	o.httpPort = port("httpPort", "http-port", 8080);
	o.dashboardPort = port("dashboardPort", "dashboard-port", 8090);
	o.headless = !!o.headless || o.hours !== undefined;
	o.outside ??= 5;
	if (!Number.isFinite(o.outside) || o.outside < -50 || o.outside > 50) fail(`--outside ${o.outside}: give °C, -50..50`);
	o.every ??= 5;
	if (!(o.every > 0)) fail(`--every ${o.every}: give simulated minutes, more than 0`);
	if (o.seed !== undefined && !Number.isInteger(o.seed)) fail(`--seed ${o.seed}: give a whole number`);
	// shown as given (an absolute path stays absolute), the default relative to where we run
	o.flashShown = o.flash ?? (path.relative(process.cwd(), path.join(root, ".host-sim")) || ".");
	o.flash = path.resolve(o.flash ?? path.join(root, ".host-sim"));
	o.names = Array.from({ length: o.devices }, (_, i) => (o.devices === 1 ? o.endpoint ?? "thermostat-1" : `${o.endpoint ?? "thermostat"}-${i + 1}`));
	for (const n of o.names) if (!NAME.test(n)) fail(`endpoint ${JSON.stringify(n)}: 1-64 characters of A-Z a-z 0-9 _ . -`);
	o.verbose = !!o.verbose;
	o.host = "127.0.0.1";
	o[CHECKED] = true;
	return o;
}

const time = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
/** Words that mark a log line as a problem (shown in red on the dashboard). */
const WARNING = /fault|not answering|refused|reset|expired|failed|halted/i;
const c1 = (x) => (typeof x === "number" ? x.toFixed(1) : "?");
const c2 = (x) => (typeof x === "number" ? x.toFixed(2) : "?");

function faultOf(state) {
	const f = state?.sensor?.faults;
	if (!f) return "none";
	if (f.absent) return "absent";
	if (f.stuck !== undefined && f.stuck !== null) return "stuck";
	if (f.range) return "range";
	if (f.noise) return "noise";
	return "none";
}

/**
 * The embedded server's clock in real time: timestamps are simulated time (as the devices'
 * and the plot's), timers wait the simulated duration, but never less than the same
 * duration of wall time up to 10 s: answers travel over real sockets in wall time (a 5 s
 * request timeout stays 5 s), and at high speed a pause of Node must not expire a
 * registration whose Update is on its way.
 */
function serverClock(sim, speed) {
	return {
		now: () => sim.clock.now(),
		// simulated time as the clock paces it (slower than wall x speed when Node lags: a
		// lifetime must not run out on the wall while the device's Update waits its turn)
		after: (ms, fn) => sim.clock.afterAtLeast(ms, Math.min(ms, 10_000), fn),
		cancel: (item) => sim.clock.cancel(item),
	};
}

/** Write the server URI and endpoint into a device's flash, as provisioning would; the tuning stays. */
function provision(file, serverUri, endpoint, o = {}) {
	if (!fs.existsSync(file)) return; // first boot: the firmware takes them from its config
	const prefs = new PreferenceFile(file);
	if (prefs.store.lwm2m === undefined) return;
	const set = (key, value) => {
		if (prefs.get("lwm2m", key) !== value) prefs.set("lwm2m", key, { type: typeof value === "number" ? "integer" : "string", value });
	};
	set("uri", serverUri);
	set("ep", endpoint);
	// the Security object: PSK mode with the key, or NoSec (as the firmware stores them)
	set("mode", o.pskIdentity !== undefined ? 0 : 3);
	set("pskId", o.pskIdentity ?? "");
	set("psk", o.pskKey ?? "");
}

/**
 * Start the main job. Options as checkOptions() takes them (ports, speed, devices, ...),
 * plus `log(text)` for console lines (default console.log).
 */
export async function startMainJob(options = {}) {
	const o = checkOptions(options);
	const print = options.log ?? ((text) => console.log(text));
	const virtual = o.hours !== undefined;
	const journal = new Journal();
	const embedded = o.serverUri === undefined;
	const cleanups = [];
	let sim, server, dashboard;
	const job = { options: o, journal, devices: [], embedded, virtual, registered: new Map(), deregistered: new Set(), stats: new Map() };

	// `warn`: whether the line reports a problem (the dashboard shows those in red)
	const say = (text, device, at, warn = WARNING.test(text)) => {
		const t = at ?? sim?.now ?? Date.now();
		print(`${time(t)} ${device ? `${device}: ` : ""}${text}`);
		journal.add("log", { t, device, text, warn });
	};
	const noteOnly = (text, device, at, warn = WARNING.test(text)) => journal.add("log", { t: at ?? sim?.now ?? Date.now(), device, text, warn });

	try {
		fs.mkdirSync(o.flash, { recursive: true });
		// build first: a device booting while the real clock runs catches up on the time it took
		await Promise.all([buildHost(), buildDevice()]);
		sim = virtual ? new Simulation({ clock: "virtual", seed: o.seed }) : new Simulation({ clock: "real", speed: o.speed, seed: o.seed, network: "loopback" });
		job.sim = sim;

		// ---- the LwM2M server
		if (embedded) {
			const clock = virtual ? sim.clock : serverClock(sim, o.speed);
			let socket = virtual ? sim.network.createSocket() : undefined;
			if (o.pskIdentity !== undefined) {
				// the LwM2M server runs unchanged on the DTLS server's socket
				const key = Buffer.from(o.pskKey, "hex");
				job.dtls = new DtlsServer({ socket: socket ?? dgram.createSocket("udp4"), clock, psk: (identity) => (identity === o.pskIdentity ? key : undefined) });
				job.dtls.on("handshake", (e) => say(`DTLS session with ${e.peer} (${e.identity})`, "server"));
				job.dtls.on("handshakeFailed", (e) => say(`DTLS handshake from ${e.peer} failed: ${e.reason}`, "server"));
				socket = job.dtls.socket;
			}
			server = new Lwm2mServer({
				host: o.host,
				coapPort: o.coapPort,
				httpPort: virtual ? null : o.httpPort,
				modelsDirs: [DDF_DIR],
				clock,
				...(socket ? { socket } : {}),
				...(virtual ? { requestTimeout: 60 } : {}),
			});
			const bound = await server.start();
			job.server = server;
			job.coapPort = bound.coapPort;
			job.httpPort = bound.httpPort;
			job.apiUrl = bound.httpPort ? `http://${o.host}:${bound.httpPort}/api` : undefined;
			job.serverUri = `${o.pskIdentity !== undefined ? "coaps" : "coap"}://${o.host}:${bound.coapPort}`;
			server.on("log", (line) => {
				const important = /^(registered|deregistered|registration of .* expired|refused)/.test(line);
				if (important || o.verbose) say(line, "server");
				else if (!/^updated /.test(line)) noteOnly(line, "server");
			});
			server.on("registered", (reg) => {
				job.registered.set(reg.endpoint, reg);
				job.deregistered.delete(reg.endpoint);
				const s = job.stats.get(reg.endpoint);
				if (s) s.registrations++;
				journal.add("registration", { t: sim.now, device: reg.endpoint, kind: "registered", registration: reg });
				if (!virtual) observeSoon(reg);
			});
			server.on("updated", ({ registration }) => {
				job.registered.set(registration.endpoint, registration);
				const s = job.stats.get(registration.endpoint);
				if (s) s.updates++;
				journal.add("registration", { t: sim.now, device: registration.endpoint, kind: "updated", registration });
			});
			for (const kind of ["deregistered", "expired"]) {
				server.on(kind, (reg) => {
					if (job.registered.get(reg.endpoint)?.registrationId === reg.registrationId) job.registered.delete(reg.endpoint);
					job.deregistered.add(reg.endpoint);
					journal.add("registration", { t: sim.now, device: reg.endpoint, kind, registration: reg });
				});
			}
			if (!o.headless) server.on("coaplog", (entry) => journal.add("message", { t: entry.timestamp ?? sim.now, device: entry.ep, entry }));
			if (o.verbose && virtual) server.on("coaplog", (entry) => say(coapLogLine(entry), "coap"));
		} else {
			job.serverUri = o.serverUri;
		}

		// ---- the dashboard
		if (!o.headless) {
			dashboard = new DashboardServer({ host: o.host, port: o.dashboardPort, journal, job, api: embedded ? { host: o.host, port: job.httpPort } : undefined });
			job.dashboard = dashboard;
			const port = await dashboard.start();
			job.dashboardPort = port;
			job.dashboardUrl = `http://${o.host}:${port}/`;
		}

		// ---- the thermostats
		const booted = o.names.map(async (name, index) => {
			const storage = path.join(o.flash, `${name}.json`);
			provision(storage, job.serverUri, name, o);
			// resets: the chip restarted unasked (a crash, the watchdog); reboots: the server asked (/3/0/4, /3/0/5)
			const stats = { relayOn: 0, min: Infinity, max: -Infinity, updates: 0, registrations: 0, resets: 0, reboots: 0 };
			let rebootAsked = false;
			job.stats.set(name, stats);
			const device = await sim.addDevice({
				name,
				storage,
				config: { serverUri: job.serverUri, endpoint: name, ssid: "host-sim", powerFailPin: POWER_FAIL_PIN, ...(o.pskIdentity !== undefined ? { pskIdentity: o.pskIdentity, pskKey: o.pskKey } : {}) },
				board: { room: { ...ROOMS[index % ROOMS.length], outside: { mean: o.outside, amplitude: 5, coldestHour: 4 }, temperature: ROOM_START } },
				log: (line, dev) => {
					const routine = /^lwm2m: registered: updated|^coap: observation of .* ended/.test(line.text);
					let warn = WARNING.test(line.text);
					if (line.source === "device" && /^lwm2m: (reboot|factory reset) requested by the server$/.test(line.text)) {
						rebootAsked = true;
						warn = false;
					}
					// the restart the firmware made because the server asked: expected, not a fault
					if (line.source === "host" && rebootAsked && /^reset #\d+: restart\(\) called by the firmware$/.test(line.text)) warn = false;
					if (line.source === "device") {
						if (/^de-registered$/.test(line.text)) dev.deregisteredAt = line.at;
						// a device that was not registered says so instead: it is done as well (Ctrl-C waits for no line that will not come)
						if (/^(de-registered|(never registered|not registered .*); nothing to de-register)$/.test(line.text)) dev.shutDownAt = line.at;
						const sp = /^thermostat: (?:relay .*, set point|setpoint =) (-?[\d.]+)$/.exec(line.text);
						if (sp) stats.setpoint = Number(sp[1]);
						if (/^lwm2m: registered/.test(line.text)) stats.lwm2m = "registered";
						else if (/^lwm2m: waiting for a slow retry/.test(line.text)) stats.lwm2m = "waiting for a slow retry";
						else if (/^lwm2m: offline/.test(line.text)) stats.lwm2m = "offline";
						else if (/^lwm2m: (registering|waiting)/.test(line.text)) stats.lwm2m = "registering";
						else if (/^lwm2m: (stopped|failed|not starting)/.test(line.text)) stats.lwm2m = "not registered";
					}
					if ((line.source === "device" && !routine) || o.verbose || /reset|halted/.test(line.text)) say(line.text, dev.name, line.at, warn);
					else noteOnly(line.text, dev.name, line.at, warn);
				},
			});
			device.on("reset", (reason) => {
				if (rebootAsked && reason === "restart() called by the firmware") stats.reboots++;
				else stats.resets++;
				rebootAsked = false;
				device.setInput(POWER_FAIL_PIN, job.stopping ? 0 : 1).catch(() => {});
			});
			device.on("relay", (on, at) => {
				if (on) stats.relayOn++;
				// the firmware traces each switch with its reason ("thermostat: relay on at 20.73 °C, set point 21")
				if (o.verbose) say(`relay pin: ${on ? "ON" : "off"}`, device.name, at);
				journal.add("relay", { t: at, device: device.name, on });
			});
			device.on("error", () => {});
			// the supply monitor says "power good" (the pin floats low otherwise): Ctrl-C pulls it low
			await device.setInput(POWER_FAIL_PIN, 1);
			return device;
		});
		const results = await Promise.allSettled(booted);
		for (const r of results) if (r.status === "fulfilled") job.devices.push(r.value);
		const failed = results.find((r) => r.status === "rejected");
		if (failed) throw failed.reason;
	} catch (e) {
		await closeAll();
		throw e;
	}

	// ---- LwM2M: observe what the dashboard plots, once per registration
	function observeSoon(reg) {
		const timer = setTimeout(async () => {
			if (job.stopping || server.client(reg.endpoint)?.registrationId !== reg.registrationId) return;
			for (const p of OBSERVED) {
				try {
					const r = await server.observe(reg.endpoint, p, (n) => {
						if (n.content?.value !== undefined) journal.add("reported", { t: sim.now, device: n.endpoint, path: n.path, value: n.content.value });
					});
					if (r.success && r.content?.value !== undefined) journal.add("reported", { t: sim.now, device: reg.endpoint, path: p, value: r.content.value });
					else if (!r.success) noteOnly(`observe ${p}: ${r.code} ${r.errormessage ?? ""}`, reg.endpoint);
				} catch (e) {
					if (job.stopping || server.client(reg.endpoint)?.registrationId !== reg.registrationId) return;
					noteOnly(`observe ${p} failed: ${e.message}`, reg.endpoint);
				}
			}
		}, 50);
		cleanups.push(() => clearTimeout(timer));
	}

	// ---- sampling the rooms (the truth, next to what the devices report)
	async function sampleAll() {
		await Promise.all(
			job.devices.map(async (d) => {
				const s = await d.state().catch(() => undefined);
				if (!s) return;
				const stats = job.stats.get(d.name);
				stats.min = Math.min(stats.min, s.room.temperature);
				stats.max = Math.max(stats.max, s.room.temperature);
				stats.last = s;
				journal.add("sample", { t: sim.now, device: d.name, room: Math.round(s.room.temperature * 1000) / 1000, outside: Math.round(s.room.outside * 100) / 100, heater: !!s.room.heater, fault: faultOf(s) });
			}),
		);
	}

	function reported(name, p) {
		return journal.latest("reported", name, p)?.value;
	}
	// the set point as the device reported it over LwM2M, else as it last traced it
	const setpointOf = (name) => reported(name, "/3308/0/5900") ?? job.stats.get(name)?.setpoint;

	async function status() {
		for (const d of job.devices) {
			const s = await d.state().catch(() => undefined);
			if (!s) continue;
			const sp = setpointOf(d.name);
			const fault = faultOf(s);
			const says = job.stats.get(d.name).lwm2m;
			const lwm2m = embedded ? (job.registered.has(d.name) ? "registered" : `not registered${says && says !== "registered" ? ` (${says})` : ""}`) : `${says ?? "not registered"} (says the device)`;
			const { resets, reboots } = job.stats.get(d.name);
			const counts = `${resets ? `, resets ${resets}` : ""}${reboots ? `, reboots ${reboots} (asked by the server)` : ""}`;
			// a status line is routine: red only for what is wrong now (the sensor, the registration)
			const warn = fault !== "none" || !/^registered/.test(lwm2m);
			say(`room ${c2(s.room.temperature)} °C, set point ${sp === undefined ? "?" : `${sp} °C`}, relay ${s.room.heater ? "ON" : "off"}, outside ${c1(s.room.outside)} °C, sensor ${fault === "none" ? "ok" : fault}, ${lwm2m}${counts}`, d.name, undefined, warn);
		}
		// real time: the clock slows the simulation when Node cannot keep up with wall x speed
		const lag = sim.clock.lag;
		if (!virtual && lag.slippedMs - (job.lastSlippedMs ?? 0) >= 1000) {
			say(`simulation fell behind x${o.speed} (the machine is busy): ${((lag.slippedMs - (job.lastSlippedMs ?? 0)) / 1000).toFixed(0)} simulated s given up since the last status, ${(lag.slippedMs / 1000).toFixed(0)} s in all`);
			job.lastSlippedMs = lag.slippedMs;
		}
	}
	job.status = status;

	// ---- timers (real time)
	const everyMs = o.every * 60_000;
	if (!virtual) {
		// a few samples per wall second, at least every 5 simulated seconds apart
		job.sampleWallMs = Math.max(200, 5000 / o.speed);
		let sampling = false;
		const sampler = setInterval(() => {
			if (sampling || job.stopping) return;
			sampling = true;
			sampleAll().finally(() => (sampling = false));
		}, job.sampleWallMs);
		let reporting = false;
		const reporter = setInterval(() => {
			if (reporting || job.stopping) return;
			reporting = true;
			status().catch(() => {}).finally(() => (reporting = false));
		}, everyMs / o.speed);
		cleanups.push(() => clearInterval(sampler), () => clearInterval(reporter));
		await sampleAll();
	}

	say(
		`${o.devices} simulated thermostat${o.devices > 1 ? "s" : ""} (${o.names.join(", ")}) on XS, ${virtual ? `virtual time, ${o.hours} h` : `real time x${o.speed}`}; ` +
			`${embedded ? `LwM2M server ${job.serverUri}${job.apiUrl ? `, REST API ${job.apiUrl}` : ""}` : `registering with ${job.serverUri}`}` +
			`${job.dashboardUrl ? `; dashboard ${job.dashboardUrl}` : ""}; flash in ${o.flashShown}${virtual ? "" : "; Ctrl-C to stop"}`,
	);

	/** --hours: let the simulated time pass, a status line every `every` minutes. */
	job.runHours = async (hours = o.hours) => {
		const total = hours * 3_600_000;
		for (let t = 0; t < total && !job.cancelRun; ) {
			const step = Math.min(everyMs, total - t);
			// sample along the way for the summary's min/max
			for (let s = 0; s < step && !job.cancelRun; ) {
				const chunk = Math.min(60_000, step - s);
				await sim.run(chunk);
				s += chunk;
				await sampleAll();
			}
			t += step;
			await status();
		}
		return job.summary();
	};

	job.summary = () => {
		const lines = [`summary after ${((sim.now - sim.clock.start) / 3_600_000).toFixed(2)} simulated hours:`];
		for (const d of job.devices) {
			const s = job.stats.get(d.name);
			const room = s.last?.room;
			const sp = setpointOf(d.name);
			const reg = embedded ? `, LwM2M: ${job.registered.has(d.name) ? "registered" : "not registered"} (${s.registrations} registration${s.registrations === 1 ? "" : "s"}, ${s.updates} updates)` : "";
			lines.push(
				`  ${d.name}: room ${c2(room?.temperature)} °C (min ${c2(s.min)}, max ${c2(s.max)})${sp !== undefined ? `, set point ${sp} °C` : ""}, ` +
					`heater on ${((room?.heaterOnMs ?? 0) / 3_600_000).toFixed(2)} h, relay switched on ${s.relayOn} time${s.relayOn === 1 ? "" : "s"}, outside ${c1(room?.outside)} °C${reg}, resets ${s.resets}${s.reboots ? `, reboots ${s.reboots} (asked by the server)` : ""}`,
			);
		}
		return lines.join("\n");
	};

	// ---- the dashboard's simulation controls
	job.device = (name) => job.devices.find((d) => d.name === name);
	job.injectFault = async (name, kind, value) => {
		const device = job.device(name);
		if (!device) throw Object.assign(new Error(`no device ${JSON.stringify(name)}`), { status: 404 });
		const kinds = ["absent", "stuck", "range", "noise", "none"];
		if (!kinds.includes(kind)) throw Object.assign(new Error(`fault kind must be one of ${kinds.join(", ")}, not ${JSON.stringify(kind)}`), { status: 400 });
		if (kind === "noise" && !(Number(value) > 0 && Number(value) <= 10)) throw Object.assign(new Error("noise needs a value: σ in °C, more than 0 and at most 10"), { status: 400 });
		await device.sensorFault(kind, kind === "noise" ? Number(value) : undefined);
		say(kind === "none" ? "sensor fault cleared (sensor back)" : `sensor fault injected: ${kind}${kind === "noise" ? ` σ ${value} °C` : ""}`, name);
		journal.add("fault", { t: sim.now, device: name, kind });
		await sampleAll();
		return { device: name, fault: kind };
	};
	job.setOutside = async (name, outside) => {
		const device = job.device(name);
		if (!device) throw Object.assign(new Error(`no device ${JSON.stringify(name)}`), { status: 404 });
		if (typeof outside !== "number" || !Number.isFinite(outside) || outside < -50 || outside > 50) throw Object.assign(new Error("outside must be a number of °C, -50..50"), { status: 400 });
		await device.setRoom({ outside });
		say(`outside temperature set to ${outside} °C`, name);
		journal.add("room", { t: sim.now, device: name, outside });
		await sampleAll();
		return { device: name, outside };
	};

	async function closeAll() {
		for (const c of cleanups.splice(0)) c();
		await dashboard?.close().catch(() => {});
		await sim?.close().catch(() => {});
		await server?.stop().catch(() => {});
	}

	/**
	 * As Ctrl-C: power-fail pin low on every device (heating off, de-register), wait for
	 * the de-registrations (at most ~2 s of wall time), then close everything.
	 */
	job.stop = async () => {
		if (job.stopped) return job.stopped;
		job.stopping = true;
		job.stopped = (async () => {
			for (const c of cleanups.splice(0)) c();
			say("power failing on every device (GPIO 35 low): heating off, de-registering");
			await Promise.all(job.devices.map((d) => d.setInput(POWER_FAIL_PIN, 0).catch(() => {})));
			const deadline = performance.now() + STOP_WAIT_MS;
			const done = () => job.devices.every((d) => d.shutDownAt !== undefined || d.halted);
			while (!done() && performance.now() < deadline) {
				if (virtual) await sim.run(1000);
				else await new Promise((r) => setTimeout(r, 20));
			}
			const missing = job.devices.filter((d) => d.shutDownAt === undefined).map((d) => d.name);
			const unregistered = job.devices.filter((d) => d.shutDownAt !== undefined && d.deregisteredAt === undefined).map((d) => d.name);
			say(
				missing.length ? `not de-registered within ${STOP_WAIT_MS / 1000} s: ${missing.join(", ")}`
				: unregistered.length ? `all devices stopped (not registered, nothing to de-register: ${unregistered.join(", ")}); stopping`
				: "all devices de-registered; stopping",
			);
			await closeAll();
		})();
		return job.stopped;
	};

	return job;
}
