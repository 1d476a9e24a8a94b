// LwM2M paths (/objectId/instanceId/resourceId/resourceInstanceId) as arrays of ids.
// Every id is 0..65535; 65535 is reserved (MAX_ID) for instances, so it is refused
// there because no client can have such an instance.

export class PathError extends Error {
	constructor(message) {
		super(message);
		this.status = 400;
	}
}

const LEVELS = ["object", "instance", "resource", "resource instance"];

/** "/3303/0/5700" -> [3303, 0, 5700]; "/" -> []. A leading slash is optional. */
export function parsePath(text) {
	if (typeof text !== "string") throw new PathError(`path must be a string, got ${JSON.stringify(text)}`);
	const trimmed = text.trim();
	if (trimmed === "/" || trimmed === "") return [];
	const parts = trimmed.replace(/^\//, "").replace(/\/$/, "").split("/");
	if (parts.length > 4) throw new PathError(`${JSON.stringify(text)} is deeper than /object/instance/resource/resourceInstance`);
	return parts.map((part, level) => {
		if (!/^\d{1,5}$/.test(part)) throw new PathError(`${JSON.stringify(text)} is not an LwM2M path: ${LEVELS[level]} id ${JSON.stringify(part)} is not a number`);
		const id = Number(part);
		if (id > 65535 || (level === 1 && id === 65535)) throw new PathError(`${JSON.stringify(text)}: ${LEVELS[level]} id ${id} is out of range`);
		return id;
	});
}

export function formatPath(ids) {
	return "/" + ids.join("/");
}

/** True when `prefix` is `path` or one of its ancestors. */
export function isPrefix(prefix, path) {
	return prefix.length <= path.length && prefix.every((id, i) => path[i] === id);
}
