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

// The figures that depend on the engine (host-sim/device.js `engine`): with MODDABLE set,
// measured on both, side by side as <name>_moddable and <name>_xsnap; the plain <name> is the
// default engine's (HOST_SIM_ENGINE, else xsnap), as without the SDK
const DEFAULT_ENGINE = process.env.HOST_SIM_ENGINE || "xsnap";
const ENGINES = process.env.MODDABLE ? ["moddable", "xsnap"] : [DEFAULT_ENGINE];
function recordFor(engine) {
	return (name, value, note) => {
		if (engine === DEFAULT_ENGINE) record(name, value, note);
		if (ENGINES.length > 1) record(`${name}_${engine}`, value, `${note} (${engine} engine)`);
	};
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
	record("xs_heap_slots_device_start_runtime", heap.runtimeSlots, "slots main and everything after it allocated (the ESP32's RAM: preloaded modules live in flash)");
	record("xs_chunk_bytes_device_start_runtime", heap.runtimeChunkBytes, "chunk bytes allocated since the modules loaded");
	await sim.close();
}

// ---- one Node -> XS -> Node round trip (an empty command and its reply)
for (const engine of ENGINES) {
	const record = recordFor(engine);
	const sim = new Simulation({ seed: 2 });
	const dev = await sim.addDevice({ engine });
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
for (const engine of ENGINES) {
	const record = recordFor(engine);
	const sim = new Simulation({ seed: 3 });
	await sim.addDevice({ engine, entry: path.join(here, "..", "fixtures", "sampler.ts") });
	const span = 24 * 3600_000;
	const t0 = performance.now();
	await sim.run(span);
	const wall = performance.now() - t0;
	record("virtual_time_rate", Math.round(span / wall), "simulated seconds per wall second, 24 h of a 1 Hz sampling loop");
	record("virtual_day_wall_ms", Math.round(wall), "wall time for 24 simulated hours of the 1 Hz loop");
	await sim.close();
}

// ---- CoAP: bytes of a GET and its piggybacked 2.05, and XS time per request
for (const engine of ENGINES) {
	const record = recordFor(engine);
	const { default: packet } = await import("coap-packet");
	const sim = new Simulation({ seed: 4 });
	const dev = await sim.addDevice({ engine, entry: path.join(here, "..", "fixtures", "coap-resources.ts"), config: { port: 5683 } });
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
	await sim.run(200); // the last answer may still be on its way
	dev.onCommandTimed = undefined;
	// (the moddable engine loses one of the 1,200 here: not understood yet, issue 12)
	if (answers.length < 1201 - (engine === "xsnap" ? 0 : 5)) throw new Error(`bench: ${answers.length - 1} of 1200 requests answered (${engine ?? DEFAULT_ENGINE} engine)`);
	record("coap_request_median_us", Math.round(median(samples.slice(200)) * 10) / 10, `median XS time to take a datagram, parse, handle and encode the 2.05 (${samples.length - 200} requests after 200 of warm-up; ${answers.length - 1} of 1200 answered)`);
	await sim.close();
}

// ---- LwM2M wire sizes of the product: the thermostat firmware (device/main.ts) as shipped
{
	const { RawServer, options } = await import("../helpers/raw-lwm2m.js");
	const sim = new Simulation({ seed: 5 });
	const server = new RawServer(sim);
	await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", lifetime: 120 } });
	await sim.run(10_000);
	const [register] = server.registrations();
	if (!register) throw new Error("bench: the thermostat did not register");
	const links = register.p.payload.toString().split(",");
	const objects = [...new Set(links.map((l) => /^<\/(\d+)/.exec(l)?.[1]).filter(Boolean))].join(", ");
	record("register_bytes", register.bytes.length, `UDP payload bytes of the thermostat's Register (${register.p.payload.length} of them link-format, ${links.length} links: objects ${objects})`);
	await sim.run(120_000);
	const update = server.registrations().find((r) => options(r.p, "Uri-Path").length === 2);
	record("update_bytes", update.bytes.length, "UDP payload bytes of the thermostat's periodic Update (no parameters, no links)");
	const read = await server.request("GET", "/3303/0/5700");
	record("read_temperature_response_bytes", read.bytes.length, `UDP payload bytes of the thermostat's 2.05 answering a Read of /3303/0/5700 (text/plain "${read.text}")`);
	const token = Buffer.from("o1");
	await server.request("PUT", "/3303/0/5700", { query: ["pmax=10"] });
	await server.request("GET", "/3303/0/5700", { observe: 0, token });
	await sim.run(11_000);
	const notify = server.notifications(token).at(-1);
	record("notify_bytes", notify.bytes.length, "UDP payload bytes of one NON notification of the thermostat's /3303/0/5700 (text/plain)");
	await sim.close();
}

// ---- the LwM2M client alone (test/fixtures/lwm2m-client.ts): heap when registered and observed, XS time of a Read and a Write
for (const engine of ENGINES) {
	const record = recordFor(engine);
	const { RawServer } = await import("../helpers/raw-lwm2m.js");
	const sim = new Simulation({ seed: 5 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ engine, entry: path.join(here, "..", "fixtures", "lwm2m-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", lifetime: 120 } });
	await sim.run(120_500);
	// three observations: the temperature, the set point, and the Device instance
	const tokens = [Buffer.from("o1"), Buffer.from("o2"), Buffer.from("o3")];
	await server.request("PUT", "/3303/0/5700", { query: ["pmax=10"] });
	await server.request("GET", "/3303/0/5700", { observe: 0, token: tokens[0] });
	await server.request("GET", "/3308/0/5900", { observe: 0, token: tokens[1] });
	await server.request("GET", "/3/0", { observe: 0, token: tokens[2] });
	await sim.run(11_000);
	const heap = await dev.heap();
	record("xs_heap_slots_registered", heap.deviceSlots, "the firmware's XS slots registered with 3 observations, after GC (module code and tables included: the ESP32 keeps preloaded ones in flash)");
	record("xs_chunk_bytes_registered", heap.deviceChunkBytes, "the firmware's XS chunk bytes, same state (bytecode included)");
	record("xs_heap_slots_registered_runtime", heap.runtimeSlots, "slots allocated since the program loaded (RAM on an ESP32 with preloaded modules), same state");
	record("xs_chunk_bytes_registered_runtime", heap.runtimeChunkBytes, "chunk bytes allocated since the program loaded, same state");
	const time = async (op, n) => {
		const samples = [];
		dev.onCommandTimed = (o, micros) => {
			if (o === "udp.deliver") samples.push(micros);
		};
		for (let i = 0; i < n; i++) await op(i);
		dev.onCommandTimed = undefined;
		return Math.round(median(samples.slice(100)) * 10) / 10;
	};
	record("read_median_us", await time(() => server.request("GET", "/3303/0/5700"), 1100), "median XS time of a Read of /3303/0/5700: datagram in, CoAP, LwM2M, text encoding, datagram out (1,000 reads)");
	record("write_median_us", await time((i) => server.request("PUT", "/3308/0/5900", { contentFormat: 0, payload: String(20 + (i % 10) / 2) }), 1100), "median XS time of a Write of /3308/0/5900 in text/plain (1,000 writes)");
	await sim.close();
}

// ---- DTLS: a handshake with the local DTLS server (cookie exchange included), in virtual time
for (const engine of ENGINES) {
	const record = recordFor(engine);
	const { default: packet } = await import("coap-packet");
	const { DtlsServer } = await import("../../host-sim/dtls/index.js");
	const sim = new Simulation({ seed: 6 });
	const key = "00112233445566778899aabbccddeeff";
	const dtls = new DtlsServer({ socket: sim.network.createSocket(), clock: sim.clock, psk: (id) => (id === "bench" ? Buffer.from(key, "hex") : undefined) });
	await new Promise((r) => dtls.socket.bind(5684, "127.0.0.1", r));
	const plaintext = [];
	dtls.socket.on("message", (msg, rinfo) => {
		const p = packet.parse(msg);
		plaintext.push(msg.length);
		dtls.socket.send(packet.generate({ messageId: p.messageId, token: p.token, ack: true, code: "2.05", options: [], payload: Buffer.from("21.50") }), rinfo.port, rinfo.address);
	});
	const dev = await sim.addDevice({ engine, entry: path.join(here, "..", "fixtures", "dtls-client.ts"), config: { mode: "coap", identity: "bench", key, address: "127.0.0.1", port: 5684, path: "temp" } });
	let xs = 0, counting = true;
	const handshake = { datagrams: 0, bytes: 0 };
	const sizes = [];
	dev.onCommandTimed = (op, micros) => { if (counting) xs += micros; };
	dev.on("datagram", (d) => sizes.push(d.data.length));
	while (!dev.traces().some((l) => l.startsWith("established"))) await sim.run(5);
	counting = false;
	// as the firmware counted them: every datagram of both directions until the session was up
	[handshake.datagrams, handshake.bytes] = dev.traces().find((l) => l.startsWith("handshake ")).split(" ").slice(1).map(Number);
	await sim.run(1000);
	record("dtls_handshake_datagrams", handshake.datagrams, "UDP datagrams both ways for a DTLS 1.2 PSK handshake with TLS_PSK_WITH_AES_128_CCM_8, HelloVerifyRequest cookie included");
	record("dtls_handshake_bytes", handshake.bytes, "UDP payload bytes of those datagrams");
	record("dtls_handshake_ms", Math.round(xs / 100) / 10, "XS time the firmware spent on the handshake (PRF, AES-CCM and records on host-sim's crypt modules; the ESP32's are native too)");
	const appDatagram = sizes.at(-1);
	record("dtls_record_overhead_bytes", appDatagram - plaintext[0], `bytes a CCM-8 record adds to a CoAP datagram (${plaintext[0]} -> ${appDatagram})`);
	const heap = await dev.heap();
	record("xs_heap_slots_dtls", heap.runtimeSlots, "slots the firmware holds with an open DTLS session and its CoAP endpoint (above the preloaded modules), after GC");
	record("xs_chunk_bytes_dtls", heap.runtimeChunkBytes, "chunk bytes, same state");
	dev.onCommandTimed = undefined;
	await sim.close();
}

// ---- firmware update (object 5): the thermostat firmware updated to a built 1.0.1 package by
// the local LwM2M server's job (server.updateFirmware, as `npm run lwm2m -- update` does), push
// then pull, over a loss-free simulated link with 2 ms latency each way
{
	const { Lwm2mServer } = await import("../../host-sim/lwm2m-server/index.js");
	const { buildPackage } = await import("../../host-sim/fota/image.js");
	const { default: packet } = await import("coap-packet");
	const pkg = await buildPackage({ version: "1.0.1" });
	const blocks = Math.ceil(pkg.length / 1024);
	record("fota_package_bytes", pkg.length, `the host-sim LTFW package of device/main.ts as 1.0.1 (160-byte header + app image), ${blocks} blocks of 1 KB`);
	const heapPeaks = {};
	for (const mode of ["push", "pull"]) {
		const sim = new Simulation({ seed: 21, latencyMs: 2 });
		// the server's socket, counted: every datagram between it and the device, both ways
		const socket = sim.network.createSocket();
		const wire = [];
		const send = socket.send.bind(socket);
		socket.send = (msg, ...args) => {
			const split = typeof args[2] === "number" || (args.length >= 4 && typeof args[1] === "number" && typeof args[3] === "string");
			wire.push({ at: sim.clock.now(), out: true, data: Buffer.from(split ? msg.subarray(args[0], args[0] + args[1]) : msg) });
			return send(msg, ...args);
		};
		socket.on("message", (msg) => wire.push({ at: sim.clock.now(), out: false, data: Buffer.from(msg) }));
		const server = new Lwm2mServer({ coapPort: 5683, httpPort: null, socket, clock: sim.clock, requestTimeout: 30 });
		await server.start();
		const registered = [];
		server.on("registered", (r) => registered.push(sim.clock.now()));
		const dev = await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: "bench-fota", lifetime: 600 } });
		for (let i = 0; i < 240 && !registered.length; i++) await sim.run(250);
		if (!registered.length) throw new Error("bench: the thermostat did not register");
		await sim.run(5_000);
		const idle = await dev.heap();
		let updating, final, sent = 0, peak = { bytes: 0 };
		server.on("firmware", (e) => {
			sent = e.sent;
			if (e.phase === "updating" && updating === undefined) updating = sim.clock.now();
		});
		const { done } = server.updateFirmware("bench-fota", pkg, { mode });
		done.then((j) => (final = j), (e) => (final = { message: e.message }));
		// the XS heap above idle, after a GC, at each tenth of the download
		for (let next = 0.1, t0 = sim.now; !final && sim.now - t0 < 1_800_000; ) {
			await sim.run(50);
			if (updating === undefined && sent >= next * pkg.length && sent < pkg.length) {
				next += 0.1;
				const h = await dev.heap();
				const bytes = (h.slots - idle.slots) * 16 + (h.chunkBytes - idle.chunkBytes);
				if (bytes > peak.bytes) peak = { bytes, slots: h.slots - idle.slots, chunkBytes: h.chunkBytes - idle.chunkBytes, at: Math.round((sent * 100) / pkg.length) };
			}
		}
		if (!final?.success || final.firmwareVersion !== "1.0.1") throw new Error(`bench: the ${mode} did not end with 1.0.1 running: ${final?.message}`);
		// from the first block (push: the server's first Block1 PUT; pull: the device's first GET of /fw/...) to the Register of the new image
		const isBlock = (w) => {
			try {
				const p = packet.parse(w.data);
				const first = p.options.find((o) => o.name === "Uri-Path")?.value.toString();
				return mode === "push" ? w.out && p.code === "0.03" && first === "5" : !w.out && p.code === "0.01" && first === "fw";
			} catch {
				return false;
			}
		};
		const start = wire.find(isBlock).at;
		const end = registered.find((at) => at > updating);
		const bytes = wire.filter((w) => w.at >= start && w.at <= end).reduce((n, w) => n + w.data.length, 0);
		record(`fota_${mode}_seconds_300k`, Math.round((end - start) / 100) / 10, `simulated seconds of a ${mode} of the ${pkg.length}-byte package by the local server's job, from the first block to the new image's Register (download, Execute Update, reboot); final: "${final.message}"`);
		record(`fota_${mode === "push" ? "" : "pull_"}bytes_on_wire_300k`, bytes, `UDP payload bytes both ways between the server's socket and the device in that span (${mode}; the package is ${pkg.length})`);
		heapPeaks[mode] = peak;
		await server.stop();
		await sim.close();
	}
	const worst = heapPeaks.push.bytes >= heapPeaks.pull.bytes ? "push" : "pull";
	const describe = (m) => `${m} ${heapPeaks[m].slots} slots + ${heapPeaks[m].chunkBytes} chunk bytes (at ${heapPeaks[m].at} %)`;
	record("fota_ram_peak_bytes", heapPeaks[worst].bytes, `most XS heap above idle during a download, slots x 16 (the ESP32's slot size) + chunk bytes, after GC, sampled at every tenth: ${describe("push")}, ${describe("pull")}`);
}

