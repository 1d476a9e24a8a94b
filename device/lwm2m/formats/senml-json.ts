// SenML JSON (RFC 8428 §4, §5) as LwM2M 1.1 uses it (Core TS §7.4.4, content format 110):
// one record per resource or resource instance, named by its path ("/3303/0/5700") as bn + n;
// v numbers, vs strings and core links, vb booleans, vd opaque (base64url, no padding), vlo
// object links ("3:0"). Records with a name and no value are paths (read-/observe-composite
// requests) and decode to DataType.None.
//
// Decoding reads the bytes directly rather than through JSON.parse, which XS has: JSON.parse
// would need the whole payload as a string first, then build an object per record and a
// string per key, all garbage the moment they are copied into Entry; its recursion depth and
// the shape of what it returns would still need checking. The reader below allocates only
// the names and string values it keeps, and bounds nesting by construction.

import {
	ByteWriter, DataType, Entry, FormatError, MAX_ID, base64Read, base64Write, checkNumber, checkObjlnk,
	entryAt, parsePath, utf8Strict, type Path, type TypeOf, type Value,
} from "./record";

// ---------------------------------------------------------------- shared with senml-cbor

/** Which value field a record had. */
export const Field = { None: 0, V: 1, VS: 2, VB: 3, VD: 4, VLO: 5 } as const;

/**
 * One record as its fields arrive, in any order, and the base fields (bn, bv) that carry
 * over to the records after it (RFC 8428 §4.5.1).
 */
export class SenmlRecord {
	baseName = "";
	baseValue = 0;
	name: string | undefined = undefined;
	field: number = Field.None;
	value: Value = 0;
	/** a number value as written (JSON), for the reason when it is refused: "1e400" */
	valueText: string | undefined = undefined;

	begin() {
		this.name = undefined;
		this.field = Field.None;
		this.value = 0;
		this.valueText = undefined;
	}
	/** Sets the record's value, refusing a second one. */
	set(field: number, value: Value) {
		if (this.field !== Field.None) throw new FormatError("senml: more than one value in a record");
		this.field = field;
		this.value = value;
	}
	/** Resolves the name, checks the value against the model, and fills out[n]. */
	finish(out: Entry[], n: number, typeOf: TypeOf): void {
		const name = this.name === undefined ? this.baseName : this.baseName + this.name;
		if (!name) throw new FormatError("senml: a record without a name");
		const e = entryAt(out, n);
		parsePath(name, e);
		if (this.field === Field.None) return; // a path: type None
		if (e.resource < 0) throw new FormatError(`senml: a value for ${name}, which is no resource`);
		const known = typeOf(e.object, e.resource);
		const t = known === DataType.None ? undefined : known;
		const v = this.value;
		switch (this.field) {
			case Field.V: {
				const type = t ?? (Number.isInteger(v) ? DataType.Integer : DataType.Float);
				if (type !== DataType.Integer && type !== DataType.Unsigned && type !== DataType.Float && type !== DataType.Time) throw mismatch(name, type);
				e.type = type;
				e.value = checkNumber(type, (v as number) + this.baseValue, e, this.baseValue === 0 ? this.valueText : undefined);
				return;
			}
			case Field.VS:
				if (t !== undefined && t !== DataType.String && t !== DataType.Corelnk) throw mismatch(name, t);
				e.type = t ?? DataType.String;
				break;
			case Field.VB:
				if (t !== undefined && t !== DataType.Boolean) throw mismatch(name, t);
				e.type = DataType.Boolean;
				break;
			case Field.VD:
				if (t !== undefined && t !== DataType.Opaque) throw mismatch(name, t);
				e.type = DataType.Opaque;
				break;
			default:
				if (t !== undefined && t !== DataType.Objlnk) throw mismatch(name, t);
				e.type = DataType.Objlnk;
				e.value = checkObjlnk(v as string);
				return;
		}
		e.value = v;
	}
}
const mismatch = (name: string, type: number) => new FormatError(`senml: wrong kind of value for ${name} (type ${type})`);

/** ids of an entry by level, 0-3 */
const level = (e: Entry, k: number) => (k === 0 ? e.object : k === 1 ? e.instance : k === 2 ? e.resource : e.index);
const depthOf = (e: Entry) => (e.object < 0 ? 0 : e.instance < 0 ? 1 : e.resource < 0 ? 2 : e.index < 0 ? 3 : 4);
const digits = (v: number) => (v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5);

