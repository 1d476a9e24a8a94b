// OMA TLV (content format 11542, Core TS 1.1 §7.4.3): each item a type byte (identifier
// kind in bits 7-6, 16-bit identifier in bit 5, length size in bits 4-3, or the length
// itself in bits 2-0 when below 8), the identifier, the length, the value. Object Instances
// hold Resources and Multiple Resources; Multiple Resources hold Resource Instances.
//
// The format does not say a value's type: decoding asks the object model (TypeOf). A
// resource the model does not know (or knows with no type, as an executable one) decodes to
// its raw bytes as DataType.Opaque, so that the LwM2M layer can answer 4.04 for it, or skip
// it, as the operation requires; Opaque values are views of the payload, not copies.
//
// Encoding writes what the spec's own examples write: integers in the fewest of 1, 2, 4 or
// 8 bytes, floats in 4 bytes when exact as binary32, identifiers in 8 bits when below 256,
// lengths in the type byte when below 8.

import {
	ByteWriter, DataType, Entry, FormatError, MAX_ID, checkNumber, checkObjlnk, entryAt, utf8Strict,
	type Path, type TypeOf,
} from "./record";

/** Identifier kinds (bits 7-6 of the type byte). */
export const Kind = { ObjectInstance: 0, ResourceInstance: 1, MultipleResource: 2, Resource: 3 } as const;

const TWO_32 = 4294967296;

// ---------------------------------------------------------------- decoding

/** The item last read by item(): its kind, identifier and value bytes [start, end). */
let kind = 0, id = 0, start = 0, end = 0;

/** Reads the item header at `at`, which must lie wholly before `limit`; returns where the item ends. */
function item(b: Uint8Array, at: number, limit: number): number {
	const t = b[at];
	const idSize = t & 0x20 ? 2 : 1;
	const lengthSize = (t >> 3) & 3;
	let p = at + 1;
	if (p + idSize + lengthSize > limit) throw new FormatError("tlv: truncated header");
	kind = t >> 6;
	id = idSize === 2 ? (b[p] << 8) | b[p + 1] : b[p];
	p += idSize;
	let length = lengthSize ? 0 : t & 7;
	for (let k = 0; k < lengthSize; k++) length = (length << 8) | b[p++];
	if (length > limit - p) throw new FormatError("tlv: a length beyond the payload");
	start = p;
	end = p + length;
	return end;
}

/** A signed (or unsigned) big-endian integer of 1, 2, 4 or 8 bytes. */
function integer(b: Uint8Array, s: number, e: number, signed: boolean): number {
	const n = e - s;
	if (n !== 1 && n !== 2 && n !== 4 && n !== 8) throw new FormatError("tlv: an integer of 1, 2, 4 or 8 bytes");
	let v = signed && b[s] & 0x80 ? -1 : 0;
	if (n === 8) {
		const hi = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]);
		const lo = ((b[s + 4] << 24) >>> 0) + ((b[s + 5] << 16) | (b[s + 6] << 8) | b[s + 7]);
		return (signed ? hi : hi >>> 0) * TWO_32 + lo; // checkNumber refuses what is not exact
	}
	for (let i = s; i < e; i++) v = v * 256 + b[i];
	return v;
}

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and a buffer
// a module body makes lives in flash on the ESP32, read-only ("read-only buffer" at the first write)
let float: DataView | undefined;

function value(b: Uint8Array, e: Entry, typeOf: TypeOf): void {
	const known = typeOf(e.object, e.resource);
	const type = known === undefined || known === DataType.None ? DataType.Opaque : known;
	e.type = type;
	const n = end - start;
	switch (type) {
		case DataType.String:
		case DataType.Corelnk:
			e.value = utf8Strict(b, start, end);
			return;
		case DataType.Opaque:
			e.value = b.subarray(start, end);
			return;
		case DataType.Integer:
		case DataType.Time:
		case DataType.Unsigned:
			e.value = checkNumber(type, integer(b, start, end, type !== DataType.Unsigned), e);
			return;
		case DataType.Float:
			if (n !== 4 && n !== 8) throw new FormatError("tlv: a float of 4 or 8 bytes");
			float ??= new DataView(new ArrayBuffer(8));
			for (let i = 0; i < n; i++) float.setUint8(i, b[start + i]);
			e.value = checkNumber(type, n === 4 ? float.getFloat32(0) : float.getFloat64(0), e);
			return;
		case DataType.Boolean:
			if (n !== 1 || b[start] > 1) throw new FormatError("tlv: a boolean is one byte, 0 or 1");
			e.value = b[start] === 1;
			return;
		case DataType.Objlnk:
			if (n !== 4) throw new FormatError("tlv: an object link is 4 bytes");
			e.value = ((b[start] << 8) | b[start + 1]) + ":" + ((b[start + 2] << 8) | b[start + 3]);
			return;
	}
	throw new FormatError(`tlv: unknown type ${type}`);
}

