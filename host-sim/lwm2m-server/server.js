// A local LwM2M 1.1 server for development and tests. It accepts registrations, runs
// device-management operations on registered clients, receives notifications and Send,
// and offers all of it in-process (this class) and over HTTP (a REST API shaped like
// Eclipse Leshan's server demo, see http-api.js).
//
//   const server = new Lwm2mServer({ coapPort: 0, httpPort: 0 });
//   const { coapPort, httpPort } = await server.start();
//   server.on("registered", (reg) => ...);
//   const r = await server.read("thermostat-1", "/3303/0/5700");  // r.content.value
//   await server.stop();
//
// Events: registered(registration JSON, {previous}), updated({registration, update}),
// deregistered(registration JSON), expired(registration JSON), notification(n),
// send({endpoint, registrationId, content, timestamped?}), coaplog(entry), log(line),
// firmware(job JSON: each step of a firmware update, see firmware.js).
import { EventEmitter } from "node:events";
import { CoapEndpoint } from "./coap-endpoint.js";
import { ObjectRegistry } from "./object-registry.js";
import { RegistrationStore } from "./registrations.js";
import { parseRegister, parseUpdate, RegistrationError } from "./registration.js";
import { ObservationStore } from "./observations.js";
import { DeviceManagement } from "./device-management.js";
import { buildByResource } from "./nodes.js";
import { typeEntries } from "./typing.js";
import { decodePayload, CodecError } from "./codecs/index.js";
import { coapLogEntry, coapLogLine } from "./coap-log.js";
import { HttpApi } from "./http-api.js";
import { realClock } from "./real-clock.js";
import { SENML_JSON, SENML_CBOR, LWM2M_CBOR } from "./content-formats.js";
import { FirmwareUpdates } from "./firmware.js";

export class NotRegistered extends Error {
	constructor(endpoint) {
		super(`no registered client with endpoint name ${JSON.stringify(endpoint)}`);
		this.status = 404;
	}
}

function checkLoopback(host) {
	if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new RangeError(`lwm2m server: listens on loopback addresses (127.0.0.0/8) only, not ${JSON.stringify(host)}`);
}

const MAX_LOG = 500;

