// The LwM2M 1.1 client: one CoAP endpoint (client and server roles on one socket) with
// the registration interface on the client side and device management / information
// reporting on the server side, over an object model the application extends.
//
//   const client = new Lwm2mClient({ settings: config, device: { manufacturer: ... } });
//   const setpoint = client.model.define(SETPOINT).add(0).bind(5900, {...});
//   client.start();                 // registers, keeps the registration alive
//   client.stop(() => ...);          // de-registers

import Timer from "timer";
import Time from "time";
import Net from "net";
import Instrumentation from "instrumentation";
import restart from "restart";
import { Code, ContentFormat, Method, codeText } from "../coap/constants";
import { ClientRequest, Endpoint } from "../coap/endpoint";
import { CoapServer, type Request, type Response } from "../coap/server";
import { UdpTransport, type Transport } from "../coap/transport";
import { utf8Encode } from "../coap/utf8";
import { DtlsTransport } from "../dtls/client";
import { ByteWriter, DataType, Entry, LinkFormat, parsePath, path } from "./formats/index";
import { AttributeStore } from "./attributes";
import { collect, encode, LwError } from "./content";
import { Management } from "./management";
import { Model, type Instance, type Multi } from "./model";
import { CONNECTIVITY, DEVICE, ErrorCode, SECURITY, SERVER, WLAN } from "./objects";
import { Registration, State } from "./registration";
import { Reporting } from "./reporting";
import { eraseSettings, loadSettings, parseServerUri, saveSetting, type Settings } from "./settings";

export interface DeviceInfo {
	manufacturer?: string;
	model?: string;
	serial?: string;
	firmwareVersion?: string;
	hardwareVersion?: string;
	softwareVersion?: string;
	deviceType?: string;
	/** bytes of XS heap the build reserves (the ESP32 manifest's creation.static) */
	heapBytes?: number;
}

export interface ClientOptions {
	/** the manifest's config: seeds the settings on first boot */
	settings?: Partial<Settings>;
	device?: DeviceInfo;
	/** local UDP port; 0 picks one */
	port?: number;
	/** below CoAP; UDP by default (DTLS later) */
	transport?: (endpoint: Endpoint) => Transport;
	log?: (text: string) => void;
	/** CoAP tuning (tests): ACK timeout in ms */
	ackTimeout?: number;
}

// The root link's ct (Core TS 1.1.1 §6.2.1.1: "ct=110" in its example) names the one structured
// format the device prefers; text, opaque and link-format are mandatory in 1.1 and go unsaid.
// A single bare number, because stock Wakaama refuses a quoted list ("0 42 110 112 11542") and
// Leshan reads either. TLV and SenML JSON are still answered when asked for; LwM2M CBOR
// (11544) too, but it is a 1.2 format, not announced under lwm2m=1.1.
const PREFERRED_FORMAT = ContentFormat.SenmlCbor;
const SecurityMode = { Psk: 0, NoSec: 3 } as const;

export class Lwm2mClient {
	readonly model = new Model();
	readonly settings: Settings;
	readonly endpoint: Endpoint;
	readonly coap: CoapServer;
	readonly attributes = new AttributeStore();
	readonly management: Management;
	readonly reporting: Reporting;
	readonly registration: Registration;
	readonly device: Instance;
	readonly server: Instance;
	/** the application's part of a factory reset (its own preferences) */
	onFactoryReset: () => void = () => {};
	#log: (text: string) => void;
	#info: DeviceInfo;
	#address = "";
	#port = 0;
	#links = new ByteWriter(256, 2048);
	#send = new ByteWriter(128, 4096);
	#entries: Entry[] = [];

