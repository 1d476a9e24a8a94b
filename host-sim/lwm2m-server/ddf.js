// Reads OMA LwM2M object definitions (DDF XML, as published in the OMA registry) into
// plain object models. Only what the server needs to type, validate and name values is
// kept: ids, names, versions, instance multiplicity, and per resource the operations,
// multiplicity, mandatory flag, type, range and units.
import { parseXml, child, childText, XmlError } from "./xml.js";
import { parseRange } from "./values.js";

// DDF type names -> the type names the REST API uses (Leshan's spelling)
const TYPES = {
	"string": "STRING",
	"integer": "INTEGER",
	"unsigned integer": "UNSIGNED_INTEGER",
	"float": "FLOAT",
	"boolean": "BOOLEAN",
	"opaque": "OPAQUE",
	"time": "TIME",
	"objlnk": "OBJLNK",
	"corelnk": "CORELINK",
	"": "NONE", // executable resources have no type
	"none": "NONE",
};

export class DdfError extends Error {}

function multiplicity(text, where) {
	if (text === "Multiple") return true;
	if (text === "Single") return false;
	throw new DdfError(`${where}: MultipleInstances must be Single or Multiple, not ${JSON.stringify(text)}`);
}

function integerId(text, where) {
	if (!/^\d+$/.test(text ?? "") || Number(text) > 65535) throw new DdfError(`${where}: bad id ${JSON.stringify(text)}`);
	return Number(text);
}

function readResource(item, objectWhere) {
	const id = integerId(item.attributes.ID, `${objectWhere} resource`);
	const where = `${objectWhere} resource ${id}`;
	const operations = (childText(item, "Operations") ?? "").toUpperCase();
	if (!/^(R|W|RW|E|)$/.test(operations)) throw new DdfError(`${where}: Operations must be R, W, RW, E or empty, not ${JSON.stringify(operations)}`);
	const typeText = (childText(item, "Type") ?? "").toLowerCase();
	if (!(typeText in TYPES)) throw new DdfError(`${where}: unknown Type ${JSON.stringify(childText(item, "Type"))}`);
	const rangeEnumeration = childText(item, "RangeEnumeration") ?? "";
	return {
		id,
		name: childText(item, "Name") ?? "",
		operations,
		multiple: multiplicity(childText(item, "MultipleInstances"), where),
		mandatory: childText(item, "Mandatory") === "Mandatory",
		type: TYPES[typeText],
		rangeEnumeration,
		range: parseRange(rangeEnumeration),
		units: childText(item, "Units") ?? "",
	};
}

function readObject(element, source) {
	const id = integerId(childText(element, "ObjectID"), source);
	const where = `${source}: object ${id}`;
	const resources = new Map();
	const list = child(element, "Resources");
	for (const item of list ? list.children.filter((c) => c.name === "Item") : []) {
		const resource = readResource(item, where);
		if (resources.has(resource.id)) throw new DdfError(`${where}: resource ${resource.id} is defined twice`);
		resources.set(resource.id, resource);
	}
	const version = childText(element, "ObjectVersion") || "1.0";
	if (!/^\d+\.\d+$/.test(version)) throw new DdfError(`${where}: bad ObjectVersion ${JSON.stringify(version)}`);
	return {
		id,
		name: childText(element, "Name") ?? "",
		version,
		urn: childText(element, "ObjectURN") ?? "",
		lwm2mVersion: childText(element, "LWM2MVersion") || "1.0",
		multiple: multiplicity(childText(element, "MultipleInstances"), where),
		mandatory: childText(element, "Mandatory") === "Mandatory",
		resources,
		source,
	};
}

/** Every object model defined in one DDF document. */
export function parseDdf(xmlText, source = "DDF") {
	let root;
	try {
		root = parseXml(xmlText);
	} catch (e) {
		if (e instanceof XmlError) throw new DdfError(`${source}: ${e.message}`);
		throw e;
	}
	if (root.name !== "LWM2M") throw new DdfError(`${source}: the root element is <${root.name}>, not <LWM2M>`);
	const objects = root.children.filter((c) => c.name === "Object").map((o) => readObject(o, source));
	if (objects.length === 0) throw new DdfError(`${source}: no <Object> in the file`);
	return objects;
}
