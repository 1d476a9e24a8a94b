// application/octet-stream (content format 42, Core TS 1.1 §7.4.2): the bytes of one Opaque
// resource or resource instance, nothing else.

import { ByteWriter, DataType, Entry, FormatError, entryAt, type Path, type TypeOf } from "./record";

/**
 * out[0] gets the payload for the resource `path` names. The value is a view of `payload`,
 * not a copy: keep it beyond the request only by copying it.
 */
export function decode(payload: Uint8Array, path: Path, typeOf: TypeOf, out: Entry[]): number {
	if (path.object < 0 || path.instance < 0 || path.resource < 0) throw new FormatError("opaque: the path is not a resource");
	const type = typeOf(path.object, path.resource);
	if (type !== undefined && type !== DataType.None && type !== DataType.Opaque) throw new FormatError("opaque: the resource is not Opaque");
	entryAt(out, 0).set(path.object, path.instance, path.resource, path.index, DataType.Opaque, payload);
	return 1;
}

export function encode(entries: readonly Entry[], count: number, _path: Path, w: ByteWriter): void {
	const v = count === 1 ? entries[0].value : undefined;
	if (count !== 1 || entries[0].type !== DataType.Opaque || !(v instanceof Uint8Array)) throw new FormatError("opaque: only a single Opaque value");
	w.bytesOf(v);
}
