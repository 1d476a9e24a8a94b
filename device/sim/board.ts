// The simulated board behind the stand-ins: the room, the levels of the input pins, and
// the link to mcsim's thermostat pane (host-sim/mcsim/simulators/thermostat.js). The pane
// shows the room, the relay and the set point, and sends the button, the outside
// temperature and the supply; its firmware half is `Host.Thermostat`
// (host-sim/mcsim/simulators/thermostat/host.js), a Control of mcsim's host messages.
//
// Everything is made at first use, never in a module body: these modules are preloaded,
// and xsl runs preloaded bodies at link time, where there is no clock, timer or screen.

import Timer from "timer";
import config from "mc/config";
import { Room } from "./room";
import { loadTuning } from "../thermostat/tuning-store";

type Json = Record<string, unknown>;
type PaneLink = { post(json: Json): void };
type PaneHost = { Thermostat?: new (onJSON: (json: Json) => void) => PaneLink };
type Listener = (level: number) => void;

const BUTTON_PIN: number = config.buttonPin ?? 0;
const POWER_FAIL_PIN: number | undefined = config.powerFailPin;
const RELAY_PIN: number = config.relayPin ?? 26;
const SHOW_EVERY_MS = 1000;

let theRoom: Room | undefined;
let pane: PaneLink | undefined;
let started = false;
let buttonDown = false;
let powered = true;
// made at first use too: what a preloaded module body makes is frozen into the program
let listeners: Map<number, Listener[]> | undefined;

export function room(): Room {
	start();
	return (theRoom ??= new Room());
}

/** The level an input pin reads: the button pulls low while pressed, the supply monitor while the power fails. */
export function inputLevel(pin: number): number {
	start();
	if (pin === BUTTON_PIN) return buttonDown ? 0 : 1;
	if (pin === POWER_FAIL_PIN) return powered ? 1 : 0;
	return 1;
}

export function listen(pin: number, listener: Listener) {
	start();
	listeners ??= new Map();
	const list = listeners.get(pin);
	if (list) list.push(listener);
	else listeners.set(pin, [listener]);
}

export function unlisten(pin: number, listener: Listener) {
	const list = listeners?.get(pin);
	const i = list ? list.indexOf(listener) : -1;
	if (list && i >= 0) list.splice(i, 1);
}

/** An output pin was written: the relay pin switches the heater. */
export function output(pin: number, level: number) {
	if (pin !== RELAY_PIN) return;
	room().setHeater(level === (config.relayActiveLow ? 0 : 1));
	show();
}

function setInput(pin: number, change: () => void) {
	const before = inputLevel(pin);
	change();
	const after = inputLevel(pin);
	if (after === before) return;
	for (const listener of listeners?.get(pin) ?? []) listener(after);
}

function onPane(json: Json) {
	if (typeof json.button === "number") setInput(BUTTON_PIN, () => (buttonDown = json.button === 1));
	if (typeof json.power === "number" && POWER_FAIL_PIN !== undefined) setInput(POWER_FAIL_PIN, () => (powered = json.power === 1));
	if (typeof json.outside === "number" && Number.isFinite(json.outside)) {
		room().setOutside(json.outside);
		show();
	}
}

function show() {
	if (!pane || !theRoom) return;
	const r = theRoom;
	r.update();
	// the set point as the firmware keeps it in flash (a server's write, the button)
	const setpoint = loadTuning({ setpoint: config.setpoint }).setpoint;
	pane.post({ thermostat: { temperature: Math.round(r.temperature * 100) / 100, outside: r.outside, relay: r.heater, setpoint, powered } });
}

function start() {
	if (started) return;
	started = true;
	const Host = (globalThis as unknown as { Host?: PaneHost }).Host;
	if (!Host?.Thermostat) return; // another mcsim device: the firmware runs without the pane
	pane = new Host.Thermostat(onPane);
	Timer.repeat(show, SHOW_EVERY_MS);
}
