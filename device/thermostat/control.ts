// The heating control law, free of I/O so that it can be reasoned about (and tested) on
// its own: given the time and the latest temperature (or none, when the sensor failed),
// should the relay be on?
//
//  - auto: on below setpoint - h/2, off above setpoint + h/2, unchanged in between;
//  - minimum on and off times protect the relay and the boiler from short cycles; they
//    never delay switching *off* for safety (a sensor failure, mode off);
//  - off: relay off; manual: the relay follows what the server asked (3306/0/5850), but
//    still goes off when the sensor fails;
//  - the sensor offset calibrates the reading before anything else sees it.

export const Mode = { Off: 0, Auto: 1, Manual: 2 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export interface Tuning {
	setpoint: number; // °C
	hysteresis: number; // °C, the whole band
	minOn: number; // s
	minOff: number; // s
	mode: Mode;
	offset: number; // °C, added to the sensor's reading
	period: number; // s between control decisions
	setpointMin: number;
	setpointMax: number;
}

export const DEFAULT_TUNING: Tuning = {
	setpoint: 21,
	hysteresis: 0.5,
	minOn: 120,
	minOff: 120,
	mode: Mode.Auto,
	offset: 0,
	period: 10,
	setpointMin: 5,
	setpointMax: 30,
};

export class Control {
	readonly tuning: Tuning;
	relay = false;
	/** when the relay last changed (ms) */
	switchedAt = -Infinity;
	/** what the server asked for in manual mode */
	manualRelay = false;
	/** relay cycles (off -> on) since boot */
	cycles = 0;
	/** accumulated on time (ms) since the counter was last reset */
	onMs = 0;
	#accountedAt = 0;

	constructor(tuning: Tuning, now: number) {
		this.tuning = tuning;
		this.#accountedAt = now;
	}

	/** The calibrated room temperature for a raw reading. */
	calibrated(raw: number): number {
		return raw + this.tuning.offset;
	}

	/**
	 * Decide the relay for this moment. `temperature` is calibrated, or undefined when the
	 * sensor failed: then the relay goes off at once (fail-safe), minimum times or not.
	 * Returns whether the relay changed.
	 */
	step(now: number, temperature: number | undefined): boolean {
		this.#account(now);
		const t = this.tuning;
		let want = this.relay;
		// no temperature, no heating, in every mode: a heater without feedback can overheat a room
		if (t.mode === Mode.Off || temperature === undefined) want = false;
		else if (t.mode === Mode.Manual) want = this.manualRelay;
		else {
			if (temperature < t.setpoint - t.hysteresis / 2) want = true;
			else if (temperature > t.setpoint + t.hysteresis / 2) want = false;
			// relay protection applies to the control law's own decisions only
			const held = now - this.switchedAt;
			if (want && !this.relay && held < t.minOff * 1000) want = false;
			if (!want && this.relay && held < t.minOn * 1000) want = true;
		}
		if (want === this.relay) return false;
		this.relay = want;
		this.switchedAt = now;
		if (want) this.cycles++;
		return true;
	}

	/** Milliseconds until a minimum time ends and a decision could change (0: none pending). */
	holdRemaining(now: number): number {
		const t = this.tuning;
		const held = now - this.switchedAt;
		const min = (this.relay ? t.minOn : t.minOff) * 1000;
		return held < min ? min - held : 0;
	}

	#account(now: number) {
		if (this.relay) this.onMs += now - this.#accountedAt;
		this.#accountedAt = now;
	}

	/** On time in whole seconds, brought up to `now`. */
	onSeconds(now: number): number {
		this.#account(now);
		return Math.floor(this.onMs / 1000);
	}
}
