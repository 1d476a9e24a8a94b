// One simulated ESP32: an xsnap worker running the host bundle and the device program,
// its flash (preferences file), its network endpoints, and the reset behaviour of the
// real chip: an uncaught exception, or device code that runs too long for the watchdog,
// restarts the program with flash and the room intact.

import "@endo/init";
import { xsnap } from "@agoric/xsnap";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import os from "node:os";
import fs from "node:fs";
import crypto from "node:crypto";
import tmp from "tmp";
import { pack, unpack } from "./frame.js";
import { buildHost, buildDevice, root } from "./build.js";
import path from "node:path";
import { moddableProgram, loadOrder, HOST_ENTRY } from "./engine/moddable.js";
import { PreferenceFile, FlashFile } from "./storage.js";
import { Link, MAX_RECEIVE, checkAddress } from "./network.js";
import { measureWorker } from "./heap.js";
import { defaultBoard, checkBoard } from "./board-config.js";
import { manifestConfig } from "./manifest.js";
import { CryptHost } from "./crypt-host.js";
import { Random } from "./models/random.js";
import { ReceiveQueue, PeriodicTally, RECEIVE_QUEUE_PACKETS } from "./receive-queue.js";

const BOOT_MS = 300; // an ESP32 takes about this long from reset to running main
const MAX_BOOT_FAILURES = 5; // in a row: the sim stops a boot loop the chip would spin in
const LOG_KEEP = 2000;
const DEVICE_OPTIONS = ["name", "entry", "config", "board", "storage", "address", "seed", "link", "log", "meteringLimit", "engine"];
/** What runs the firmware: xsnap (XS 13, @agoric/xsnap) or moddable (the SDK's XS, built by mcconfig: host-sim/engine/) */
export const ENGINES = Object.freeze(["xsnap", "moddable"]);

let instances = 0;

/**
 * Time spent running JavaScript in the worker during one command, in microseconds.
 * xsnap stamps the command's start, each synchronous call out to Node and its return, and
 * the end: XS ran between [0]-[1], [2]-[3], ... (the gaps are Node's).
 */
// heap an ESP32-WROOM has free for the application once Wi-Fi and lwIP have started
const ESP32_FREE_HEAP = 180 * 1024;

function xsMicros(timestamps) {
	if (!timestamps || timestamps.length < 2) return 0;
	let total = 0;
	for (let i = 0; i + 1 < timestamps.length; i += 2) total += timestamps[i + 1] - timestamps[i];
	return Math.round(total * 1e6);
}

