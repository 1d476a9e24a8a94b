// The simulated ESP32 board: its GPIO rules, the I2C buses with their device models,
// and the relay wired to the room. Device code reaches it only through the Moddable
// modules (embedded:io/*); Node configures it at boot and injects faults with commands.

import { host, emit } from "./runtime.js";
import { I2CBus } from "../models/i2c-bus.js";
import { TMP117 } from "../models/tmp117.js";
import { Room } from "../models/room.js";

// ESP32 (WROOM/WROVER) GPIOs that exist; 34..39 are input-only. 6..11 drive the SPI flash.
const GPIO_EXISTS = (pin) => Number.isInteger(pin) && pin >= 0 && pin <= 39 && pin !== 20 && pin !== 24 && !(pin >= 28 && pin <= 31);
const GPIO_INPUT_ONLY = (pin) => pin >= 34 && pin <= 39;
const GPIO_FLASH = (pin) => pin >= 6 && pin <= 11;

export const board = {
	pins: new Map(), // GPIO pin -> {mode, level, output, onEdge}
	i2cPins: new Set(), // pins an open I2C bus holds
	inputs: new Map(), // externally driven input levels
	buses: [],
	room: undefined,
	sensor: undefined,
	relay: undefined, // {pin, activeLow}
	setup(config, random, saved = {}) {
		// made here, not at load: the moddable engine preloads this module (host-sim/xs/runtime.js atBoot)
		this.pins = new Map();
		this.i2cPins = new Set();
		this.inputs = new Map();
		this.buses = [];
		const now = host.now;
		this.room = saved.room ? Room.restore(saved.room) : new Room(config.room, now);
		if (saved.room) this.room.advance(now); // the room kept going while the device rebooted
		for (const b of config.i2c) this.buses.push(new I2CBus(b));
		const s = config.sensor;
		this.sensor = new TMP117((ms) => this.room.temperatureAt(ms), { random, noise: s.noise });
		this.sensor.reset(now);
		if (s.absent) this.sensor.fault("absent"); // not fitted, or not wired
		if (saved.sensor) this.sensor.restore(saved.sensor);
		this.busFor(s.port ?? 0).attach(s.address, this.sensor);
		this.relay = { pin: config.relay.pin, activeLow: !!config.relay.activeLow };
		// the supply monitor holds its pin high while the power is good (saved levels win)
		if (config.supply && !this.inputs.has(config.supply.pin)) this.inputs.set(config.supply.pin, 1);
		this.room.setHeater(false, now); // at reset the GPIO floats; the relay board's pull keeps it off
	},
	busFor(port) {
		const bus = this.buses.find((b) => b.port === port);
		if (!bus) throw new Error(`board: no I2C bus on port ${port}`);
		return bus;
	},
	findBus(data, clock, port) {
		return this.buses.find((b) => b.data === data && b.clock === clock && (port === undefined || b.port === port));
	},
	/** The ESP32's errors, in the order Moddable's digitalbank.c raises them. */
	check(pin, output) {
		if (!GPIO_EXISTS(pin) || GPIO_FLASH(pin)) throw new Error("invalid pin");
		if (this.pins.has(pin) || this.i2cPins.has(pin)) throw new Error("in use");
		if (output && GPIO_INPUT_ONLY(pin)) throw new RangeError("input only");
	},
	claim(pin, mode, output) {
		this.pins.set(pin, { mode, level: 0, output });
		if (output) this.wire(pin, 0); // an ESP32 output starts driving low
	},
	release(pin) {
		this.pins.delete(pin);
		if (pin === this.relay.pin) this.room.setHeater(false, host.now);
	},
	write(pin, level) {
		const p = this.pins.get(pin);
		p.level = level;
		this.wire(pin, level);
	},
	read(pin) {
		const p = this.pins.get(pin);
		if (p.output) return p.level;
		return this.level(pin);
	},
	/** An input's level: what drives it from outside, else its pull resistor. */
	level(pin) {
		if (this.inputs.has(pin)) return this.inputs.get(pin);
		return this.pins.get(pin)?.mode === 1 ? 1 : 0;
	},
	wire(pin, level) {
		if (pin !== this.relay.pin) return;
		const energized = level === (this.relay.activeLow ? 0 : 1);
		if (energized !== this.room.heater) {
			this.room.setHeater(energized, host.now);
			emit({ ev: "relay", on: energized, level });
		}
	},
	state() {
		const room = this.room;
		room.advance(host.now);
		return {
			room: { temperature: room.temperature, heater: room.heater, outside: room.outsideAt(host.now), heaterOnMs: room.heaterOnMs },
			sensor: { faults: this.sensor.faults, lastConversion: this.sensor.lastConversion },
			pins: Object.fromEntries([...this.pins].map(([pin, p]) => [pin, { level: p.level, output: p.output }])),
		};
	},
	save() {
		this.room.advance(host.now);
		return { room: this.room.save(), sensor: this.sensor.save() };
	},
};

host.handlers.set("board.state", () => ({ state: board.state() }));
host.handlers.set("board.save", () => ({ saved: board.save() }));
host.handlers.set("sensor.fault", (h) => { board.sensor.fault(h.kind, h.value); return {}; });
host.handlers.set("room.set", (h) => {
	board.room.advance(host.now);
	if (h.outside !== undefined) board.room.setOutside(h.outside);
	if (h.temperature !== undefined) board.room.temperature = h.temperature;
	return {};
});
host.handlers.set("pin.input", (h) => {
	const previous = board.level(h.pin);
	if (h.level === undefined || h.level === null) board.inputs.delete(h.pin); // released: back to the pull
	else board.inputs.set(h.pin, h.level ? 1 : 0);
	const level = board.level(h.pin);
	const p = board.pins.get(h.pin);
	if (p && !p.output && p.onEdge && previous !== level) p.onEdge(level);
	return {};
});
