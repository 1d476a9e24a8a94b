// One rescheduled wake-up, as the protocol layers need it (retransmissions, the next
// notification, registration updates, Wi-Fi retries). Moddable frees a one-shot timer
// once it fires, so this keeps one repeating timer with a period too long to come round
// and moves it with Timer.schedule: no timer is made or freed per event.

import Timer from "timer";
import { monotonic } from "./monotonic";

const IDLE = 0x3fffffff;

export class Alarm {
	// undefined once closed: a layer closed at shutdown may still hear of a change (a
	// button press, a late datagram), and moving a cleared timer throws on Moddable
	#timer: Timer | undefined;
	constructor(fire: () => void) {
		this.#timer = Timer.repeat(fire, IDLE);
		Timer.schedule(this.#timer);
	}
	/** Fire in `ms` (timers count whole milliseconds). */
	after(ms: number) {
		if (this.#timer) Timer.schedule(this.#timer, Math.max(0, Math.ceil(ms)), IDLE);
	}
	/** Fire at `time` (monotonic() milliseconds); Infinity: not at all. */
	at(time: number) {
		if (time === Infinity) this.cancel();
		else this.after(time - monotonic());
	}
	cancel() {
		if (this.#timer) Timer.schedule(this.#timer);
	}
	close() {
		if (this.#timer) Timer.clear(this.#timer);
		this.#timer = undefined;
	}
}
