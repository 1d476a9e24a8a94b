// embedded:io/digital for the desktop simulator: inputs read the simulated board (the
// pane's button and supply switch) and call onReadable on the edges asked for; outputs
// remember their level, and the relay pin drives the room's heater.
import { inputLevel, listen, output, unlisten } from "sim/board";

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
	#level = 0;
	#listener: ((level: number) => void) | undefined = undefined;
	constructor(options: Options) {
		this.#pin = options.pin;
		this.#mode = options.mode;
		const { edge = 0, onReadable } = options;
		if (this.#mode < Digital.Output && onReadable && edge) {
			this.#listener = (level) => {
				if (edge & (level ? Digital.Rising : Digital.Falling)) onReadable.call(this);
			};
			listen(this.#pin, this.#listener);
		}
	}
	read(): number {
		return this.#mode < Digital.Output ? inputLevel(this.#pin) : this.#level;
	}
	write(value: number) {
		if (this.#mode < Digital.Output) throw new Error("can't write input");
		this.#level = value ? 1 : 0;
		output(this.#pin, this.#level);
	}
	close() {
		if (this.#listener) unlisten(this.#pin, this.#listener);
		this.#listener = undefined;
	}
	get format() {
		return "number";
	}
}
