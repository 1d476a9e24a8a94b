// A simulated I2C bus: 7-bit addresses map to device models with
// write(bytes, ms) -> ack and read(count, ms) -> bytes | undefined (NACK).

export class I2CBus {
	constructor({ data, clock, port = 0 }) {
		this.data = data;
		this.clock = clock;
		this.port = port;
		this.devices = new Map();
		this.open = new Set(); // addresses with an open I2C instance (the host's bookkeeping)
	}
	attach(address, model) {
		if (!(address >= 0x08 && address <= 0x77)) throw new RangeError(`i2c: address 0x${address.toString(16)} outside 0x08..0x77`);
		this.devices.set(address, model);
	}
	write(address, bytes, ms) {
		const model = this.devices.get(address);
		return model ? model.write(bytes, ms) : false;
	}
	read(address, count, ms) {
		const model = this.devices.get(address);
		return model ? model.read(count, ms) : undefined;
	}
}
