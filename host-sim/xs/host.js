// Entry of the host bundle: what the ESP32's firmware image provides before the app's
// main module runs. It installs the globals (trace, device, Date on the simulated clock,
// a seeded Math.random), the Moddable-shaped modules that the device bundle imports, and
// then freezes the built-ins as the XS linker does when it preloads them into flash.

import { host, emit, atBoot } from "./runtime.js";
import { board } from "./board.js";
import { Random } from "../models/random.js";
import Timer from "./modules/timer.js";
import UDP from "./modules/udp.js";
import Digital from "./modules/digital.js";
import I2C from "./modules/i2c.js";
import SMBus from "./modules/smbus.js";
import Preference from "./modules/preference.js";
import Time from "./modules/time.js";
import restart from "./modules/restart.js";
import Instrumentation from "./modules/instrumentation.js";
import Net from "./modules/net.js";
import WiFi from "./modules/wifi.js";
import Crypt from "./modules/crypt.js";
import HMAC from "./modules/hmac.js";
import RNG from "./modules/rng.js";
import FlashStorage from "./modules/flash.js";
import Update from "./modules/update.js";
import OTA from "./modules/ota.js";

host.rtcOffset = 0;

// ---- trace(): Moddable concatenates its arguments; here each line goes to the host log
function trace(...args) {
	let text = "";
	for (const a of args) text += String(a);
	emit({ ev: "trace", text });
}
for (const side of ["left", "center", "right"]) trace[side] = (text, conversation) => emit({ ev: "trace", text: typeof text === "string" ? text : "<binary>", conversation });

// ---- Date on the simulated clock (RTC = monotonic time + offset set by Time.set)
const NativeDate = Date;
function SimDate(...args) {
	if (!new.target) return new NativeDate(host.now + host.rtcOffset).toString();
	return Reflect.construct(NativeDate, args.length ? args : [host.now + host.rtcOffset], new.target);
}
SimDate.prototype = NativeDate.prototype;
// (not where xsl froze the built-ins: host-sim/engine/'s program, where it stays Date)
if (!Object.isFrozen(NativeDate.prototype)) Object.defineProperty(NativeDate.prototype, "constructor", { value: SimDate, writable: true, configurable: true });
SimDate.now = () => Math.floor(host.now + host.rtcOffset);
SimDate.UTC = NativeDate.UTC;
SimDate.parse = NativeDate.parse;

// ---- Moddable extensions the typings declare and xsnap lacks
function installExtensions() {
	if (!ArrayBuffer.fromString) ArrayBuffer.fromString = (s) => new TextEncoder().encode(s).buffer;
	if (!String.fromArrayBuffer) String.fromArrayBuffer = (b) => new TextDecoder().decode(b);
}

// made at boot, seeded: a Uint32Array made at load time would be read-only on the moddable
// engine, which preloads this module (its buffers live in the archive, as in the ESP32's flash)
let random;

const modules = {
	timer: Timer,
	time: Time,
	preference: Preference,
	"embedded:io/socket/udp": UDP,
	"embedded:io/digital": Digital,
	"embedded:io/i2c": I2C,
	"embedded:io/smbus": SMBus,
	"embedded:provider/builtin": undefined, // the device object, made at boot
	"mc/config": undefined,
	restart,
	instrumentation: Instrumentation,
	net: Net,
	wifi: WiFi,
	crypt: Crypt,
	hmac: HMAC,
	rng: RNG,
	"embedded:storage/flash": FlashStorage,
	"embedded:update": Update,
	ota: OTA,
};

function makeDevice(config) {
	// as an ESP32 board target's host provider has it: pins only, no hz and no address
	const i2c = config.i2c[0];
	const i2cDefault = { io: I2C, data: i2c.data, clock: i2c.clock };
	return {
		io: { Digital, I2C, SMBus },
		I2C: { default: i2cDefault },
		SMBus: { default: { ...i2cDefault, io: SMBus } },
		Digital: { default: { io: Digital } },
		pin: { ...config.pins },
	};
}

function freezeBuiltins() {
	const names = ["Object", "Function", "Array", "Number", "String", "Boolean", "Symbol", "BigInt", "Math", "JSON", "Reflect", "Promise",
		"RegExp", "Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError",
		"Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "ArrayBuffer", "SharedArrayBuffer", "DataView",
		"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
		"Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Proxy", "Atomics", "TextEncoder", "TextDecoder"];
	const typedArray = Object.getPrototypeOf(Int8Array);
	const seen = new Set();
	const freeze = (value) => {
		if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) return;
		seen.add(value);
		// on the Moddable SDK's XS (host-sim/engine/) xsl froze the built-ins already, in the
		// program's archive; Object.freeze of an array there again writes in place and faults
		// (SIGSEGV in fxArrayDefineOwnProperty, XS of SDK 8.2.3)
		if (!Object.isFrozen(value)) Object.freeze(value);
		for (const key of Reflect.ownKeys(value)) {
			const d = Object.getOwnPropertyDescriptor(value, key);
			if (d && "value" in d) freeze(d.value);
			else if (d) { freeze(d.get); freeze(d.set); }
		}
		freeze(Object.getPrototypeOf(value));
	};
	for (const name of names) if (globalThis[name] !== undefined) freeze(globalThis[name]);
	freeze(typedArray);
	freeze(SimDate);
	freeze(trace);
}

host.handlers.set("boot", (h) => {
	for (const init of atBoot) init();
	host.now = h.now;
	host.bootAt = h.now;
	host.rtcOffset = h.rtcOffset ?? 0;
	random = new Random(h.seed);
	host.config = h.board;
	board.setup(h.board, random, h.saved);
	modules["mc/config"] = Object.freeze({ ...h.config });
	modules["embedded:provider/builtin"] = makeDevice(h.board);
	globalThis.device = modules["embedded:provider/builtin"];
	globalThis.trace = trace;
	globalThis.Date = SimDate;
	// host-sim/engine/'s program: xsl froze Math; its random() is C's rand(), which main.c seeds
	if (Object.isFrozen(Math) && globalThis.seedRandom) globalThis.seedRandom(h.seed);
	else Math.random = () => random.next();
	installExtensions();
	// the ESP32 has no wall-clock performance timer for apps; only the host keeps one
	delete globalThis.performance;
	// what the device bundle links against; removed again once it has loaded
	Object.defineProperty(globalThis, "__hostModules", { value: modules, configurable: true });
	freezeBuiltins();
	return {};
});

host.handlers.set("started", () => {
	delete globalThis.__hostModules;
	delete globalThis.__preloaded;
	return {};
});
