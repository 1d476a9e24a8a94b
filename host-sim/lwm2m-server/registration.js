// The Registration interface's parameters (LwM2M Core TS 1.1 §6.2, Transport TS §6.2):
// checking a Register or Update request, and what a registration records. Every refusal
// is a RegistrationError whose message the CoAP answer (4.00) and the log both carry.
import { parseLinkFormat, LinkFormatError } from "./link-format.js";
import { parsePath, PathError, formatPath } from "./path.js";

export class RegistrationError extends Error {}

export const DEFAULT_LIFETIME = 86400; // s; the Server object's default, used when a 1.0 client omits lt
export const SERVER_LWM2M_VERSION = "1.1";

/** Uri-Query options -> {name: value|null}; a name twice is an error. */
export function parseQuery(query) {
	const params = {};
	for (const item of query) {
		const eq = item.indexOf("=");
		const name = eq < 0 ? item : item.slice(0, eq);
		if (!name) throw new RegistrationError(`empty query parameter in ${JSON.stringify(item)}`);
		if (name in params) throw new RegistrationError(`query parameter ${name} is given twice`);
		params[name] = eq < 0 ? null : item.slice(eq + 1);
	}
	return params;
}

function checkLifetime(lt) {
	if (lt === null || !/^\d{1,10}$/.test(lt) || Number(lt) < 1 || Number(lt) > 0xffffffff) {
		throw new RegistrationError(`bad lifetime lt=${JSON.stringify(lt)}: it must be a whole number of seconds, 1..4294967295`);
	}
	return Number(lt);
}

function checkBinding(b) {
	// LwM2M 1.1 bindings U M H T S N, plus the 1.0 queue-mode letter Q (UQ, UQS...)
	if (b === null || !/^[UMHTSNQ]+$/.test(b) || /(.).*\1/.test(b) || b === "Q") {
		throw new RegistrationError(`bad binding b=${JSON.stringify(b)}: use letters of U, M, H, T, S, N (and Q for 1.0 queue mode), each once`);
	}
	return b;
}

function checkVersion(v) {
	const m = v === null ? null : /^(\d+)\.(\d+)$/.exec(v);
	if (!m) throw new RegistrationError(`bad LwM2M version lwm2m=${JSON.stringify(v)}: expected major.minor such as 1.1`);
	const [sMajor, sMinor] = SERVER_LWM2M_VERSION.split(".").map(Number);
	// §6.2.1.1: refuse a different major version, or a newer minor one than the server's
	if (Number(m[1]) !== sMajor || Number(m[2]) > sMinor) throw new RegistrationError(`unsupported LwM2M version ${v}: this server speaks ${SERVER_LWM2M_VERSION} (and 1.0)`);
	return v;
}

/**
 * The link-format payload of Register/Update -> what the server keeps of it.
 * @returns {{rootPath, objectLinks, supportedObjects, availableInstances, contentFormats, ignored: string[]}}
 */
export function parseObjectLinks(payload) {
	let links;
	try {
		links = parseLinkFormat(payload);
	} catch (e) {
		if (e instanceof LinkFormatError) throw new RegistrationError(`bad link-format payload: ${e.message}`);
		throw e;
	}
	if (links.length === 0) throw new RegistrationError("the payload lists no objects (a link-format list such as </1/0>,</3/0> is required)");
	// the root link: rt="oma.lwm2m" (1.1), or plain </> carrying ct= (as in 1.0's examples)
	const root = links.find((l) => l.attributes.rt === "oma.lwm2m") ?? links.find((l) => l.url === "/");
	const rootPath = root ? root.url.replace(/\/*$/, "/") : "/";
	if (!rootPath.startsWith("/")) throw new RegistrationError(`bad root path <${root.url}>: it must start with "/"`);
	const contentFormats = [];
	if (root?.attributes.ct) {
		for (const ct of root.attributes.ct.split(/\s+/).filter(Boolean)) {
			if (!/^\d+$/.test(ct)) throw new RegistrationError(`bad ct=${JSON.stringify(root.attributes.ct)} on the root path: expected content format numbers`);
			contentFormats.push(Number(ct));
		}
	}
	const objectLinks = [];
	const supportedObjects = {};
	const availableInstances = {};
	const ignored = [];
	for (const link of links) {
		if (link === root || link.url.replace(/\/*$/, "/") === rootPath) {
			objectLinks.push(link);
			continue;
		}
		if (!link.url.startsWith(rootPath)) throw new RegistrationError(`link <${link.url}> is outside the root path ${rootPath}`);
		let path;
		try {
			path = parsePath(link.url.slice(rootPath.length - 1));
		} catch (e) {
			if (e instanceof PathError) throw new RegistrationError(`bad link <${link.url}>: not an LwM2M object or object instance path`);
			throw e;
		}
		if (path.length === 0 || path.length > 2) throw new RegistrationError(`bad link <${link.url}>: a registration lists objects and object instances only`);
		const ver = link.attributes.ver;
		if (ver !== undefined && (ver === null || !/^\d+\.\d+$/.test(ver))) throw new RegistrationError(`bad object version on <${link.url}>: ver=${JSON.stringify(ver)}`);
		if (path[0] === 0) {
			// §6.2.1: the Security object must not be listed; not worth refusing a client over
			ignored.push(link.url);
			continue;
		}
		const [oid, iid] = path;
		if (ver) supportedObjects[oid] = ver;
		else supportedObjects[oid] ??= "1.0";
		availableInstances[oid] ??= [];
		if (iid !== undefined && !availableInstances[oid].includes(iid)) availableInstances[oid].push(iid);
		objectLinks.push({ url: formatPath(path), attributes: link.attributes });
	}
	for (const list of Object.values(availableInstances)) list.sort((a, b) => a - b);
	return { rootPath, objectLinks, supportedObjects, availableInstances, contentFormats, ignored };
}

/** A Register request -> the fields of a new registration; throws RegistrationError. */
export function parseRegister(query, format, payload) {
	const params = parseQuery(query);
	const { ep, lt, lwm2m, b, sms, Q, ...rest } = params;
	if (ep === undefined || ep === null || ep === "") throw new RegistrationError("missing endpoint client name (ep=...)");
	if (format && format.id !== 40) throw new RegistrationError(`the Register payload must be application/link-format (40), not ${format.name}`);
	const links = parseObjectLinks(payload);
	const bindingMode = b === undefined ? "U" : checkBinding(b);
	return {
		endpoint: ep,
		lifetime: lt === undefined ? DEFAULT_LIFETIME : checkLifetime(lt),
		lwM2mVersion: lwm2m === undefined ? "1.0" : checkVersion(lwm2m),
		bindingMode,
		queueMode: Q !== undefined || bindingMode.includes("Q"),
		smsNumber: sms ?? null,
		additionalRegistrationAttributes: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, v ?? ""])),
		...links,
	};
}

/** An Update request -> only what changed; throws RegistrationError. */
export function parseUpdate(query, format, payload) {
	const { lt, b, sms, Q } = parseQuery(query);
	const update = {};
	if (lt !== undefined) update.lifetime = checkLifetime(lt);
	if (b !== undefined) {
		update.bindingMode = checkBinding(b);
		update.queueMode = Q !== undefined || update.bindingMode.includes("Q");
	} else if (Q !== undefined) update.queueMode = true;
	if (sms !== undefined) update.smsNumber = sms;
	if (payload && payload.length) {
		if (format && format.id !== 40) throw new RegistrationError(`the Update payload must be application/link-format (40), not ${format.name}`);
		Object.assign(update, parseObjectLinks(payload));
	}
	return update;
}
