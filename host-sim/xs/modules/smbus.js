// embedded:io/smbus: register access over I2C. SMBus words are little-endian unless
// the caller asks for big-endian (the TMP117, like most sensors, is big-endian).
import I2C from "./i2c.js";

// made at first use: on the moddable engine this module is preloaded, and a buffer made at
// link time lives in the archive (flash on the ESP32), read-only
let scratch;

class SMBus extends I2C {
	#stop;
	constructor(options) {
		super(options);
		this.#stop = !!options.stop; // false: repeated start between register write and read
	}
	readUint8(register) {
		this.write(Uint8Array.of(register), this.#stop);
		return new Uint8Array(this.read(1))[0];
	}
	writeUint8(register, value) {
		this.write(Uint8Array.of(register, value & 0xff));
	}
	readUint16(register, bigEndian = false) {
		this.write(Uint8Array.of(register), this.#stop);
		const b = new Uint8Array(this.read(2));
		return bigEndian ? (b[0] << 8) | b[1] : (b[1] << 8) | b[0];
	}
	writeUint16(register, value, bigEndian = false) {
		scratch ??= new Uint8Array(3);
		scratch[0] = register;
		scratch[1] = bigEndian ? (value >> 8) & 0xff : value & 0xff;
		scratch[2] = bigEndian ? value & 0xff : (value >> 8) & 0xff;
		this.write(scratch);
	}
	readBuffer(register, buffer) {
		this.write(Uint8Array.of(register), this.#stop);
		return this.read(buffer); // a count gives a new ArrayBuffer, a buffer gives the byte count
	}
	writeBuffer(register, buffer) {
		const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
		const out = new Uint8Array(bytes.length + 1);
		out[0] = register;
		out.set(bytes, 1);
		this.write(out);
	}
	sendByte(command) {
		this.write(Uint8Array.of(command));
	}
	receiveByte() {
		return new Uint8Array(this.read(1))[0];
	}
	writeQuick() {
		this.write(new Uint8Array(0));
	}
	readQuick() {
		this.read(0);
	}
	get format() { return "buffer"; }
	set format(value) { if (value !== "buffer") throw new Error("invalid format"); }
}

export default SMBus;
