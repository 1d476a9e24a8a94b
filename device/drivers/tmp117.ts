// TI TMP117 digital temperature sensor, in the shape of the ECMA-419 sensor classes
// (new TMP117({sensor: {...device.I2C.default, io: device.io.SMBus}}), configure(),
// sample(), close()). Ours rather than Moddable's so that the very code that runs on
// the ESP32 is exercised against host-sim's register model.

import type SMBus from "embedded:io/smbus";
import type { I2COptions } from "embedded:io/i2c";

const Register = {
	result: 0x00,
	config: 0x01,
	offset: 0x07,
	deviceID: 0x0f,
} as const;

const DEVICE_ID = 0x0117;
const RESULT_AT_RESET = 0x8000; // no conversion has completed since power-up
const LSB = 0.0078125; // °C
const MODE_BITS = 0x0c00;
const CONV_BITS = 0x0380;
const AVG_BITS = 0x0060;

export type Mode = "continuous" | "shutdown" | "oneshot";
export type Averaging = 1 | 8 | 32 | 64;

export interface TMP117Options {
	sensor: Partial<I2COptions> & Pick<I2COptions, "data" | "clock"> & { io: typeof SMBus };
}

export interface TMP117Configuration {
	mode?: Mode;
	/** CONV field, 0..7: with averaging 8, 4 gives one result a second (the reset default) */
	conversion?: number;
	averaging?: Averaging;
	/** calibration offset the chip adds to each result, °C */
	offset?: number;
}

export interface TMP117Sample {
	temperature: number;
}

export default class TMP117 {
	#io: SMBus;

	constructor(options: TMP117Options) {
		const { io, ...rest } = options.sensor;
		const address = rest.address ?? 0x48;
		this.#io = new io({ ...rest, hz: rest.hz ?? 400_000, address });
		let id: number;
		try {
			id = this.#io.readUint16(Register.deviceID, true);
		} catch {
			this.#io.close();
			throw new Error(`TMP117: no answer at I2C address 0x${address.toString(16)} (check wiring and power)`);
		}
		if ((id & 0x0fff) !== DEVICE_ID) {
			this.#io.close();
			throw new Error(`TMP117: device ID 0x${id.toString(16)} at 0x${address.toString(16)} is not a TMP117`);
		}
	}

	configure(options: TMP117Configuration): void {
		const io = this.#io;
		let config = io.readUint16(Register.config, true);
		if (options.mode !== undefined) {
			const bits = { continuous: 0, shutdown: 1, oneshot: 3 }[options.mode];
			if (bits === undefined) throw new RangeError(`TMP117: invalid mode ${options.mode}`);
			config = (config & ~MODE_BITS) | (bits << 10);
		}
		if (options.conversion !== undefined) {
			if (!Number.isInteger(options.conversion) || options.conversion < 0 || options.conversion > 7) throw new RangeError("TMP117: conversion must be 0..7");
			config = (config & ~CONV_BITS) | (options.conversion << 7);
		}
		if (options.averaging !== undefined) {
			const bits = [1, 8, 32, 64].indexOf(options.averaging);
			if (bits < 0) throw new RangeError("TMP117: averaging must be 1, 8, 32 or 64");
			config = (config & ~AVG_BITS) | (bits << 5);
		}
		if (options.offset !== undefined) {
			const raw = Math.round(options.offset / LSB);
			if (!(raw >= -32768 && raw <= 32767)) throw new RangeError("TMP117: offset out of range");
			io.writeUint16(Register.offset, raw & 0xffff, true);
		}
		io.writeUint16(Register.config, config & 0x0ffc, true);
	}

	/** The newest conversion, or undefined before the first one completes. Throws when the chip stops answering. */
	sample(): TMP117Sample | undefined {
		const raw = this.#io.readUint16(Register.result, true);
		if (raw === RESULT_AT_RESET) return undefined;
		return { temperature: ((raw << 16) >> 16) * LSB };
	}

	close(): void {
		this.#io.close();
	}
}
