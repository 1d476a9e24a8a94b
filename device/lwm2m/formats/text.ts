// text/plain (content format 0, Core TS 1.1 §7.4.1): the value of one resource or resource
// instance as text. Integers and times in decimal, floats as the shortest decimal that
// reads back as the same number, booleans "0"/"1", object links "3:0", opaque as base64
// (RFC 4648 §4, with padding), strings and core links as they are (UTF-8).

import {
	ByteWriter, DataType, Entry, FormatError, base64Read, base64Write, checkNumber, checkObjlnk,
	entryAt, pathString, utf8Strict, type Path, type TypeOf,
} from "./record";

/** Decodes the value of the resource `path` names; out[0] gets it. */
export function decode(payload: Uint8Array, path: Path, typeOf: TypeOf, out: Entry[]): number {
	if (path.object < 0 || path.instance < 0 || path.resource < 0) throw new FormatError("text: the path is not a resource");
	const known = typeOf(path.object, path.resource);
	const type = known === undefined || known === DataType.None ? DataType.String : known;
	const e = entryAt(out, 0).set(path.object, path.instance, path.resource, path.index, type, 0);
	const end = payload.length;
	switch (type) {
		case DataType.String:
		case DataType.Corelnk:
			e.value = utf8Strict(payload, 0, end);
			break;
		case DataType.Opaque:
			e.value = base64Read(payload, 0, end, false);
			break;
		case DataType.Boolean:
			if (end !== 1 || (payload[0] !== 48 && payload[0] !== 49)) throw new FormatError("text: a boolean is 0 or 1");
			e.value = payload[0] === 49;
			break;
		case DataType.Objlnk:
			e.value = checkObjlnk(ascii(payload));
			break;
		default: {
			const text = ascii(payload);
			e.value = checkNumber(type, parseNumber(text, type === DataType.Float, e), e, text);
		}
	}
	return 1;
}

const MAX_NUMBER_LENGTH = 64;

/** Bytes as a string when they are printable ASCII of a sensible length (numbers, links). */
function ascii(payload: Uint8Array): string {
	if (payload.length === 0 || payload.length > MAX_NUMBER_LENGTH) throw new FormatError("text: bad length for the type");
	for (let i = 0; i < payload.length; i++) if (payload[i] < 0x21 || payload[i] > 0x7e) throw new FormatError("text: unexpected character");
	return String.fromCharCode.apply(null, payload as unknown as number[]);
}

/**
 * [-]digits, and for floats [.digits][e[+-]digits]; no spaces, no hex, no NaN or Infinity.
 * A decimal number for an integer resource ("1.5", "1e3") is refused as no integer; one past
 * the float range ("1e400") reads as Infinity, for checkNumber to refuse with the text.
 */
function parseNumber(text: string, float: boolean, at: Path): number {
	let i = 0;
	const n = text.length;
	const digits = () => {
		const from = i;
		while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
		return i > from;
	};
	if (text.charCodeAt(0) === 45 || text.charCodeAt(0) === 43) i++;
	let ok = digits();
	const whole = ok && i === n;
	if (ok && text.charCodeAt(i) === 46) {
		i++;
		ok = digits();
	}
	if (ok && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
		i++;
		if (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45) i++;
		ok = digits();
	}
	if (!ok || i !== n) throw new FormatError(`${pathString(at)}: "${text}" is not ${float ? "a decimal number" : "an integer"}`);
	if (!float && !whole) throw new FormatError(`${pathString(at)}: ${text} is not an integer (text integers are decimal digits)`);
	return Number(text);
}

/** Writes the one entry as text; anything but one value is a FormatError (4.06). */
export function encode(entries: readonly Entry[], count: number, _path: Path, w: ByteWriter): void {
	if (count !== 1 || entries[0].type === DataType.None) throw new FormatError("text: only a single value");
	const e = entries[0];
	const v = e.value;
	switch (e.type) {
		case DataType.String:
		case DataType.Corelnk:
			if (typeof v !== "string") break;
			w.utf8(v);
			return;
		case DataType.Opaque:
			if (!(v instanceof Uint8Array)) break;
			base64Write(v, w, false);
			return;
		case DataType.Boolean:
			if (typeof v !== "boolean") break;
			w.u8(v ? 49 : 48);
			return;
		case DataType.Objlnk:
			if (typeof v !== "string") break;
			w.ascii(checkObjlnk(v));
			return;
		case DataType.Float:
			if (typeof v !== "number" || !Number.isFinite(v)) break;
			w.ascii(String(v)); // ECMAScript Number::toString: the shortest round-trip digits
			return;
		default:
			if (typeof v !== "number" || !Number.isSafeInteger(v)) break;
			w.ascii(String(v));
			return;
	}
	throw new FormatError(`text: value ${typeof v} does not fit type ${e.type}`);
}
