// Resource values by LwM2M data type: how each type is held in memory, read from the
// REST API's JSON or from text/plain, written back out, and checked against a model.
//
// In memory: STRING/CORELINK string, INTEGER/UNSIGNED_INTEGER number (BigInt past 2^53,
// so 64-bit values survive), FLOAT number, BOOLEAN boolean, OPAQUE Buffer, TIME integer
// seconds since the epoch, OBJLNK "objectId:instanceId". In JSON, OPAQUE is hex (as in
// Leshan's API) and a BigInt is a decimal string.

export class ValueError extends Error {
	constructor(message) {
		super(message);
		this.status = 400;
	}
}

export const TYPES = ["STRING", "INTEGER", "UNSIGNED_INTEGER", "FLOAT", "BOOLEAN", "OPAQUE", "TIME", "OBJLNK", "CORELINK", "NONE"];
export const NUMERIC_TYPES = new Set(["INTEGER", "UNSIGNED_INTEGER", "FLOAT", "TIME"]);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A RangeEnumeration that is a plain numeric interval ("0..100", "1-65534", "-40..85")
 * as {min, max}; anything else (enumerations, prose, empty) as null, i.e. unchecked.
 */
export function parseRange(text) {
	const m = /^\s*(-?\d+(?:\.\d+)?)\s*(?:\.\.|-)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text ?? "");
	if (!m) return null;
	const min = Number(m[1]);
	const max = Number(m[2]);
	return min <= max ? { min, max } : null;
}

/** A whole number as Number when exact, BigInt beyond 2^53. */
export function wholeNumber(big) {
	return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function integerFrom(input, type, where) {
	let big;
	if (typeof input === "bigint") big = input;
	else if (typeof input === "number") {
		if (!Number.isInteger(input)) throw new ValueError(`${where}: ${input} is not an integer`);
		big = BigInt(input);
	} else if (typeof input === "string" && /^\s*[+-]?\d+\s*$/.test(input)) big = BigInt(input.trim());
	else throw new ValueError(`${where}: ${JSON.stringify(input)} is not an integer`);
	const [min, max] = type === "UNSIGNED_INTEGER" ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
	if (big < min || big > max) throw new ValueError(`${where}: ${big} is out of the ${type === "UNSIGNED_INTEGER" ? "unsigned " : ""}64-bit range`);
	return wholeNumber(big);
}

// A decimal past the 64-bit float range ("1e400") reads as Infinity: refused, never sent
// (no content format carries it as a number; JSON would even make it null).
const NOT_FINITE = "is not a finite number (out of the 64-bit float range)";

function floatFrom(input, where) {
	if (typeof input === "number") {
		if (Number.isFinite(input)) return input;
		throw new ValueError(`${where}: ${input} ${NOT_FINITE}`);
	}
	if (typeof input === "string" && DECIMAL.test(input.trim())) {
		const v = Number(input.trim());
		if (!Number.isFinite(v)) throw new ValueError(`${where}: ${input.trim()} ${NOT_FINITE}`);
		return v;
	}
	throw new ValueError(`${where}: ${JSON.stringify(input)} is not a number`);
}

function objlnkFrom(input, where) {
	const m = typeof input === "string" ? /^(\d{1,5}):(\d{1,5})$/.exec(input.trim()) : null;
	if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) throw new ValueError(`${where}: ${JSON.stringify(input)} is not an object link "objectId:instanceId"`);
	return `${Number(m[1])}:${Number(m[2])}`;
}

function timeFrom(input, where) {
	if (typeof input === "string" && !/^\s*[+-]?\d+\s*$/.test(input)) {
		const ms = Date.parse(input);
		if (Number.isNaN(ms)) throw new ValueError(`${where}: ${JSON.stringify(input)} is neither epoch seconds nor an ISO 8601 date`);
		return Math.floor(ms / 1000);
	}
	return integerFrom(input, "INTEGER", where);
}

