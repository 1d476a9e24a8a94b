// One entry point per direction for the value formats: payload <-> flat entries.
// Decoded entries are still untyped where the format is (see typing.js); entries to
// encode are typed {path, type, value}.
import { CodecError } from "./codec-error.js";
import { parseTlv, tlvToEntries, entriesToTlv } from "./tlv.js";
import { decodeSenmlJson, encodeSenmlJson } from "./senml-json.js";
import { decodeSenmlCbor, encodeSenmlCbor } from "./senml-cbor.js";
import { decodeLwm2mCbor, encodeLwm2mCbor } from "./lwm2m-cbor.js";
import { cborDecode, cborEncode } from "./cbor.js";
import { toText } from "../values.js";
import { formatPath } from "../path.js";

export { CodecError };

const single = (format, path) => {
	if (path.length < 3) throw new CodecError(`${format} carries a single resource value, not ${formatPath(path)}`);
};

/** @returns entries [{path, value, from}] */
export function decodePayload(format, payload, path, options = {}) {
	const bytes = Buffer.from(payload ?? []);
	switch (format.name) {
		case "TEXT":
			single("text/plain", path);
			return [{ path, value: bytes.toString("utf8"), from: "text" }];
		case "OPAQUE":
			single("opaque", path);
			return [{ path, value: bytes, from: "opaque" }];
		case "CBOR": {
			single("CBOR", path);
			const value = cborDecode(bytes);
			if (value instanceof Map || Array.isArray(value)) throw new CodecError("CBOR (60) content must be a single value");
			return [{ path, value, from: "data" }];
		}
		case "TLV":
			return tlvToEntries(parseTlv(bytes), path);
		case "SENML_JSON":
			return decodeSenmlJson(bytes, options);
		case "SENML_CBOR":
			return decodeSenmlCbor(bytes, options);
		case "LWM2M_CBOR":
			return decodeLwm2mCbor(bytes);
		default:
			throw new CodecError(`cannot decode content format ${format.name}`, 502);
	}
}

/** Typed entries -> payload bytes of `format`, for a request on `path`. */
export function encodePayload(format, entries, path) {
	const values = entries.filter((e) => e.value !== undefined);
	switch (format.name) {
		case "TEXT":
		case "OPAQUE":
		case "CBOR": {
			single(format.name, path);
			if (values.length !== 1 || values[0].path.length !== path.length) throw new CodecError(`${format.name} carries exactly one value; ${formatPath(path)} needs TLV, SenML or LwM2M CBOR`);
			const [{ type, value }] = values;
			if (format.name === "TEXT") return Buffer.from(toText(type, value), "utf8");
			if (format.name === "CBOR") return cborEncode(type === "OPAQUE" ? Buffer.from(value) : value);
			if (type !== "OPAQUE") throw new CodecError(`the opaque format carries OPAQUE resources only; ${formatPath(path)} is ${type}`);
			return Buffer.from(value);
		}
		case "TLV":
			return entriesToTlv(entries, path);
		case "SENML_JSON":
			return encodeSenmlJson(values);
		case "SENML_CBOR":
			return encodeSenmlCbor(values);
		case "LWM2M_CBOR":
			return encodeLwm2mCbor(values);
		default:
			throw new CodecError(`cannot encode content format ${format.name}`);
	}
}

/** The path list of Read-Composite / Observe-Composite requests, in SenML. */
export function encodePathList(format, paths) {
	const entries = paths.map((path) => ({ path }));
	if (format.name === "SENML_JSON") return encodeSenmlJson(entries);
	if (format.name === "SENML_CBOR") return encodeSenmlCbor(entries);
	throw new CodecError(`composite requests name their paths in SENML_JSON or SENML_CBOR, not ${format.name}`);
}
