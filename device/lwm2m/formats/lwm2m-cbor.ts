// LwM2M CBOR (content format 11544, from LwM2M 1.2 Core TS §7.4.6; offered here because
// it is the most compact of the formats): nested maps keyed by path ids from the root,
//   {3303: {0: {5700: 21.5, 5701: "Cel"}}}
// where a key may also be an array of ids standing for several levels at once ("path
// compaction": {[3303, 0, 5700]: 21.5}). Values are CBOR's own: integers, floats, text
// (strings, core links, object links as "3:0"), byte strings (opaque), booleans; a tag
// (as epoch time's tag 1) is accepted and ignored.
//
// The encoder writes plain nested maps (no compaction), always from the root, so the
// request path is not needed; the decoder accepts any mix of the two key forms.

import { CborReader, Kind, writeBool, writeBytes, writeInt, writeMap, writeNumber, writeText } from "./cbor";
import {
	ByteWriter, DataType, Entry, FormatError, MAX_ID, checkNumber, checkObjlnk, entryAt, type Path, type TypeOf,
} from "./record";

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and a buffer
// a module body makes lives in flash on the ESP32, read-only ("read-only buffer" at the first write)
let reader: CborReader | undefined;
// per open map: the path depth its keys start at, and the pairs left (-1: indefinite)
let depths: Int8Array | undefined;
let remaining: Float64Array | undefined;
const ids = [-1, -1, -1, -1];

export function decode(payload: Uint8Array, _path: Path, typeOf: TypeOf, out: Entry[]): number {
	const r = (reader ??= new CborReader()).reset(payload);
	if (r.next() !== Kind.Map) throw new FormatError("lwm2m-cbor: not a map");
	depths ??= new Int8Array(6);
	remaining ??= new Float64Array(6);
	let top = 0, n = 0;
	depths[0] = 0;
	remaining[0] = r.count;
	while (top >= 0) {
		const left = remaining[top];
		if (left === 0 || (left < 0 && r.isBreak())) {
			top--;
			continue;
		}
		if (left > 0) remaining[top] = left - 1;
		// the key: one id, or an array of them
		let depth = depths[top];
		const key = r.next();
		if (key === Kind.Int) depth = id(r, depth);
		else if (key === Kind.Array) {
			const count = r.count;
			if (count < 1) throw new FormatError("lwm2m-cbor: an empty or indefinite path key");
			for (let k = 0; k < count; k++) {
				if (r.next() !== Kind.Int) throw new FormatError("lwm2m-cbor: a path key of non-integers");
				depth = id(r, depth);
			}
		} else throw new FormatError("lwm2m-cbor: a key that is not a path");
		const kind = r.next();
		if (kind === Kind.Map) {
			if (depth >= 4 || top === depths.length - 1) throw new FormatError("lwm2m-cbor: nested beyond resource instances");
			top++;
			depths[top] = depth;
			remaining[top] = r.count;
			continue;
		}
		if (depth < 3) throw new FormatError("lwm2m-cbor: a value above the resource level");
		const e = entryAt(out, n++).set(ids[0], ids[1], ids[2], depth === 4 ? ids[3] : -1, DataType.None, 0);
		leaf(r, kind, e, typeOf);
	}
	if (!r.done) throw new FormatError("lwm2m-cbor: data after the map");
	return n;
}

function id(r: CborReader, depth: number): number {
	const v = r.value;
	if (depth >= 4 || v < 0 || v > MAX_ID) throw new FormatError("lwm2m-cbor: bad path key");
	ids[depth] = v;
	return depth + 1;
}