/** Resource Instances in [s, limit) of resource `resource`; returns the new count. */
function instances(b: Uint8Array, s: number, limit: number, object: number, instance: number, resource: number, typeOf: TypeOf, out: Entry[], n: number): number {
	for (let at = s; at < limit;) {
		at = item(b, at, limit);
		if (kind !== Kind.ResourceInstance) throw new FormatError("tlv: a multiple resource holds resource instances only");
		value(b, entryAt(out, n++).set(object, instance, resource, id, DataType.None, 0), typeOf);
	}
	return n;
}

/** Resources and Multiple Resources in [s, limit); returns the new count. */
function resources(b: Uint8Array, s: number, limit: number, object: number, instance: number, typeOf: TypeOf, out: Entry[], n: number): number {
	for (let at = s; at < limit;) {
		at = item(b, at, limit);
		n = resource(b, object, instance, -1, typeOf, out, n);
	}
	return n;
}

/** The Resource or Multiple Resource item() just read (its id must be `only` when that is given). */
function resource(b: Uint8Array, object: number, instance: number, only: number, typeOf: TypeOf, out: Entry[], n: number): number {
	const rid = id, s = start, e = end;
	if (only >= 0 && rid !== only) throw new FormatError(`tlv: resource ${rid} where ${only} was addressed`);
	if (kind === Kind.Resource) {
		value(b, entryAt(out, n).set(object, instance, rid, -1, DataType.None, 0), typeOf);
		return n + 1;
	}
	if (kind !== Kind.MultipleResource) throw new FormatError("tlv: expected a resource");
	const before = n;
	n = instances(b, s, e, object, instance, rid, typeOf, out, n);
	// an empty multiple resource: one entry of type None says it is there, with no instances
	if (n === before) entryAt(out, n++).set(object, instance, rid, -1, DataType.None, 0);
	return n;
}

/**
 * Decodes TLV addressed to `path` into out[0..n): at an object, Object Instances (or bare
 * resources, instance -1: a Create letting the client choose); at an instance, its
 * resources (or the one Object Instance item naming it); at a resource, that Resource or
 * Multiple Resource (or bare Resource Instances); at a resource instance, that one.
 */
export function decode(payload: Uint8Array, path: Path, typeOf: TypeOf, out: Entry[]): number {
	const b = payload, limit = payload.length;
	const object = path.object;
	if (object < 0) throw new FormatError("tlv: no object in the path");
	let n = 0;
	for (let at = 0; at < limit;) {
		at = item(b, at, limit);
		if (path.instance < 0) {
			if (kind === Kind.ObjectInstance) n = resources(b, start, end, object, id, typeOf, out, n);
			else n = resource(b, object, -1, -1, typeOf, out, n);
		} else if (path.resource < 0) {
			if (kind === Kind.ObjectInstance) {
				if (id !== path.instance) throw new FormatError(`tlv: instance ${id} where ${path.instance} was addressed`);
				n = resources(b, start, end, object, id, typeOf, out, n);
			} else n = resource(b, object, path.instance, -1, typeOf, out, n);
		} else if (kind === Kind.ResourceInstance) {
			if (path.index >= 0 && id !== path.index) throw new FormatError(`tlv: resource instance ${id} where ${path.index} was addressed`);
			value(b, entryAt(out, n++).set(object, path.instance, path.resource, id, DataType.None, 0), typeOf);
		} else if (path.index >= 0) throw new FormatError("tlv: expected the addressed resource instance");
		else n = resource(b, object, path.instance, path.resource, typeOf, out, n);
	}
	return n;
}

// ---------------------------------------------------------------- encoding

const RESERVE = 6; // the longest header: type, 16-bit id, 24-bit length

/** Reserves room for a header; the content follows it. */
function open(w: ByteWriter): number {
	w.ensure(RESERVE);
	const at = w.length;
	w.length += RESERVE;
	return at;
}

/** Writes the header of the item opened at `at`, in its shortest form, moving the content up to it. */
function close(w: ByteWriter, at: number, kind: number, id: number): void {
	if (id < 0 || id > MAX_ID) throw new FormatError(`tlv: identifier ${id}`);
	const length = w.length - at - RESERVE;
	if (length > 0xffffff) throw new RangeError("too large for a TLV length");
	const idSize = id > 0xff ? 2 : 1;
	const lengthSize = length < 8 ? 0 : length < 0x100 ? 1 : length < 0x10000 ? 2 : 3;
	const size = 1 + idSize + lengthSize;
	const b = w.buffer;
	if (size < RESERVE) {
		b.copyWithin(at + size, at + RESERVE, w.length);
		w.length -= RESERVE - size;
	}
	b[at] = (kind << 6) | (idSize === 2 ? 0x20 : 0) | (lengthSize << 3) | (lengthSize ? 0 : length);
	let p = at + 1;
	if (idSize === 2) b[p++] = id >> 8;
	b[p++] = id & 0xff;
	for (let k = lengthSize - 1; k >= 0; k--) b[p++] = (length >> (8 * k)) & 0xff;
}

