// embedded:provider/builtin for the desktop simulator: the `device` global an ESP32 board
// target's host provider gives (I2C default pins, the io classes, pin names), backed by
// the stand-ins in this directory.
// By their module names: a relative import would resolve against embedded:provider/.
import Digital from "embedded:io/digital";
import SMBus from "embedded:io/smbus";

const device = Object.freeze({
	I2C: Object.freeze({ default: Object.freeze({ data: 21, clock: 22 }) }),
	io: Object.freeze({ Digital, SMBus }),
	pin: Object.freeze({ button: 0, led: 2, relay: 26 }),
});

(globalThis as unknown as { device: typeof device }).device = device;
export default device;