export class Lwm2mServer extends EventEmitter {
	/**
	 * @param options.host         127.x.x.x address for CoAP and HTTP (default 127.0.0.1)
	 * @param options.coapPort     UDP port (default 5683; 0 picks a free one)
	 * @param options.httpPort     REST API port (default 8080; 0 picks one; null: no HTTP)
	 * @param options.socket       dgram-like socket to bind instead of a new UDP socket
	 *                             (e.g. SimulatedNetwork.createSocket() for virtual time)
	 * @param options.clock        {now(), after(ms, fn), cancel(item)}; default wall clock
	 * @param options.modelsDirs   extra directories of DDF *.xml models (also: modelsDir)
	 * @param options.models       a ready ObjectRegistry instead of loading one
	 * @param options.requestTimeout default seconds to wait for a client's answer (5)
	 * @param options.lifetimeGrace seconds past a lifetime before a registration expires (0)
	 * @param options.logger       (line) => void, in addition to the "log" event
	 * @param options.reliability  {ackTimeoutMs, ackRandomFactor, maxRetransmit} of the CON
	 *                             requests the server sends (RFC 7252 defaults 2000, 1.5, 4),
	 *                             maxIntervalMs (a cap on the doubling, none by default)
	 * @param options.random       () -> [0, 1) for the retransmission jitter (seeded in tests)
	 */
	constructor(options = {}) {
		super();
		const { host = "127.0.0.1", coapPort = 5683, httpPort = 8080, socket, clock = realClock } = options;
		checkLoopback(host);
		this.host = host;
		this.options = { coapPort, httpPort };
		this.clock = clock;
		this.logger = options.logger;
		this.recentLog = [];
		this.models = options.models ?? ObjectRegistry.load([options.modelsDir, ...(options.modelsDirs ?? [])]);
		this.registrations = new RegistrationStore({ clock, graceMs: (options.lifetimeGrace ?? 0) * 1000, onExpire: (reg) => this.#expired(reg) });
		this.observationStore = new ObservationStore();
		this.endpoint = new CoapEndpoint({
			socket,
			clock,
			host,
			port: coapPort,
			onRequest: (req) => this.#onRequest(req),
			onError: (e) => this.log(`coap: ${e.stack ?? e.message}`),
			// a notification is acknowledged only while somebody observes it; others get RST
			isObserved: (tokenHex, address, port) => {
				const o = this.observationStore.get(tokenHex);
				const reg = o && this.registrations.get(o.registrationId);
				return Boolean(reg && reg.address === address && reg.port === port);
			},
			reliability: options.reliability,
			random: options.random,
		});
		this.dm = new DeviceManagement({
			endpoint: this.endpoint,
			models: this.models,
			observations: this.observationStore,
			clock,
			defaultTimeoutMs: (options.requestTimeout ?? 5) * 1000,
			onNotification: (n) => this.#emit("notification", n),
			log: (line) => this.log(line),
		});
		this.firmware = new FirmwareUpdates(this);
		this.http = httpPort === null || httpPort === false ? undefined : new HttpApi(this, { host, port: httpPort });
		this.started = false;
	}

	log(line) {
		this.recentLog.push(line);
		if (this.recentLog.length > MAX_LOG) this.recentLog.shift();
		try {
			this.logger?.(line);
			this.emit("log", line);
		} catch {}
	}

	// A listener that throws must not break the exchange that raised the event (nor,
	// from a socket callback, the process): it is logged instead.
	#emit(event, ...args) {
		try {
			this.emit(event, ...args);
		} catch (e) {
			this.log(`a "${event}" listener failed: ${e.stack ?? e.message}`);
		}
	}

	/** @returns {{host, coapPort, httpPort}} the ports actually bound */
	async start() {
		if (this.started) throw new Error("lwm2m server: already started");
		this.started = true;
		let port;
		try {
			({ port } = await this.endpoint.start());
		} catch (e) {
			this.started = false;
			throw e;
		}
		this.coapPort = port;
		this.endpoint.mux.on("datagram", (d) => this.#datagram(d));
		this.endpoint.mux.on("malformed", ({ data, rinfo, error }) => this.log(`refused a malformed CoAP datagram (${data.length} bytes) from ${rinfo.address}:${rinfo.port}: ${error.message}`));
		this.endpoint.mux.on("handler-error", ({ error, rinfo }) => this.log(`a datagram from ${rinfo.address}:${rinfo.port} could not be handled: ${error.stack ?? error.message}`));
		if (this.http) {
			try {
				this.httpPort = await this.http.start();
			} catch (e) {
				await this.endpoint.stop();
				this.started = false;
				throw e;
			}
		}
		this.log(`lwm2m server: CoAP on ${this.host}:${this.coapPort}${this.http ? `, REST API on http://${this.host}:${this.httpPort}/api` : ""}`);
		return { host: this.host, coapPort: this.coapPort, httpPort: this.httpPort };
	}

	async stop() {
		if (!this.started) return;
		this.started = false;
		this.firmware.stop();
		await this.http?.stop();
		this.observationStore.clear();
		this.registrations.clear();
		await this.endpoint.stop();
	}

	#datagram(d) {
		if (this.listenerCount("coaplog") > 0 || this.http?.wantsCoapLog()) {
			const reg = this.registrations.byAddress(d.rinfo.address, d.rinfo.port);
			this.#emit("coaplog", coapLogEntry(d, { now: this.clock.now(), endpoint: reg?.endpoint }));
		}
		if (d.incoming && d.packet.code === "0.01") this.firmware.packages.saw(d.packet, d.rinfo);
		if (d.incoming && !d.packet.code.startsWith("0.")) {
			this.dm.handleResponse(this.registrations.byAddress(d.rinfo.address, d.rinfo.port), d.packet);
		}
	}

	// ------------------------------------------------------------------ registration interface

	async #onRequest({ method, path, query, format, payload, rinfo }) {
		const from = `${rinfo.address}:${rinfo.port}`;
		const [first, second, ...more] = path;
		if (first === "rd" && more.length === 0) {
			if (second === undefined && method === "POST") return this.#register(query, format, payload, rinfo, from);
			if (second !== undefined && method === "POST") return this.#update(second, query, format, payload, rinfo, from);
			if (second !== undefined && method === "DELETE") return this.#deregister(second, from);
			return { code: "4.05", payload: `${method} is not allowed on /${path.join("/")}` };
		}
		if (first === "dp" && path.length === 1) {
			if (method !== "POST") return { code: "4.05", payload: `${method} is not allowed on /dp` };
			return this.#send(format, payload, rinfo, from);
		}
		if (first === "fw") {
			const reply = this.firmware.packages.answer(method, path);
			this.log(`${reply.code === "2.05" ? "serving" : `answered ${reply.code} to`} ${method} /${path.join("/")} from ${from}`);
			return reply;
		}
		this.log(`answered 4.04 to ${method} /${path.join("/")} from ${from}`);
		return { code: "4.04", payload: `no resource /${path.join("/")} (the server offers /rd, /dp and the firmware packages it serves under /fw)` };
	}

	#register(query, format, payload, rinfo, from) {
		let fields;
		try {
			fields = parseRegister(query, format, payload);
		} catch (e) {
			if (!(e instanceof RegistrationError)) throw e;
			this.log(`refused Register from ${from} (${query.join("&")}): ${e.message}`);
			return { code: "4.00", payload: e.message };
		}
		const { registration, previous } = this.registrations.add(fields, rinfo);
		if (previous) this.#dropObservations(previous);
		if (fields.ignored.length) this.log(`Register of ${registration.endpoint}: ignored ${fields.ignored.join(", ")} (the Security object is not registered)`);
		this.log(`registered ${registration.endpoint} from ${from} as /rd/${registration.id} (lwm2m ${registration.lwM2mVersion}, lifetime ${registration.lifetime} s, binding ${registration.bindingMode})${previous ? ", replacing its previous registration" : ""}`);
		this.#emit("registered", registration.toJSON(), { previous: previous?.toJSON() });
		return { code: "2.01", options: { "Location-Path": [Buffer.from("rd"), Buffer.from(registration.id)] } };
	}

