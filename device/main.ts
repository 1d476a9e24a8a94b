// Minimal firmware for the foundation: sample the TMP117 once a second and drive the
// heating relay around a fixed setpoint, off whenever the sensor cannot be read.
// The real thermostat (hysteresis, minimum on/off times, LwM2M) replaces this loop.

import Timer from "timer";
import Digital from "embedded:io/digital";
import config from "mc/config";
import TMP117 from "./drivers/tmp117";

const SETPOINT = typeof config.setpoint === "number" ? config.setpoint : 21;
const BAND = 0.5; // °C around the setpoint
const relayOn: 0 | 1 = config.relayActiveLow ? 0 : 1;
const relayOff: 0 | 1 = relayOn ? 0 : 1;

// Wiring comes from the manifest's config: a board target's provider names no relay pin,
// and a plain esp32 target has no I2C default either.
const relay = new Digital({ pin: config.relayPin ?? device.pin.relay, mode: Digital.Output });
const i2c = { ...device.I2C.default, ...(config.sda !== undefined ? { data: config.sda as number, clock: config.scl as number } : {}) };
relay.write(relayOff); // an ESP32 output starts low, which energizes an active-low relay
let heating = false;
let sensor: TMP117 | undefined;
let reported = "";

function report(message: string) {
	if (message === reported) return;
	reported = message;
	trace(message, "\n");
}

function heat(on: boolean) {
	if (on === heating) return;
	heating = on;
	relay.write(on ? relayOn : relayOff);
}

function openSensor() {
	try {
		sensor = new TMP117({ sensor: { ...i2c, io: device.io.SMBus, address: config.sensorAddress ?? 0x48 } });
		report("sensor: TMP117 ready");
	} catch (e) {
		sensor = undefined;
		report(`sensor: ${(e as Error).message}`);
	}
}

Timer.repeat(() => {
	if (!sensor) openSensor();
	if (!sensor) {
		heat(false);
		return;
	}
	let sample;
	try {
		sample = sensor.sample();
	} catch (e) {
		sensor.close();
		sensor = undefined;
		heat(false);
		report(`sensor: lost (${(e as Error).message}), relay off`);
		return;
	}
	if (!sample) return;
	if (sample.temperature < SETPOINT - BAND) heat(true);
	else if (sample.temperature > SETPOINT + BAND) heat(false);
}, 1000);
