// Firmware update (LwM2M object 5) driven from the server: push a package to a client
// (a Write of /5/0/0, sent with Block1), or let it pull one (the server serves the
// package itself over CoAP with Block2 at /fw/<name> and writes that URI into /5/0/1);
// then execute Update (/5/0/2) once the client says Downloaded, follow its reboot, and
// report the outcome from State (/5/0/3) and Update Result (/5/0/5), which are observed.
//
// Every step is a "firmware" event of the server (FIRMWARE on the REST event stream):
//   {ep, id, mode, phase, sent, total, state, result, stateText, resultText, message, final, success, ...}
// phase: started, downloading (sent/total bytes), downloaded, updating, rebooted, done,
// failed, cancelled. The last event of a job has final: true.
//
// The package is this project's LTFW format (see parsePackage); the server reads its
// header to say what it sends and refuses what is not a package at all, but leaves the
// integrity checks (payload length, SHA-256, target) to the device, whose refusal is
// the thing to see (Update Result 5 or 6).
import { createHash, randomBytes } from "node:crypto";

export const STATES = ["Idle", "Downloading", "Downloaded", "Updating"];
// OMA registry 5.xml (object version 1.2), Update Result
export const RESULTS = [
	"initial value",
	"firmware updated successfully",
	"not enough flash memory for the new firmware package",
	"out of RAM during downloading process",
	"connection lost during downloading process",
	"integrity check failure for new downloaded package",
	"unsupported package type",
	"invalid URI",
	"firmware update failed",
	"unsupported protocol",
	"firmware update cancelled",
	"firmware update deferred",
];

export const HEADER_LENGTH = 160;
const MAGIC = "LTFW";

export class PackageError extends Error {
	constructor(message) {
		super(message);
		this.status = 400;
	}
}

const asciiz = (buf) => {
	const end = buf.indexOf(0);
	return buf.subarray(0, end < 0 ? buf.length : end).toString("latin1");
};

/**
 * The LTFW header of a package: {format, headerLength, target, version, payloadLength,
 * sha256 (hex), signatureAlgorithm, signatureLength, payloadOk, hashOk}.
 * Throws PackageError when the bytes are not an LTFW package.
 */
export function parsePackage(bytes) {
	const b = Buffer.from(bytes);
	if (b.length < HEADER_LENGTH || b.toString("latin1", 0, 4) !== MAGIC) {
		throw new PackageError(`not a firmware package: it does not start with the ${HEADER_LENGTH}-byte "${MAGIC}" header (npm run build:image makes one)`);
	}
	const format = b.readUInt16LE(4);
	const headerLength = b.readUInt16LE(6);
	if (headerLength < HEADER_LENGTH || headerLength > b.length) throw new PackageError(`firmware package: header length ${headerLength} is not ${HEADER_LENGTH}..${b.length}`);
	const payload = b.subarray(headerLength);
	const info = {
		format,
		headerLength,
		target: asciiz(b.subarray(8, 24)),
		version: asciiz(b.subarray(24, 40)),
		payloadLength: b.readUInt32LE(40),
		sha256: b.subarray(44, 76).toString("hex"),
		signatureAlgorithm: b.readUInt16LE(76),
		signatureLength: b.readUInt16LE(78),
		size: b.length,
	};
	info.payloadOk = info.payloadLength === payload.length;
	info.hashOk = info.payloadOk && createHash("sha256").update(payload).digest("hex") === info.sha256;
	return info;
}

const DEFAULT_STEP_TIMEOUT_S = 60; // no answer, no block asked for, no state change: given up
const DEFAULT_UPDATE_TIMEOUT_S = 900; // Execute Update to the outcome (reboot, confirm or roll back: firmwareConfirmTimeout 600 s)
const KEEP_JOBS = 20;
const STATE_SETTLE_MS = 5_000; // a Result 1 heard with State still Updating: how long its State notification may take