// ---- the real toolchain (MODDABLE set): mcconfig for esp32/nodemcu up to xsl's link of the preloaded program
if (process.env.MODDABLE) {
	const os = await import("node:os");
	const { locateSdk } = await import("../../host-sim/moddable/sdk.js");
	const { buildEsp32 } = await import("../../host-sim/moddable/build-esp32.js");
	const { readLinkedProgram } = await import("../../host-sim/moddable/xs-link.js");
	const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-esp32-"));
	try {
		const build = buildEsp32(locateSdk(), { outDir, stdio: "pipe" });
		const ok = build.status === 0 && fs.existsSync(build.linked);
		record("mcconfig_esp32_xs_link_ok", ok ? 1 : 0, "1 when mcconfig -p esp32/nodemcu manifests/esp32.json went through tsc, xsc and xsl's link of the preloaded program (no ESP-IDF)");
		if (ok) record("esp32_xs_archive_bytes", readLinkedProgram(build.linked).romBytes, "read-only bytes of the linked XS program (mc.xs.c) at the ESP32's sizes: slots x 16, key pointers x 4, byte code, strings");
	} finally {
		fs.rmSync(outDir, { recursive: true, force: true });
	}
}

// ---- Moddable's simulator (MODDABLE set): a clean build of manifests/sim.json for mcsim (mc.so), as npm run sim makes it
if (process.env.MODDABLE) {
	const os = await import("node:os");
	const { buildSim } = await import("../../host-sim/mcsim/build.js");
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-mcsim-"));
	try {
		const built = await buildSim({ out: path.join(work, "build"), flash: path.join(work, "flash") });
		record("mcsim_build_s", Math.round(built.seconds * 10) / 10, "wall seconds of a clean mcconfig -p lin manifests/sim.json + make build (tsc, xsc, xsl, cc of mc.so for mcsim), on this machine");
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
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
