// Between the object model and the content formats: the values under a path as Entry
// records (for Read, Observe, Send, Read-Composite), the format a response is written in,
// and decoded entries checked against the model before a write applies them.

import { Code } from "../coap/constants";
import { ByteWriter, DataType, Entry, FormatError, codec, ContentFormat, pathString, type Path, type Value } from "./formats/index";
import { entryAt } from "./formats/record";
import { Op, checkValue, type Instance, type LwObject, type Model, type Multi, type Outcome as ModelOutcome, type ResourceDef, type ResourceValue } from "./model";

/** An LwM2M operation refused: the CoAP code and why (the why goes to the log and the payload). */
export class LwError extends Error {
	readonly code: number;
	constructor(code: number, message: string) {
		super(message);
		this.code = code;
	}
}

const SECURITY = 0;

/** The object, instance and resource a path names; LwError 4.04 when absent. */
export function resolve(model: Model, p: Path): { object: LwObject; instance: Instance | undefined; resource: ResourceDef | undefined } {
	if (p.object === SECURITY) throw new LwError(Code.Unauthorized, "the Security object is not accessible to a management server");
	const object = model.object(p.object);
	if (!object) throw new LwError(Code.NotFound, `no object ${p.object}`);
	let instance: Instance | undefined, resource: ResourceDef | undefined;
	if (p.instance >= 0) {
		instance = object.instance(p.instance);
		if (!instance) throw new LwError(Code.NotFound, `no instance /${p.object}/${p.instance}`);
		if (p.resource >= 0) {
			resource = object.resource(p.resource);
			if (!resource || !instance.has(p.resource)) throw new LwError(Code.NotFound, `no resource /${p.object}/${p.instance}/${p.resource}`);
			if (p.index >= 0) {
				const v = resource.multiple ? instance.read(p.resource) : undefined;
				if (!(v instanceof Map) || !v.has(p.index)) throw new LwError(Code.NotFound, `no resource instance /${p.object}/${p.instance}/${p.resource}/${p.index}`);
			}
		}
	}
	return { object, instance, resource };
}

function addResource(instance: Instance, r: ResourceDef, index: number, out: Entry[], n: number): number {
	const v = instance.read(r.id);
	if (v === undefined) return n;
	const o = instance.object.def.id;
	if (v instanceof Map) {
		if (index >= 0) {
			const value = v.get(index);
			if (value !== undefined) entryAt(out, n++).set(o, instance.id, r.id, index, r.type, value);
			return n;
		}
		// an empty multiple resource still exists: one entry without a value says so
		if (!v.size) return (entryAt(out, n).set(o, instance.id, r.id, -1, DataType.None, 0), n + 1);
		const ids = [...v.keys()].sort((a, b) => a - b);
		for (const id of ids) entryAt(out, n++).set(o, instance.id, r.id, id, r.type, v.get(id)!);
		return n;
	}
	entryAt(out, n).set(o, instance.id, r.id, -1, r.type, v);
	return n + 1;
}

function addInstance(instance: Instance, out: Entry[], n: number): number {
	for (const r of instance.object.def.resources) {
		if (!(r.ops & Op.R) || !instance.has(r.id)) continue;
		n = addResource(instance, r, -1, out, n);
	}
	return n;
}

/**
 * The readable values under `p`, appended to out from `n`; returns the new count.
 * A resource that cannot be read is 4.05 when named, skipped when under a larger path.
 */
export function collect(model: Model, p: Path, out: Entry[], n = 0): number {
	const { object, instance, resource } = resolve(model, p);
	if (resource) {
		if (!(resource.ops & Op.R)) throw new LwError(Code.MethodNotAllowed, `/${p.object}/${p.instance}/${p.resource} is not readable`);
		return addResource(instance!, resource, p.index, out, n);
	}
	if (instance) return addInstance(instance, out, n);
	for (const i of object.instances) n = addInstance(i, out, n);
	return n;
}

/**
 * The format to answer in: the Accept asked for, or a compact default — plain text for one
 * value, TLV for more. 4.06 when asked for one the device does not write or that cannot
 * hold the values (text and opaque carry a single value).
 */
export function responseFormat(accept: number, entries: readonly Entry[], count: number, p: Path): number {
	const single = p.resource >= 0 && count === 1 && entries[0].index === p.index && entries[0].type !== DataType.None;
	if (accept < 0) {
		if (!single) return ContentFormat.Tlv;
		return entries[0].type === DataType.Opaque ? ContentFormat.Opaque : ContentFormat.Text;
	}
	if (!codec(accept)) throw new LwError(Code.NotAcceptable, `content format ${accept} is not supported`);
	if ((accept === ContentFormat.Text || accept === ContentFormat.Opaque) && !single) throw new LwError(Code.NotAcceptable, `content format ${accept} holds a single value`);
	if (accept === ContentFormat.Opaque && entries[0].type !== DataType.Opaque) throw new LwError(Code.NotAcceptable, "opaque is for opaque resources");
	return accept;
}

/** Writes entries in `format` into the writer (reset first); LwError on failure. */
export function encode(format: number, entries: readonly Entry[], count: number, p: Path, into: ByteWriter): Uint8Array {
	into.reset();
	try {
		codec(format)!.encode(entries, count, p, into);
	} catch (e) {
		if (e instanceof FormatError) throw new LwError(Code.NotAcceptable, e.message);
		if (e instanceof RangeError) throw new LwError(Code.InternalServerError, e.message);
		throw e;
	}
	return into.bytes();
}