/** The packages the server serves over CoAP (GET /fw/<name>, Block2 by npm coap). */
export class PackageStore {
	constructor() {
		this.packages = new Map(); // name -> {name, bytes, info, requests, servedBytes, onRequest}
	}

	add(bytes, { name, onRequest } = {}) {
		const base = (name ?? "package").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40) || "package";
		const unique = `${base}-${randomBytes(4).toString("hex")}`;
		const entry = { name: unique, bytes: Buffer.from(bytes), requests: 0, servedBytes: 0, onRequest };
		try {
			entry.info = parsePackage(entry.bytes);
		} catch {}
		this.packages.set(unique, entry);
		return entry;
	}

	get(name) {
		return this.packages.get(name);
	}

	remove(name) {
		this.packages.delete(name);
	}

	list() {
		return [...this.packages.values()].map((p) => ({ name: p.name, path: `/fw/${p.name}`, size: p.bytes.length, requests: p.requests, servedBytes: p.servedBytes, version: p.info?.version, target: p.info?.target }));
	}

	/** A GET of /fw/<name> seen on the wire (every block, also those npm coap answers from its cache). */
	saw(packet, rinfo) {
		if (packet.code !== "0.01") return;
		const segments = packet.options.filter((o) => o.name === "Uri-Path").map((o) => o.value.toString());
		if (segments.length !== 2 || segments[0] !== "fw") return;
		const entry = this.packages.get(segments[1]);
		if (!entry) return;
		const block = packet.options.find((o) => o.name === "Block2")?.value;
		let end = Math.min(entry.bytes.length, 1024);
		if (block && block.length) {
			const n = [...block].reduce((a, x) => a * 256 + x, 0);
			const size = 16 << (n & 7);
			end = Math.min(entry.bytes.length, (Math.floor(n / 16) + 1) * size);
		}
		entry.requests++;
		entry.servedBytes = Math.max(entry.servedBytes, end);
		try {
			entry.onRequest?.({ sent: end, total: entry.bytes.length, address: `${rinfo.address}:${rinfo.port}` });
		} catch {}
	}

	/** The answer to a request on /fw/...: the whole package (npm coap cuts it into Block2 blocks). */
	answer(method, path) {
		const entry = path.length === 2 ? this.packages.get(path[1]) : undefined;
		if (!entry) return { code: "4.04", payload: `no firmware package /${path.join("/")}` };
		if (method !== "GET") return { code: "4.05", payload: `${method} is not allowed on /${path.join("/")} (GET it, with Block2)` };
		return { code: "2.05", options: { "Content-Format": "application/octet-stream" }, payload: entry.bytes };
	}
}

/** One update of one client. */
class FirmwareJob {
	constructor(manager, endpoint, bytes, options) {
		this.manager = manager;
		this.server = manager.server;
		this.endpoint = endpoint;
		this.bytes = bytes;
		this.id = randomBytes(4).toString("hex");
		this.mode = options.mode === "pull" ? "pull" : "push";
		this.execute = options.execute !== false;
		this.stepTimeoutMs = seconds(options.timeout, DEFAULT_STEP_TIMEOUT_S, "timeout", 3600);
		this.updateTimeoutMs = seconds(options.updateTimeout, DEFAULT_UPDATE_TIMEOUT_S, "updateTimeout", 86400);
		this.info = options.info;
		this.name = options.name;
		this.phase = "started";
		this.sent = 0;
		this.total = bytes.length;
		this.state = undefined;
		this.result = undefined;
		this.fresh = { state: false, result: false }; // heard since the current step began (not a leftover)
		this.waiters = new Set();
		this.owner = `firmware:${this.id}`;
		this.startedAt = this.server.clock.now();
		this.done = false;
		this.control = {};
		this.cancelled = false;
	}

