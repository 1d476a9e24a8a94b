#!/usr/bin/env node
// Benchmarks of the firmware on XS through host-sim. Prints a table, or with --json one
// JSON object of named figures (names are stable; the unit is in the name). The report
// is also written to test/bench/report.json.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Simulation } from "../../host-sim/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const json = process.argv.includes("--json");
const figures = {};
const notes = {};

function record(name, value, note) {
	figures[name] = value;
	notes[name] = note;
}

function median(values) {
	const s = [...values].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)];
}

// ---- heap after start: the thermostat firmware, one minute after boot, after a GC
{
	const sim = new Simulation({ seed: 1 });
	const dev = await sim.addDevice({});
	await sim.run(60_000);
	const heap = await dev.heap();
	record("xs_heap_slots_start", heap.slots, "live XS slots in the worker after start (host layer + firmware), after GC");
	record("xs_chunk_bytes_start", heap.chunkBytes, "live XS chunk bytes in the worker after start, after GC");
	record("xs_heap_slots_device_start", heap.deviceSlots, "the firmware's share: slots above the host layer's baseline");
	record("xs_chunk_bytes_device_start", heap.deviceChunkBytes, "the firmware's share of chunk bytes (includes its bytecode, which the ESP32 keeps in flash)");
	await sim.close();
}

// ---- one Node -> XS -> Node round trip (an empty command and its reply)
{
	const sim = new Simulation({ seed: 2 });
	const dev = await sim.addDevice({});
	const worker = dev.worker;
	const { pack } = await import("../../host-sim/frame.js");
	const ping = pack({ op: "ping" });
	const samples = [];
	for (let i = 0; i < 3000; i++) {
		const t0 = process.hrtime.bigint();
		await worker.issueCommand(ping);
		samples.push(Number(process.hrtime.bigint() - t0) / 1000);
	}
	record("xs_roundtrip_us", Math.round(median(samples.slice(500)) * 10) / 10, "median of 2,500 round trips Node -> XS -> Node");
	await sim.close();
}

// ---- virtual time: a 1 Hz sampling loop (the TMP117 driver over the simulated I2C bus)
{
	const sim = new Simulation({ seed: 3 });
	await sim.addDevice({ entry: path.join(here, "..", "fixtures", "sampler.ts") });
	const span = 24 * 3600_000;
	const t0 = performance.now();
	await sim.run(span);
	const wall = performance.now() - t0;
	record("virtual_time_rate", Math.round(span / wall), "simulated seconds per wall second, 24 h of a 1 Hz sampling loop");
	record("virtual_day_wall_ms", Math.round(wall), "wall time for 24 simulated hours of the 1 Hz loop");
	await sim.close();
}

// ---- CoAP: bytes of a GET and its piggybacked 2.05, and XS time per request
{
	const { default: packet } = await import("coap-packet");
	const sim = new Simulation({ seed: 4 });
	const dev = await sim.addDevice({ entry: path.join(here, "..", "fixtures", "coap-resources.ts"), config: { port: 5683 } });
	const socket = sim.network.createSocket();
	socket.bind(40000, "127.0.0.2");
	const answers = [];
	socket.on("message", (msg) => answers.push(msg));
	const get = (mid) => packet.generate({ messageId: mid, token: Buffer.from([0x5a, 0x17, 0x03, mid & 0xff]), code: "GET", confirmable: true, options: [{ name: "Uri-Path", value: Buffer.from("temp") }] });
	const first = get(1);
	socket.send(first, 5683, "127.0.0.1");
	await sim.run(50);
	record("coap_get_exchange_bytes", first.length + answers[0].length, `UDP payload bytes of a CON GET /temp (4-byte token) and its piggybacked 2.05 "21.50": ${first.length} + ${answers[0].length}`);
	const samples = [];
	dev.onCommandTimed = (op, micros) => {
		if (op === "udp.deliver") samples.push(micros);
	};
	for (let i = 0; i < 1200; i++) {
		socket.send(get(2 + i), 5683, "127.0.0.1");
		await sim.run(20);
	}
	dev.onCommandTimed = undefined;
	if (answers.length !== 1201) throw new Error(`bench: ${answers.length - 1} of 1200 requests answered`);
	record("coap_request_median_us", Math.round(median(samples.slice(200)) * 10) / 10, `median XS time to take a datagram, parse, handle and encode the 2.05 (${samples.length - 200} requests after 200 of warm-up)`);
	await sim.close();
}

const report = { date: new Date().toISOString(), node: process.version, cpus: (await import("node:os")).cpus().length, figures, notes };
fs.writeFileSync(path.join(here, "report.json"), JSON.stringify(report, null, 2) + "\n");
if (json) {
	process.stdout.write(JSON.stringify(figures) + "\n");
} else {
	const width = Math.max(...Object.keys(figures).map((k) => k.length));
	console.log(`${"figure".padEnd(width)}  ${"value".padStart(10)}  note`);
	for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(width)}  ${String(value).padStart(10)}  ${notes[name]}`);
	console.log(`\nreport: ${path.relative(process.cwd(), path.join(here, "report.json"))}`);
}
