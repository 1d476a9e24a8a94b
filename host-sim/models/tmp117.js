// Register-level model of a TI TMP117 digital temperature sensor (datasheet SNOSD82),
// as a device on the simulated I2C bus. Registers are 16-bit, MSB first; a write of
// one byte sets the pointer, a write of three bytes sets the pointer and the register.

export const TMP117_ADDRESS = 0x48;
export const LSB_CELSIUS = 0.0078125;

const REG = { RESULT: 0x00, CONFIG: 0x01, THIGH: 0x02, TLOW: 0x03, EEPROM_UL: 0x04, EEPROM1: 0x05, EEPROM2: 0x06, OFFSET: 0x07, EEPROM3: 0x08, DEVICE_ID: 0x0f };
const CONFIG_DEFAULT = 0x0220; // continuous, CONV=4, AVG=1 (8 averages): one result a second
const DATA_READY = 0x2000;
const CONFIG_WRITABLE = 0x0ffc; // MOD, CONV, AVG, T/nA, POL, DR/Alert (bits 11..2)
const RESULT_AT_RESET = 0x8000; // -256 °C until the first conversion completes

// Active conversion time by AVG (ms) and cycle time by CONV x AVG (ms), datasheet table 7-7.
const ACTIVE_MS = [15.5, 125, 500, 1000];
const CYCLE_MS = [
	[15.5, 125, 500, 1000], [125, 125, 500, 1000], [250, 250, 500, 1000], [500, 500, 500, 1000],
	[1000, 1000, 1000, 1000], [4000, 4000, 4000, 4000], [8000, 8000, 8000, 8000], [16000, 16000, 16000, 16000],
];

export function celsiusToRaw(celsius) {
	const raw = Math.round(celsius / LSB_CELSIUS);
	return Math.max(-32768, Math.min(32767, raw)) & 0xffff;
}
export function rawToCelsius(raw) {
	return ((raw << 16) >> 16) * LSB_CELSIUS;
}

export class TMP117 {
	/**
	 * @param {(ms: number) => number} temperatureAt the true temperature at the die, °C
	 * @param {{random?: {gaussian(): number}, noise?: number}} options
	 */
	constructor(temperatureAt, options = {}) {
		this.temperatureAt = temperatureAt;
		this.random = options.random;
		this.faults = { absent: false, stuck: undefined, range: false, noise: options.noise ?? 0 };
		this.reset(0);
	}
	reset(ms) {
		this.pointer = 0;
		this.regs = new Uint16Array(16);
		this.regs[REG.RESULT] = RESULT_AT_RESET;
		this.regs[REG.CONFIG] = CONFIG_DEFAULT;
		this.regs[REG.THIGH] = 0x6000;
		this.regs[REG.TLOW] = 0x8000;
		this.regs[REG.DEVICE_ID] = 0x0117;
		this.modeStart = ms;
		this.completed = -1; // index of the last conversion folded into the result register
		this.lastConversion = undefined;
	}
	/** kind: "absent" | "stuck" | "range" | "noise" | "none" */
	fault(kind, value) {
		switch (kind) {
			case "absent": this.faults.absent = value ?? true; break;
			case "stuck": this.faults.stuck = value === false ? undefined : value ?? rawToCelsius(this.regs[REG.RESULT]); break;
			case "range": this.faults.range = value ?? true; break;
			case "noise": this.faults.noise = Number(value) || 0; break;
			case "none": this.faults = { absent: false, stuck: undefined, range: false, noise: 0 }; break;
			default: throw new RangeError(`tmp117: unknown fault "${kind}" (absent, stuck, range, noise, none)`);
		}
	}
	timing() {
		const config = this.regs[REG.CONFIG];
		const conv = (config >> 7) & 7, avg = (config >> 5) & 3, mode = (config >> 10) & 3;
		return { mode, active: ACTIVE_MS[avg], cycle: CYCLE_MS[conv][avg] };
	}
	// Fold in conversions that completed by `ms`: the result register holds the newest one.
	update(ms) {
		const { mode, active, cycle } = this.timing();
		if (mode === 1) return; // shutdown
		const elapsed = ms - this.modeStart - active;
		if (elapsed < 0) return;
		let index = mode === 3 ? 0 : Math.floor(elapsed / cycle);
		if (index <= this.completed) return;
		this.completed = index;
		const at = this.modeStart + active + index * cycle;
		this.convert(at);
		if (mode === 3) { // one-shot: back to shutdown
			this.regs[REG.CONFIG] = (this.regs[REG.CONFIG] & ~0x0c00) | 0x0400;
		}
	}
	convert(at) {
		let celsius;
		if (this.faults.range) celsius = 255.9921875; // saturated: what a shorted or broken die reports
		else if (this.faults.stuck !== undefined) celsius = this.faults.stuck;
		else {
			celsius = this.temperatureAt(at) + rawToCelsius(this.regs[REG.OFFSET]);
			if (this.faults.noise && this.random) celsius += this.faults.noise * this.random.gaussian();
		}
		const raw = celsiusToRaw(celsius);
		this.regs[REG.RESULT] = raw;
		this.regs[REG.CONFIG] |= DATA_READY;
		this.lastConversion = { time: at, celsius, raw, reading: rawToCelsius(raw) };
	}
	// I2C bus interface: return false to NACK.
	write(bytes, ms) {
		if (this.faults.absent) return false;
		this.update(ms);
		if (bytes.length === 0) return true; // quick write / probe
		const pointer = bytes[0];
		if (pointer > 0x0f || (pointer > 0x08 && pointer !== REG.DEVICE_ID)) return false; // invalid pointer: NACK
		this.pointer = pointer;
		if (bytes.length >= 3) this.writeRegister(pointer, (bytes[1] << 8) | bytes[2], ms);
		return true;
	}
	read(count, ms) {
		if (this.faults.absent) return undefined;
		this.update(ms);
		const value = this.regs[this.pointer];
		if (this.pointer === REG.RESULT || this.pointer === REG.CONFIG) this.regs[REG.CONFIG] &= ~DATA_READY;
		const out = new Uint8Array(count);
		for (let i = 0; i < count; i++) out[i] = i & 1 ? value & 0xff : value >> 8;
		return out;
	}
	writeRegister(pointer, value, ms) {
		switch (pointer) {
			case REG.CONFIG:
				if (value & 0x0002) { // soft reset
					this.reset(ms + 2);
					return;
				}
				this.regs[REG.CONFIG] = (this.regs[REG.CONFIG] & ~CONFIG_WRITABLE) | (value & CONFIG_WRITABLE);
				this.modeStart = ms; // a config write restarts the conversion cycle
				this.completed = -1;
				break;
			case REG.THIGH: case REG.TLOW: case REG.OFFSET: case REG.EEPROM1: case REG.EEPROM2: case REG.EEPROM3:
				this.regs[pointer] = value;
				break;
			default: // result, device ID, EEPROM_UL: read-only here
				break;
		}
	}
	save() {
		return { faults: { ...this.faults } };
	}
	restore(state) {
		if (state?.faults) this.faults = { ...state.faults };
	}
}