function leaf(r: CborReader, kind: number, e: Entry, typeOf: TypeOf): void {
	const known = typeOf(e.object, e.resource);
	const t = known === DataType.None ? undefined : known;
	switch (kind) {
		case Kind.Int:
		case Kind.Float: {
			const type = t ?? (kind === Kind.Int ? DataType.Integer : DataType.Float);
			if (type !== DataType.Integer && type !== DataType.Unsigned && type !== DataType.Float && type !== DataType.Time) break;
			e.type = type;
			e.value = checkNumber(type, r.value, e);
			return;
		}
		case Kind.Text: {
			const type = t ?? DataType.String;
			if (type !== DataType.String && type !== DataType.Corelnk && type !== DataType.Objlnk) break;
			e.type = type;
			e.value = type === DataType.Objlnk ? checkObjlnk(r.text()) : r.text();
			return;
		}
		case Kind.Bytes:
			if (t !== undefined && t !== DataType.Opaque) break;
			e.type = DataType.Opaque;
			e.value = r.bytesValue();
			return;
		case Kind.True:
		case Kind.False:
			if (t !== undefined && t !== DataType.Boolean) break;
			e.type = DataType.Boolean;
			e.value = kind === Kind.True;
			return;
	}
	throw new FormatError(`lwm2m-cbor: wrong kind of value for /${e.object}/${e.instance}/${e.resource}`);
}

// ---------------------------------------------------------------- encoding

const level = (e: Entry, k: number) => (k === 0 ? e.object : k === 1 ? e.instance : k === 2 ? e.resource : e.index);

/** Whether entries a and b share the path levels above `depth`. */
function sameParent(a: Entry, b: Entry, depth: number): boolean {
	for (let k = 0; k < depth; k++) if (level(a, k) !== level(b, k)) return false;
	return true;
}

/** The map of the children at `depth` of the group starting at entries[k]; returns the next k. */
function writeLevel(w: ByteWriter, entries: readonly Entry[], k: number, count: number, depth: number): number {
	const first = entries[k];
	let children = 0;
	for (let j = k, previous = -2; j < count && sameParent(entries[j], first, depth); j++) {
		if (entries[j].type === DataType.None) continue;
		const v = level(entries[j], depth);
		if (v !== previous) children++;
		previous = v;
	}
	writeMap(w, children);
	while (k < count && sameParent(entries[k], first, depth)) {
		const e = entries[k];
		if (e.type === DataType.None) {
			k++;
			continue;
		}
		const v = level(e, depth);
		if (v < 0 || v > MAX_ID) throw new FormatError("lwm2m-cbor: a value that is not at a resource");
		writeInt(w, v);
		const leafDepth = e.index >= 0 ? 3 : 2;
		if (depth === leafDepth) {
			writeValue(w, e);
			k++;
		} else k = writeLevel(w, entries, k, count, depth + 1);
	}
	return k;
}

function writeValue(w: ByteWriter, e: Entry): void {
	const v = e.value;
	switch (e.type) {
		case DataType.Integer:
		case DataType.Unsigned:
		case DataType.Time:
			if (typeof v !== "number" || !Number.isSafeInteger(v)) break;
			writeInt(w, v);
			return;
		case DataType.Float:
			if (typeof v !== "number" || !Number.isFinite(v)) break;
			writeNumber(w, v);
			return;
		case DataType.String:
		case DataType.Corelnk:
			if (typeof v !== "string") break;
			writeText(w, v);
			return;
		case DataType.Objlnk:
			if (typeof v !== "string") break;
			writeText(w, checkObjlnk(v));
			return;
		case DataType.Boolean:
			if (typeof v !== "boolean") break;
			writeBool(w, v);
			return;
		case DataType.Opaque:
			if (!(v instanceof Uint8Array)) break;
			writeBytes(w, v);
			return;
	}
	throw new FormatError(`lwm2m-cbor: value ${typeof v} does not fit type ${e.type}`);
}

/** Writes entries[0..count) (in model order) as nested maps from the root. */
export function encode(entries: readonly Entry[], count: number, _path: Path, w: ByteWriter): void {
	for (let k = 0; k < count; k++) if (entries[k].type !== DataType.None && entries[k].resource < 0) throw new FormatError("lwm2m-cbor: a value that is not at a resource");
	if (count === 0) {
		writeMap(w, 0);
		return;
	}
	const end = writeLevel(w, entries, 0, count, 0);
	if (end !== count) throw new FormatError("lwm2m-cbor: entries not in model order");
}
