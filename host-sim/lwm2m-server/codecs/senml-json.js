// SenML JSON (content format 110). Opaque values travel base64url-encoded without
// padding (RFC 8428 §4.3); decoding accepts the standard alphabet and padding as well,
// since clients differ.
import { CodecError } from "./codec-error.js";
import { recordsToEntries, entriesToRecords } from "./senml.js";

export function decodeSenmlJson(payload, options) {
	let records;
	try {
		records = JSON.parse(Buffer.from(payload).toString("utf8"));
	} catch (e) {
		throw new CodecError(`SenML JSON payload is not JSON: ${e.message}`);
	}
	if (!Array.isArray(records)) throw new CodecError("SenML JSON payload must be an array of records");
	const normalized = records.map((r, i) => {
		if (r === null || typeof r !== "object" || Array.isArray(r)) throw new CodecError(`SenML record ${i} is not an object`);
		if (r.vd === undefined) return r;
		if (typeof r.vd !== "string" || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(r.vd)) throw new CodecError(`SenML record ${i}: vd is not base64`);
		return { ...r, vd: Buffer.from(r.vd.replace(/-/g, "+").replace(/_/g, "/"), "base64") };
	});
	return recordsToEntries(normalized, options);
}

export function encodeSenmlJson(entries) {
	const records = entriesToRecords(entries).map((r) => {
		if (r.vd !== undefined) r.vd = r.vd.toString("base64url");
		if (typeof r.v === "bigint") r.v = Number(r.v); // JSON has no 64-bit integers
		return r;
	});
	return Buffer.from(JSON.stringify(records));
}
