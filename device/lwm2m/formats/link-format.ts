// application/link-format (content format 40, RFC 6690) as LwM2M writes it: the Register
// and Update payloads (Core TS 1.1 §6.2.1) and Discover responses (§6.3.7), e.g.
//   </>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0/5700>;pmin=10;pmax=60
// Written link by link into a ByteWriter; there is no decoder, the device only sends these.

import { ByteWriter, FormatError, type Path } from "./record";

export type AttributeValue = string | number | boolean | undefined;
export type Attributes = { readonly [name: string]: AttributeValue };

// RFC 6690 §2 (and LwM2M's uri) take a quoted-string; the other attributes LwM2M uses (ct,
// ver, pmin, pmax, gt, lt, st, epmin, epmax, dim, ssid) are tokens or numbers
const QUOTED: { readonly [name: string]: true } = { rt: true, if: true, title: true, anchor: true, rel: true, rev: true, uri: true };

/** ptoken characters (RFC 6690 §2): what a value may hold without quotes */
function isToken(s: string): boolean {
	if (!s) return false;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || "!#$%&'()*+-.:<=>?@[]^_`{|}~/".indexOf(s[i]) >= 0;
		if (!ok) return false;
	}
	return true;
}

export class LinkFormat {
	readonly into: ByteWriter;
	#links = 0;

	constructor(into: ByteWriter) {
		this.into = into;
	}
	/** Starts a new list (the writer is not reset: the caller owns it). */
	begin(): this {
		this.#links = 0;
		return this;
	}
	/**
	 * Appends `<path>` and its attributes: strings quoted where RFC 6690 wants a
	 * quoted-string or the value is not a token, numbers bare, true as a bare name
	 * (false and undefined are left out).
	 */
	addLink(path: string | Path, attributes?: Attributes): this {
		const w = this.into;
		if (this.#links++) w.u8(44);
		w.u8(60);
		if (typeof path === "string") {
			if (path.charCodeAt(0) !== 47 || path.indexOf(">") >= 0) throw new FormatError(`link-format: bad path "${path}"`);
			w.utf8(path);
		} else writePath(w, path);
		w.u8(62);
		if (attributes) for (const name in attributes) this.attribute(name, attributes[name]);
		return this;
	}
	/** Appends one attribute to the last link. */
	attribute(name: string, value: AttributeValue): this {
		if (value === undefined || value === false) return this;
		const w = this.into;
		w.u8(59).ascii(name);
		if (value === true) return this;
		w.u8(61);
		if (typeof value === "number") {
			if (!Number.isFinite(value)) throw new FormatError(`link-format: ${name}=${value}`);
			w.ascii(String(value));
		} else if (QUOTED[name] || !isToken(value)) {
			w.u8(34);
			for (let i = 0, run = 0; i <= value.length; i++) {
				const c = i < value.length ? value.charCodeAt(i) : -1;
				if (c !== 34 && c !== 92 && c !== -1) continue;
				if (run < i) w.utf8(value.slice(run, i));
				if (c !== -1) w.u8(92).u8(c);
				run = i + 1;
			}
			w.u8(34);
		} else w.utf8(value);
		return this;
	}
	/** The payload written so far (a view of the writer's buffer). */
	bytes(): Uint8Array {
		return this.into.bytes();
	}
}

function writePath(w: ByteWriter, p: Path) {
	w.u8(47);
	if (p.object < 0) return;
	w.ascii(String(p.object));
	if (p.instance < 0) return;
	w.u8(47).ascii(String(p.instance));
	if (p.resource < 0) return;
	w.u8(47).ascii(String(p.resource));
	if (p.index >= 0) w.u8(47).ascii(String(p.index));
}
