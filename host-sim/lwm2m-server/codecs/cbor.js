// One configuration of cbor-x for every CBOR-based format, so that all of them agree:
// maps decode as Map (SenML CBOR has integer labels, LwM2M CBOR even array keys), no
// cbor-x record extensions, byte strings untagged, and integers never silently turned
// into floats.
import { Encoder, Decoder } from "cbor-x";
import { CodecError } from "./codec-error.js";
import { wholeNumber } from "../values.js";

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export function cborDecode(payload, what = "CBOR") {
	try {
		return normalize(decoder.decode(Buffer.from(payload)));
	} catch (e) {
		if (e instanceof CodecError) throw e;
		throw new CodecError(`${what} payload is not valid CBOR: ${e.message}`);
	}
}

export function cborEncode(value) {
	return Buffer.from(encoder.encode(prepare(value)));
}

// cbor-x gives BigInt past 2^53, Date for tag 1 and Uint8Array for bytes: make those the
// value shapes the rest of the server uses
function normalize(v) {
	if (typeof v === "bigint") return wholeNumber(v);
	if (v instanceof Date) return Math.floor(v.getTime() / 1000);
	if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
	if (Array.isArray(v)) return v.map(normalize);
	if (v instanceof Map) return new Map([...v].map(([k, x]) => [normalize(k), normalize(x)]));
	return v;
}

// cbor-x writes integers beyond 32 bits as float64; a BigInt keeps them integers
function prepare(v) {
	if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) > 0xffffffff) return BigInt(v);
	if (Array.isArray(v)) return v.map(prepare);
	if (v instanceof Map) return new Map([...v].map(([k, x]) => [prepare(k), prepare(x)]));
	return v;
}
