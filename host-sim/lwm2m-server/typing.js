// Gives decoded values their LwM2M types. TLV and text/plain carry no types, SenML and
// CBOR only JSON-like ones, so the object model decides: a TLV 4-byte value is a float
// for a Float resource and an integer for an Integer one. Values of resources the server
// has no model for keep whatever type their encoding suggests.
import { CodecError } from "./codecs/codec-error.js";
import { decodeTlvValue } from "./codecs/tlv.js";
import { fromJson, fromText, inferType, ValueError } from "./values.js";

function convertData(type, value, where) {
	if (value && typeof value === "object" && "objlnk" in value) value = value.objlnk;
	if (type === "OPAQUE") {
		if (!Buffer.isBuffer(value)) throw new CodecError(`${where}: expected opaque bytes for an OPAQUE resource`);
		return value;
	}
	if (Buffer.isBuffer(value)) throw new CodecError(`${where}: opaque bytes for a ${type} resource`);
	if ((type === "INTEGER" || type === "UNSIGNED_INTEGER" || type === "TIME") && typeof value === "number" && !Number.isInteger(value)) {
		// CBOR encoders may send 22.0 as a float: accept integral floats only
		throw new CodecError(`${where}: ${value} is not an integer`);
	}
	return fromJson(type, value, where);
}

/**
 * @param entries decoded entries ({path, value, from: "tlv"|"text"|"opaque"|"data"})
 * @param lookup (path) -> resource model or undefined
 * @returns entries with {type, value} typed (structural markers pass through)
 */
export function typeEntries(entries, lookup) {
	return entries.map((entry) => {
		if (entry.empty || entry.emptyInstance || entry.noValue) return entry;
		const where = `/${entry.path.join("/")}`;
		const model = entry.path.length >= 3 ? lookup(entry.path) : undefined;
		const type = model?.type;
		try {
			switch (entry.from) {
				case "tlv":
					return type ? { ...entry, type, value: decodeTlvValue(type, entry.value, where) } : { ...entry, type: "OPAQUE" };
				case "text":
					return type ? { ...entry, type, value: fromText(type, entry.value, where) } : { ...entry, type: "STRING" };
				case "opaque":
					if (type && type !== "OPAQUE") throw new CodecError(`${where}: opaque content for a ${type} resource`);
					return { ...entry, type: "OPAQUE" };
				default: {
					if (type) return { ...entry, type, value: convertData(type, entry.value, where) };
					const v = entry.value;
					if (v && typeof v === "object" && "objlnk" in v) return { ...entry, type: "OBJLNK", value: v.objlnk };
					return { ...entry, type: inferType(v) };
				}
			}
		} catch (e) {
			if (e instanceof ValueError) throw new CodecError(e.message);
			throw e;
		}
	});
}