	toJSON() {
		return {
			ep: this.endpoint,
			id: this.id,
			mode: this.mode,
			phase: this.phase,
			sent: this.sent,
			total: this.total,
			state: this.state,
			stateText: STATES[this.state],
			result: this.result,
			resultText: RESULTS[this.result],
			uri: this.uri,
			package: this.info && { target: this.info.target, version: this.info.version, payloadLength: this.info.payloadLength, hashOk: this.info.hashOk },
			firmwareVersion: this.firmwareVersion,
			message: this.message,
			final: this.done,
			success: this.done ? this.success === true : undefined,
			startedAt: this.startedAt,
			timestamp: this.server.clock.now(),
		};
	}

	#emit(phase, extra = {}) {
		if (phase) this.phase = phase;
		Object.assign(this, extra);
		this.manager.emitJob(this);
	}

	#heard(which, value) {
		if (typeof value !== "number") return;
		this[which] = value;
		this.fresh[which] = true;
		// a client refusing the package while it is still being pushed (its target, say): stop sending
		if (which === "result" && value > 1 && this.phase === "downloading" && this.mode === "push") {
			this.control.abort?.(new Failed(this.#refused()));
		}
		this.#emit(undefined);
		this.#wake(true);
	}

	/**
	 * Resolves when check() returns something other than undefined (tried now and at each
	 * state/result heard); rejects after ms without activity (a notification, a block).
	 */
	#until(check, ms, what) {
		return new Promise((resolve, reject) => {
			let timer;
			let stopped = false;
			const stop = () => {
				stopped = true;
				this.waiters.delete(test);
				if (this.rearm === arm) this.rearm = undefined;
				if (timer !== undefined) this.server.clock.cancel(timer);
				timer = undefined;
			};
			const arm = () => {
				if (stopped) return;
				if (timer !== undefined) this.server.clock.cancel(timer);
				timer = this.server.clock.after(ms, () => {
					timer = undefined;
					stop();
					reject(new Failed(`${what}: nothing heard from the client within ${ms / 1000} s`));
				});
			};
			const test = () => {
				if (stopped) return;
				if (this.cancelled) {
					stop();
					return reject(new Cancelled());
				}
				let v;
				try {
					v = check();
				} catch (e) {
					stop();
					return reject(e);
				}
				if (v !== undefined) {
					stop();
					resolve(v);
				}
			};
			this.waiters.add(test);
			this.rearm = arm;
			arm();
			test();
		});
	}

	#forget() {
		this.fresh = { state: false, result: false };
	}

	#wake(activity) {
		if (activity) this.rearm?.();
		for (const w of [...this.waiters]) w();
	}

	async #watch() {
		for (const [path, which] of [["/5/0/3", "state"], ["/5/0/5", "result"]]) {
			const r = await this.server.observe(this.endpoint, path, (n) => this.#heard(which, n.content?.value), { owner: this.owner, timeout: this.stepTimeoutMs / 1000 });
			if (!r.success) throw new Error(`Observe ${path}: ${r.code} ${r.status}${r.errormessage ? `: ${r.errormessage}` : ""}`);
			this[which] = r.content?.value;
		}
	}

	async #unwatch() {
		for (const path of ["/5/0/3", "/5/0/5"]) await this.server.cancelObservation(this.endpoint, path, { owner: this.owner, timeout: 2 }).catch(() => {});
	}

	async #read(path) {
		const r = await this.server.read(this.endpoint, path, { timeout: this.stepTimeoutMs / 1000 });
		return r.success ? r.content?.value : undefined;
	}

	async #readStatus() {
		const state = await this.#read("/5/0/3");
		const result = await this.#read("/5/0/5");
		if (typeof state === "number") this.state = state;
		if (typeof result === "number") this.result = result;
		this.fresh = { state: true, result: true };
	}

	/** After the outcome, State still 3 (Updating): Read it; still 3, wait a little for its notification and Read again. */
	async #settleState() {
		for (let attempt = 0; attempt < 2 && this.state === 3; attempt++) {
			if (attempt) await this.#until(() => (this.state !== 3 ? true : undefined), STATE_SETTLE_MS, "State after the Update Result").catch((e) => {
				if (e instanceof Cancelled) throw e;
			});
			const state = await this.#read("/5/0/3").catch(() => undefined);
			if (typeof state === "number") this.state = state;
		}
	}

	/** @param quiet true when the server stops: nothing more is sent to the client */
	cancel(quiet = false) {
		if (this.done || this.cancelled) return false;
		this.cancelled = true;
		this.quiet = quiet;
		this.control.abort?.(new Cancelled());
		this.#wake(false);
		return true;
	}

	async run() {
		const reply = (what, r) => `${what}: ${r.code} ${r.status}${r.errormessage ? ` (${r.errormessage})` : ""}`;
		try {
			this.#emit("started", { message: `${this.mode === "push" ? "pushing" : "serving"} ${this.total} bytes${this.info ? ` (${this.info.target} ${this.info.version})` : ""}` });
			await this.#watch();
			this.#forget();
			let lastEmitted = -1;
			const progress = ({ sent, total }) => {
				this.sent = sent;
				this.total = total;
				// one event per percent (and the last block): a 1.5 MB image is 1500 blocks
				const percent = Math.floor((sent * 100) / total);
				if (percent !== lastEmitted || sent === total) {
					lastEmitted = percent;
					this.#emit("downloading");
				}
				this.rearm?.();
			};
			if (this.mode === "push") {
				this.#emit("downloading", { sent: 0, message: "Write /5/0/0 (Package) in Block1" });
				const r = await this.server.write(this.endpoint, "/5/0/0", { id: 0, kind: "singleResource", value: this.bytes }, { format: "OPAQUE", timeout: this.stepTimeoutMs / 1000, onProgress: progress, control: this.control });
				if (!r.success) {
					await this.#readStatus().catch(() => {});
					return this.#finish(false, reply("Write /5/0/0 (Package)", r));
				}
				if (this.sent < this.total) progress({ sent: this.total, total: this.total });
				await this.#readStatus();
			} else {
				const served = (this.served = this.manager.packages.add(this.bytes, { name: this.name ?? (this.info ? `thermostat-${this.info.version}` : undefined), onRequest: progress }));
				const reg = this.server.registrations.byName(this.endpoint);
				const scheme = reg?.secure ? "coaps" : "coap";
				this.uri = `${scheme}://${this.server.host}:${this.server.coapPort}/fw/${served.name}`;
				this.#emit("downloading", { sent: 0, message: `Write /5/0/1 (Package URI) ${this.uri}` });
				const r = await this.server.write(this.endpoint, "/5/0/1", this.uri, { timeout: this.stepTimeoutMs / 1000 });
				if (!r.success) {
					await this.#readStatus().catch(() => {});
					return this.#finish(false, reply("Write /5/0/1 (Package URI)", r));
				}
			}
			// a client that reboots meanwhile registers again, which drops its observations:
			// observe State and Update Result again (a pull goes on after the reboot, State 1)
			const rewatch = (reg) => {
				if (reg.endpoint !== this.endpoint) return;
				this.#watch().then(() => {
					this.fresh = { state: true, result: true };
					this.#emit(undefined, { message: `registered again during the download: State ${this.state} (${STATES[this.state] ?? "?"}), Update Result ${this.result}` });
					this.#wake(true);
				}, (e) => this.server.log(`firmware update of ${this.endpoint}: after its Register: ${e.message}`));
			};
			this.server.on("registered", rewatch);
			try {
				// Downloaded, or the client gave up (back to Idle with a result)
				await this.#until(
					() => {
						if (this.fresh.state && this.state === 2) return true;
						if (this.fresh.result && this.result > 1) return false;
						return undefined;
					},
					this.stepTimeoutMs,
					"waiting for State 2 (Downloaded)",
				).then((ok) => {
					if (!ok) throw new Failed(this.#refused());
				});
			} finally {
				this.server.off("registered", rewatch);
			}
			this.#unserve();
			this.#emit("downloaded", { sent: this.total, message: "State 2 (Downloaded)" });
			if (!this.execute) return this.#finish(true, "downloaded; Update (/5/0/2) not executed");
			return await this.#update();
		} catch (e) {
			if (e instanceof Cancelled || this.cancelled) return this.#cancelled();
			return this.#finish(false, e instanceof Failed ? e.message : `${e.message}`);
		} finally {
			this.#unserve();
		}
	}

	#refused() {
		return `the client refused the package: Update Result ${this.result} (${RESULTS[this.result] ?? "?"}), State ${this.state} (${STATES[this.state] ?? "?"})`;
	}

	// a pulled package is served until the client has it (or the job ends)
	#unserve() {
		if (this.served) this.manager.packages.remove(this.served.name);
		this.served = undefined;
	}

	async #update() {
		// the client may reboot before its 2.04 to the Execute reaches us: listen first.
		// Each Register of the client drops its observations: they are made again. A
		// rollback is two of them (the new image, which never confirms, then the old one).
		let registrations = 0;
		const onRegistered = (reg) => {
			if (reg.endpoint !== this.endpoint) return;
			registrations++;
			this.#wake(true);
		};
		this.server.on("registered", onRegistered);
		try {
			this.#forget();
			this.#emit("updating", { message: "Execute /5/0/2 (Update)" });
			try {
				const r = await this.server.execute(this.endpoint, "/5/0/2", undefined, { timeout: this.stepTimeoutMs / 1000 });
				if (!r.success) {
					await this.#readStatus().catch(() => {});
					return this.#finish(false, `Execute /5/0/2 (Update): ${r.code} ${r.status}${r.errormessage ? ` (${r.errormessage})` : ""}`);
				}
			} catch (e) {
				if (registrations === 0 && !(e.timeout || e.status === 404)) throw e;
				// no answer, or no longer registered: it is rebooting, wait for it
			}
			let handled = 0;
			for (;;) {
				const how = await this.#until(
					() => {
						if (registrations > handled) return "registered";
						// before a reboot only a failure is an outcome; after it, any result
						if (this.fresh.result && (this.result > 1 || (handled > 0 && this.result > 0))) return "outcome";
						return undefined;
					},
					this.updateTimeoutMs,
					handled ? "waiting for the Update Result after the reboot" : "waiting for the client to reboot into the new firmware",
				);
				if (how === "outcome") break;
				handled = registrations;
				this.#forget();
				try {
					await this.#watch(); // its new registration: the old observations are gone
					this.firmwareVersion = await this.#read("/3/0/3").catch(() => undefined);
				} catch (e) {
					if (this.cancelled) throw new Cancelled();
					this.server.log(`firmware update of ${this.endpoint}: after its Register: ${e.message}`);
					continue; // rebooting again (a rollback): its next Register
				}
				this.fresh = { state: true, result: true }; // what the rebooted client says is the outcome
				this.#emit("rebooted", { message: `registered again${this.firmwareVersion !== undefined ? `, firmware version ${this.firmwareVersion}` : ""}; State ${this.state}, Update Result ${this.result}` });
			}
			if (handled === 0) return this.#finish(false, `Update failed without a reboot: Update Result ${this.result} (${RESULTS[this.result] ?? "?"}), State ${this.state} (${STATES[this.state] ?? "?"})`);
			// State and Update Result are two resources: the rebooted client can answer the
			// Observe of /5/0/3 while still Updating (a new image on trial, not yet confirmed)
			// and that of /5/0/5 just after confirming itself (Result 1, State back to Idle),
			// its State notification following later. Report the State it is at now.
			if (this.state === 3) await this.#settleState();
			if (this.result === 1) this.firmwareVersion = (await this.#read("/3/0/3").catch(() => undefined)) ?? this.firmwareVersion;
			return this.#finish(this.result === 1, `Update Result ${this.result} (${RESULTS[this.result] ?? "?"}), State ${this.state} (${STATES[this.state] ?? "?"})${this.firmwareVersion !== undefined ? `, firmware version ${this.firmwareVersion}` : ""}`);
		} finally {
			this.server.off("registered", onRegistered);
		}
	}

	async #cancelled() {
		// Writing an empty Package (push) or Package URI (pull) resets the client's state machine
		try {
			this.control = {};
			if (this.quiet) throw new Cancelled();
			if (this.mode === "push") await this.server.write(this.endpoint, "/5/0/0", { id: 0, kind: "singleResource", value: Buffer.alloc(0) }, { format: "OPAQUE", timeout: this.stepTimeoutMs / 1000 });
			else await this.server.write(this.endpoint, "/5/0/1", "", { timeout: this.stepTimeoutMs / 1000 });
			await this.#readStatus();
		} catch {}
		this.#unserve();
		this.done = true;
		this.success = false;
		this.#emit("cancelled", { message: `cancelled; State ${this.state} (${STATES[this.state] ?? "?"}), Update Result ${this.result} (${RESULTS[this.result] ?? "?"})` });
		if (!this.quiet) await this.#unwatch();
		return this.toJSON();
	}

	async #finish(success, message) {
		this.#unserve();
		this.done = true;
		this.success = success;
		this.#emit(success ? "done" : "failed", { message });
		await this.#unwatch();
		return this.toJSON();
	}
}

