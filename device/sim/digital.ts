// embedded:io/digital for the desktop simulator: inputs read high (nothing pressed),
// outputs remember their level; the relay pin (config.relayPin) drives the room's heater.
import config from "mc/config";
import { room } from "./room";

type Options = { pin: number; mode: number; edge?: number; onReadable?: (this: Digital) => void };

export default class Digital {
	static readonly Input = 0;
	static readonly InputPullUp = 1;
	static readonly InputPullDown = 2;
	static readonly InputPullUpDown = 3;
	static readonly Output = 8;
	static readonly OutputOpenDrain = 9;
	static readonly Rising = 1;
	static readonly Falling = 2;
	#pin: number;
	#mode: number;
	#level = 1;
	constructor(options: Options) {
		this.#pin = options.pin;
		this.#mode = options.mode;
		if (this.#mode >= Digital.Output) this.#level = 0;
	}
	read(): number {
		return this.#level;
	}
	write(value: number) {
		if (this.#mode < Digital.Output) throw new Error("can't write input");
		this.#level = value ? 1 : 0;
		if (this.#pin === (config.relayPin ?? 26)) room.setHeater(this.#level === (config.relayActiveLow ? 0 : 1));
	}
	close() {}
	get format() {
		return "number";
	}
}
