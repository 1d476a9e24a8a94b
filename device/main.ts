// The thermostat firmware: TMP117 on I2C -> control loop -> heating relay, managed over
// LwM2M 1.1. Everything site-specific comes from the manifest's config (mc/config), which
// mcconfig takes on its command line (ssid=... serverUri=... relayPin=...).
//
// Heating runs from the first second, with or without a network: the LwM2M client
// registers once Wi-Fi is up; when the link comes back after a loss, an unregistered client
// starts over at once and a registered one sends an Update (never a second Register).

import config from "mc/config";
import Digital from "embedded:io/digital";
import Net from "net";
import restart from "restart";
import * as ota from "ota";
import TMP117 from "./drivers/tmp117";
import { Lwm2mClient } from "./lwm2m/client";
import { FirmwareUpdate } from "./lwm2m/firmware/object";
import { flashInstaller } from "./lwm2m/firmware/flash";
import { registrationRetryPeriod } from "./lwm2m/settings";
import { Thermostat } from "./thermostat/app";
import { WiFiLink } from "./net/wifi-link";

const log = (text: string) => trace(text, "\n");
// the version this image is (a build for an update sets firmwareVersion=1.0.1): /3/0/3
const VERSION: string = config.firmwareVersion || "1.0.0";

// ---- the relay: an ESP32 output starts low, which would energize an active-low relay
const relayOn: 0 | 1 = config.relayActiveLow ? 0 : 1;
const relayPin = new Digital({ pin: config.relayPin ?? device.pin.relay, mode: Digital.Output });
relayPin.write(relayOn ? 0 : 1);

// ---- the sensor, opened again by the thermostat whenever it stopped answering
const i2c = { ...device.I2C.default, ...(config.sda !== undefined ? { data: config.sda as number, clock: config.scl as number } : {}) };
const openSensor = () => new TMP117({ sensor: { ...i2c, io: device.io.SMBus, address: config.sensorAddress ?? 0x48 } });

// ---- LwM2M: names and server from config on first boot, from flash afterwards
const mac = Net.get("MAC") ?? "";
const client = new Lwm2mClient({
	settings: {
		serverUri: config.serverUri,
		endpointName: config.endpoint || `thermostat-${mac.split(":").join("").slice(-6)}`,
		lifetime: config.lifetime,
		securityMode: config.pskIdentity ? 0 : 3,
		pskIdentity: config.pskIdentity,
		pskKey: config.pskKey,
	},
	device: {
		manufacturer: "lwm2m-thermostat project",
		model: "ESP32 room thermostat",
		serial: mac.split(":").join(""),
		firmwareVersion: VERSION,
		softwareVersion: `Moddable XS, LwM2M 1.1`,
		hardwareVersion: "ESP32 + TMP117",
		deviceType: "thermostat",
		heapBytes: config.xsHeapBytes ?? 65536,
	},
	log,
});
client.registration.slowRetryPeriod = registrationRetryPeriod(config.registrationRetryPeriod, log);

// ---- Firmware Update (object 5): push or pull into the other OTA slot; a new image on
// trial confirms itself once registered, or rolls back after firmwareConfirmTimeout s
const firmware = new FirmwareUpdate({ client, installer: flashInstaller, target: config.firmwareTarget || "esp32", version: VERSION, restart, log });
firmware.boot(ota, config.firmwareConfirmTimeout ?? 600);

const thermostat = new Thermostat({
	client,
	openSensor,
	relay: { set: (on) => relayPin.write(on ? relayOn : relayOn ? 0 : 1) },
	seed: {
		setpoint: config.setpoint,
		hysteresis: config.hysteresis,
		minOn: config.minOnTime,
		minOff: config.minOffTime,
		period: config.controlPeriod,
	},
	log,
});
thermostat.start();

// ---- the button: each press raises the set point by 0.5 °C (wrapping to the minimum)
if (config.buttonPin !== undefined || device.pin.button !== undefined) {
	new Digital({
		pin: config.buttonPin ?? device.pin.button,
		mode: Digital.InputPullUp,
		edge: Digital.Falling,
		onReadable() {
			thermostat.adjustSetpoint(0.5);
		},
	});
}

// ---- power failing (a supply monitor pulls this pin low): heating off, de-register
if (config.powerFailPin !== undefined) {
	new Digital({
		pin: config.powerFailPin,
		mode: Digital.Input,
		edge: Digital.Falling,
		onReadable() {
			log("power failing: heating off, de-registering");
			thermostat.stop();
			// say what happened: host-sim's main job reads these lines to know the device is done
			const r = client.registration;
			const outcome = r.registered ? "de-registered" : r.stats.registrations ? `not registered (${r.state}); nothing to de-register` : "never registered; nothing to de-register";
			client.stop(() => log(outcome));
		},
	});
}

// ---- the network
if (config.ssid) {
	const link = new WiFiLink(config.ssid, config.password, log);
	let started = false;
	link.onUp = () => {
		if (started) client.registration.networkUp();
		else {
			started = true;
			client.start();
		}
	};
	link.onDown = () => client.registration.networkDown();
	link.start();
} else {
	// a wired or simulated network: it is there from the start
	client.start();
}