/**
 * A value from the REST API's JSON (or a CLI argument string) for a resource of `type`.
 * Strings are accepted for every type, since Leshan's API writes numbers as strings.
 */
export function fromJson(type, input, where = "value") {
	switch (type) {
		case "STRING":
		case "CORELINK":
			if (typeof input !== "string") throw new ValueError(`${where}: expected a string, got ${JSON.stringify(input)}`);
			return input;
		case "INTEGER":
		case "UNSIGNED_INTEGER":
			return integerFrom(input, type, where);
		case "FLOAT":
			return floatFrom(input, where);
		case "BOOLEAN":
			if (typeof input === "boolean") return input;
			if (input === "true" || input === "1" || input === 1) return true;
			if (input === "false" || input === "0" || input === 0) return false;
			throw new ValueError(`${where}: ${JSON.stringify(input)} is not a boolean`);
		case "OPAQUE":
			if (Buffer.isBuffer(input)) return input;
			if (typeof input === "string" && /^([0-9a-fA-F]{2})*$/.test(input)) return Buffer.from(input, "hex");
			throw new ValueError(`${where}: opaque values are written as hex strings, got ${JSON.stringify(input)}`);
		case "TIME":
			return timeFrom(input, where);
		case "OBJLNK":
			return objlnkFrom(input, where);
		case "NONE":
			throw new ValueError(`${where}: an executable resource has no value`);
		default:
			throw new ValueError(`${where}: unknown type ${JSON.stringify(type)}`);
	}
}

/** A value from its text/plain (content format 0) representation. */
export function fromText(type, text, where = "value") {
	switch (type) {
		case "BOOLEAN":
			if (text === "1") return true;
			if (text === "0") return false;
			throw new ValueError(`${where}: text boolean must be "0" or "1", not ${JSON.stringify(text)}`);
		case "OPAQUE": {
			// LwM2M 1.1 carries opaque values base64-encoded in text/plain
			const clean = text.replace(/\s+/g, "");
			if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) throw new ValueError(`${where}: ${JSON.stringify(text)} is not base64`);
			return Buffer.from(clean, "base64");
		}
		case "TIME":
			return integerFrom(text, "INTEGER", where);
		default:
			return fromJson(type, text, where);
	}
}

/** The text/plain representation of a value. */
export function toText(type, value) {
	switch (type) {
		case "BOOLEAN":
			return value ? "1" : "0";
		case "OPAQUE":
			return Buffer.from(value).toString("base64");
		default:
			return String(value);
	}
}

/** A value as the REST API shows it. */
export function toJson(type, value) {
	if (type === "OPAQUE" && value !== undefined) return Buffer.from(value).toString("hex");
	if (typeof value === "bigint") return value.toString();
	return value;
}

/** Range and length checks from the model's RangeEnumeration. */
export function checkRange(resource, value, where = "value") {
	const range = resource?.range;
	if (!range) return;
	if (NUMERIC_TYPES.has(resource.type)) {
		const n = Number(value);
		if (n < range.min || n > range.max) throw new ValueError(`${where}: ${value} is outside ${resource.rangeEnumeration}`);
	} else if (resource.type === "STRING" || resource.type === "OPAQUE") {
		// OMA's DDF guidelines use the range of a string/opaque resource as its size in bytes
		const size = Buffer.byteLength(value);
		if (size < range.min || size > range.max) throw new ValueError(`${where}: ${size} bytes is outside ${resource.rangeEnumeration} bytes`);
	}
}

/** The best type for a value decoded without a model (from a self-describing format). */
export function inferType(value) {
	if (typeof value === "boolean") return "BOOLEAN";
	if (typeof value === "bigint") return "INTEGER";
	if (typeof value === "number") return Number.isInteger(value) ? "INTEGER" : "FLOAT";
	if (Buffer.isBuffer(value) || value instanceof Uint8Array) return "OPAQUE";
	return "STRING";
}