/**
 * How the encoders split names into bn and n: the levels all records share go into bn
 * (written once, on the first record); n is the rest. A single record gets its whole path
 * as bn and no n. Records of type None (no value) are not written.
 */
export class SenmlNames {
	/** levels in bn; 0: no bn, each n is the whole path */
	shared = 0;
	/** bn has no n after it (a single record) */
	whole = false;
	first: Entry | undefined = undefined;
	records = 0;

	plan(entries: readonly Entry[], count: number): void {
		let first: Entry | undefined, shared = 0, records = 0;
		for (let k = 0; k < count; k++) {
			const e = entries[k];
			if (e.type === DataType.None) continue;
			if (e.resource < 0 || e.object > MAX_ID || e.instance > MAX_ID || e.resource > MAX_ID || e.index > MAX_ID) throw new FormatError("senml: a value that is not at a resource");
			records++;
			if (!first) {
				first = e;
				shared = depthOf(e);
				continue;
			}
			let s = 0;
			while (s < shared && s < depthOf(e) && level(e, s) === level(first, s)) s++;
			shared = s;
		}
		this.first = first;
		this.records = records;
		this.whole = records === 1;
		// a record whose path is all of bn would need an empty n after a "/": keep it in n
		if (!this.whole && first) for (let k = 0; k < count; k++) if (entries[k].type !== DataType.None && depthOf(entries[k]) === shared) { shared--; break; }
		this.shared = shared;
	}
	/** Bytes of bn ("/3303/0/" or "/3303/0/5700"); 0 for none. */
	baseLength(): number {
		const e = this.first;
		if (!e || !this.shared) return 0;
		let n = this.whole ? 0 : 1;
		for (let k = 0; k < this.shared; k++) n += 1 + digits(level(e, k));
		return n;
	}
	writeBase(w: ByteWriter): void {
		const e = this.first!;
		for (let k = 0; k < this.shared; k++) w.u8(47).ascii(String(level(e, k)));
		if (!this.whole) w.u8(47);
	}
	/** Bytes of n for e ("5700", "7/1", or "/3303/0/5700" without bn). */
	nameLength(e: Entry): number {
		const depth = depthOf(e);
		let n = this.shared ? -1 : 0;
		for (let k = this.shared; k < depth; k++) n += 1 + digits(level(e, k));
		return n;
	}
	writeName(w: ByteWriter, e: Entry): void {
		const depth = depthOf(e);
		for (let k = this.shared; k < depth; k++) {
			if (k > this.shared || !this.shared) w.u8(47);
			w.ascii(String(level(e, k)));
		}
	}
}

/** The value field an entry's type is written as; throws FormatError when the value does not fit. */
export function fieldOf(e: Entry): number {
	const v = e.value;
	switch (e.type) {
		case DataType.Integer:
		case DataType.Unsigned:
		case DataType.Time:
			if (typeof v !== "number" || !Number.isSafeInteger(v)) break;
			return Field.V;
		case DataType.Float:
			if (typeof v !== "number" || !Number.isFinite(v)) break;
			return Field.V;
		case DataType.String:
		case DataType.Corelnk:
			if (typeof v !== "string") break;
			return Field.VS;
		case DataType.Boolean:
			if (typeof v !== "boolean") break;
			return Field.VB;
		case DataType.Opaque:
			if (!(v instanceof Uint8Array)) break;
			return Field.VD;
		case DataType.Objlnk:
			if (typeof v !== "string") break;
			checkObjlnk(v);
			return Field.VLO;
	}
	throw new FormatError(`senml: value ${typeof v} does not fit type ${e.type}`);
}

// ---------------------------------------------------------------- JSON reading

const QUOTE = 34, BACKSLASH = 92, COMMA = 44, COLON = 58;
/** nesting a skipped unknown field may have */
const MAX_SKIP_DEPTH = 8;
const MAX_NUMBER_LENGTH = 64;

/** A cursor over JSON bytes for the subset SenML needs. */
class JsonReader {
	bytes: Uint8Array = new Uint8Array(0);
	pos = 0;
	/** the last string scanned: content bytes[start, stop), escaped when it has backslashes */
	start = 0;
	stop = 0;
	escaped = false;
	/** the text of the last number read */
	numberText = "";

