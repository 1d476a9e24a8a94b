#!/usr/bin/env node
// npm run sim: the firmware on Moddable's own simulator. Builds manifests/sim.json for
// platform lin with $MODDABLE's tools, starts the embedded LwM2M server (CoAP 127.0.0.1:5683,
// REST http://127.0.0.1:8080/api, so `npm run lwm2m -- read mcsim-thermostat /3303/0/5700`
// works) and mcsim with the thermostat pane, until Ctrl-C or the mcsim window closes.
//   npm run sim
//   npm run sim -- --xvfb                 no desktop: a private virtual display
//   npm run sim -- setpoint=19 lifetime=60  mc/config values, as mcconfig takes them
import { parseArgs } from "node:util";
import { startMcsimJob } from "./job.js";
import { SdkError } from "./build.js";

const USAGE = `usage: npm run sim -- [options] [key=value ...]

Builds the firmware for Moddable's desktop simulator (mcsim) with the SDK in $MODDABLE and runs
it with the thermostat pane, registered with the embedded LwM2M server.

  --coap-port P    the server's CoAP port (default 5683; 0: any free port)
  --http-port P    its REST API port (default 8080; 0: any free port)
  --endpoint NAME  the thermostat's LwM2M endpoint name (default mcsim-thermostat)
  --out DIR        build folder (default .host-sim/mcsim/build; kept: the next build is incremental)
  --flash DIR      the simulated flash (default .host-sim/mcsim/flash-<endpoint>-<CoAP port>): tuning
                   and LwM2M settings survive restarts, as on the board; delete it for a first boot
  --xvfb           run mcsim on a private virtual display (Xvfb) instead of $DISPLAY
  --verbose        also print the build's output and the server's log
  key=value        any mc/config key of manifests/thermostat.json (numbers as numbers)

Ctrl-C closes mcsim and the server.`;

let parsed;
try {
	parsed = parseArgs({
		args: process.argv.slice(2),
		allowPositionals: true,
		options: {
			"coap-port": { type: "string" }, "http-port": { type: "string" }, endpoint: { type: "string" },
			out: { type: "string" }, flash: { type: "string" }, xvfb: { type: "boolean" }, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" },
		},
	});
} catch (e) {
	console.error(`npm run sim: ${e.message}\n(npm run sim -- --help for the options)`);
	process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
	console.log(USAGE);
	process.exit(0);
}
const port = (name, fallback) => {
	const text = values[name];
	if (text === undefined) return fallback;
	const p = Number(text);
	if (!Number.isInteger(p) || p < 0 || p > 65535) {
		console.error(`npm run sim: --${name} ${text}: a port is a whole number 0-65535`);
		process.exit(2);
	}
	return p;
};
const config = {};
for (const p of positionals) {
	const at = p.indexOf("=");
	if (at < 1) {
		console.error(`npm run sim: ${p}: give mc/config values as key=value`);
		process.exit(2);
	}
	const text = p.slice(at + 1);
	config[p.slice(0, at)] = text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text === "true" ? true : text === "false" ? false : text;
}

const verbose = !!values.verbose;
const log = (line, source) => {
	if (source === "mcsim") console.log(`mcsim: ${line}`);
	else if (source === "server" && (verbose || /^(registered|deregistered|registration of .* expired|refused)/.test(line))) console.log(`server: ${line}`);
	else if (source === "build" && (verbose || /^building /.test(line))) console.log(line); // a failed build says why in its error
};

let job;
let stopping = false;
const stop = async (code) => {
	if (stopping) return;
	stopping = true;
	await job?.stop();
	process.exit(code);
};
process.on("SIGINT", () => (job ? (console.log("\nSIGINT: closing mcsim and the server"), stop(0)) : process.exit(130)));
process.on("SIGTERM", () => (job ? stop(0) : process.exit(143)));

try {
	const started = Date.now();
	job = await startMcsimJob({
		coapPort: port("coap-port", 5683),
		httpPort: port("http-port", 8080),
		endpoint: values.endpoint,
		out: values.out,
		flash: values.flash,
		xvfb: !!values.xvfb,
		config,
		log,
		onExit: (code, signal) => {
			console.log(`mcsim exited (${signal ?? code}): closing the server`);
			stop(code ? 1 : 0);
		},
	});
	console.log(`built in ${job.buildSeconds.toFixed(1)} s; mcsim (pid ${job.mcsim.pid}) on display ${job.display}, endpoint ${job.endpoint}, server coap://127.0.0.1:${job.coapPort}${job.apiUrl ? `, REST ${job.apiUrl}` : ""} (${((Date.now() - started) / 1000).toFixed(0)} s to start). Ctrl-C to stop.`);
} catch (e) {
	console.error(`npm run sim: ${e instanceof SdkError ? e.message : /EADDRINUSE/.test(e.message) ? `${e.message}\n(a port is taken: is npm start or another npm run sim running? choose others with --coap-port, --http-port)` : e.stack ?? e.message}`);
	process.exit(1);
}