function writeValue(w: ByteWriter, e: Entry): void {
	const v = e.value;
	switch (e.type) {
		case DataType.String:
		case DataType.Corelnk:
			if (typeof v !== "string") break;
			w.utf8(v);
			return;
		case DataType.Opaque:
			if (!(v instanceof Uint8Array)) break;
			w.bytesOf(v);
			return;
		case DataType.Integer:
		case DataType.Time:
			if (typeof v !== "number" || !Number.isSafeInteger(v)) break;
			if (v >= -0x80 && v < 0x80) w.u8(v & 0xff);
			else if (v >= -0x8000 && v < 0x8000) w.u16(v & 0xffff);
			else if (v >= -0x80000000 && v < 0x80000000) w.u32(v);
			else {
				const hi = Math.floor(v / TWO_32);
				w.u32(hi).u32(v - hi * TWO_32);
			}
			return;
		case DataType.Unsigned:
			if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) break;
			if (v < 0x100) w.u8(v);
			else if (v < 0x10000) w.u16(v);
			else if (v < TWO_32) w.u32(v);
			else {
				const hi = Math.floor(v / TWO_32);
				w.u32(hi).u32(v - hi * TWO_32);
			}
			return;
		case DataType.Float:
			if (typeof v !== "number" || !Number.isFinite(v)) break;
			if (Math.fround(v) === v) w.f32(v);
			else w.f64(v);
			return;
		case DataType.Boolean:
			if (typeof v !== "boolean") break;
			w.u8(v ? 1 : 0);
			return;
		case DataType.Objlnk: {
			if (typeof v !== "string") break;
			const link = checkObjlnk(v);
			const colon = link.indexOf(":");
			w.u16(Number(link.slice(0, colon))).u16(Number(link.slice(colon + 1)));
			return;
		}
	}
	throw new FormatError(`tlv: value ${typeof v} does not fit type ${e.type}`);
}

/**
 * Writes entries[k..) that belong to the resource of entries[k]: a Resource item, or a
 * Multiple Resource with the Resource Instances that follow it. Returns the next k.
 */
function writeResource(w: ByteWriter, entries: readonly Entry[], k: number, count: number): number {
	const first = entries[k];
	if (first.index < 0 && first.type !== DataType.None) {
		const at = open(w);
		writeValue(w, first);
		close(w, at, Kind.Resource, first.resource);
		return k + 1;
	}
	// a multiple resource (a None entry without index: one with no instances)
	const at = open(w);
	if (first.index < 0) k++;
	for (; k < count; k++) {
		const e = entries[k];
		if (e.resource !== first.resource || e.instance !== first.instance || e.object !== first.object || e.index < 0) break;
		const inner = open(w);
		writeValue(w, e);
		close(w, inner, Kind.ResourceInstance, e.index);
	}
	close(w, at, Kind.MultipleResource, first.resource);
	return k;
}

/**
 * Writes the entries a read of `path` returned: at an object, Object Instance items; at an
 * instance, its resources; at a resource, that resource; at a resource instance, that
 * Resource Instance item. Entries come in model order (instances, resources and resource
 * instances each together). The root is not expressible in TLV: FormatError.
 */
export function encode(entries: readonly Entry[], count: number, path: Path, w: ByteWriter): void {
	if (path.object < 0) throw new FormatError("tlv: cannot express several objects");
	let k = 0;
	while (k < count) {
		const e = entries[k];
		if (e.object !== path.object || (path.instance >= 0 && e.instance !== path.instance) || (path.resource >= 0 && e.resource !== path.resource)) throw new FormatError("tlv: an entry outside the path");
		if (e.resource < 0) throw new FormatError("tlv: an entry that is not a resource");
		if (path.index >= 0) {
			if (e.index !== path.index) throw new FormatError("tlv: an entry outside the path");
			const at = open(w);
			writeValue(w, e);
			close(w, at, Kind.ResourceInstance, e.index);
			k++;
		} else if (path.instance >= 0) k = writeResource(w, entries, k, count);
		else {
			const at = open(w);
			const instance = e.instance;
			while (k < count && entries[k].instance === instance && entries[k].object === path.object) k = writeResource(w, entries, k, count);
			close(w, at, Kind.ObjectInstance, instance);
		}
	}
}