	reset(bytes: Uint8Array) {
		this.bytes = bytes;
		this.pos = 0;
	}
	/** The next byte after white space, not consumed; -1 at the end. */
	peek(): number {
		const b = this.bytes;
		while (this.pos < b.length) {
			const c = b[this.pos];
			if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c;
			this.pos++;
		}
		return -1;
	}
	expect(c: number) {
		if (this.peek() !== c) throw new FormatError(`json: expected "${String.fromCharCode(c)}" at ${this.pos}`);
		this.pos++;
	}
	/** Scans a string token; its content is start..stop. */
	scan() {
		this.expect(QUOTE);
		const b = this.bytes;
		this.start = this.pos;
		this.escaped = false;
		for (let i = this.pos; i < b.length; i++) {
			const c = b[i];
			if (c === QUOTE) {
				this.stop = i;
				this.pos = i + 1;
				return;
			}
			if (c < 0x20) throw new FormatError("json: control character in a string");
			if (c === BACKSLASH) {
				this.escaped = true;
				i++;
			}
		}
		throw new FormatError("json: unterminated string");
	}
	/** Whether the last string is the ASCII `text`. */
	is(text: string): boolean {
		if (this.escaped) return this.text() === text;
		if (this.stop - this.start !== text.length) return false;
		for (let i = 0; i < text.length; i++) if (this.bytes[this.start + i] !== text.charCodeAt(i)) return false;
		return true;
	}
	/** The last string, unescaped (\uXXXX pairs joined; a lone surrogate is refused). */
	text(): string {
		const b = this.bytes;
		if (!this.escaped) return utf8Strict(b, this.start, this.stop);
		let out = "";
		let run = this.start;
		for (let i = this.start; i < this.stop; i++) {
			if (b[i] !== BACKSLASH) continue;
			if (run < i) out += utf8Strict(b, run, i);
			const c = b[++i];
			switch (c) {
				case QUOTE: out += '"'; break;
				case BACKSLASH: out += "\\"; break;
				case 47: out += "/"; break;
				case 98: out += "\b"; break;
				case 102: out += "\f"; break;
				case 110: out += "\n"; break;
				case 114: out += "\r"; break;
				case 116: out += "\t"; break;
				case 117: {
					let u = this.#hex4(i + 1);
					i += 4;
					if (u >= 0xdc00 && u <= 0xdfff) throw new FormatError("json: lone low surrogate");
					if (u >= 0xd800 && u <= 0xdbff) {
						if (b[i + 1] !== BACKSLASH || b[i + 2] !== 117) throw new FormatError("json: lone high surrogate");
						const low = this.#hex4(i + 3);
						if (low < 0xdc00 || low > 0xdfff) throw new FormatError("json: lone high surrogate");
						i += 6;
						u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
					}
					out += String.fromCodePoint(u);
					break;
				}
				default:
					throw new FormatError("json: bad escape");
			}
			run = i + 1;
		}
		if (run < this.stop) out += utf8Strict(b, run, this.stop);
		return out;
	}
	#hex4(at: number): number {
		if (at + 4 > this.stop) throw new FormatError("json: bad \\u escape");
		let v = 0;
		for (let k = 0; k < 4; k++) {
			const c = this.bytes[at + k];
			const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
			if (d < 0) throw new FormatError("json: bad \\u escape");
			v = (v << 4) | d;
		}
		return v;
	}
	string(): string {
		this.scan();
		return this.text();
	}
	/** A number token, by the JSON grammar (RFC 8259 §6); Infinity past the float range (see finite()). */
	number(): number {
		this.peek();
		const b = this.bytes, start = this.pos;
		let i = start;
		const digitsFrom = (from: number) => {
			let j = from;
			while (j < b.length && b[j] >= 48 && b[j] <= 57) j++;
			return j;
		};
		if (b[i] === 45) i++;
		if (b[i] === 48) i++;
		else if (b[i] >= 49 && b[i] <= 57) i = digitsFrom(i);
		else throw new FormatError("json: expected a number");
		if (b[i] === 46) {
			const j = digitsFrom(i + 1);
			if (j === i + 1) throw new FormatError("json: bad number");
			i = j;
		}
		if (b[i] === 101 || b[i] === 69) {
			i++;
			if (b[i] === 43 || b[i] === 45) i++;
			const j = digitsFrom(i);
			if (j === i) throw new FormatError("json: bad number");
			i = j;
		}
		if (i - start > MAX_NUMBER_LENGTH) throw new FormatError("json: number too long");
		this.pos = i;
		const text = (this.numberText = String.fromCharCode.apply(null, b.subarray(start, i) as unknown as number[]));
		return Number(text);
	}
	/** A number token that must be finite (base values, times): `what` names it in the reason. */
	finite(what: string): number {
		const v = this.number();
		if (!Number.isFinite(v)) throw new FormatError(`senml: ${what} ${this.numberText} is not a finite number`);
		return v;
	}
	boolean(): boolean {
		const c = this.peek();
		if (c === 116 && this.#word("true")) return true;
		if (c === 102 && this.#word("false")) return false;
		throw new FormatError("json: expected true or false");
	}
	#word(w: string): boolean {
		const b = this.bytes;
		if (this.pos + w.length > b.length) return false;
		for (let k = 0; k < w.length; k++) if (b[this.pos + k] !== w.charCodeAt(k)) return false;
		this.pos += w.length;
		return true;
	}
	/** Skips any value, iteratively, up to MAX_SKIP_DEPTH levels of nesting. */
	skip() {
		let depth = 0, objects = 0; // bit k set: the container k levels up is an object
		for (;;) {
			const c = this.peek();
			if (c === 91 || c === 123) {
				if (++depth > MAX_SKIP_DEPTH) throw new FormatError("json: nested too deeply");
				this.pos++;
				const object = c === 123;
				objects = (objects << 1) | (object ? 1 : 0);
				if (this.peek() === (object ? 125 : 93)) {
					this.pos++;
					depth--;
					objects >>>= 1;
				} else {
					if (object) {
						this.scan();
						this.expect(COLON);
					}
					continue;
				}
			} else if (c === QUOTE) this.scan();
			else if (c === 116 || c === 102) this.boolean();
			else if (c === 110) {
				if (!this.#word("null")) throw new FormatError("json: bad literal");
			} else this.number();
			// after a value: close what ends here, or go on to the next element or member
			for (;;) {
				if (depth === 0) return;
				const object = (objects & 1) === 1;
				const d = this.peek();
				if (d === COMMA) {
					this.pos++;
					if (object) {
						this.scan();
						this.expect(COLON);
					}
					break;
				}
				if (d !== (object ? 125 : 93)) throw new FormatError("json: expected , or a closing bracket");
				this.pos++;
				depth--;
				objects >>>= 1;
			}
		}
	}
}

// made at first use, in RAM: this module is preloaded (manifests/thermostat.json), and an object
// a module body makes lives in flash on the ESP32, where its buffers are read-only and its private
// methods cannot be reached once it is copied to RAM ("undefined private property")
let lazyReader: JsonReader | undefined;
let lazyRecord: SenmlRecord | undefined;

/** Decodes a SenML JSON array into out[0..n); path is not needed, names are absolute. */
export function decode(payload: Uint8Array, _path: Path, typeOf: TypeOf, out: Entry[]): number {
	const r = (lazyReader ??= new JsonReader());
	const record = (lazyRecord ??= new SenmlRecord());
	r.reset(payload);
	record.baseName = "";
	record.baseValue = 0;
	let n = 0;
	r.expect(91);
	if (r.peek() === 93) r.pos++;
	else for (;;) {
		r.expect(123);
		record.begin();
		let seen = 0;
		if (r.peek() === 125) r.pos++;
		else for (;;) {
			r.scan();
			const label = labelOf(r);
			if (label & seen) throw new FormatError("senml: a field given twice in a record");
			seen |= label;
			r.expect(COLON);
			switch (label) {
				case L.bn: record.baseName = r.string(); break;
				case L.n: record.name = r.string(); break;
				case L.bv: record.baseValue = r.finite("base value"); break;
				case L.v:
					record.set(Field.V, r.number());
					record.valueText = r.numberText;
					break;
				case L.vs: record.set(Field.VS, r.string()); break;
				case L.vb: record.set(Field.VB, r.boolean()); break;
				case L.vlo: record.set(Field.VLO, r.string()); break;
				case L.vd:
					r.scan();
					if (r.escaped) throw new FormatError("senml: escapes in vd");
					record.set(Field.VD, base64Read(r.bytes, r.start, r.stop, true));
					break;
				case L.bt: case L.t: case L.bver: r.finite("time or version"); break; // checked, not kept
				default: r.skip(); // other fields (units, sums) carry nothing LwM2M resources use
			}
			const c = r.peek();
			r.pos++;
			if (c === 125) break;
			if (c !== COMMA) throw new FormatError("json: expected , or }");
			if (r.peek() !== QUOTE) throw new FormatError("json: expected a field name");
		}
		record.finish(out, n++, typeOf);
		const c = r.peek();
		r.pos++;
		if (c === 93) break;
		if (c !== COMMA) throw new FormatError("json: expected , or ]");
	}
	if (r.peek() !== -1) throw new FormatError("json: data after the array");
	return n;
}

/** Bits for the labels a record may have (to refuse duplicates), in the order of LABELS. */
const L = { bn: 1, bt: 2, n: 4, v: 8, vs: 16, vb: 32, vd: 64, vlo: 128, t: 256, bv: 512, bver: 1024 } as const;
const LABELS = ["bn", "bt", "n", "v", "vs", "vb", "vd", "vlo", "t", "bv", "bver"];

function labelOf(r: JsonReader): number {
	for (let k = 0; k < LABELS.length; k++) if (r.is(LABELS[k])) return 1 << k;
	// RFC 8428 §4.4: a label ending in "_" must be understood
	if (r.escaped ? r.text().endsWith("_") : r.stop > r.start && r.bytes[r.stop - 1] === 95) throw new FormatError("senml: a must-understand field this decoder does not know");
	return 0;
}

// ---------------------------------------------------------------- JSON writing

let lazyNames: SenmlNames | undefined; // made at first use (above)

/** Writes entries[0..count) as SenML JSON; path is not needed, names are absolute. */
export function encode(entries: readonly Entry[], count: number, _path: Path, w: ByteWriter): void {
	const names = (lazyNames ??= new SenmlNames());
	names.plan(entries, count);
	w.u8(91);
	let written = 0;
	for (let k = 0; k < count; k++) {
		const e = entries[k];
		if (e.type === DataType.None) continue;
		const field = fieldOf(e);
		if (written++) w.u8(COMMA);
		w.u8(123);
		let comma = false;
		if (written === 1 && names.shared) {
			w.ascii('"bn":"');
			names.writeBase(w);
			w.u8(QUOTE);
			comma = true;
		}
		if (!names.whole) {
			if (comma) w.u8(COMMA);
			w.ascii('"n":"');
			names.writeName(w, e);
			w.u8(QUOTE);
			comma = true;
		}
		if (comma) w.u8(COMMA);
		const v = e.value;
		switch (field) {
			case Field.V: w.ascii('"v":').ascii(String(v)); break;
			case Field.VB: w.ascii(v ? '"vb":true' : '"vb":false'); break;
			case Field.VS: w.ascii('"vs":'); writeString(w, v as string); break;
			case Field.VLO: w.ascii('"vlo":"').ascii(v as string).u8(QUOTE); break;
			default:
				w.ascii('"vd":"');
				base64Write(v as Uint8Array, w, true);
				w.u8(QUOTE);
		}
		w.u8(125);
	}
	w.u8(93);
}

/** A JSON string: quotes, backslashes, controls and lone surrogates escaped; the rest UTF-8. */
export function writeString(w: ByteWriter, s: string): void {
	w.u8(QUOTE);
	let run = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		let escape: string | undefined;
		if (c === QUOTE) escape = '\\"';
		else if (c === BACKSLASH) escape = "\\\\";
		else if (c < 0x20) escape = c === 10 ? "\\n" : c === 13 ? "\\r" : c === 9 ? "\\t" : c === 8 ? "\\b" : c === 12 ? "\\f" : "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
		else if (c >= 0xd800 && c <= 0xdfff) {
			const pair = c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
			if (pair) {
				i++;
				continue;
			}
			escape = "\\u" + c.toString(16);
		}
		if (escape === undefined) continue;
		if (run < i) w.utf8(s.slice(run, i));
		w.ascii(escape);
		run = i + 1;
	}
	if (run === 0) w.utf8(s);
	else if (run < s.length) w.utf8(s.slice(run));
	w.u8(QUOTE);
}
