// The Wi-Fi station, kept up by the firmware rather than by Moddable's setup/network
// (which blocks main until an address is obtained and never tries again): connect, and
// when the access point goes away, try again with a doubling back-off (1 s to 64 s, with
// jitter), telling the application when the network comes and goes.

import WiFi from "wifi";
import { Alarm } from "../alarm";

const FIRST_RETRY = 1000;
const LAST_RETRY = 64_000;
const CONNECT_TIMEOUT = 20_000; // no IP after this long: start over

export class WiFiLink {
	up = false;
	onUp: () => void = () => {};
	onDown: () => void = () => {};
	#options: { ssid: string; password?: string };
	#monitor: WiFi | undefined = undefined;
	#retry = FIRST_RETRY;
	#alarm: Alarm;
	#log: (text: string) => void;

	constructor(ssid: string, password: string | undefined, log: (text: string) => void) {
		this.#options = password ? { ssid, password } : { ssid };
		this.#log = log;
		this.#alarm = new Alarm(() => this.#connect());
	}

	start() {
		this.#connect();
	}

	#connect() {
		this.#monitor?.close();
		this.#monitor = new WiFi(this.#options, (message) => this.#event(message));
		this.#alarm.after(CONNECT_TIMEOUT);
	}

	#event(message: string) {
		if (message === WiFi.gotIP) {
			this.#alarm.cancel();
			this.#retry = FIRST_RETRY;
			if (!this.up) {
				this.up = true;
				this.#log(`wifi: connected to "${this.#options.ssid}"`);
				this.onUp();
			}
		} else if (message === WiFi.disconnected || message === WiFi.lostIP) {
			// a lost access point reports "disconnect" then "lostIP": one loss, one back-off step
			if (message === WiFi.lostIP && !this.up) return;
			if (this.up) {
				this.up = false;
				this.#log("wifi: connection lost");
				this.onDown();
			}
			const wait = Math.round(this.#retry * (1 + Math.random() * 0.25));
			this.#retry = Math.min(this.#retry * 2, LAST_RETRY);
			this.#alarm.after(wait);
		}
	}

	close() {
		this.#alarm.close();
		this.#monitor?.close();
	}
}
