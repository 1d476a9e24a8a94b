// embedded:io/i2c (ECMA-419) on the simulated bus, with the ESP32 driver's rules:
// hz is required, an address that does not acknowledge throws "read failed" /
// "write failed", and a zero-length write (a probe) returns 1 on NACK instead.
import { board } from "../board.js";
import { host } from "../runtime.js";
import { closedError } from "./closed.js";

export function toBytes(buffer) {
	if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
	if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
	throw new TypeError("buffer required");
}

class I2C {
	#bus; #address; #closed = false;
	constructor(options) {
		const { data, clock, hz, address, port } = options ?? {};
		if (data === undefined) throw new RangeError("data required");
		if (clock === undefined) throw new RangeError("clock required");
		if (address === undefined) throw new RangeError("address required");
		if (!Number.isInteger(address) || address < 0 || address > 127) throw new RangeError("invalid address");
		const rate = Math.trunc(Number(hz)) || 0;
		if (rate <= 0 || rate > 20_000_000) throw new RangeError("invalid hz");
		if (port !== undefined && port !== 0 && port !== 1) throw new RangeError("invalid port");
		if (options.format !== undefined && options.format !== "buffer") throw new RangeError("invalid format");
		if (board.pins.has(data) || board.pins.has(clock)) throw new RangeError("inUse");
		const bus = board.findBus(data, clock, port);
		// host-sim wires sensors to the buses the board defines; other pins reach nothing
		if (!bus) throw new RangeError(`no device wired to I2C data ${data} / clock ${clock} in this simulated board`);
		if (bus.open.has(address)) throw new RangeError("duplicate address");
		bus.open.add(address);
		board.i2cPins.add(data).add(clock);
		this.#bus = bus;
		this.#address = address;
		if (options.target !== undefined) this.target = options.target;
	}
	read(count, stop = true) {
		this.#check();
		const into = typeof count === "number" ? undefined : toBytes(count);
		const length = into ? into.length : count;
		if (!Number.isInteger(length) || length < 0) throw new RangeError("invalid length");
		const bytes = this.#bus.read(this.#address, length, host.now);
		if (!bytes) throw new Error("read failed");
		if (!into) return bytes.buffer;
		into.set(bytes);
		return length;
	}
	write(buffer, stop = true) {
		this.#check();
		const bytes = toBytes(buffer);
		if (this.#bus.write(this.#address, bytes, host.now)) return;
		if (bytes.length === 0) return 1;
		throw new Error("write failed");
	}
	close() {
		if (this.#closed) return;
		this.#closed = true;
		const bus = this.#bus;
		bus.open.delete(this.#address);
		if (!bus.open.size) board.i2cPins.delete(bus.data), board.i2cPins.delete(bus.clock);
	}
	get format() { return "buffer"; }
	set format(value) { if (value !== "buffer") throw new RangeError(); }
	#check() {
		if (this.#closed) throw closedError();
	}
}

export default I2C;
