// SenML records (RFC 8428) as LwM2M 1.1 uses them (§7.4.4/7.4.5): the name (base name +
// name) is an LwM2M path, the value field tells the value's kind (v number, vs string,
// vb boolean, vd opaque, vlo object link). Shared by the JSON and CBOR representations,
// which differ only in labels and in how opaque bytes are carried.
import { CodecError } from "./codec-error.js";
import { parsePath, PathError } from "../path.js";

const VALUE_FIELDS = ["v", "vs", "vb", "vd", "vlo"];
const RELATIVE_TIME_LIMIT = 2 ** 28; // RFC 8428 §4.5.3: smaller times are relative to now

/**
 * Normalized records ({bn, bt, n, t, v, vs, vb, vd: Buffer, vlo}) -> entries
 * {path, value, from: "data", time?}. `valueRequired` false allows path-only records
 * (the request payload of Read-Composite).
 */
export function recordsToEntries(records, { valueRequired = true, nowSeconds = Date.now() / 1000 } = {}) {
	if (!Array.isArray(records)) throw new CodecError("SenML payload must be an array of records");
	let baseName = "";
	let baseTime = 0;
	return records.map((record, index) => {
		const where = `SenML record ${index}`;
		if (record === null || typeof record !== "object") throw new CodecError(`${where} is not an object`);
		if (record.bn !== undefined) {
			if (typeof record.bn !== "string") throw new CodecError(`${where}: bn must be a string`);
			baseName = record.bn;
		}
		if (record.bt !== undefined) {
			if (typeof record.bt !== "number") throw new CodecError(`${where}: bt must be a number`);
			baseTime = record.bt;
		}
		if (record.n !== undefined && typeof record.n !== "string") throw new CodecError(`${where}: n must be a string`);
		const name = baseName + (record.n ?? "");
		let path;
		try {
			path = parsePath(name);
		} catch (e) {
			if (e instanceof PathError) throw new CodecError(`${where}: name ${JSON.stringify(name)} is not an LwM2M path`);
			throw e;
		}
		if (path.length === 0) throw new CodecError(`${where} has no name`);
		const present = VALUE_FIELDS.filter((f) => record[f] !== undefined);
		if (present.length > 1) throw new CodecError(`${where} has more than one value (${present.join(", ")})`);
		const entry = { path, from: "data" };
		if (record.t !== undefined || record.bt !== undefined || baseTime) {
			if (record.t !== undefined && typeof record.t !== "number") throw new CodecError(`${where}: t must be a number`);
			const t = baseTime + (record.t ?? 0);
			entry.time = t < RELATIVE_TIME_LIMIT ? nowSeconds + t : t;
		}
		if (present.length === 0) {
			if (valueRequired) throw new CodecError(`${where} (${name}) has no value`);
			entry.noValue = true;
			return entry;
		}
		const [field] = present;
		const value = record[field];
		const expect = { v: ["number", "bigint"], vs: ["string"], vb: ["boolean"], vlo: ["string"] }[field];
		if (expect && !expect.includes(typeof value)) throw new CodecError(`${where}: ${field} must be a ${expect[0]}, got ${JSON.stringify(String(value))}`);
		if (field === "vd" && !Buffer.isBuffer(value)) throw new CodecError(`${where}: vd must be opaque data`);
		if (field === "v" && typeof value === "number" && !Number.isFinite(value)) throw new CodecError(`${where}: v must be finite`);
		entry.value = field === "vlo" ? { objlnk: value } : value;
		return entry;
	});
}

/** Typed entries {path, type, value} (or {path} alone) -> normalized records. */
export function entriesToRecords(entries) {
	return entries.map(({ path, type, value }) => {
		const record = { n: "/" + path.join("/") };
		if (value === undefined) return record;
		switch (type) {
			case "INTEGER":
			case "UNSIGNED_INTEGER":
			case "FLOAT":
			case "TIME":
				record.v = value;
				break;
			case "BOOLEAN":
				record.vb = value;
				break;
			case "OPAQUE":
				record.vd = Buffer.from(value);
				break;
			case "OBJLNK":
				record.vlo = value;
				break;
			default:
				record.vs = String(value);
		}
		return record;
	});
}
