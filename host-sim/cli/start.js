#!/usr/bin/env node
// npm start: the simulated thermostat on XS, its room, and a plain-line console.
//   npm start                       real time x60 (a simulated minute per second), until Ctrl-C
//   npm start -- --speed 1          real time
//   npm start -- --hours 24         24 simulated hours in virtual time, then a summary
//   npm start -- --devices 3        a small fleet, each in its own room
import { parseArgs } from "node:util";
import path from "node:path";
import { Simulation } from "../index.js";
import { root } from "../build.js";

const usage = `usage: npm start -- [--speed N] [--hours H] [--devices N] [--flash DIR] [--outside C] [--every MIN] [--seed N] [--verbose]
  --speed N     real-time factor (default 60); ignored with --hours
  --hours H     run H simulated hours in virtual time as fast as possible, then exit
  --devices N   number of simulated thermostats (default 1)
  --flash DIR   where each device keeps its preferences (default .host-sim/)
  --outside C   mean outside temperature in °C (default 5; varies ±5 over the day)
  --every MIN   print a status line every MIN simulated minutes (default 5)
  --seed N      make the run repeatable
  --verbose     also print the host's own log lines`;

let args;
try {
	args = parseArgs({
		options: {
			speed: { type: "string" }, hours: { type: "string" }, devices: { type: "string" }, flash: { type: "string" },
			outside: { type: "string" }, every: { type: "string" }, seed: { type: "string" }, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" },
		},
	}).values;
} catch (e) {
	console.error(`${e.message}\n${usage}`);
	process.exit(2);
}
if (args.help) {
	console.log(usage);
	process.exit(0);
}
function number(name, fallback, check) {
	if (args[name] === undefined) return fallback;
	const n = Number(args[name]);
	if (!Number.isFinite(n) || !check(n)) {
		console.error(`--${name} ${args[name]}: not a valid value\n${usage}`);
		process.exit(2);
	}
	return n;
}
const speed = number("speed", 60, (n) => n > 0);
const hours = number("hours", undefined, (n) => n > 0);
const count = number("devices", 1, (n) => Number.isInteger(n) && n >= 1 && n <= 50);
const outside = number("outside", 5, () => true);
const every = number("every", 5, (n) => n > 0) * 60_000;
const seed = number("seed", undefined, Number.isInteger);
const flash = path.resolve(args.flash ?? path.join(root, ".host-sim"));

const sim = hours
	? new Simulation({ clock: "virtual", seed })
	: new Simulation({ clock: "real", speed, seed, network: "simulated" });

const time = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
const devices = [];
for (let i = 1; i <= count; i++) {
	const name = count === 1 ? "thermostat" : `thermostat-${i}`;
	const device = await sim.addDevice({
		name,
		storage: path.join(flash, `${name}.json`),
		board: { room: { outside: { mean: outside, amplitude: 5, coldestHour: 4 }, temperature: outside + 10 } },
		log: (line, dev) => {
			if (line.source === "device" || args.verbose || /reset|halted/.test(line.text)) console.log(`${time(line.at)} ${dev.name}: ${line.text}`);
		},
	});
	device.on("relay", (on, at) => console.log(`${time(at)} ${device.name}: relay ${on ? "ON" : "off"}`));
	devices.push(device);
}
console.log(`${count} simulated thermostat${count > 1 ? "s" : ""} on XS, ${hours ? `virtual time, ${hours} h` : `real time x${speed}`}; flash in ${path.relative(process.cwd(), flash) || "."}; Ctrl-C to stop`);

async function status() {
	for (const d of devices) {
		const s = await d.state();
		if (!s) continue;
		console.log(`${time(sim.now)} ${d.name}: room ${s.room.temperature.toFixed(2)} °C, outside ${s.room.outside.toFixed(1)} °C, heater ${s.room.heater ? "ON" : "off"}, on-time ${(s.room.heaterOnMs / 3600_000).toFixed(2)} h${d.resets.length ? `, resets ${d.resets.length}` : ""}`);
	}
}

let stopping = false;
async function stop(code = 0) {
	if (stopping) return;
	stopping = true;
	await sim.close();
	process.exit(code);
}
process.on("SIGINT", () => { console.log("\nstopping"); stop(0); });
process.on("SIGTERM", () => stop(0));

if (hours) {
	for (let t = 0; t < hours * 3600_000; t += every) {
		await sim.run(Math.min(every, hours * 3600_000 - t));
		await status();
	}
	await stop(0);
} else {
	await status();
	setInterval(() => status().catch((e) => console.error(e)), every / speed);
}