	#update(id, query, format, payload, rinfo, from) {
		const existing = this.registrations.get(id);
		if (!existing) {
			this.log(`answered 4.04 to Update of unknown registration /rd/${id} from ${from}`);
			return { code: "4.04", payload: `no registration /rd/${id}` };
		}
		let update;
		try {
			update = parseUpdate(query, format, payload);
		} catch (e) {
			if (!(e instanceof RegistrationError)) throw e;
			this.log(`refused Update of ${existing.endpoint} from ${from}: ${e.message}`);
			return { code: "4.00", payload: e.message };
		}
		const { ignored, ...changes } = update;
		const registration = this.registrations.update(id, changes, rinfo);
		const summary = [
			changes.lifetime !== undefined && `lifetime ${changes.lifetime} s`,
			changes.bindingMode !== undefined && `binding ${changes.bindingMode}`,
			changes.smsNumber !== undefined && "sms number",
			changes.objectLinks !== undefined && `${changes.objectLinks.length} object links`,
		].filter(Boolean);
		this.log(`updated ${registration.endpoint} from ${from}${summary.length ? ` (${summary.join(", ")})` : ""}`);
		this.#emit("updated", { registration: registration.toJSON(), update: { registrationId: id, address: from, ...changes } });
		return { code: "2.04" };
	}

	#deregister(id, from) {
		const registration = this.registrations.remove(id);
		if (!registration) {
			this.log(`answered 4.04 to De-register of unknown registration /rd/${id} from ${from}`);
			return { code: "4.04", payload: `no registration /rd/${id}` };
		}
		this.#dropObservations(registration);
		this.log(`deregistered ${registration.endpoint} (/rd/${id}) from ${from}`);
		this.#emit("deregistered", registration.toJSON());
		return { code: "2.02" };
	}

	#expired(registration) {
		this.#dropObservations(registration);
		this.log(`registration of ${registration.endpoint} (/rd/${registration.id}) expired: no Update within its ${registration.lifetime} s lifetime`);
		this.#emit("expired", registration.toJSON());
	}

	#dropObservations(registration) {
		for (const o of this.observationStore.forRegistration(registration.id)) this.observationStore.remove(o);
	}

	// ------------------------------------------------------------------ information reporting: Send

	#send(format, payload, rinfo, from) {
		const registration = this.registrations.byAddress(rinfo.address, rinfo.port);
		if (!registration) {
			this.log(`refused Send from ${from}: no client is registered from that address`);
			return { code: "4.04", payload: "Send from an unregistered address: register first" };
		}
		if (registration.lwM2mVersion === "1.0") {
			this.log(`refused Send from ${registration.endpoint}: it registered as LwM2M 1.0`);
			return { code: "4.00", payload: "Send is an LwM2M 1.1 operation" };
		}
		if (![SENML_JSON, SENML_CBOR, LWM2M_CBOR].some((f) => f.id === format?.id)) {
			this.log(`refused Send from ${registration.endpoint}: content format ${format?.name ?? "(none)"} is not SenML JSON/CBOR or LwM2M CBOR`);
			return { code: "4.15", payload: "Send takes SenML JSON, SenML CBOR or LwM2M CBOR" };
		}
		let entries;
		let content;
		const lookup = this.dm.lookupFor(registration);
		try {
			entries = typeEntries(decodePayload(format, payload, [], { nowSeconds: this.clock.now() / 1000 }), lookup);
			content = buildByResource(entries, lookup);
		} catch (e) {
			if (!(e instanceof CodecError)) throw e;
			this.log(`refused Send from ${registration.endpoint}: ${e.message}`);
			return { code: "4.00", payload: e.message };
		}
		const event = { endpoint: registration.endpoint, registrationId: registration.id, format: format.name, content };
		if (entries.some((e) => e.time !== undefined)) {
			const byTime = new Map();
			for (const e of entries) {
				const key = e.time ?? null;
				if (!byTime.has(key)) byTime.set(key, []);
				byTime.get(key).push(e);
			}
			event.timestamped = [...byTime].map(([timestamp, list]) => ({ timestamp, content: buildByResource(list, lookup) }));
		}
		this.log(`Send from ${registration.endpoint}: ${Object.keys(content).join(", ")}`);
		this.#emit("send", event);
		return { code: "2.04" };
	}

	// ------------------------------------------------------------------ in-process API

	/** Registrations as the REST API lists them. */
	clients() {
		return this.registrations.all().map((r) => r.toJSON());
	}

	client(endpoint) {
		return this.registrations.byName(endpoint)?.toJSON();
	}

	#registration(endpoint) {
		const reg = this.registrations.byName(endpoint);
		if (!reg) throw new NotRegistered(endpoint);
		return reg;
	}

	/** options: {format: "SENML_CBOR"|"TLV"|..., timeout: seconds} for every operation */
	async read(endpoint, path, options) {
		return this.dm.read(this.#registration(endpoint), path, options);
	}
	/** value: a Leshan node, or a bare value at a resource path; options.replace (default true) */
	async write(endpoint, path, value, options) {
		return this.dm.write(this.#registration(endpoint), path, value, options);
	}
	async execute(endpoint, path, args, options) {
		return this.dm.execute(this.#registration(endpoint), path, args, options);
	}
	async create(endpoint, path, instance, options) {
		return this.dm.create(this.#registration(endpoint), path, instance, options);
	}
	async delete(endpoint, path, options) {
		return this.dm.delete(this.#registration(endpoint), path, options);
	}
	async discover(endpoint, path, options) {
		return this.dm.discover(this.#registration(endpoint), path, options);
	}
	async writeAttributes(endpoint, path, attributes, options) {
		return this.dm.writeAttributes(this.#registration(endpoint), path, attributes, options);
	}
	/** onNotify(notification) is called for each notification; also emitted as "notification" */
	async observe(endpoint, path, onNotify, options) {
		return this.dm.observe(this.#registration(endpoint), path, onNotify, options);
	}
	/**
	 * Cancel the caller's observation of a path: options.id names one (the "observation"
	 * id observe() answered), else every one made with the same options.owner (default
	 * "local"). Others observing the path keep their notifications.
	 * @returns the number of observations cancelled
	 */
	async cancelObservation(endpoint, path, options) {
		return this.dm.cancel(this.#registration(endpoint), path, false, options);
	}
	async readComposite(endpoint, paths, options) {
		return this.dm.readComposite(this.#registration(endpoint), paths, options);
	}
	async writeComposite(endpoint, values, options) {
		return this.dm.writeComposite(this.#registration(endpoint), values, options);
	}
	async observeComposite(endpoint, paths, onNotify, options) {
		return this.dm.observeComposite(this.#registration(endpoint), paths, onNotify, options);
	}
	async cancelCompositeObservation(endpoint, paths, options) {
		return this.dm.cancel(this.#registration(endpoint), paths, true, options);
	}
	// ------------------------------------------------------------------ firmware update (object 5)

	/**
	 * Update a client's firmware with an LTFW package (see firmware.js): push it (Write
	 * /5/0/0 in Block1) or, with options.mode "pull", serve it at coap://host:port/fw/<name>
	 * and write that URI into /5/0/1; then Execute /5/0/2 once State is Downloaded and
	 * follow the reboot to the Update Result. Steps are "firmware" events.
	 * @param options {mode: "push"|"pull", execute: false (stop at Downloaded), force: true
	 *   (bytes that are not an LTFW package), timeout: s of silence per step (60),
	 *   updateTimeout: s from Execute to the outcome (900), name: of the served file}
	 * @returns {{job, done: Promise<job>}} the job as started, and its final state
	 */
	updateFirmware(endpoint, bytes, options) {
		this.#registration(endpoint);
		return this.firmware.start(endpoint, bytes, options);
	}
	/** The running or last firmware update of a client (undefined: none). */
	firmwareStatus(endpoint) {
		return this.firmware.job(endpoint);
	}
	/** Cancel a running update: the client is written an empty Package / Package URI. */
	cancelFirmware(endpoint) {
		return this.firmware.cancel(endpoint);
	}
	/** Serve bytes over CoAP (GET with Block2) until unservePackage: {name, path, uri}. */
	servePackage(bytes, { name } = {}) {
		const entry = this.firmware.packages.add(bytes, { name });
		return { name: entry.name, path: `/fw/${entry.name}`, uri: `coap://${this.host}:${this.coapPort}/fw/${entry.name}` };
	}
	unservePackage(name) {
		this.firmware.packages.remove(name);
	}

	emitFirmware(job) {
		if (job.phase !== this.#lastFirmwarePhase.get(job.id) || job.final) {
			this.#lastFirmwarePhase.set(job.id, job.phase);
			this.log(`firmware update ${job.id} of ${job.ep} (${job.mode}): ${job.phase}${job.message ? `: ${job.message}` : ""}`);
			if (job.final) this.#lastFirmwarePhase.delete(job.id);
		}
		this.#emit("firmware", job);
	}
	#lastFirmwarePhase = new Map();

	/** Active observations, of one client or all. */
	observations(endpoint) {
		const reg = endpoint === undefined ? undefined : this.#registration(endpoint);
		return this.observationStore.subscriptions(reg?.id).map((s) => s.toJSON());
	}
}

export { coapLogLine };
