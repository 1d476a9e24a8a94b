// The simulated board: which GPIOs the I2C bus and the relay use, what is wired to them,
// and the room. Defaults follow a common ESP32 DevKit wiring (I2C on 21/22, relay on 26).

import { ROOM_DEFAULTS } from "./models/room.js";

export function defaultBoard() {
	return {
		i2c: [{ port: 0, data: 21, clock: 22 }],
		pins: { led: 2, button: 0 }, // what an esp32/nodemcu target's provider names
		relay: { pin: 26, activeLow: false },
		supply: { pin: 35 }, // a supply monitor: high while the power is good (manifest config powerFailPin)
		sensor: { address: 0x48, port: 0, noise: 0 },
		room: { ...ROOM_DEFAULTS },
	};
}

const GPIO = (pin) => Number.isInteger(pin) && pin >= 0 && pin <= 39 && ![20, 24, 28, 29, 30, 31].includes(pin);
const BOARD_KEYS = ["i2c", "pins", "relay", "supply", "sensor", "room"];

/** Validate a board description (merged over the defaults); throw naming what is wrong. */
export function checkBoard(board) {
	const d = defaultBoard();
	for (const key of Object.keys(board)) if (!BOARD_KEYS.includes(key)) throw new RangeError(`host-sim board: unknown key "${key}" (known: ${BOARD_KEYS.join(", ")})`);
	const b = {
		i2c: board.i2c ?? d.i2c,
		pins: { ...d.pins, ...board.pins },
		relay: { ...d.relay, ...board.relay },
		supply: { ...d.supply, ...board.supply },
		sensor: { ...d.sensor, ...board.sensor },
		room: { ...d.room, ...board.room },
	};
	for (const [name, pin] of Object.entries(b.pins)) if (!GPIO(pin)) throw new RangeError(`host-sim board: pin "${name}" is ${JSON.stringify(pin)}, not an ESP32 GPIO (0-39, no 20, 24, 28-31)`);
	if (!GPIO(b.supply.pin)) throw new RangeError(`host-sim board: supply monitor pin ${b.supply.pin} is not an ESP32 GPIO`);
	if (!GPIO(b.relay.pin) || b.relay.pin >= 34) throw new RangeError(`host-sim board: relay pin ${b.relay.pin} is not an output-capable ESP32 GPIO`);
	for (const bus of b.i2c) {
		if (!GPIO(bus.data) || !GPIO(bus.clock)) throw new RangeError(`host-sim board: I2C bus pins ${bus.data}/${bus.clock} are not ESP32 GPIOs`);
		if (bus.port !== 0 && bus.port !== 1) throw new RangeError(`host-sim board: I2C port ${bus.port} (the ESP32 has 0 and 1)`);
	}
	if (!(b.sensor.address >= 0x08 && b.sensor.address <= 0x77)) throw new RangeError(`host-sim board: sensor address ${b.sensor.address} is not a 7-bit I2C address`);
	if (!b.i2c.some((bus) => bus.port === b.sensor.port)) throw new RangeError(`host-sim board: no I2C bus on port ${b.sensor.port} for the sensor`);
	return b;
}
