// Moddable's "preference" module as its ESP32 build behaves (NVS), persisted by Node to
// a file per simulated device. The desktop build stores anything as JSON; the ESP32
// does not, and host-sim follows the ESP32:
//  - domain (NVS namespace) and key names: at most 15 characters;
//  - strings and ArrayBuffers: at most 4000 bytes; only ArrayBuffer, not views;
//  - numbers must be int32: a float throws "float unsupported";
//  - set() erases the key before it checks the value, so a set that throws has
//    already lost the old value. That is how float setpoints vanish on hardware.
import { call, host } from "../runtime.js";

const MAX_NAME = 15;
const MAX_VALUE = 4000;
const KEY_BUFFER = 64; // xsmcToStringBuffer(key, char[64])

let store = {}; // domain -> key -> stored {type, value}

host.handlers.set("preference.load", (h) => {
	store = h.store ?? {};
	return {};
});

function keyBuffer(key) {
	const s = String(key);
	if (new TextEncoder().encode(s).length + 1 > KEY_BUFFER) throw new RangeError("Cannot buffer string");
	return s;
}
const validName = (name) => name.length > 0 && name.length <= MAX_NAME;

function erase(domain, key) {
	if (!store[domain] || !(key in store[domain])) return;
	delete store[domain][key];
	call({ op: "preference.delete", domain, key });
}

function encode(value) {
	switch (typeof value) {
		case "boolean": return { type: "boolean", value };
		case "number":
			if (value !== (value | 0)) throw new Error("float unsupported");
			return { type: "integer", value };
		case "string":
			if (new TextEncoder().encode(value).length > MAX_VALUE) throw new Error("nvs set fail");
			return { type: "string", value };
		default:
			if (value instanceof ArrayBuffer) {
				if (value.byteLength > MAX_VALUE) throw new Error("nvs set fail");
				return { type: "buffer", value: hex(new Uint8Array(value)) };
			}
			throw new Error("unsupported type");
	}
}

function decode(stored) {
	if (stored.type !== "buffer") return stored.value;
	const bytes = new Uint8Array(stored.value.length / 2);
	for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(stored.value.substr(i * 2, 2), 16);
	return bytes.buffer;
}

function hex(bytes) {
	let s = "";
	for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
	return s;
}

const Preference = {
	set(domain, key, value) {
		key = keyBuffer(key);
		domain = String(domain);
		if (!validName(domain)) throw new Error("nvs_open fail");
		erase(domain, key); // before the type check, as on the ESP32
		const stored = encode(value);
		if (!validName(key)) throw new Error("nvs set fail");
		call({ op: "preference.set", domain, key, stored });
		(store[domain] ??= {})[key] = stored;
	},
	get(domain, key) {
		key = keyBuffer(key);
		const stored = store[String(domain)]?.[key];
		return stored ? decode(stored) : undefined;
	},
	delete(domain, key) {
		key = keyBuffer(key);
		erase(String(domain), key);
	},
	keys(domain) {
		return Object.keys(store[String(domain)] ?? {});
	},
};

export default Preference;
