// The tuning kept in flash. ESP32 NVS stores integers and strings, not floats (Moddable's
// ESP32 preference throws "float unsupported"; the desktop build accepts them, which is
// how float setpoints get lost on real devices): temperatures are kept in hundredths of
// a degree. A value that cannot be stored is reported, never half-written.

import Preference from "preference";
import { DEFAULT_TUNING, type Tuning } from "./control";

const DOMAIN = "thermostat";
const CENTI: { readonly [K in keyof Tuning]?: true } = { setpoint: true, hysteresis: true, offset: true, setpointMin: true, setpointMax: true };
const KEYS: { readonly [K in keyof Tuning]: string } = {
	setpoint: "sp",
	hysteresis: "hyst",
	minOn: "minOn",
	minOff: "minOff",
	mode: "mode",
	offset: "offset",
	period: "period",
	setpointMin: "spMin",
	setpointMax: "spMax",
};

/** Stored values, else the seed (the manifest's config), else the defaults. */
export function loadTuning(seed: Partial<Tuning>): Tuning {
	const t = { ...DEFAULT_TUNING } as Tuning;
	for (const name of Object.keys(KEYS) as (keyof Tuning)[]) {
		const stored = Preference.get(DOMAIN, KEYS[name]);
		let value: number | undefined;
		if (typeof stored === "number") value = CENTI[name] ? stored / 100 : stored;
		else if (typeof seed[name] === "number") value = seed[name];
		if (value !== undefined && Number.isFinite(value)) (t as unknown as Record<string, number>)[name] = value;
	}
	return t;
}

export function saveTuning(name: keyof Tuning, value: number) {
	Preference.set(DOMAIN, KEYS[name], CENTI[name] ? Math.round(value * 100) : Math.round(value));
}

export function eraseTuning() {
	for (const key of Preference.keys(DOMAIN)) Preference.delete(DOMAIN, key);
}