export class SimDevice extends EventEmitter {
	constructor(sim, options = {}) {
		super();
		for (const key of Object.keys(options)) {
			if (!DEVICE_OPTIONS.includes(key)) throw new RangeError(`host-sim: unknown device option "${key}" (known: ${DEVICE_OPTIONS.join(", ")})`);
		}
		this.sim = sim;
		this.clock = sim.clock;
		this.network = sim.network;
		this.name = options.name ?? `thermostat-${++instances}`;
		if (!/^[A-Za-z0-9_.-]{1,64}$/.test(this.name)) throw new RangeError(`host-sim: device name ${JSON.stringify(this.name)} must be 1-64 of A-Z a-z 0-9 _ . -`);
		this.entry = options.entry;
		this.board = checkBoard(options.board ?? defaultBoard());
		// mc/config as an mcconfig build would have it: the manifest's config, with the
		// wiring of this simulated board, then what the caller sets (as on the command line)
		this.config = {
			...manifestConfig(),
			relayPin: this.board.relay.pin,
			relayActiveLow: this.board.relay.activeLow,
			sensorAddress: this.board.sensor.address,
			sda: this.board.i2c[0].data,
			scl: this.board.i2c[0].clock,
			...(options.config ?? {}),
		};
		this.address = options.address ?? "127.0.0.1";
		checkAddress(this.address);
		this.seed = options.seed ?? sim.nextSeed();
		this.link = new Link({ ...(options.link ?? {}), seed: this.seed ^ 0x5bd1e995 });
		const rng = new Random((this.seed ^ 0x2545f491) >>> 0);
		this.crypt = new CryptHost(() => rng.next());
		// The chip's RNG is hardware: a reboot does not replay what it gave before. Each boot
		// seeds the worker's Math.random (and the models' noise) with the next number of one
		// stream per device, so a run stays repeatable for its seed while boots differ.
		this.bootSeeds = new Random((this.seed ^ 0x68e31da4) >>> 0);
		this.preferences = new PreferenceFile(options.storage);
		// otadata and the two app slots, beside the preferences (<storage minus .json>.flash)
		this.flash = new FlashFile(FlashFile.fileFor(options.storage));
		this.flash.log = (text) => this.logHost(text);
		this.poweredOff = false; // powerCut() until powerOn() (not `off`: that is EventEmitter's)
		this.logger = options.log;
		this.meteringLimit = options.meteringLimit;
		this.engine = options.engine ?? (process.env.HOST_SIM_ENGINE || "xsnap");
		if (!ENGINES.includes(this.engine)) throw new RangeError(`host-sim: unknown engine "${this.engine}" (known: ${ENGINES.join(", ")}; option engine or HOST_SIM_ENGINE)`);
		this.log = []; // {at, text} of trace() lines and host messages
		this.resets = [];
		this.now = this.clock.now();
		this.next = undefined;
		this.halted = undefined;
		this.worker = undefined;
		this.sockets = new Map(); // id -> endpoint
		this.socketIds = 0;
		this.bootFailures = 0;
		this.saved = undefined; // room and sensor state carried across resets
		this.baseline = undefined;
		this.meter = undefined;
		this.serial = Promise.resolve();
		this.relay = false;
		this.stats = { commands: 0, xsMicros: 0, datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, receiveQueueFull: 0 };
		this.receiveQueues = new Map(); // socket id -> ReceiveQueue
		// lwIP drops silently; the sim says so, once per period with the count (not per datagram)
		this.queueFullTally = new PeriodicTally(this.clock, (text) => this.logHost(text), (n, ms, last) =>
			`udp: receive queue full: dropped ${n} more datagram${n === 1 ? "" : "s"} in ${ms / 1000} s (last from ${last.address}:${last.port})`);
		/** (op, xsMicros) after each command: benchmarks time what the device does per event */
		this.onCommandTimed = undefined;
	}

	// ---------------------------------------------------------------- lifecycle
	async start() {
		this.now = this.clock.now();
		this.clock.addDevice(this);
		await this.#exclusive(() => this.#boot());
	}