class Cancelled extends Error {
	constructor() {
		super("cancelled");
	}
}
class Failed extends Error {}

function seconds(value, fallback, name, max) {
	if (value === undefined || value === null || value === "") return fallback * 1000;
	const s = Number(value);
	if (!(s > 0 && s <= max)) throw new PackageError(`${name} must be a number of seconds, more than 0 and at most ${max}, not ${JSON.stringify(value)}`);
	return s * 1000;
}

export class FirmwareUpdates {
	constructor(server) {
		this.server = server;
		this.packages = new PackageStore();
		this.jobs = new Map(); // ep -> the running or last job
	}

	emitJob(job) {
		this.server.emitFirmware(job.toJSON());
	}

	/**
	 * Start an update. Returns {job, done}: job is the started job's JSON, done a
	 * promise of its final JSON.
	 * @param options.mode "push" (default) or "pull"
	 * @param options.execute false: stop at Downloaded, no Update
	 * @param options.force true: send bytes that are not an LTFW package
	 * @param options.timeout seconds of silence in a step (default 60); options.updateTimeout
	 *   seconds from Execute Update to the outcome (default 900)
	 */
	start(endpoint, bytes, options = {}) {
		const body = Buffer.from(bytes ?? []);
		if (body.length === 0) throw new PackageError("no firmware package: the body is empty");
		let info;
		try {
			info = parsePackage(body);
		} catch (e) {
			if (!options.force) throw e;
		}
		if (!this.server.client(endpoint)) {
			const e = new Error(`no registered client with endpoint name ${JSON.stringify(endpoint)}`);
			e.status = 404;
			throw e;
		}
		const running = this.jobs.get(endpoint);
		if (running && !running.done) {
			const e = new Error(`${endpoint} has a firmware update in progress (${running.id}, ${running.phase}); cancel it first`);
			e.status = 409;
			throw e;
		}
		const job = new FirmwareJob(this, endpoint, body, { ...options, info });
		this.jobs.set(endpoint, job);
		if (this.jobs.size > KEEP_JOBS) for (const [ep, j] of this.jobs) if (j.done && this.jobs.size > KEEP_JOBS) this.jobs.delete(ep);
		const done = job.run();
		return { job: job.toJSON(), done };
	}

	job(endpoint) {
		return this.jobs.get(endpoint)?.toJSON();
	}

	all() {
		return [...this.jobs.values()].map((j) => j.toJSON());
	}

	cancel(endpoint) {
		const job = this.jobs.get(endpoint);
		return job ? job.cancel() : false;
	}

	stop() {
		for (const job of this.jobs.values()) job.cancel(true);
	}
}
