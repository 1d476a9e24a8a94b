// Moddable's "rng" module: RNG.get(n) -> ArrayBuffer of n random bytes (esp_fill_random on
// the ESP32), from Node's crypto.randomBytes, or from the simulation's seed when it has one.
import { call } from "../runtime.js";

const RNG = Object.freeze({
	get(n) {
		n = Math.trunc(Number(n));
		if (!(n >= 0 && n <= 65536)) throw new RangeError("invalid size");
		return call({ op: "rng.get", n }).payload.slice().buffer;
	},
	init() {},
});

export default RNG;
