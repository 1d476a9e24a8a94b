// LwM2M CBOR (content format 11544, from LwM2M 1.2 §7.4.6, offered here for clients
// that already speak it): nested CBOR maps keyed by path ids from the root, where a key
// may also be an array of ids that compresses several levels ({[3, 0]: {0: "..."}}).
// Leaves are plain CBOR values; an object link travels as the text "objectId:instanceId".
import { CodecError } from "./codec-error.js";
import { cborDecode, cborEncode } from "./cbor.js";

const isId = (k) => Number.isInteger(k) && k >= 0 && k <= 65535;

export function decodeLwm2mCbor(payload) {
	const root = cborDecode(payload, "LwM2M CBOR");
	if (!(root instanceof Map)) throw new CodecError("LwM2M CBOR payload must be a map");
	const entries = [];
	const walk = (map, prefix) => {
		for (const [key, value] of map) {
			const ids = Array.isArray(key) ? key : [key];
			if (ids.length === 0 || !ids.every(isId)) throw new CodecError(`LwM2M CBOR key ${JSON.stringify(key)} under /${prefix.join("/")} is not a path id`);
			const path = [...prefix, ...ids];
			if (path.length > 4) throw new CodecError(`LwM2M CBOR path /${path.join("/")} is too deep`);
			if (value instanceof Map) walk(value, path);
			else if (value === null || value === undefined) continue;
			else {
				if (path.length < 3) throw new CodecError(`LwM2M CBOR value at /${path.join("/")} is not at a resource`);
				if (Array.isArray(value)) throw new CodecError(`LwM2M CBOR value at /${path.join("/")} is an array`);
				entries.push({ path, value, from: "data" });
			}
		}
	};
	walk(root, []);
	return entries;
}

export function encodeLwm2mCbor(entries) {
	const root = new Map();
	for (const { path, type, value } of entries) {
		let map = root;
		for (const id of path.slice(0, -1)) {
			if (!map.has(id)) map.set(id, new Map());
			map = map.get(id);
		}
		map.set(path[path.length - 1], type === "OPAQUE" ? Buffer.from(value) : value);
	}
	return cborEncode(root);
}
