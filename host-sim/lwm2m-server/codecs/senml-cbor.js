// SenML CBOR (content format 112): the SenML records as CBOR maps keyed by the integer
// labels of RFC 8428 §6; LwM2M's object link value has no registered label and keeps
// its text key "vlo".
import { CodecError } from "./codec-error.js";
import { cborDecode, cborEncode } from "./cbor.js";
import { recordsToEntries, entriesToRecords } from "./senml.js";

const LABELS = new Map([
	[-2, "bn"],
	[-3, "bt"],
	[0, "n"],
	[2, "v"],
	[3, "vs"],
	[4, "vb"],
	[8, "vd"],
	[6, "t"],
	["vlo", "vlo"],
]);
const KEYS = new Map([...LABELS].map(([k, v]) => [v, k]));

export function decodeSenmlCbor(payload, options) {
	const items = cborDecode(payload, "SenML CBOR");
	if (!Array.isArray(items)) throw new CodecError("SenML CBOR payload must be an array of records");
	const records = items.map((item, i) => {
		if (!(item instanceof Map)) throw new CodecError(`SenML CBOR record ${i} is not a map`);
		const record = {};
		// labels SenML defines but LwM2M does not use (unit, sum, ...) are ignored
		for (const [key, value] of item) if (LABELS.has(key)) record[LABELS.get(key)] = value;
		return record;
	});
	return recordsToEntries(records, options);
}

export function encodeSenmlCbor(entries) {
	const records = entriesToRecords(entries).map((r) => new Map(Object.entries(r).map(([k, v]) => [KEYS.get(k), v])));
	return cborEncode(records);
}
