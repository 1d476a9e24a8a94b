// The thermostat application: sensor -> control law -> relay, once per control period,
// and its LwM2M face: Temperature 3303/0, Set Point 3308/0, Actuation 3306/0 (the relay)
// and Thermostat Tuning 32700/0. Every tunable a server writes is checked (type and range
// by the model, relations here), applied at once and kept in flash.
//
// Fail-safe: a sensor that does not answer, reads outside the plausible range, or repeats
// the very same reading for too long is a failure: the relay goes off in that same control
// step, Device /3/0/11 reports error 8 (peripheral malfunction), and the sensor is opened
// again every period until it answers sensibly.

import Timer from "timer";
import type { Lwm2mClient } from "../lwm2m/client";
import type { Instance, Outcome } from "../lwm2m/model";
import { ACTUATION, SETPOINT, TEMPERATURE } from "../lwm2m/ipso";
import { ErrorCode } from "../lwm2m/objects";
import { Control, Mode, type Tuning } from "./control";
import { SensorState, TUNING, TuningResource as R, TUNING_ID } from "./objects";
import { eraseTuning, loadTuning, saveTuning } from "./tuning-store";
import { monotonic } from "../monotonic";

export interface Sensor {
	/** °C, or undefined when no new conversion is ready; throws when the chip does not answer */
	sample(): { temperature: number } | undefined;
	close(): void;
}

export interface Relay {
	set(on: boolean): void;
}

export interface ThermostatOptions {
	client: Lwm2mClient;
	openSensor: () => Sensor;
	relay: Relay;
	/** the manifest's config: seeds the tuning on first boot */
	seed?: Partial<Tuning>;
	log?: (text: string) => void;
}

// plausible room readings; the TMP117 itself measures -55..150 °C
const PLAUSIBLE_MIN = -20, PLAUSIBLE_MAX = 60;
// the same raw reading for this long is a stuck sensor (a real room never holds to 7.8 m°C)
const STUCK_MS = 15 * 60_000;
const FIRST_READING_MS = 1500;
const TEMPERATURE_ID = 3303, SETPOINT_ID = 3308, ACTUATION_ID = 3306;

/** A tuning resource as a write would leave it (the current value when the write does not set it). */
function tuned(after: Outcome, resource: number, current: number): number {
	const v = after.value(TUNING_ID, 0, resource);
	return typeof v === "number" ? v : current;
}
function setpointAfter(after: Outcome, current: number): number {
	const v = after.value(SETPOINT_ID, 0, 5900);
	return typeof v === "number" ? v : current;
}

export class Thermostat {
	readonly client: Lwm2mClient;
	readonly control: Control;
	readonly tuning: Tuning;
	/** calibrated temperature, rounded to 0.01 °C; NaN before the first reading */
	temperature = NaN;
	sensorState: SensorState = SensorState.Ok;
	minMeasured = NaN;
	maxMeasured = NaN;
	#openSensor: () => Sensor;
	#sensor: Sensor | undefined = undefined;
	#relay: Relay;
	#log: (text: string) => void;
	#timer: Timer | undefined = undefined;
	#lastRaw = NaN;
	#sameSince = 0;
	#reported = "";
	readonly temperatureObject: Instance;
	readonly setpointObject: Instance;
	readonly actuation: Instance;
	readonly tuningObject: Instance;

	constructor(options: ThermostatOptions) {
		this.client = options.client;
		this.#openSensor = options.openSensor;
		this.#relay = options.relay;
		this.#log = options.log ?? ((text) => trace(text, "\n"));
		this.tuning = loadTuning(options.seed ?? {});
		// a factory reset (/3/0/5) forgets the tuning too: the next boot seeds from the manifest
		this.client.onFactoryReset = eraseTuning;
		this.control = new Control(this.tuning, monotonic());
		this.#relay.set(false);
		const model = this.client.model;
		this.temperatureObject = this.#defineTemperature(model.define(TEMPERATURE).add(0));
		this.setpointObject = this.#defineSetpoint(model.define(SETPOINT).add(0));
		this.actuation = this.#defineActuation(model.define(ACTUATION).add(0));
		this.tuningObject = this.#defineTuning(model.define(TUNING).add(0));
	}

	start() {
		this.step(); // relay off until there is a reading
		// the TMP117's first conversion is ready about a second after power-up
		this.#timer = Timer.set(() => this.step(), FIRST_READING_MS, this.tuning.period * 1000);
	}