	async #boot() {
		const image = await this.#bootImage();
		if (!image) return;
		const [hostCode, deviceCode, program] = this.engine === "moddable" ? await this.#moddableCode() : [...(await Promise.all([buildHost(), image.code ?? buildDevice(this.entry)])), undefined];
		const config = image.config ? { ...this.config, ...image.config } : this.config;
		let stderr = "";
		this.worker = await xsnap({
			os: os.type(),
			spawn: (bin, args, opts) => {
				// its own process group: a Ctrl-C at the terminal is for the simulation to handle (power fail,
				// de-registration), not a signal that kills every simulated chip at once
				const child = spawn(program ?? bin, args, { ...opts, detached: true, stdio: opts.stdio.map((s, i) => (i === 2 ? "pipe" : s)) });
				child.stderr.on("data", (d) => { stderr += d; });
				return child;
			},
			fs: { ...fs, ...fs.promises, tmpName: tmp.tmpName },
			name: `host-sim-${this.name}`,
			stdout: "ignore",
			stderr: "pipe",
			handleCommand: (message) => this.#handleCommand(message),
			...(this.meteringLimit !== undefined ? { meteringLimit: this.meteringLimit } : {}),
		});
		this.workerStderr = () => stderr;
		await this.worker.evaluate(hostCode);
		await this.#command({
			op: "boot", now: Math.floor(this.now), seed: this.bootSeeds.nextUint32(), board: this.board, config, saved: this.saved,
		});
		await this.#command({ op: "preference.load", store: this.preferences.store });
		if (this.networkAvailable === false) await this.#command({ op: "wifi.available", available: false });
		await this.#collect();
		this.baseline = { slots: this.meter.currentHeapCount, ...(await this.#measure()) };
		this.logHost(this.resets.length ? `boot after reset #${this.resets.length}` : "boot");
		try {
			await this.worker.evaluate(deviceCode.preload);
		} catch (e) {
			return this.#reset(`uncaught exception while loading modules: ${String(e.message).replace(/^Uncaught exception in [^:]*: /, "")}`);
		}
		// On the ESP32 preloaded modules, with what their bodies built, live in flash: the heap
		// main and everything after it allocate is counted from here (runtime*, instrumentation).
		await this.#collect();
		this.loaded = { slots: this.meter.currentHeapCount, ...(await this.#measure()) };
		this.lastChunkBytes = this.loaded.chunkBytes;
		// in real time the wall clock ran on while the worker started: main starts at now, or
		// its first timers would all be late at once (at x600, half a second is five minutes)
		if (!this.clock.virtual) await this.#command({ op: "advance", until: Math.floor(this.clock.now()) });
		try {
			await this.worker.evaluate(deviceCode.main);
		} catch (e) {
			return this.#reset(`uncaught exception while loading main: ${String(e.message).replace(/^Uncaught exception in [^:]*: /, "")}`);
		}
		await this.#command({ op: "started" });
		this.emit("started");
	}

	// The bootloader (host-sim/storage.js FlashFile.boot): the app slot otadata and the image
	// check choose. A slot holding a host-sim app image built by host-sim/fota/image.js runs
	// that program (with the mc/config keys its build set); ota_0 of a fresh device holds the
	// program the simulator was started with (the entry option), as the USB flash put it there.
	async #bootImage() {
		const chosen = this.flash.boot();
		for (const note of chosen.notes) this.logHost(note);
		if (!chosen.slot) {
			this.halted = "halted: no bootable app image in ota_0 or ota_1";
			this.next = undefined;
			this.logHost(this.halted);
			this.emit("halted", this.halted);
			return undefined;
		}
		const { program } = chosen;
		if (program.entry) return { slot: chosen.slot };
		if (this.engine === "moddable") {
			this.logHost(`bootloader: ${chosen.slot} holds a host-sim app image, which the moddable engine cannot run; running the built entry`);
			return { slot: chosen.slot };
		}
		this.logHost(`bootloader: booting ${chosen.slot} (${program.config?.firmwareVersion ?? "app image"}, ${chosen.state})`);
		return { slot: chosen.slot, code: { preload: program.preload, main: program.main }, config: program.config };
	}

	// On the moddable engine the code is in the program's archive already: what is evaluated
	// is the list of modules to import (the host layer; the modules main reaches; main).
	async #moddableCode() {
		const entry = this.entry ?? path.join(root, "device", "main.ts");
		if (!fs.existsSync(entry)) throw new Error(`host-sim: device entry ${entry} does not exist`);
		const built = await moddableProgram({ entry });
		if (!built.cached) this.logHost(`engine: built ${built.program} in ${built.seconds.toFixed(1)} s`);
		const order = loadOrder(entry);
		return [HOST_ENTRY, { preload: order.preload.join("\n"), main: order.main }, built.program];
	}

	// A collection before a heap figure. On the moddable engine the first one after a burst of
	// work leaves some garbage (about 100 slots after 300 requests) that the next command's
	// collection frees: the figure is taken after a second one, so that it does not depend on
	// what ran just before (xsnap: one, as before)
	async #collect() {
		await this.#command({ op: "gc" });
		if (this.engine === "moddable") await this.#command({ op: "gc" });
	}

	// The heap after the "gc" command just run: xsnap's snapshot, or the figures the moddable
	// engine's host sends with every reply (slots and chunk bytes in use, after that collection)
	async #measure() {
		if (this.engine === "moddable") return { slots: this.meter.currentHeapCount, chunkBytes: this.meter.chunkBytes };
		return measureWorker(this.worker);
	}

	/** The chip resets: log and count it, keep flash and the room, boot again. */
	async #reset(reason) {
		const at = this.now;
		this.resets.push({ at, reason });
		this.logHost(`reset #${this.resets.length}: ${reason}`);
		this.emit("reset", reason, at);
		try {
			const reply = await this.#command({ op: "board.save" }, undefined, true);
			this.saved = reply.saved;
		} catch {
			// the worker died (watchdog): the room continues from its last saved state
		}
		await this.#stopWorker();
		if (++this.bootFailures > MAX_BOOT_FAILURES) {
			this.halted = `halted after ${MAX_BOOT_FAILURES} resets in a row without a successful start; last: ${reason}`;
			this.next = undefined;
			this.logHost(this.halted);
			this.emit("halted", this.halted);
			return;
		}
		this.now = Math.max(this.now, this.clock.now()) + BOOT_MS;
		await this.#boot();
	}

	async #powerDown(reason) {
		this.logHost(`power cut: ${reason}`);
		this.emit("powerCut", reason, this.now);
		try {
			const reply = await this.#command({ op: "board.save" }, undefined, true);
			this.saved = reply.saved; // the room goes on; only the chip lost power
		} catch {
			// the worker is gone already
		}
		this.restartRequested = false;
		await this.#stopWorker();
		this.poweredOff = true;
		this.next = undefined;
	}

	/**
	 * The supply goes, now or (afterFlashOps: n) in the middle of the device's (n+1)th flash
	 * erase or program from now, which then happens only in part. The chip stops at once:
	 * nothing it would do after that reaches the network or the flash. powerOn() boots it.
	 */
	async powerCut({ afterFlashOps } = {}) {
		if (afterFlashOps !== undefined) {
			this.flash.cutAfter = afterFlashOps;
			return;
		}
		await this.#exclusive(async () => {
			if (!this.poweredOff) await this.#powerDown("powerCut()");
		});
	}

	/** The supply returns: the bootloader runs and the chip boots. */
	async powerOn() {
		await this.#exclusive(async () => {
			if (!this.poweredOff) return;
			this.poweredOff = false;
			this.halted = undefined;
			this.now = Math.max(this.now, this.clock.now()) + BOOT_MS;
			this.logHost("power on");
			await this.#boot();
		});
	}

	/** Reset on purpose, as the EN button or a watchdog would. */
	async restart(reason = "restart requested") {
		await this.#exclusive(() => this.#reset(reason));
	}

	async #stopWorker() {
		for (const endpoint of this.sockets.values()) this.network.closeForDevice(endpoint);
		this.sockets.clear();
		this.receiveQueues.clear();
		const worker = this.worker;
		this.worker = undefined;
		if (worker) await worker.terminate().catch(() => {});
	}

	async close() {
		clearTimeout(this.wakeTimer);
		this.clock.removeDevice(this);
		await this.#exclusive(() => this.#stopWorker());
	}

	// ---------------------------------------------------------------- time and delivery
	/** Run the device's timers up to `until` (ms of simulated time). */
	advance(until) {
		return this.#exclusive(() => this.#advance(until));
	}

	async #advance(until) {
		if (this.halted || !this.worker) return;
		// a collection after the firmware read its memory use: its next reading is live data
		if (this.gcDue) {
			this.gcDue = false;
			await this.#command({ op: "gc" });
		}
		await this.#command({ op: "advance", until: Math.floor(until), horizon: this.#horizon() });
	}

	// Catch up with every timer due at or before `at`, then run `op` at `at`.
	async #at(at, header, payload) {
		at = Math.max(Math.floor(at), Math.floor(this.now));
		while (!this.halted && this.worker && this.next !== undefined && this.next <= at) await this.#advance(at);
		if (this.halted || !this.worker) return {};
		return this.#command({ ...header, at }, payload);
	}

	#horizon() {
		if (!this.clock.virtual) return undefined;
		const head = this.clock.queue.peek();
		return head ? head.at : undefined;
	}

	/** A datagram for one of the device's sockets arrives from the network. */
	#receive(id, message, rinfo) {
		if (message.length > MAX_RECEIVE) {
			this.link.stats.oversize++;
			this.logHost(`udp: dropped a ${message.length}-byte datagram from ${rinfo.address}:${rinfo.port} (the ESP32 does not reassemble IP fragments)`);
			return;
		}
		const copies = this.link.copies();
		const deliveries = [];
		for (let i = 0; i < copies; i++) {
			const queue = this.receiveQueues.get(id);
			if (!queue) return;
			// lwIP takes it into the socket's queue now, or drops it: nothing waits in Node
			const slot = queue.offer(this.clock.now());
			if (!slot) {
				this.#queueFull(rinfo);
				continue;
			}
			const deliver = () => this.#exclusive(async () => {
				try {
					if (!this.sockets.has(id)) return;
					this.link.stats.received++;
					this.stats.datagramsIn++;
					this.stats.bytesIn += message.length;
					const reply = await this.#at(this.clock.now(), { op: "udp.deliver", id, address: rinfo.address, port: rinfo.port }, message);
					if (reply.accepted === false) this.#queueFull(rinfo);
				} finally {
					queue.done(slot.entry);
				}
			});
			// the application task is still busy with earlier datagrams: it takes this one later
			if (slot.at > this.clock.now()) this.clock.at(slot.at, deliver);
			else deliveries.push(deliver());
		}
		const all = Promise.all(deliveries);
		if (this.clock.virtual) return all; // the clock waits for it before time moves on
		all.catch((e) => this.fail(e));
	}

	#queueFull(rinfo) {
		this.stats.receiveQueueFull++;
		this.queueFullTally.note(rinfo, () => `udp: receive queue full (${RECEIVE_QUEUE_PACKETS} datagrams), dropped a datagram from ${rinfo.address}:${rinfo.port}; counting further drops`);
	}

	// ---------------------------------------------------------------- XS -> Node
	async #handleCommand(message) {
		const { header, payload } = unpack(message);
		if (header.events) for (const event of header.events) this.#event(event);
		let reply = {};
		let replyPayload;
		try {
			reply = (await this.#serve(header, payload)) ?? {};
			if (reply.payload !== undefined) {
				replyPayload = reply.payload;
				delete reply.payload;
			}
		} catch (e) {
			reply = { error: e.message };
		}
		const horizon = this.#horizon();
		if (horizon !== undefined) reply.horizon = horizon;
		return pack(reply, replyPayload);
	}

	async #serve(header, payload) {
		if (this.flash.powerLost) {
			// the power went in the middle of a flash operation: nothing the firmware does
			// until its current callback returns reaches the network or the flash
			if (header.op === "udp.send" || header.op.startsWith("preference.")) return {};
			if (/^(flash|ota)\./.test(header.op)) throw new Error("power lost");
		}
		if (/^(flash|ota)\./.test(header.op)) {
			const reply = this.flash.handle(header, payload);
			if (reply) return reply;
		}
		switch (header.op) {
			case "udp.open": {
				const id = ++this.socketIds;
				try {
					const endpoint = await this.network.openForDevice(this, header.port, (msg, rinfo) => this.#receive(id, msg, rinfo));
					this.sockets.set(id, endpoint);
					this.receiveQueues.set(id, new ReceiveQueue());
					this.logHost(`udp: socket ${id} bound to ${endpoint.address}:${endpoint.port}`);
					return { id, port: endpoint.port };
				} catch (e) {
					this.logHost(`udp: bind to port ${header.port} failed: ${e.message}`);
					return { bindError: e.message };
				}
			}
			case "udp.send": {
				const endpoint = this.sockets.get(header.id);
				if (!endpoint) return { error: "UDP send failed" };
				const data = Buffer.from(payload ?? []);
				this.link.stats.sent++;
				this.stats.datagramsOut++;
				this.stats.bytesOut += data.length;
				this.emit("datagram", { direction: "out", address: header.address, port: header.port, data });
				this.network.sendFromDevice(endpoint, header.address, header.port, data, this.link, header.at);
				return {};
			}
			case "udp.close": {
				const endpoint = this.sockets.get(header.id);
				if (endpoint) this.network.closeForDevice(endpoint);
				this.sockets.delete(header.id);
				this.receiveQueues.delete(header.id);
				return {};
			}
			case "preference.set":
				this.preferences.set(header.domain, header.key, header.stored);
				return {};
			case "net": {
				const mac = [...crypto.createHash("sha256").update(this.name).digest().subarray(0, 6)];
				mac[0] = (mac[0] & 0xfc) | 0x02; // locally administered, unicast
				return {
					IP: this.address,
					MAC: mac.map((b) => b.toString(16).padStart(2, "0")).join(":"),
					SSID: "host-sim",
					BSSID: "02:00:00:00:00:01",
					RSSI: this.board.wifi?.rssi ?? -58,
				};
			}
			case "instrumentation": {
				this.instrumentationRead = true;
				// ESP32 slots are 16 bytes; chunk bytes as last measured (a snapshot cannot run mid-crank)
				// live slots as of the last collection: the count between two includes garbage
				const loaded = this.loaded ?? this.baseline;
				const slotBytes = Math.max(0, (this.liveSlots ?? loaded.slots) - loaded.slots) * 16;
				const chunkBytes = Math.max(0, (this.lastChunkBytes ?? loaded.chunkBytes) - loaded.chunkBytes);
				return {
					"XS Slot Heap Used": slotBytes,
					"XS Chunk Heap Used": chunkBytes,
					"Network Sockets": this.sockets.size,
					"Network Bytes Read": this.stats.bytesIn,
					"Network Bytes Written": this.stats.bytesOut,
					"System Free Memory": Math.max(0, ESP32_FREE_HEAP - slotBytes - chunkBytes),
				};
			}
			case "preference.delete":
				this.preferences.delete(header.domain, header.key);
				return {};
			default: {
				const crypt = this.crypt.handle(header, payload);
				if (crypt) return crypt;
				throw new Error(`host-sim: device asked for unknown host operation "${header.op}"`);
			}
		}
	}

	// ---------------------------------------------------------------- Node -> XS
	async #command(header, payload, quiet = false) {
		if (!this.worker) throw new Error(`host-sim: device ${this.name} is not running`);
		let result;
		try {
			result = await this.worker.issueCommand(pack(header, payload));
		} catch (e) {
			if (quiet) throw e;
			// the worker is gone: xsnap's metering stopped code that ran too long
			const why = /too much computation|exited/i.test(e.message) ? "watchdog: device code ran too long without returning" : `worker failed: ${e.message}`;
			await this.#reset(why);
			return {};
		}
		this.stats.commands++;
		this.meter = result.meterUsage;
		// the moddable engine's host reports the chunk heap in use with every reply: live figures
		if (this.meter.chunkBytes !== undefined) this.lastChunkBytes = this.meter.chunkBytes;
		if (header.op === "gc") this.liveSlots = this.meter.currentHeapCount;
		// a firmware that reads its memory gets live figures: a collection soon after it asked
		else if (this.instrumentationRead && this.stats.commands % 64 === 0 && !quiet) {
			this.instrumentationRead = false;
			this.gcDue = true;
		}
		const micros = xsMicros(result.meterUsage.timestamps);
		this.stats.xsMicros += micros;
		this.onCommandTimed?.(header.op, micros);
		const reply = unpack(result.reply).header;
		if (reply.now !== undefined) this.now = reply.now;
		this.next = reply.next;
		if (reply.events) for (const event of reply.events) this.#event(event);
		if (!this.clock.virtual) this.clock.wake(this);
		if (this.flash.powerLost && !quiet) {
			await this.#powerDown("power cut during a flash operation");
			return {};
		}
		if (this.restartRequested && !quiet) {
			this.restartRequested = false;
			await this.#reset("restart() called by the firmware");
			return {};
		}
		if (reply.fatal && !quiet) {
			await this.#reset(`uncaught exception: ${reply.fatal.message}`);
			return {};
		}
		if (reply.error) throw new Error(reply.error);
		if (header.op === "advance" && this.bootFailures && this.now - this.resets.at(-1).at > 10_000) this.bootFailures = 0;
		return reply;
	}

	#event(event) {
		switch (event.ev) {
			case "restart":
				this.restartRequested = true;
				break;
			case "trace": {
				// trace() adds no newline; a line ends where the device put one
				const text = String(event.text);
				this.pending = (this.pending ?? "") + text;
				let nl;
				while ((nl = this.pending.indexOf("\n")) >= 0) {
					this.#logLine(event.at, this.pending.slice(0, nl), "device");
					this.pending = this.pending.slice(nl + 1);
				}
				break;
			}
			case "relay":
				this.relay = event.on;
				this.emit("relay", event.on, event.at);
				break;
			default:
				this.emit(event.ev, event);
		}
	}

	#logLine(at, text, source) {
		const line = { at, text, source };
		this.log.push(line);
		if (this.log.length > LOG_KEEP) this.log.splice(0, this.log.length - LOG_KEEP);
		this.emit("log", line);
		this.logger?.(line, this);
	}

	logHost(text) {
		this.#logLine(this.now, text, "host");
	}

	fail(error) {
		this.logHost(`host error: ${error.stack ?? error}`);
		this.emit("error", error);
	}

	#exclusive(fn) {
		const run = this.serial.then(fn);
		this.serial = run.catch(() => {});
		return run;
	}

	// ---------------------------------------------------------------- inspection and faults
	/** Room, sensor and pin state at the device's current time. */
	async state() {
		return this.#exclusive(async () => {
			if (!this.worker) return undefined;
			const reply = await this.#at(this.clock.now(), { op: "board.state" });
			return reply.state;
		});
	}

	/** kind: "absent" | "stuck" | "range" | "noise" | "none" */
	async sensorFault(kind, value) {
		return this.#exclusive(() => this.#at(this.clock.now(), { op: "sensor.fault", kind, value }));
	}

	/** outside: °C or {mean, amplitude, coldestHour}; temperature: set the room now */
	async setRoom({ outside, temperature } = {}) {
		return this.#exclusive(() => this.#at(this.clock.now(), { op: "room.set", outside, temperature }));
	}

	/** Whether the Wi-Fi access point is there: off drops the station (and its IP) until it returns. */
	async setNetwork(available) {
		this.networkAvailable = !!available;
		return this.#exclusive(() => this.#at(this.clock.now(), { op: "wifi.available", available: !!available }));
	}

	async setInput(pin, level) {
		return this.#exclusive(() => this.#at(this.clock.now(), { op: "pin.input", pin, level }));
	}

	/**
	 * The XS heap in use after a garbage collection: slots and chunk bytes, in total and
	 * as the device's share (total less what the host layer had before main loaded).
	 */
	async heap() {
		return this.#exclusive(async () => {
			await this.#collect();
			const slotsAfterGc = this.meter.currentHeapCount;
			const measured = await this.#measure();
			this.lastChunkBytes = measured.chunkBytes;
			return {
				slots: measured.slots,
				chunkBytes: measured.chunkBytes,
				currentHeapCount: slotsAfterGc,
				deviceSlots: measured.slots - this.baseline.slots,
				deviceChunkBytes: measured.chunkBytes - this.baseline.chunkBytes,
				// above the state right after the program loaded: what the ESP32, which keeps
				// preloaded modules in flash, would hold in RAM (approximately: main's own
				// top-level objects count as loaded)
				runtimeSlots: measured.slots - (this.loaded ?? this.baseline).slots,
				runtimeChunkBytes: measured.chunkBytes - (this.loaded ?? this.baseline).chunkBytes,
				allocate: this.meter.allocate,
			};
		});
	}

	/** Ports the device's UDP sockets are bound to, in the order they were opened. */
	udpPorts() {
		return [...this.sockets.values()].map((e) => e.port);
	}

	/** Lines the device traced (without the host's own notes). */
	traces() {
		return this.log.filter((l) => l.source === "device").map((l) => l.text);
	}
}
