// The "wifi" module for the desktop simulator, whose network is the computer's own: it is
// connected, so a station reports "connect" and "gotIP" at once.
import Timer from "timer";

type Callback = (message: string) => void;

export default class WiFi {
	static readonly gotIP = "gotIP";
	static readonly lostIP = "lostIP";
	static readonly connected = "connect";
	static readonly disconnected = "disconnect";
	#callback: Callback | undefined;
	constructor(options?: { ssid: string; password?: string }, callback?: Callback) {
		this.#callback = callback;
		if (options) Timer.set(() => {
			this.#callback?.("connect");
			this.#callback?.("gotIP");
		}, 0);
	}
	close() {
		this.#callback = undefined;
	}
	static connect() {}
	static disconnect() {}
}