	stop() {
		if (this.#timer) Timer.clear(this.#timer);
		this.#timer = undefined;
		this.#sensor?.close();
		this.#sensor = undefined;
		this.control.step(monotonic(), undefined);
		this.#relay.set(false);
	}

	/** One control period: read, decide, switch, tell observers. */
	step() {
		const now = monotonic();
		const reading = this.#read(now);
		if (reading !== undefined) this.#measured(reading);
		const t = this.sensorState === SensorState.Ok && this.temperature === this.temperature ? this.temperature : undefined;
		if (this.control.step(now, t)) {
			this.#relay.set(this.control.relay);
			this.#log(`thermostat: relay ${this.control.relay ? "on" : "off"} at ${t === undefined ? "no reading" : t.toFixed(2) + " °C"}, set point ${this.tuning.setpoint}`);
			this.client.changed(ACTUATION_ID, 0, 5850);
			this.client.changed(ACTUATION_ID, 0, 5852);
			this.client.changed(TUNING_ID, 0, R.Cycles);
		}
	}

	/** A local change of the set point (a button, a schedule): clamped, kept, notified. */
	adjustSetpoint(delta: number) {
		// after stop() (the supply failing) the device is going down: a press must not
		// restart control, write flash or reach a closed client
		if (!this.#timer) {
			this.#log("thermostat: button ignored, the thermostat is stopped");
			return;
		}
		const t = this.tuning;
		let next = Math.round((t.setpoint + delta) * 100) / 100;
		if (next > t.setpointMax) next = t.setpointMin;
		if (next < t.setpointMin) next = t.setpointMax;
		this.setpointObject.set(5900, next);
	}

	// ---------------------------------------------------------------- sensor
	#read(now: number): number | undefined {
		if (!this.#sensor) {
			try {
				this.#sensor = this.#openSensor();
			} catch (e) {
				this.#fault(SensorState.NotAnswering, (e as Error).message);
				return undefined;
			}
		}
		let sample;
		try {
			sample = this.#sensor.sample();
		} catch (e) {
			this.#sensor.close();
			this.#sensor = undefined;
			this.#fault(SensorState.NotAnswering, (e as Error).message);
			return undefined;
		}
		if (!sample) return undefined; // no new conversion yet: keep the last state
		const raw = sample.temperature;
		if (!(raw >= PLAUSIBLE_MIN && raw <= PLAUSIBLE_MAX)) {
			this.#fault(SensorState.OutOfRange, `reading ${raw} °C is outside ${PLAUSIBLE_MIN}..${PLAUSIBLE_MAX} °C`);
			return undefined;
		}
		if (raw !== this.#lastRaw) {
			this.#lastRaw = raw;
			this.#sameSince = now;
		} else if (now - this.#sameSince >= STUCK_MS) {
			this.#fault(SensorState.Stuck, `the same reading (${raw} °C) for ${Math.round((now - this.#sameSince) / 60_000)} min`);
			return undefined;
		}
		if (this.sensorState !== SensorState.Ok) {
			this.sensorState = SensorState.Ok;
			this.client.setError(ErrorCode.PeripheralMalfunction, false);
			this.client.changed(TUNING_ID, 0, R.SensorState);
			this.#report("sensor: ok again");
		}
		return Math.round(this.control.calibrated(raw) * 100) / 100;
	}

