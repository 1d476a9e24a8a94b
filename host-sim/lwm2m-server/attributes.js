// Write-Attributes (LwM2M Core TS 1.1 §5.1.2, §5.4.4): notification attributes sent as
// Uri-Query options of a PUT without payload. A name without value unsets it.
import { ValueError } from "./values.js";

const INTEGER_ATTRIBUTES = ["pmin", "pmax", "epmin", "epmax"];
const NUMBER_ATTRIBUTES = ["gt", "lt", "st"];
export const ATTRIBUTES = [...INTEGER_ATTRIBUTES, ...NUMBER_ATTRIBUTES];

/**
 * {pmin: "10", gt: 20.5, st: null} -> ["pmin=10", "gt=20.5", "st"], checked.
 * @param path the target path (ids): gt/lt/st only make sense on a resource
 * @param resourceModel the target resource's model, when known (numeric check)
 */
export function attributesToQuery(attributes, path, resourceModel) {
	const names = Object.keys(attributes);
	if (names.length === 0) throw new ValueError(`no attributes given (use ${ATTRIBUTES.join(", ")})`);
	const values = {};
	const query = names.map((name) => {
		if (!ATTRIBUTES.includes(name)) throw new ValueError(`unknown attribute ${JSON.stringify(name)} (use ${ATTRIBUTES.join(", ")})`);
		const raw = attributes[name];
		if (raw === null || raw === undefined || raw === "") return name;
		const text = String(raw).trim();
		if (INTEGER_ATTRIBUTES.includes(name)) {
			if (!/^\d{1,10}$/.test(text)) throw new ValueError(`${name} must be a whole number of seconds, not ${JSON.stringify(raw)}`);
		} else {
			if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new ValueError(`${name} must be a number, not ${JSON.stringify(raw)}`);
			if (path.length < 3) throw new ValueError(`${name} applies to a numeric resource, not to /${path.join("/")}`);
			if (resourceModel && !["INTEGER", "UNSIGNED_INTEGER", "FLOAT"].includes(resourceModel.type)) {
				throw new ValueError(`${name} applies to numeric resources; /${path.join("/")} is ${resourceModel.type}`);
			}
			if (name === "st" && Number(text) < 0) throw new ValueError("st must not be negative");
		}
		values[name] = Number(text);
		return `${name}=${text}`;
	});
	if (values.pmin !== undefined && values.pmax !== undefined && values.pmax < values.pmin) throw new ValueError(`pmax (${values.pmax}) must not be less than pmin (${values.pmin})`);
	if (values.epmin !== undefined && values.epmax !== undefined && values.epmax < values.epmin) throw new ValueError(`epmax (${values.epmax}) must not be less than epmin (${values.epmin})`);
	if (values.lt !== undefined && values.gt !== undefined) {
		if (values.lt >= values.gt) throw new ValueError("lt must be less than gt (§5.1.2)");
		if (values.st !== undefined && values.lt + 2 * values.st >= values.gt) throw new ValueError("lt + 2*st must be less than gt (§5.1.2)");
	}
	return query;
}
