// SenML CBOR (RFC 8428 §6) as LwM2M 1.1 uses it (Core TS §7.4.5, content format 112): the
// records of senml-json.ts with integer labels (bn -2, bt -3, bv -5, bver -1, n 0, v 2,
// vs 3, vb 4, t 6, vd 8) and the text label "vlo" for object links. vd is a byte string.

import { CborReader, Kind, writeArray, writeBool, writeBytes, writeHead, writeInt, writeMap, writeNumber, writeText } from "./cbor";
import { ByteWriter, DataType, Entry, FormatError, type Path, type TypeOf } from "./record";
import { Field, SenmlNames, SenmlRecord, fieldOf } from "./senml-json";

const Label = { bver: -1, bn: -2, bt: -3, bv: -5, n: 0, v: 2, vs: 3, vb: 4, t: 6, vd: 8 } as const;

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and an object
// a module body makes lives in flash on the ESP32, where its buffers are read-only and its private
// methods cannot be reached once it is copied to RAM ("undefined private property")
let lazyReader: CborReader | undefined;
let lazyRecord: SenmlRecord | undefined;

/** Decodes a SenML CBOR array into out[0..n); names are absolute, so path is not needed. */
export function decode(payload: Uint8Array, _path: Path, typeOf: TypeOf, out: Entry[]): number {
	const r = (lazyReader ??= new CborReader()).reset(payload);
	const record = (lazyRecord ??= new SenmlRecord());
	record.baseName = "";
	record.baseValue = 0;
	if (r.next() !== Kind.Array) throw new FormatError("senml: not an array");
	const records = r.count;
	let n = 0;
	for (let i = 0; records < 0 ? !r.isBreak() : i < records; i++) {
		if (r.next() !== Kind.Map) throw new FormatError("senml: a record that is not a map");
		const pairs = r.count;
		record.begin();
		let seen = 0;
		for (let k = 0; pairs < 0 ? !r.isBreak() : k < pairs; k++) {
			const key = r.next();
			let label: number;
			if (key === Kind.Int) label = r.value;
			else if (key === Kind.Text) {
				if (r.textIs("vlo")) label = 100;
				else {
					// RFC 8428 §4.4: a label ending in "_" must be understood
					if (r.text().endsWith("_")) throw new FormatError("senml: a must-understand field this decoder does not know");
					label = 101;
				}
			} else throw new FormatError("senml: a label that is neither integer nor text");
			const bit = label >= -5 && label <= 8 ? 1 << (label + 5) : label === 100 ? 1 << 14 : 0;
			if (bit & seen) throw new FormatError("senml: a field given twice in a record");
			seen |= bit;
			const kind = r.next();
			switch (label) {
				case Label.bn:
					record.baseName = text(r, kind);
					break;
				case Label.n:
					record.name = text(r, kind);
					break;
				case Label.bv:
					record.baseValue = number(r, kind);
					break;
				case Label.v:
					record.set(Field.V, number(r, kind));
					break;
				case Label.vs:
					record.set(Field.VS, text(r, kind));
					break;
				case 100:
					record.set(Field.VLO, text(r, kind));
					break;
				case Label.vb:
					if (kind !== Kind.True && kind !== Kind.False) throw new FormatError("senml: vb is not a boolean");
					record.set(Field.VB, kind === Kind.True);
					break;
				case Label.vd:
					if (kind !== Kind.Bytes) throw new FormatError("senml: vd is not a byte string");
					record.set(Field.VD, r.bytesValue());
					break;
				case Label.bt:
				case Label.t:
				case Label.bver:
					number(r, kind); // times are checked, not kept
					break;
				default:
					r.skip(); // units, sums: nothing LwM2M resources use
			}
		}
		record.finish(out, n++, typeOf);
	}
	if (!r.done) throw new FormatError("senml: data after the array");
	return n;
}

function text(r: CborReader, kind: number): string {
	if (kind !== Kind.Text) throw new FormatError("senml: expected a text string");
	return r.text();
}
function number(r: CborReader, kind: number): number {
	if (kind !== Kind.Int && kind !== Kind.Float) throw new FormatError("senml: expected a number");
	return r.value;
}

let lazyNames: SenmlNames | undefined; // made at first use (above)

/** Writes entries[0..count) as SenML CBOR; names are absolute, so path is not needed. */
export function encode(entries: readonly Entry[], count: number, _path: Path, w: ByteWriter): void {
	const names = (lazyNames ??= new SenmlNames());
	names.plan(entries, count);
	writeArray(w, names.records);
	let written = 0;
	for (let k = 0; k < count; k++) {
		const e = entries[k];
		if (e.type === DataType.None) continue;
		const field = fieldOf(e);
		const base = written++ === 0 && names.shared > 0;
		writeMap(w, (base ? 1 : 0) + (names.whole ? 0 : 1) + 1);
		if (base) {
			writeInt(w, Label.bn);
			writeHead(w, 3, names.baseLength());
			names.writeBase(w);
		}
		if (!names.whole) {
			writeInt(w, Label.n);
			writeHead(w, 3, names.nameLength(e));
			names.writeName(w, e);
		}
		const v = e.value;
		switch (field) {
			case Field.V:
				writeInt(w, Label.v);
				writeNumber(w, v as number);
				break;
			case Field.VS:
				writeInt(w, Label.vs);
				writeText(w, v as string);
				break;
			case Field.VB:
				writeInt(w, Label.vb);
				writeBool(w, v as boolean);
				break;
			case Field.VLO:
				writeText(w, "vlo");
				writeText(w, v as string);
				break;
			default:
				writeInt(w, Label.vd);
				writeBytes(w, v as Uint8Array);
		}
	}
}