	#fault(state: SensorState, why: string) {
		if (this.sensorState !== state) {
			this.sensorState = state;
			this.client.setError(ErrorCode.PeripheralMalfunction, true);
			this.client.changed(TUNING_ID, 0, R.SensorState);
		}
		this.#report(`sensor: ${why}; heating off`);
	}

	#report(text: string) {
		if (text === this.#reported) return;
		this.#reported = text;
		this.#log(text);
	}

	#measured(t: number) {
		if (t === this.temperature) return;
		this.temperature = t;
		this.client.changed(TEMPERATURE_ID, 0, 5700);
		if (!(t >= this.minMeasured)) {
			this.minMeasured = t;
			this.client.changed(TEMPERATURE_ID, 0, 5601);
		}
		if (!(t <= this.maxMeasured)) {
			this.maxMeasured = t;
			this.client.changed(TEMPERATURE_ID, 0, 5602);
		}
	}

	// ---------------------------------------------------------------- LwM2M objects
	#defineTemperature(i: Instance): Instance {
		i.bind(5700, { read: () => (this.temperature === this.temperature ? this.temperature : 0) });
		i.bind(5601, { read: () => (this.minMeasured === this.minMeasured ? this.minMeasured : 0) });
		i.bind(5602, { read: () => (this.maxMeasured === this.maxMeasured ? this.maxMeasured : 0) });
		i.values.set(5603, -55);
		i.values.set(5604, 150);
		i.bind(5605, {
			execute: () => {
				this.minMeasured = this.maxMeasured = this.temperature;
				this.client.changed(TEMPERATURE_ID, 0, 5601);
				this.client.changed(TEMPERATURE_ID, 0, 5602);
				return undefined;
			},
		});
		i.values.set(5701, "Cel");
		i.values.set(5750, "room temperature");
		return i;
	}

	#defineSetpoint(i: Instance): Instance {
		i.bind(5900, {
			read: () => this.tuning.setpoint,
			check: (v, after) => {
				const min = tuned(after, R.SetpointMin, this.tuning.setpointMin), max = tuned(after, R.SetpointMax, this.tuning.setpointMax);
				return (v as number) < min || (v as number) > max ? `set point ${v} is outside ${min}..${max} °C (32700/0/6, 32700/0/7)` : undefined;
			},
			write: (v) => this.#tune("setpoint", v as number),
		});
		i.values.set(5701, "Cel");
		i.values.set(5750, "heating");
		return i;
	}

	#defineActuation(i: Instance): Instance {
		i.bind(5850, {
			read: () => this.control.relay,
			check: (_, after) => (tuned(after, R.Mode, this.tuning.mode) === Mode.Manual ? undefined : "the relay is switched by the thermostat: set mode manual (32700/0/3 = 2) first"),
			write: (v) => {
				this.control.manualRelay = v as boolean;
				this.step();
			},
		});
		i.bind(5852, {
			read: () => this.control.onSeconds(monotonic()),
			write: (v) => {
				this.control.onSeconds(monotonic());
				this.control.onMs = (v as number) * 1000;
			},
		});
		i.values.set(5750, "heating relay");
		return i;
	}

	#defineTuning(i: Instance): Instance {
		const t = this.tuning;
		const bindTunable = (id: number, name: keyof Tuning, check?: (v: number, after: Outcome) => string | undefined) => {
			i.bind(id, {
				read: () => t[name],
				check: check ? (v, after) => check(v as number, after) : undefined,
				write: (v) => this.#tune(name, v as number),
			});
		};
		bindTunable(R.Hysteresis, "hysteresis");
		bindTunable(R.MinOn, "minOn");
		bindTunable(R.MinOff, "minOff");
		bindTunable(R.Mode, "mode");
		bindTunable(R.Offset, "offset");
		bindTunable(R.Period, "period");
		// judged on what the write leaves: a set point and its new bounds may come together
		bindTunable(R.SetpointMin, "setpointMin", (v, after) => {
			const max = tuned(after, R.SetpointMax, t.setpointMax), sp = setpointAfter(after, t.setpoint);
			return v > max ? `minimum ${v} is above the maximum ${max}` : v > sp ? `minimum ${v} is above the set point ${sp}` : undefined;
		});
		bindTunable(R.SetpointMax, "setpointMax", (v, after) => {
			const min = tuned(after, R.SetpointMin, t.setpointMin), sp = setpointAfter(after, t.setpoint);
			return v < min ? `maximum ${v} is below the minimum ${min}` : v < sp ? `maximum ${v} is below the set point ${sp}` : undefined;
		});
		i.bind(R.Cycles, { read: () => this.control.cycles });
		i.bind(R.SensorState, { read: () => this.sensorState });
		return i;
	}

	// a tunable changed (by the server or locally): keep it, apply it now
	#tune(name: keyof Tuning, value: number) {
		const t = this.tuning;
		if (t[name] === value) return;
		(t as unknown as Record<string, number>)[name] = value;
		saveTuning(name, value);
		this.#log(`thermostat: ${name} = ${value}`);
		if (name === "period" && this.#timer) Timer.schedule(this.#timer, value * 1000, value * 1000);
		if (name === "offset") {
			this.#lastRaw = NaN; // re-read with the new calibration
			this.temperature = NaN;
		}
		if (name === "mode" && value !== Mode.Manual) this.control.manualRelay = false;
		this.step();
	}
}
