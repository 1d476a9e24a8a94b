// Moddable's "wifi" module in station mode, as the ESP32 build behaves: new WiFi({ssid,
// password}, callback) starts connecting and reports "connect", then "gotIP"; a lost
// access point is "disconnect" (and "lostIP"). Node decides when the network is there
// (SimDevice.setNetwork): while it is down, UDP sends fail as lwIP's do without a route.
import { host, invoke, after, atBoot } from "../runtime.js";

let monitors;
atBoot.push(() => { monitors = new Set(); });
let state = "down"; // "down" | "up"
let connecting = false;
const CONNECT_MS = 1200; // association + DHCP on a typical access point

function tell(message) {
	for (const m of [...monitors]) invoke(m.callback, m.owner, message);
}

class WiFi {
	static gotIP = "gotIP";
	static lostIP = "lostIP";
	static connected = "connect";
	static disconnected = "disconnect";
	static station_connected = "station_connect";
	static station_disconnected = "station_disconnect";
	static Mode = Object.freeze({ off: -5, none: 0, station: 1, accessPoint: 2 });
	static mode = 1;

	#callback;
	constructor(options, callback) {
		this.#callback = typeof callback === "function" ? callback : undefined;
		if (this.#callback) monitors.add({ callback: this.#callback, owner: this });
		if (options) WiFi.connect(options);
	}
	close() {
		for (const m of monitors) if (m.owner === this) monitors.delete(m);
	}
	static connect(options) {
		if (options !== undefined && (typeof options !== "object" || typeof options.ssid !== "string" || !options.ssid)) throw new Error("ssid required");
		connecting = true;
		host.wifi.attempt();
	}
	static disconnect() {
		connecting = false;
		if (state === "up") {
			state = "down";
			host.networkUp = false;
			tell("disconnect");
		}
	}
	static scan() {
		throw new Error("host-sim: WiFi.scan is not simulated");
	}
	static accessPoint() {
		throw new Error("host-sim: access point mode is not simulated");
	}
}

// Node's view of the air: whether an access point answers. The runtime asks each time
// the firmware tries, and Node says when it changes.
host.wifi = {
	available: true,
	attempt() {
		if (!connecting || state === "up") return;
		if (host.networkUp === undefined) host.networkUp = false;
		after(CONNECT_MS, () => {
			if (!connecting || state === "up") return;
			// no access point: the station gives up on this attempt, as ESP-IDF reports it
			if (!host.wifi.available) return tell("disconnect");
			state = "up";
			host.networkUp = true;
			tell("connect");
			tell("gotIP");
		});
	},
};

host.handlers.set("wifi.available", (h) => {
	host.wifi.available = !!h.available;
	if (!host.wifi.available && state === "up") {
		state = "down";
		host.networkUp = false;
		tell("disconnect");
		tell("lostIP");
	}
	return {};
});

export default WiFi;
