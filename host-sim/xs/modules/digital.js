// embedded:io/digital (ECMA-419) as Moddable's ESP32 build has it: outputs start low,
// an output cannot be read back, onReadable gets the bank bitmask of triggered pins.
import { board } from "../board.js";
import { invoke } from "../runtime.js";
import { closedError } from "./closed.js";

const OUTPUTS = new Set([8, 9]);
const MODES = new Set([0, 1, 2, 3, 8, 9]);

class Digital {
	#pin; #output; #closed = false;
	constructor(options) {
		const { pin, mode } = options ?? {};
		if (pin === undefined) throw new Error("invalid");
		const output = OUTPUTS.has(mode);
		if (mode === undefined) throw new Error("invalid");
		board.check(pin, output); // "invalid pin", "in use", "input only"
		if (!MODES.has(mode)) throw new RangeError("invalid mode");
		const edge = options.edge ?? 0;
		if (!output && options.onReadable && !(edge & 3)) throw new RangeError("invalid edges");
		board.claim(pin, mode, output);
		this.#pin = pin;
		this.#output = output;
		if (options.target !== undefined) this.target = options.target;
		if (!output && options.onReadable && edge & 3) {
			const onReadable = options.onReadable, mask = 1 << (pin & 31);
			board.pins.get(pin).onEdge = (level) => {
				if ((level && edge & Digital.Rising) || (!level && edge & Digital.Falling)) invoke(onReadable, this, mask);
			};
		}
	}
	read() {
		this.#check();
		if (this.#output) throw new Error("can't read output");
		return board.read(this.#pin);
	}
	write(value) {
		this.#check();
		if (!this.#output) throw new Error("can't write input");
		board.write(this.#pin, Number(value) ? 1 : 0);
	}
	close() {
		if (this.#closed) return;
		this.#closed = true;
		board.release(this.#pin);
	}
	get format() { return "number"; }
	set format(value) { if (value !== "number") throw new RangeError(); }
	#check() {
		if (this.#closed) throw closedError();
	}
}
Digital.Input = 0;
Digital.InputPullUp = 1;
Digital.InputPullDown = 2;
Digital.InputPullUpDown = 3;
Digital.Output = 8;
Digital.OutputOpenDrain = 9;
Digital.Rising = 1;
Digital.Falling = 2;

export default Digital;
