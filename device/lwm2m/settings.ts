// What the client needs to reach its server and how to behave there: the Security and
// Server object values. Seeded from the manifest's config on first boot, then kept with
// `preference` (ESP32 NVS: integers and strings only, names of at most 15 characters), so
// that a server's writes (lifetime, pmin/pmax, retry timers, ...) survive a reboot. The
// Device object's UTC Offset and Timezone (3/0/14, 3/0/15) are kept the same way.

import Preference from "preference";

const DOMAIN = "lwm2m";

export interface Settings {
	serverUri: string; // coap://127.0.0.1:5683 (an IP literal: there is no DNS on this path)
	endpointName: string;
	securityMode: number; // 0 PSK, 3 NoSec
	pskIdentity: string;
	pskKey: string; // hex
	shortServerId: number;
	lifetime: number; // s
	pmin: number;
	pmax: number;
	binding: string;
	disableTimeout: number;
	storing: boolean;
	retryCount: number;
	retryTimer: number;
	sequenceDelay: number;
	sequenceRetryCount: number;
	muteSend: boolean;
	utcOffset: string; // Device 3/0/14, "+01:00" (checkUtcOffset in client.ts)
	timezone: string; // Device 3/0/15, an IANA name (checkTimezone in client.ts)
}

// preference key of each setting (NVS keys: at most 15 characters)
const KEYS: { readonly [K in keyof Settings]: string } = {
	serverUri: "uri",
	endpointName: "ep",
	securityMode: "mode",
	pskIdentity: "pskId",
	pskKey: "psk",
	shortServerId: "ssid",
	lifetime: "lt",
	pmin: "pmin",
	pmax: "pmax",
	binding: "b",
	disableTimeout: "disTimeout",
	storing: "storing",
	retryCount: "retryCount",
	retryTimer: "retryTimer",
	sequenceDelay: "seqDelay",
	sequenceRetryCount: "seqRetryCount",
	muteSend: "muteSend",
	utcOffset: "utcOffset",
	timezone: "timezone",
};

export const DEFAULTS: Settings = {
	serverUri: "coap://127.0.0.1:5683",
	endpointName: "thermostat",
	securityMode: 3,
	pskIdentity: "",
	pskKey: "",
	shortServerId: 1,
	lifetime: 300,
	pmin: 1,
	pmax: 0,
	binding: "U",
	disableTimeout: 86400,
	storing: true,
	retryCount: 5,
	retryTimer: 60,
	sequenceDelay: 86400,
	sequenceRetryCount: 1,
	muteSend: false,
	utcOffset: "+00:00",
	timezone: "UTC",
};

/**
 * Loads the settings: stored values first, else the seed (the manifest config), else the
 * defaults. A first boot stores everything it took from the seed.
 */
export function loadSettings(seed: Partial<Settings>): Settings {
	const out = { ...DEFAULTS } as Settings;
	const firstBoot = Preference.get(DOMAIN, KEYS.serverUri) === undefined;
	for (const name of Object.keys(KEYS) as (keyof Settings)[]) {
		const stored = firstBoot ? undefined : Preference.get(DOMAIN, KEYS[name]);
		const value = stored !== undefined ? fromStored(name, stored) : seed[name] !== undefined ? seed[name] : DEFAULTS[name];
		(out as unknown as Record<string, unknown>)[name] = value;
		if (firstBoot) saveSetting(name, value as Settings[typeof name]);
	}
	return out;
}

export function saveSetting<K extends keyof Settings>(name: K, value: Settings[K]) {
	// booleans as 0/1: NVS stores integers and strings
	Preference.set(DOMAIN, KEYS[name], typeof value === "boolean" ? (value ? 1 : 0) : (value as string | number));
}

/** Forget every stored setting (factory reset): the next boot seeds from the manifest again. */
export function eraseSettings() {
	for (const key of Preference.keys(DOMAIN)) Preference.delete(DOMAIN, key);
}

function fromStored(name: keyof Settings, stored: unknown) {
	return typeof DEFAULTS[name] === "boolean" ? stored === 1 || stored === true : stored;
}

/**
 * The slow retry after the LwM2M 1.1 sequences (Server 17-20) are used up, in s: how long
 * an unregistered thermostat may wait before it tries its server again. Not a Server
 * resource, so not kept in flash: the manifest's `registrationRetryPeriod` decides at each
 * boot. 300 s by default: someone who restarts the server or the router expects the
 * thermostat back within minutes, and one Register exchange (about 250 B, at most 5
 * datagrams) every 5 minutes is nothing for the network nor, jittered, for the server of
 * a fleet. At least 60 s (no hammering a server that is down), at most a day (still under
 * the Alarm's 12-day range).
 */
export const REGISTRATION_RETRY_PERIOD = { initial: 300, min: 60, max: 86400 } as const;

/** The configured period (a number, or digits from an mcconfig command line), else the default with a log line. */
export function registrationRetryPeriod(configured: unknown, log: (text: string) => void): number {
	const { initial, min, max } = REGISTRATION_RETRY_PERIOD;
	if (configured === undefined || configured === "") return initial;
	const n = typeof configured === "number" ? configured : typeof configured === "string" && /^\d+$/.test(configured) ? Number(configured) : NaN;
	if (Number.isInteger(n) && n >= min && n <= max) return n;
	log(`lwm2m: registrationRetryPeriod ${typeof configured === "string" ? `"${configured}"` : String(configured)} refused: give whole seconds, ${min} to ${max}; using ${initial} s`);
	return initial;
}

/** "coap://127.0.0.1:5683" -> address and port; an error text when it is not usable here. */
export function parseServerUri(uri: string): { address: string; port: number; secure: boolean } | string {
	const m = /^(coaps?):\/\/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d{1,5}))?\/?$/.exec(uri);
	if (!m) return `server URI "${uri}" is not coap://<IPv4 address>[:port]`;
	const secure = m[1] === "coaps";
	const port = m[3] ? Number(m[3]) : secure ? 5684 : 5683;
	if (port < 1 || port > 65535) return `server URI "${uri}": bad port`;
	return { address: m[2], port, secure };
}
