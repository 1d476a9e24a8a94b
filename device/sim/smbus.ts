// embedded:io/smbus for the desktop simulator: a TMP117 at config.sensorAddress (0x48)
// whose result register reads the room model (7.8125 m°C per LSB), ID 0x0117, config with
// data ready set. Any other address does not answer, as on a real bus.
import config from "mc/config";
import { room } from "sim/board";

export default class SMBus {
	#address: number;
	constructor(options: { address: number; data: number; clock: number; hz?: number }) {
		this.#address = options.address;
	}
	#check() {
		if (this.#address !== (config.sensorAddress ?? 0x48)) throw new Error("read failed");
	}
	readUint16(register: number, bigEndian?: boolean): number {
		this.#check();
		switch (register) {
			case 0x00: {
				const raw = Math.round(room().update() / 0.0078125) & 0xffff;
				return bigEndian ? raw : ((raw & 0xff) << 8) | (raw >> 8);
			}
			case 0x01:
				return bigEndian ? 0x2220 : 0x2022; // data ready, continuous conversion, 8 averages
			case 0x0f:
				return bigEndian ? 0x0117 : 0x1701;
			default:
				return 0;
		}
	}
	writeUint16(register: number, value: number, bigEndian?: boolean) {
		this.#check();
		void register, value, bigEndian;
	}
	readUint8(register: number): number {
		this.#check();
		return register === 0x0f ? 0x01 : 0;
	}
	writeUint8() {
		this.#check();
	}
	close() {}
}
