// Moddable's desktop simulator (mcconfig -p lin) has UDP but no I2C, no Digital and no
// `device` provider. For that build the firmware gets the stand-ins in this folder: a room
// warmed by the relay and read by a register-level TMP117, so the thermostat works there
// as on the board. (host-sim has its own, fuller models in Node; this one is on-device.)

import { monotonic } from "../monotonic";

const HEATER_W = 2000, LOSS_W_PER_K = 50, CAPACITY_J_PER_K = 600_000;

export class Room {
	temperature = 18;
	outside = 5;
	heater = false;
	#at = monotonic();
	/** Integrate up to now: C dT/dt = P - UA (T - Tout), exactly for constant inputs. */
	update(now = monotonic()) {
		const dt = (now - this.#at) / 1000;
		this.#at = now;
		if (dt <= 0) return this.temperature;
		const target = this.outside + (this.heater ? HEATER_W / LOSS_W_PER_K : 0);
		this.temperature = target + (this.temperature - target) * Math.exp((-dt * LOSS_W_PER_K) / CAPACITY_J_PER_K);
		return this.temperature;
	}
	setHeater(on: boolean) {
		this.update();
		this.heater = on;
	}
	setOutside(celsius: number) {
		this.update();
		this.outside = celsius;
	}
}
