// The REST API's value shapes (those of Leshan's server demo) and the flat, typed
// entries {path, type, value} every codec reads and writes:
//   {"id":5700,"kind":"singleResource","type":"FLOAT","value":21.5}
//   {"id":6,"kind":"multiResource","type":"INTEGER","values":{"0":1,"1":5}}
//   {"id":0,"kind":"resourceInstance","type":"INTEGER","value":1}
//   {"id":0,"kind":"instance","resources":[...]}
//   {"id":3303,"kind":"obj","instances":[...]}
// Converting in both directions is where user input is checked against the model, so a
// bad value is refused before anything is sent to a device.
import { CodecError } from "./codecs/codec-error.js";
import { formatPath, isPrefix } from "./path.js";
import { fromJson, toJson, checkRange, TYPES, ValueError } from "./values.js";

// ------------------------------------------------------------------ entries -> node

function resourceNode(path, entries, model) {
	const id = path[2];
	const values = entries.filter((e) => e.value !== undefined);
	const type = values[0]?.type ?? model?.type ?? "NONE";
	const multiple = model ? model.multiple : entries.some((e) => e.path.length === 4 || e.multiple);
	if (multiple) {
		const out = {};
		for (const e of values) {
			if (e.path.length !== 4) throw new CodecError(`${formatPath(e.path)} is a multiple-instance resource but came as a single value`);
			out[e.path[3]] = toJson(e.type, e.value);
		}
		return { id, kind: "multiResource", type, values: out };
	}
	if (values.some((e) => e.path.length === 4)) throw new CodecError(`${formatPath(path)} is a single-instance resource but came with instances`);
	if (values.length === 0) throw new CodecError(`no value for ${formatPath(path)}`);
	const last = values[values.length - 1]; // a repeated value (time series) ends at its latest
	return { id, kind: "singleResource", type, value: toJson(last.type, last.value) };
}

function groupBy(entries, level) {
	const groups = new Map();
	for (const e of entries) {
		const id = e.path[level];
		if (id === undefined) continue;
		if (!groups.has(id)) groups.set(id, []);
		groups.get(id).push(e);
	}
	return [...groups].sort((a, b) => a[0] - b[0]);
}

/**
 * Typed entries that answer a request on `path` -> the node at that path.
 * @param lookup (path) -> resource model or undefined
 */
export function buildNode(path, entries, lookup) {
	const stray = entries.find((e) => !isPrefix(path, e.path));
	if (stray) throw new CodecError(`the content holds ${formatPath(stray.path)}, outside the requested ${formatPath(path)}`);
	const instanceNode = (p, list) => ({
		id: p[1],
		kind: "instance",
		resources: groupBy(list, 2).map(([rid, rl]) => resourceNode([...p, rid], rl, lookup([...p, rid]))),
	});
	const objectNode = (oid, list) => ({
		id: oid,
		kind: "obj",
		instances: groupBy(list, 1).map(([iid, il]) => instanceNode([oid, iid], il)),
	});
	switch (path.length) {
		case 0:
			return { kind: "root", objects: groupBy(entries, 0).map(([oid, ol]) => objectNode(oid, ol)) };
		case 1:
			return objectNode(path[0], entries);
		case 2:
			return instanceNode(path, entries);
		case 3:
			return resourceNode(path, entries, lookup(path));
		default: {
			const values = entries.filter((e) => e.value !== undefined);
			if (values.length === 0) throw new CodecError(`no value for ${formatPath(path)}`);
			const last = values[values.length - 1];
			return { id: path[3], kind: "resourceInstance", type: last.type, value: toJson(last.type, last.value) };
		}
	}
}

/** Entries answering a composite request -> {"/3/0/1": node, ...}; null where nothing came. */
export function buildComposite(paths, entries, lookup) {
	const content = {};
	const claimed = new Set();
	for (const path of paths) {
		const mine = entries.filter((e) => isPrefix(path, e.path));
		mine.forEach((e) => claimed.add(e));
		content[formatPath(path)] = mine.length ? buildNode(path, mine, lookup) : null;
	}
	const stray = entries.find((e) => !claimed.has(e));
	if (stray) throw new CodecError(`the content holds ${formatPath(stray.path)}, which was not asked for`);
	return content;
}

/** Entries of a Send (or any self-describing payload) -> {"/o/i/r": resource node}. */
export function buildByResource(entries, lookup) {
	const groups = new Map();
	for (const e of entries) {
		if (e.path.length < 3) throw new CodecError(`${formatPath(e.path)} is not a resource path`);
		const key = formatPath(e.path.slice(0, 3));
		if (!groups.has(key)) groups.set(key, []);
		groups.get(key).push(e);
	}
	const content = {};
	for (const [key, list] of groups) {
		const path = list[0].path.slice(0, 3);
		content[key] = resourceNode(path, list, lookup(path));
	}
	return content;
}

