// First-order thermal model of a heated room:
//   C dT/dt = P·heater − UA·(T − Tout(t))
// integrated exactly (exponential solution) over steps short enough that the outside
// temperature can be held constant within one. The model advances lazily to the time
// it is asked about, so it costs nothing between sensor reads or relay edges.

const MAX_STEP_MS = 60_000;
const DAY_MS = 86_400_000;

export const ROOM_DEFAULTS = Object.freeze({
	temperature: 17, // °C at start
	heaterPowerW: 2000,
	lossWPerK: 50, // UA: conduction + ventilation to the outside
	thermalMassJPerK: 600_000, // air, walls' inner layer, furniture
	outside: Object.freeze({ mean: 5, amplitude: 0, coldestHour: 4 }),
});

export class Room {
	constructor(options = {}, startMs = 0) {
		const o = { ...ROOM_DEFAULTS, ...options };
		for (const key of ["temperature", "heaterPowerW", "lossWPerK", "thermalMassJPerK"]) {
			if (typeof o[key] !== "number" || !Number.isFinite(o[key])) throw new RangeError(`room: ${key} must be a finite number, got ${o[key]}`);
		}
		if (o.lossWPerK <= 0 || o.thermalMassJPerK <= 0 || o.heaterPowerW < 0) throw new RangeError("room: lossWPerK and thermalMassJPerK must be > 0, heaterPowerW >= 0");
		this.heaterPowerW = o.heaterPowerW;
		this.lossWPerK = o.lossWPerK;
		this.thermalMassJPerK = o.thermalMassJPerK;
		this.setOutside(o.outside);
		this.temperature = o.temperature;
		this.time = startMs;
		this.heater = false;
		this.heaterOnMs = 0; // accumulated heater on-time, for energy figures
	}
	/** outside: a number (constant °C) or {mean, amplitude, coldestHour} for a daily cosine curve */
	setOutside(outside) {
		const o = typeof outside === "number" ? { mean: outside, amplitude: 0, coldestHour: 4 } : { ...ROOM_DEFAULTS.outside, ...outside };
		if (![o.mean, o.amplitude, o.coldestHour].every(Number.isFinite)) throw new RangeError("room: outside needs finite mean, amplitude, coldestHour");
		this.outside = o;
	}
	outsideAt(ms) {
		const { mean, amplitude, coldestHour } = this.outside;
		if (!amplitude) return mean;
		const phase = (((ms - coldestHour * 3_600_000) % DAY_MS) + DAY_MS) % DAY_MS / DAY_MS;
		return mean - amplitude * Math.cos(2 * Math.PI * phase);
	}
	/** integrate up to ms (never backwards) */
	advance(ms) {
		const tau = this.thermalMassJPerK / this.lossWPerK * 1000; // ms
		while (this.time < ms) {
			const dt = Math.min(MAX_STEP_MS, ms - this.time);
			const tout = this.outsideAt(this.time + dt / 2);
			const equilibrium = tout + (this.heater ? this.heaterPowerW / this.lossWPerK : 0);
			this.temperature = equilibrium + (this.temperature - equilibrium) * Math.exp(-dt / tau);
			if (this.heater) this.heaterOnMs += dt;
			this.time += dt;
		}
		return this.temperature;
	}
	temperatureAt(ms) {
		return this.advance(ms);
	}
	setHeater(on, ms) {
		this.advance(ms);
		this.heater = !!on;
	}
	/** state that survives a device reset (the room does not reboot with the MCU) */
	save() {
		return { temperature: this.temperature, time: this.time, heater: this.heater, heaterOnMs: this.heaterOnMs, outside: this.outside,
			heaterPowerW: this.heaterPowerW, lossWPerK: this.lossWPerK, thermalMassJPerK: this.thermalMassJPerK };
	}
	static restore(state) {
		const room = new Room(state, state.time);
		room.heater = state.heater;
		room.heaterOnMs = state.heaterOnMs;
		return room;
	}
}
