// The object models the server knows, loaded from every *.xml in its models directory
// and in any extra directories (a project's own objects). A later directory overrides an
// earlier one for the same object id and version, so a project can replace a model.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseDdf } from "./ddf.js";

export const BUILTIN_MODELS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "models");

function versionKey(v) {
	const [major, minor] = v.split(".").map(Number);
	return major * 1000 + minor;
}

export class ObjectRegistry {
	constructor() {
		this.byId = new Map(); // objectId -> Map(version -> model)
	}

	/** Registry of the built-in models plus every *.xml of `extraDirs`, in order. */
	static load(extraDirs = []) {
		const registry = new ObjectRegistry();
		for (const dir of [BUILTIN_MODELS_DIR, ...extraDirs.filter(Boolean)]) registry.addDirectory(dir);
		return registry;
	}

	addDirectory(dir) {
		let names;
		try {
			names = fs.readdirSync(dir);
		} catch (e) {
			throw new Error(`lwm2m models: cannot read directory ${dir}: ${e.message}`);
		}
		for (const name of names.filter((n) => n.toLowerCase().endsWith(".xml")).sort()) {
			const file = path.join(dir, name);
			this.addDdf(fs.readFileSync(file, "utf8"), file);
		}
		return this;
	}

	addDdf(xmlText, source = "DDF") {
		for (const model of parseDdf(xmlText, source)) this.add(model);
		return this;
	}

	add(model) {
		if (!this.byId.has(model.id)) this.byId.set(model.id, new Map());
		this.byId.get(model.id).set(model.version, model);
	}

	/** The model of an object: the version asked for if known, else the newest. */
	object(objectId, version) {
		const versions = this.byId.get(objectId);
		if (!versions) return undefined;
		if (version && versions.has(version)) return versions.get(version);
		return [...versions.values()].sort((a, b) => versionKey(b.version) - versionKey(a.version))[0];
	}

	resource(objectId, resourceId, version) {
		return this.object(objectId, version)?.resources.get(resourceId);
	}

	objects() {
		return [...this.byId.keys()].sort((a, b) => a - b).map((id) => this.object(id));
	}
}

/** A model as the REST API shows it (Leshan's object spec shape, roughly). */
export function modelToJson(model) {
	return {
		id: model.id,
		name: model.name,
		version: model.version,
		urn: model.urn,
		instancetype: model.multiple ? "multiple" : "single",
		mandatory: model.mandatory,
		resourcedefs: [...model.resources.values()].map((r) => ({
			id: r.id,
			name: r.name,
			operations: r.operations || "NONE",
			instancetype: r.multiple ? "multiple" : "single",
			mandatory: r.mandatory,
			type: r.type,
			range: r.rangeEnumeration,
			units: r.units,
		})),
	};
}