/** Decodes a request body; 4.15 for a format the device does not read, 4.00 for bad content. */
export function decode(model: Model, format: number, payload: Uint8Array, p: Path, out: Entry[]): number {
	if (format < 0) throw new LwError(Code.BadRequest, "a Content-Format is required");
	const c = codec(format);
	if (!c) throw new LwError(Code.UnsupportedContentFormat, `content format ${format} is not supported`);
	try {
		return c.decode(payload, p, model.typeOf, out);
	} catch (e) {
		if (e instanceof FormatError) throw new LwError(Code.BadRequest, e.message);
		throw e;
	}
}

/** One resource's new value, gathered from the entries of a write. */
export class Change {
	instance: Instance;
	resource: ResourceDef;
	value: ResourceValue;
	/** partial update of a multiple resource: merge the given instances into the current ones */
	merge: boolean;
	constructor(instance: Instance, resource: ResourceDef, value: ResourceValue, merge: boolean) {
		this.instance = instance;
		this.resource = resource;
		this.value = value;
		this.merge = merge;
	}
}

/**
 * Groups decoded entries into per-resource changes and checks each against the model:
 * unknown resource 4.04, not writable 4.05 (unless `create`), wrong type or range 4.00,
 * an entry outside the request's path 4.00; then the application's checks, on what the
 * whole write leaves. Throws before anything is applied.
 */
export function plan(model: Model, p: Path, entries: readonly Entry[], count: number, replace: boolean, create: Instance | undefined, changes: Change[]): Change[] {
	changes.length = 0;
	gather(model, p, entries, count, replace, create, changes);
	return judge(model, changes);
}

/** Adds the changes of `entries` (all under `p`) to `changes`, checked against the definitions. */
export function gather(model: Model, p: Path, entries: readonly Entry[], count: number, replace: boolean, create: Instance | undefined, changes: Change[]) {
	for (let k = 0; k < count; k++) {
		const e = entries[k];
		if (e.object !== p.object || (p.instance >= 0 && e.instance !== p.instance) || (p.resource >= 0 && e.resource !== p.resource) || (p.index >= 0 && e.index !== p.index) || e.instance < 0 || e.resource < 0) {
			throw new LwError(Code.BadRequest, `a value for ${entryPath(e)} in a write to ${pathString(p)}`);
		}
		const instance = create && e.instance === create.id ? create : model.instance(e.object, e.instance);
		if (!instance) throw new LwError(Code.NotFound, `no instance /${e.object}/${e.instance}`);
		const r = instance.object.resource(e.resource);
		if (!r) throw new LwError(Code.NotFound, `no resource ${entryPath(e)}`);
		if (!create && !(r.ops & Op.W)) throw new LwError(Code.MethodNotAllowed, `${entryPath(e)} is not writable`);
		if (!!r.multiple !== e.index >= 0 && !(r.multiple && e.type === DataType.None)) {
			throw new LwError(Code.BadRequest, `${entryPath(e)}: resource ${r.id} is ${r.multiple ? "multiple" : "single"}-instance`);
		}
		let change: Change | undefined;
		for (const c of changes) if (c.instance === instance && c.resource === r) change = c;
		if (r.multiple) {
			if (!change) changes.push((change = new Change(instance, r, new Map<number, Value>(), !replace || p.index >= 0)));
			if (e.type === DataType.None) continue; // an empty multiple resource
			const problem = checkValue(r, e.value);
			if (problem) throw new LwError(Code.BadRequest, `${entryPath(e)}: ${problem}`);
			(change.value as Multi).set(e.index, e.value);
		} else {
			if (change) throw new LwError(Code.BadRequest, `${entryPath(e)} given twice`);
			const problem = checkValue(r, e.value);
			if (problem) throw new LwError(Code.BadRequest, `${entryPath(e)}: ${problem}`);
			changes.push(new Change(instance, r, e.value, false));
		}
	}
}

/** What `changes` would leave: one for the whole device, a write is judged at a time. */
class Outcome implements ModelOutcome {
	model: Model | undefined = undefined;
	changes: readonly Change[] = [];
	value(object: number, instance: number, resource: number): ResourceValue | undefined {
		for (const c of this.changes) if (c.resource.id === resource && c.instance.id === instance && c.instance.object.def.id === object) return c.value;
		return this.model?.instance(object, instance)?.read(resource);
	}
}
const outcome = new Outcome();

/** Runs the application's checks of every change against the outcome of them all. */
export function judge(model: Model, changes: Change[]): Change[] {
	for (const c of changes) {
		if (c.merge && c.value instanceof Map) {
			const current = c.instance.read(c.resource.id);
			if (current instanceof Map) {
				const merged = new Map(current);
				c.value.forEach((v, id) => merged.set(id, v));
				c.value = merged;
			}
			c.merge = false; // merged once, even when judged again
		}
	}
	outcome.model = model;
	outcome.changes = changes;
	try {
		for (const c of changes) {
			const problem = c.instance.bindings.get(c.resource.id)?.check?.(c.value, outcome);
			if (problem) throw new LwError(Code.BadRequest, `/${c.instance.object.def.id}/${c.instance.id}/${c.resource.id}: ${problem}`);
		}
	} finally {
		outcome.model = undefined;
		outcome.changes = [];
	}
	return changes;
}

/** Applies checked changes (nothing can fail here). */
export function apply(changes: readonly Change[]) {
	for (const c of changes) c.instance.set(c.resource.id, c.value);
}

const entryPath = (e: Entry) => pathString(e);