	constructor(options: ClientOptions = {}) {
		const log = (this.#log = options.log ?? ((text: string) => trace(text, "\n")));
		this.#info = options.device ?? {};
		this.settings = loadSettings(options.settings ?? {});
		this.#resolveServer();
		const port = options.port ?? 0;
		this.endpoint = new Endpoint(options.transport ?? ((ep) => this.#transport(ep, port)), { log, ackTimeout: options.ackTimeout });
		// only the server we registered with manages us (with NoSec, its address is all we
		// have): anyone else is refused before the CoAP layer keeps anything for them
		this.endpoint.accepts = (address, p) => address === this.#address && p === this.#port;
		this.management = new Management(this.model, this.attributes, log);
		this.coap = new CoapServer(this.endpoint, (request, response) => this.#handle(request, response), { log, maxBody: 8192 });
		this.reporting = new Reporting(this.model, this.attributes, this.coap, () => ({ pmin: this.settings.pmin, pmax: this.settings.pmax }));
		this.management.reporting = this.reporting;
		this.registration = new Registration(this.endpoint, () => this.#registrationSettings(), () => this.#registerLinks(), log);
		this.model.onChange = (o, i, r) => this.reporting.changed(o, i, r);
		// a registration that got no answer may mean the server lost our DTLS session:
		// the next attempt opens a new one (no renegotiation, RFC 7925 §4.x)
		this.registration.onFailure = () => this.endpoint.transport.reset?.("registration got no answer");
		this.#defineSecurity();
		this.server = this.#defineServer();
		this.device = this.#defineDevice();
		this.#defineConnectivity();
		// after the core objects: from now on a new instance or object is news for the server
		this.model.onStructure = () => this.registration.update(true);
	}

	start() {
		if (!this.#address) {
			this.#log(`lwm2m: not starting: ${this.#serverProblem}`);
			return;
		}
		this.registration.start();
	}

	/** De-register and close; `done` when the server has answered (or given up). */
	stop(done?: () => void) {
		this.coap.cancelObservations();
		this.registration.deregister(() => {
			this.close();
			done?.();
		});
	}

	close() {
		this.registration.close();
		this.reporting.close();
		this.endpoint.close();
	}

	/** A resource changed by the application (observers are notified per their attributes). */
	changed(object: number, instance: number, resource: number) {
		this.model.changed(object, instance, resource);
	}

	/** Set or clear a Device error code (/3/0/11). */
	setError(code: number, present: boolean) {
		const codes = this.device.read(11) as Multi;
		const list: number[] = [];
		codes.forEach((c) => { if (c !== ErrorCode.None && c !== code) list.push(c as number); });
		if (present) list.push(code);
		const next = new Map<number, number>();
		if (!list.length) next.set(0, ErrorCode.None);
		for (let k = 0; k < list.length; k++) next.set(k, list[k]);
		let same = next.size === codes.size;
		next.forEach((v, k) => { if (codes.get(k) !== v) same = false; });
		if (!same) this.device.set(11, next);
	}

	/**
	 * Send (§6.4.6, LwM2M 1.1): POST /dp with the values under `paths` in SenML CBOR.
	 * `done` gets the server's code, or -1 when nothing went out.
	 */
	send(paths: readonly string[], done?: (code: number) => void) {
		if (!this.registration.registered) return void (this.#log("lwm2m: Send: not registered"), done?.(-1));
		if (this.settings.muteSend) return void (this.#log("lwm2m: Send: muted by the server (/1/0/23)"), done?.(-1));
		let n = 0;
		const p = path();
		try {
			for (const text of paths) {
				parsePath(text, p);
				n = collect(this.model, p, this.#entries, n);
			}
		} catch (e) {
			this.#log(`lwm2m: Send: ${(e as Error).message}`);
			return void done?.(-1);
		}
		const r = new ClientRequest();
		r.method = Method.POST;
		r.path = "dp";
		r.contentFormat = ContentFormat.SenmlCbor;
		r.payload = encode(ContentFormat.SenmlCbor, this.#entries, n, path(), this.#send).slice();
		r.onResponse = (m) => {
			if (m.code !== Code.Changed) this.#log(`lwm2m: Send answered ${codeText(m.code)}`);
			done?.(m.code);
		};
		r.onError = (why) => {
			this.#log(`lwm2m: Send got no answer (${why})`);
			done?.(-1);
		};
		this.endpoint.request(r, this.#address, this.#port);
	}

	// ---------------------------------------------------------------- plumbing
	#handle(request: Request, response: Response) {
		this.management.handle(request, response);
	}

	#serverProblem = "";
	#resolveServer() {
		const s = this.settings;
		const parsed = parseServerUri(s.serverUri);
		let problem = typeof parsed === "string" ? parsed : "";
		if (typeof parsed !== "string") {
			// the URI scheme and the Security object's mode must agree: never plaintext by mistake
			if (parsed.secure && s.securityMode !== SecurityMode.Psk) problem = `${s.serverUri} needs security mode 0 (PSK), not ${s.securityMode}`;
			else if (!parsed.secure && s.securityMode !== SecurityMode.NoSec) problem = `security mode ${s.securityMode} needs a coaps:// server URI, not ${s.serverUri}`;
			else if (parsed.secure && (!s.pskIdentity || !/^([0-9a-fA-F]{2}){1,64}$/.test(s.pskKey))) problem = "PSK mode needs an identity and a key of 1 to 64 bytes in hex";
		}
		if (problem || typeof parsed === "string") {
			this.#serverProblem = problem;
			this.#address = "";
			return;
		}
		this.#address = parsed.address;
		this.#port = parsed.port;
	}

	// UDP for NoSec; DTLS with the Security object's identity (0/0/3) and key (0/0/5) for PSK
	#transport(ep: Endpoint, port: number): Transport {
		const receive = (data: Uint8Array, address: string, p: number) => ep.receive(data, address, p);
		if (this.settings.securityMode !== SecurityMode.Psk) return new UdpTransport(port, receive);
		const dtls = new DtlsTransport({ identity: this.settings.pskIdentity, key: hex(this.settings.pskKey), port, log: this.#log }, receive);
		dtls.onFailed = (why) => this.#log(`lwm2m: DTLS: ${why}`);
		return dtls;
	}

	#registrationSettings() {
		const s = this.settings;
		return {
			endpointName: s.endpointName, lifetime: s.lifetime, binding: s.binding, address: this.#address, port: this.#port,
			retryCount: s.retryCount, retryTimer: s.retryTimer, sequenceDelay: s.sequenceDelay, sequenceRetryCount: s.sequenceRetryCount,
		};
	}

	/** </>;rt="oma.lwm2m";ct=..., then every object (with ver) and instance; never Security. */
	#registerLinks(): Uint8Array {
		const w = this.#links.reset();
		const links = new LinkFormat(w).begin();
		links.addLink("/", { rt: "oma.lwm2m", ct: PREFERRED_FORMAT });
		for (const o of this.model.objects) {
			if (o.def.id === SECURITY.id) continue;
			if (o.def.version && o.def.version !== "1.0") links.addLink(`/${o.def.id}`, { ver: o.def.version });
			else if (!o.instances.length) links.addLink(`/${o.def.id}`);
			for (const i of o.instances) links.addLink(`/${o.def.id}/${i.id}`);
		}
		return w.bytes().slice();
	}

	// ---------------------------------------------------------------- core objects
	#defineSecurity() {
		const s = this.settings;
		const i = this.model.define(SECURITY).add(0);
		i.values.set(0, s.serverUri);
		i.values.set(1, false);
		i.values.set(2, s.securityMode);
		i.values.set(3, utf8Encode(s.pskIdentity));
		i.values.set(4, new Uint8Array(0));
		i.values.set(5, hex(s.pskKey));
		i.values.set(10, s.shortServerId);
	}

	/** A Server resource kept in a setting: persisted when written, with an effect. */
	#setting<K extends keyof Settings>(i: Instance, id: number, name: K, effect?: () => void, check?: (v: Settings[K]) => string | undefined) {
		i.bind(id, {
			read: () => this.settings[name] as unknown as number | string | boolean,
			check: check ? (v) => check(v as unknown as Settings[K]) : undefined,
			write: (v) => {
				if (this.settings[name] === (v as unknown)) return;
				this.settings[name] = v as unknown as Settings[K];
				saveSetting(name, this.settings[name]);
				effect?.();
			},
		});
	}

	#defineServer(): Instance {
		const i = this.model.define(SERVER).add(0);
		const s = this.settings;
		i.values.set(0, s.shortServerId);
		this.#setting(i, 1, "lifetime", () => this.registration.update());
		this.#setting(i, 2, "pmin", () => this.reporting.attributesChanged());
		this.#setting(i, 3, "pmax", () => this.reporting.attributesChanged());
		i.bind(4, {
			execute: () => {
				// after the 2.04 has gone out
				Timer.set(() => this.registration.disable(this.settings.disableTimeout), 0);
				return undefined;
			},
		});
		this.#setting(i, 5, "disableTimeout");
		this.#setting(i, 6, "storing");
		this.#setting(i, 7, "binding", () => this.registration.update(), (b) => (b === "U" ? undefined : `binding "${b}" is not supported: this device speaks UDP ("U") only`));
		i.bind(8, {
			execute: () => {
				this.registration.update();
				return undefined;
			},
		});
		this.#setting(i, 17, "retryCount");
		this.#setting(i, 18, "retryTimer");
		this.#setting(i, 19, "sequenceDelay");
		this.#setting(i, 20, "sequenceRetryCount");
		this.#setting(i, 23, "muteSend");
		return i;
	}

	#defineDevice(): Instance {
		const info = this.#info;
		const i = this.model.define(DEVICE).add(0);
		const heapBytes = info.heapBytes ?? 65536;
		const strings: [number, string | undefined][] = [
			[0, info.manufacturer], [1, info.model], [2, info.serial], [3, info.firmwareVersion],
			[17, info.deviceType], [18, info.hardwareVersion], [19, info.softwareVersion],
		];
		for (const [id, value] of strings) if (value !== undefined) i.values.set(id, value);
		i.bind(4, {
			execute: () => {
				this.#log("lwm2m: reboot requested by the server");
				Timer.set(() => restart(), 100); // let the 2.04 leave first
				return undefined;
			},
		});
		i.bind(5, {
			execute: () => {
				this.#log("lwm2m: factory reset requested by the server");
				Timer.set(() => {
					eraseSettings();
					this.onFactoryReset();
					restart();
				}, 100);
				return undefined;
			},
		});
		const slots = Instrumentation.map("XS Slot Heap Used");
		const chunks = Instrumentation.map("XS Chunk Heap Used");
		i.bind(10, {
			read: () => Math.max(0, Math.floor((heapBytes - (Instrumentation.get(slots) ?? 0) - (Instrumentation.get(chunks) ?? 0)) / 1024)),
		});
		i.values.set(11, new Map<number, number>([[0, ErrorCode.None]]));
		i.bind(12, {
			execute: () => {
				this.device.set(11, new Map<number, number>([[0, ErrorCode.None]]));
				return undefined;
			},
		});
		i.bind(13, {
			read: () => Math.floor(Date.now() / 1000),
			check: (v) => checkCurrentTime(v as number),
			write: (v) => Time.set(v as number),
		});
		this.#setting(i, 14, "utcOffset", undefined, checkUtcOffset);
		this.#setting(i, 15, "timezone", undefined, checkTimezone);
		i.values.set(16, "U");
		i.values.set(21, Math.floor(heapBytes / 1024));
		return i;
	}

	#defineConnectivity() {
		const i = this.model.define(CONNECTIVITY).add(0);
		i.values.set(0, WLAN);
		i.values.set(1, new Map<number, number>([[0, WLAN]]));
		i.bind(2, { read: () => Net.get("RSSI") });
		i.bind(4, { read: () => new Map<number, string>([[0, Net.get("IP")]]) });
	}
}

function hex(s: string): Uint8Array {
	const out = new Uint8Array(s.length >> 1);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
	return out;
}

export { State, LwError, DataType };

// Current Time: the RTC keeps uint32 seconds (Time.set on the ESP32). A time before 2020
// is no real date for this product (a server's unset clock, a test's 0) and would stamp
// reports with 1970; intervals run on the monotonic clock and never see the RTC.
const EARLIEST_TIME = 1577836800; // 2020-01-01T00:00:00Z
const LATEST_TIME = 4294967295; // 2106-02-07T06:28:15Z, the RTC's last second

function checkCurrentTime(seconds: number): string | undefined {
	if (seconds < EARLIEST_TIME) return `time ${seconds} is before 2020-01-01T00:00:00Z (${EARLIEST_TIME}): not a real date, the clock is unchanged`;
	if (seconds > LATEST_TIME) return `time ${seconds} is after 2106-02-07T06:28:15Z (${LATEST_TIME}), the last second the clock holds`;
	return undefined;
}

// UTC Offset (3/0/14, "UTC+X [ISO 8601]"): an ISO 8601 offset, ±hh or ±hh:mm, optionally
// after "UTC" (the registry's own spelling), or "Z" / "UTC" for none; the hours and minutes
// of an offset in effect somewhere (-12:00 to +14:00), minutes 00-59. Kept as written.
const UTC_OFFSET = /^(?:UTC)?([+-])(\d\d)(?::(\d\d))?$/;

function checkUtcOffset(value: string): string | undefined {
	if (value === "Z" || value === "UTC") return undefined;
	const m = UTC_OFFSET.exec(value);
	if (!m) return `${quoted(value)} is not a UTC offset (UTC+hh:mm, ISO 8601)`;
	const minutes = m[3] === undefined ? 0 : Number(m[3]);
	if (minutes > 59) return `${quoted(value)}: the minutes of a UTC offset are 00 to 59`;
	const offset = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + minutes);
	if (offset < -720 || offset > 840) return `${quoted(value)} is outside -12:00..+14:00, the UTC offsets in use`;
	return undefined;
}

// Timezone (3/0/15): the shape of an IANA tz database name ("Europe/Berlin",
// "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC"): segments of letters, digits and
// "_+-", each starting with a letter, joined by "/"; at most 64 characters. The device
// has no tz database, so whether the zone exists is the server's business.
const TIMEZONE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z][A-Za-z0-9_+-]*)*$/;
const TIMEZONE_MAX = 64;

function checkTimezone(value: string): string | undefined {
	if (value.length > TIMEZONE_MAX) return `${quoted(value)} is longer than ${TIMEZONE_MAX} characters, too long for an IANA time zone name`;
	if (!TIMEZONE.test(value)) return `${quoted(value)} is not an IANA time zone name (Area/Location, e.g. Europe/Berlin)`;
	return undefined;
}

/** A peer's string in a reason: quoted, at most 40 characters of it. */
function quoted(s: string): string {
	return JSON.stringify(s.length > 40 ? s.slice(0, 40) + "..." : s);
}
