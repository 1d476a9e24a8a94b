// Moddable's "net" module: facts about the network connection (Net.get). On the ESP32
// they come from the Wi-Fi station; host-sim answers with the simulated device's loopback
// address, a MAC derived from its name, and a signal strength Node sets (board.wifi.rssi).
import { call } from "../runtime.js";

const Net = Object.freeze({
	get(what) {
		const facts = call({ op: "net" }).header;
		switch (what) {
			case "IP": case "MAC": case "SSID": case "BSSID": case "RSSI":
				return facts[what];
			case "DNS":
				return [];
			default:
				return undefined;
		}
	},
	resolve() {
		throw new Error("host-sim: Net.resolve is not simulated (use IP literals)");
	},
});

export default Net;
