// The firmware half of mcsim's thermostat device, in the shape of Moddable's
// build/simulators/*/host.js: `Host.Thermostat` is a Control of mcsim's host messages
// (screen.postMessage / screen.onMessage, JSON both ways). device/sim/board.ts makes
// one and gives it what the pane sends; post() sends the pane what it shows.
//   firmware -> pane  {thermostat: {temperature, outside, relay, setpoint, powered}}
//   pane -> firmware  {button: 0|1}, {outside: °C}, {power: 0|1}
import Control from "control";

class Thermostat extends Control {
	#onJSON;
	constructor(onJSON) {
		super();
		this.#onJSON = onJSON;
	}
	onJSON(json) {
		this.#onJSON(json);
	}
	post(json) {
		this.postJSON(json);
	}
}

globalThis.Host = Object.freeze({ Thermostat }, true);