// ------------------------------------------------------------------ node -> entries

function typeOf(path, model, node) {
	if (model) return model.type;
	if (node && typeof node === "object" && TYPES.includes(node.type) && node.type !== "NONE") return node.type;
	throw new ValueError(`${formatPath(path)}: the server has no model for this resource; give its "type" (one of ${TYPES.slice(0, -1).join(", ")})`);
}

function value(path, type, model, input) {
	const where = formatPath(path);
	if (input === undefined || input === null) throw new ValueError(`${where}: no value`);
	const v = fromJson(type, input, where);
	checkRange(model, v, where);
	return v;
}

const isPlain = (x) => x === null || typeof x !== "object";

/**
 * A REST/JSON node (or, at a resource path, a bare value) for a request on `path` ->
 * typed entries. Throws ValueError (HTTP 400) on anything the model does not allow.
 * @param options.writable when set, refuse resources the model says are not writable
 */
export function nodeToEntries(path, node, lookup, { writable = false } = {}) {
	const entries = [];
	const where = formatPath(path);
	const checkId = (n, expected, level) => {
		if (n && typeof n === "object" && n.id !== undefined && Number(n.id) !== expected) {
			throw new ValueError(`${where}: the ${level} node has id ${n.id}, but the path says ${expected}`);
		}
	};
	const resource = (p, n) => {
		const model = lookup(p);
		const rw = formatPath(p);
		if (model?.type === "NONE") throw new ValueError(`${rw} is executable and has no value`);
		if (writable && model && !model.operations.includes("W")) throw new ValueError(`${rw} (${model.name}) is not writable`);
		if (p.length === 4) {
			if (model && !model.multiple) throw new ValueError(`${rw}: resource ${p[2]} has a single instance`);
			const type = typeOf(p, model, n);
			entries.push({ path: p, type, value: value(p, type, model, isPlain(n) ? n : n.value) });
			return;
		}
		checkId(n, p[2], "resource");
		const multi = !!n && typeof n === "object" && (n.kind === "multiResource" || (n.values !== undefined && n.value === undefined));
		if (model && multi !== model.multiple) {
			throw new ValueError(`${rw} (${model.name}) is a ${model.multiple ? 'multiple-instance resource: give {"kind":"multiResource","values":{...}}' : "single-instance resource: give a value"}`);
		}
		const type = typeOf(p, model, n);
		if (!multi) {
			entries.push({ path: p, type, value: value(p, type, model, isPlain(n) ? n : n.value) });
			return;
		}
		if (!n.values || typeof n.values !== "object" || Array.isArray(n.values)) throw new ValueError(`${rw}: "values" must be an object of instance id -> value`);
		const ids = Object.keys(n.values);
		if (ids.length === 0) entries.push({ path: p, type, multiple: true });
		for (const riid of ids) {
			if (!/^\d{1,5}$/.test(riid) || Number(riid) > 65535) throw new ValueError(`${rw}: resource instance id ${JSON.stringify(riid)} is not a number`);
			const rp = [...p, Number(riid)];
			entries.push({ path: rp, type, value: value(rp, type, model, n.values[riid]) });
		}
	};
	const instance = (p, n) => {
		if (isPlain(n) || !Array.isArray(n.resources)) throw new ValueError(`${formatPath(p)}: an instance needs "resources": [...]`);
		checkId(n, p[1], "instance");
		const seen = new Set();
		for (const r of n.resources) {
			if (isPlain(r) || !Number.isInteger(Number(r.id)) || r.id === null || r.id === "") throw new ValueError(`${formatPath(p)}: every resource needs an "id"`);
			if (seen.has(Number(r.id))) throw new ValueError(`${formatPath(p)}: resource ${r.id} is given twice`);
			seen.add(Number(r.id));
			resource([...p, Number(r.id)], r);
		}
		if (n.resources.length === 0) entries.push({ path: p, emptyInstance: true });
	};
	switch (path.length) {
		case 4:
		case 3:
			resource(path, node);
			break;
		case 2:
			instance(path, node);
			break;
		case 1:
			if (isPlain(node) || node.id === undefined) throw new ValueError(`${where}: an object-level payload needs an instance with an "id"`);
			instance([path[0], Number(node.id)], node);
			break;
		default:
			throw new ValueError("cannot write the root path");
	}
	return entries;
}
