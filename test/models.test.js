// The peripheral models on their own: the TMP117 register map and timing from its
// datasheet, the I2C bus, and the room's thermal physics.
import test from "ava";
import { TMP117, celsiusToRaw, rawToCelsius, LSB_CELSIUS } from "../host-sim/models/tmp117.js";
import { I2CBus } from "../host-sim/models/i2c-bus.js";
import { Room } from "../host-sim/models/room.js";
import { Random } from "../host-sim/models/random.js";

const readRegister = (chip, pointer, ms) => {
	chip.write(Uint8Array.of(pointer), ms);
	const b = chip.read(2, ms);
	return (b[0] << 8) | b[1];
};

test("TMP117: device ID, reset configuration and the -256 °C result before the first conversion", (t) => {
	const chip = new TMP117(() => 21);
	t.is(readRegister(chip, 0x0f, 0), 0x0117);
	t.is(readRegister(chip, 0x01, 0), 0x0220);
	t.is(readRegister(chip, 0x00, 0), 0x8000);
});

test("TMP117: results are 7.8125 m°C two's complement, MSB first", (t) => {
	t.is(celsiusToRaw(25), 0x0c80); // datasheet table 7-1: 25 °C = 0C80h
	t.is(celsiusToRaw(-25), 0xf380);
	t.is(celsiusToRaw(0.0078125), 0x0001);
	t.is(rawToCelsius(0xff80), -1);
	t.is(celsiusToRaw(1000), 0x7fff); // saturates
	const chip = new TMP117(() => -12.34);
	t.is(rawToCelsius(readRegister(chip, 0x00, 1000)), Math.round(-12.34 / LSB_CELSIUS) * LSB_CELSIUS);
});

test("TMP117: continuous mode converts once a second by default and flags data ready", (t) => {
	let temperature = 20;
	const chip = new TMP117(() => temperature);
	t.is(readRegister(chip, 0x00, 100), 0x8000); // first conversion ends at 125 ms (8 averages)
	t.false(Boolean(readRegister(chip, 0x01, 120) & 0x2000));
	t.true(Boolean(readRegister(chip, 0x01, 130) & 0x2000));
	t.false(Boolean(readRegister(chip, 0x01, 131) & 0x2000), "reading the configuration clears data ready");
	t.is(rawToCelsius(readRegister(chip, 0x00, 500)), 20);
	temperature = 30;
	t.is(rawToCelsius(readRegister(chip, 0x00, 1100)), 20, "still the conversion of 125 ms");
	t.is(rawToCelsius(readRegister(chip, 0x00, 1130)), 30);
	t.is(chip.lastConversion.time, 1125);
});

test("TMP117: one-shot converts once and returns to shutdown; offset register applies", (t) => {
	let temperature = 10;
	const chip = new TMP117(() => temperature);
	chip.write(Uint8Array.of(0x01, 0x04, 0x00), 0); // MOD=01 shutdown
	t.is(readRegister(chip, 0x00, 5000), 0x8000);
	chip.write(Uint8Array.of(0x07, 0x00, 0x80), 5000); // +1 °C offset
	chip.write(Uint8Array.of(0x01, 0x0c, 0x00), 5000); // MOD=11 one-shot, AVG=0: 15.5 ms
	t.is(rawToCelsius(readRegister(chip, 0x00, 5016)), 11);
	t.is((readRegister(chip, 0x01, 5017) >> 10) & 3, 1, "back in shutdown");
	temperature = 50;
	t.is(rawToCelsius(readRegister(chip, 0x00, 9000)), 11);
});

test("TMP117: faults — absent NACKs, stuck freezes, range saturates, noise perturbs", (t) => {
	let temperature = 20;
	const chip = new TMP117(() => temperature, { random: new Random(3) });
	chip.fault("absent");
	t.false(chip.write(Uint8Array.of(0), 0));
	t.is(chip.read(2, 0), undefined);
	chip.fault("none");
	chip.fault("stuck", 19);
	temperature = 25;
	t.is(rawToCelsius(readRegister(chip, 0, 3000)), 19);
	chip.fault("none");
	chip.fault("range");
	t.true(rawToCelsius(readRegister(chip, 0, 4200)) > 200);
	chip.fault("none");
	chip.fault("noise", 0.5);
	const readings = new Set();
	for (let s = 5; s < 15; s++) readings.add(readRegister(chip, 0, s * 1000 + 200));
	t.true(readings.size > 5);
	t.throws(() => chip.fault("melted"), { message: /unknown fault "melted"/ });
});

test("I2C bus: an address nobody answers NACKs", (t) => {
	const bus = new I2CBus({ data: 21, clock: 22 });
	bus.attach(0x48, new TMP117(() => 20));
	t.true(bus.write(0x48, Uint8Array.of(0x0f), 0));
	t.false(bus.write(0x49, Uint8Array.of(0x0f), 0));
	t.is(bus.read(0x49, 2, 0), undefined);
	t.throws(() => bus.attach(0x03, {}), { message: /outside 0x08..0x77/ });
});

test("room: relaxes exponentially to outside + P/UA, with time constant C/UA", (t) => {
	const room = new Room({ temperature: 20, heaterPowerW: 1000, lossWPerK: 100, thermalMassJPerK: 360_000, outside: 0 }, 0);
	const tau = 3600_000; // 360000 / 100 s
	t.true(Math.abs(room.temperatureAt(tau) - 20 * Math.exp(-1)) < 1e-9);
	room.setHeater(true, tau);
	t.true(Math.abs(room.temperatureAt(100 * tau) - 10) < 1e-6, "equilibrium: 1000 W / 100 W/K = 10 K above outside");
	t.is(room.heaterOnMs, 99 * tau);
});

test("room: the outside temperature follows a daily curve, coldest at the given hour", (t) => {
	const room = new Room({ outside: { mean: 5, amplitude: 4, coldestHour: 4 } }, 0);
	t.is(room.outsideAt(4 * 3600_000), 1);
	t.is(room.outsideAt(16 * 3600_000), 9);
	t.true(Math.abs(room.outsideAt(28 * 3600_000) - 1) < 1e-9);
	t.throws(() => new Room({ lossWPerK: 0 }), { message: /must be > 0/ });
	t.throws(() => new Room({ temperature: "warm" }), { message: /temperature must be a finite number/ });
});

test("random: seeded sequences repeat, different seeds differ", (t) => {
	const a = new Random(1), b = new Random(1), c = new Random(2);
	const sa = [a.next(), a.next()], sb = [b.next(), b.next()], sc = [c.next(), c.next()];
	t.deepEqual(sa, sb);
	t.notDeepEqual(sa, sc);
	t.true(sa.every((x) => x >= 0 && x < 1));
});
