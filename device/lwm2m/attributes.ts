// Notification attributes (Core TS 1.1 §5.1.2): pmin, pmax, gt, lt, st, epmin, epmax,
// set by Write-Attributes on an object, an instance or a resource. A resource's effective
// attributes are its own, else its instance's, else its object's, else the Server
// object's default pmin/pmax.

import { FormatError, type Path } from "./formats/index";

export class AttributeSet {
	pmin = -1;
	pmax = -1;
	gt = NaN;
	lt = NaN;
	st = NaN;
	epmin = -1;
	epmax = -1;
	get empty() {
		return this.pmin < 0 && this.pmax < 0 && this.epmin < 0 && this.epmax < 0 && this.gt !== this.gt && this.lt !== this.lt && this.st !== this.st;
	}
	/** For Discover: name -> value of those set. */
	each(fn: (name: string, value: number) => void) {
		if (this.pmin >= 0) fn("pmin", this.pmin);
		if (this.pmax >= 0) fn("pmax", this.pmax);
		if (this.gt === this.gt) fn("gt", this.gt);
		if (this.lt === this.lt) fn("lt", this.lt);
		if (this.st === this.st) fn("st", this.st);
		if (this.epmin >= 0) fn("epmin", this.epmin);
		if (this.epmax >= 0) fn("epmax", this.epmax);
	}
}

const NAMES = ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"];
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * Applies Uri-Query attributes ("pmin=10", "gt=22.5", "st" to clear one) to a copy of
 * `current`, checks it, and returns the copy. FormatError: unknown name, bad number, or a
 * combination §5.1.2 forbids; nothing changes then.
 */
export function parseAttributes(query: readonly string[], current: AttributeSet | undefined, numeric: boolean, resourceLevel: boolean): AttributeSet {
	const a = new AttributeSet();
	if (current) Object.assign(a, current);
	if (!query.length) throw new FormatError("no attributes given");
	for (const q of query) {
		const eq = q.indexOf("=");
		const name = eq < 0 ? q : q.slice(0, eq);
		if (NAMES.indexOf(name) < 0) throw new FormatError(`unknown attribute "${name}"`);
		let value = NaN;
		if (eq >= 0) {
			const text = q.slice(eq + 1);
			if (!NUMBER.test(text)) throw new FormatError(`${name}: "${text}" is not a number`);
			value = Number(text);
		}
		const clear = eq < 0;
		switch (name) {
			case "pmin": case "pmax": case "epmin": case "epmax":
				if (!clear && (value < 0 || !Number.isInteger(value))) throw new FormatError(`${name} must be a whole number of seconds >= 0`);
				a[name] = clear ? -1 : value;
				break;
			default: // gt, lt, st: numeric resources only
				if (!clear && !(resourceLevel && numeric)) throw new FormatError(`${name} applies to a numeric resource`);
				if (name === "st" && !clear && value <= 0) throw new FormatError("st must be > 0");
				(a as unknown as Record<string, number>)[name] = clear ? NaN : value;
		}
	}
	// §5.1.2: lt < gt, and lt + 2 * st < gt when all three are set
	if (a.gt === a.gt && a.lt === a.lt) {
		if (!(a.lt < a.gt)) throw new FormatError("lt must be below gt");
		if (a.st === a.st && !(a.lt + 2 * a.st < a.gt)) throw new FormatError("lt + 2*st must be below gt");
	}
	if (a.epmin >= 0 && a.epmax >= 0 && a.epmax <= a.epmin) throw new FormatError("epmax must be above epmin");
	return a;
}

/** Attributes by path: "/3303", "/3303/0", "/3303/0/5700". */
export class AttributeStore {
	#byPath = new Map<string, AttributeSet>();
	get(key: string): AttributeSet | undefined {
		return this.#byPath.get(key);
	}
	set(key: string, a: AttributeSet) {
		if (a.empty) this.#byPath.delete(key);
		else this.#byPath.set(key, a);
	}
	/** Drop what belongs to a deleted instance. */
	forget(prefix: string) {
		for (const key of [...this.#byPath.keys()]) if (key === prefix || key.startsWith(prefix + "/")) this.#byPath.delete(key);
	}
	/**
	 * The attributes that govern `p`: each one from the most specific level that sets it;
	 * pmin/pmax fall back to the server's defaults.
	 */
	effective(p: Path, defaultPmin: number, defaultPmax: number, out: AttributeSet): AttributeSet {
		const levels = [this.#byPath.get("/" + p.object)];
		if (p.instance >= 0) levels.push(this.#byPath.get("/" + p.object + "/" + p.instance));
		if (p.resource >= 0) levels.push(this.#byPath.get("/" + p.object + "/" + p.instance + "/" + p.resource));
		out.pmin = defaultPmin;
		out.pmax = defaultPmax;
		out.gt = out.lt = out.st = NaN;
		out.epmin = out.epmax = -1;
		for (const a of levels) {
			if (!a) continue;
			if (a.pmin >= 0) out.pmin = a.pmin;
			if (a.pmax >= 0) out.pmax = a.pmax;
			if (a.epmin >= 0) out.epmin = a.epmin;
			if (a.epmax >= 0) out.epmax = a.epmax;
			if (a.gt === a.gt) out.gt = a.gt;
			if (a.lt === a.lt) out.lt = a.lt;
			if (a.st === a.st) out.st = a.st;
		}
		return out;
	}
}
