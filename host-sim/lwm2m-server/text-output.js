// Human-readable renderings of the REST API's JSON for the lwm2m CLI: resource names
// and units come from the object models (GET /api/objectspecs), so a reading says
// "Sensor Value = 21.5 Cel" rather than "5700: 21.5".

/** specs: the array of GET /api/objectspecs -> lookup(objectId, resourceId) */
export function specLookup(specs = []) {
	const objects = new Map(specs.map((o) => [o.id, { ...o, resources: new Map(o.resourcedefs.map((r) => [r.id, r])) }]));
	return {
		object: (oid) => objects.get(oid),
		resource: (oid, rid) => objects.get(oid)?.resources.get(rid),
	};
}

function valueText(value, units) {
	const text = typeof value === "string" ? (value === "" ? '""' : value) : JSON.stringify(value);
	return units ? `${text} ${units}` : text;
}

function resourceLines(oid, iid, node, specs, indent) {
	const spec = specs.resource(oid, node.id);
	const label = `${indent}/${oid}/${iid}/${node.id}${spec ? ` ${spec.name}` : ""}`;
	if (node.kind === "multiResource") {
		const entries = Object.entries(node.values ?? {});
		if (entries.length === 0) return [`${label} = (no instances)`];
		return [`${label}:`, ...entries.map(([riid, v]) => `${indent}  [${riid}] = ${valueText(v, spec?.units)}`)];
	}
	return [`${label} = ${valueText(node.value, spec?.units)}`];
}

/** A node read at `path` (ids) -> lines. */
export function nodeLines(path, node, specs, indent = "") {
	if (node === null || node === undefined) return [`${indent}/${path.join("/")}: (no value)`];
	const [oid, iid] = path;
	switch (node.kind) {
		case "obj": {
			const name = specs.object(node.id)?.name;
			const lines = [`${indent}/${node.id}${name ? ` ${name}` : ""}: ${node.instances.length} instance(s)`];
			for (const inst of node.instances) lines.push(...nodeLines([node.id, inst.id], inst, specs, indent + "  "));
			return lines;
		}
		case "instance": {
			const name = specs.object(oid)?.name;
			return [`${indent}/${oid}/${node.id}${name ? ` ${name}` : ""}`, ...node.resources.flatMap((r) => resourceLines(oid, node.id, r, specs, indent + "  "))];
		}
		case "resourceInstance": {
			const spec = specs.resource(oid, path[2]);
			return [`${indent}/${path.join("/")}${spec ? ` ${spec.name}` : ""} = ${valueText(node.value, spec?.units)}`];
		}
		case "root":
			return node.objects.flatMap((o) => nodeLines([o.id], o, specs, indent));
		default:
			return resourceLines(oid, iid, node, specs, indent);
	}
}

const ids = (p) => p.split("/").filter(Boolean).map(Number);

/** The content of a read, composite read, notification or Send -> lines. */
export function contentLines(path, content, specs) {
	if (path === undefined) return Object.entries(content ?? {}).flatMap(([p, node]) => nodeLines(ids(p), node, specs));
	return nodeLines(ids(path), content, specs);
}

/** GET /api/clients -> lines. */
export function clientLines(clients) {
	if (clients.length === 0) return ["no registered clients"];
	return clients.map((c) => {
		const objects = c.objectLinks.filter((l) => l.url !== c.rootPath && l.url !== "/").map((l) => l.url);
		return `${c.endpoint}  ${c.address}  lwm2m ${c.lwM2mVersion}  lifetime ${c.lifetime}s  binding ${c.bindingMode}  since ${c.registrationDate}  ${objects.join(" ")}`;
	});
}

export function linkLines(links) {
	return links.map((l) => `<${l.url}>` + Object.entries(l.attributes ?? {}).map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join(""));
}
