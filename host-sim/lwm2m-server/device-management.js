// The Device Management and Information Reporting interfaces (LwM2M Core TS 1.1 §6.3,
// §6.4; their CoAP mapping in Transport TS §6.4): each operation checks its input against
// the object model, encodes it, sends it to the client's registered address from the
// server's own socket, and turns the answer into a Leshan-like response.
import { randomBytes } from "node:crypto";
import { parsePath, formatPath, PathError } from "./path.js";
import { CodecError, decodePayload, encodePayload, encodePathList } from "./codecs/index.js";
import { typeEntries } from "./typing.js";
import { buildNode, buildComposite, nodeToEntries } from "./nodes.js";
import { parseLinkFormat, LinkFormatError } from "./link-format.js";
import { toResponse } from "./responses.js";
import { parseExecuteArgs } from "./execute-args.js";
import { attributesToQuery } from "./attributes.js";
import { Observation } from "./observations.js";
import { ValueError } from "./values.js";
import { formatByName, FormatError, TEXT, OPAQUE, TLV, SENML_JSON, SENML_CBOR, LWM2M_CBOR, LINK } from "./content-formats.js";

/** A client answer the server cannot make sense of: HTTP 502 at the REST API. */
export class InvalidResponse extends Error {
	constructor(message) {
		super(message);
		this.status = 502;
	}
}

function depth(path, allowed, operation) {
	if (!allowed.includes(path.length)) {
		const names = ["/", "an object", "an object instance", "a resource", "a resource instance"];
		throw new PathError(`${operation} applies to ${allowed.map((d) => names[d]).join(" or ")} path, not ${formatPath(path)}`);
	}
}

const asFormat = (f) => (f === undefined || f === null ? undefined : typeof f === "object" ? f : formatByName(f));

export class DeviceManagement {
	constructor({ endpoint, models, observations, clock, defaultTimeoutMs = 5000, onNotification, log = () => {} }) {
		this.endpoint = endpoint;
		this.models = models;
		this.observations = observations;
		this.clock = clock;
		this.defaultTimeoutMs = defaultTimeoutMs;
		this.onNotification = onNotification;
		this.log = log;
	}

	lookupFor(reg) {
		return (p) => this.models.resource(p[0], p[2], reg.supportedObjects?.[p[0]]);
	}

	#timeoutMs(options) {
		if (options.timeout === undefined || options.timeout === null || options.timeout === "") return this.defaultTimeoutMs;
		const s = Number(options.timeout);
		if (!(s > 0 && s <= 3600)) throw new ValueError(`timeout must be a number of seconds, more than 0 and at most 3600, not ${JSON.stringify(options.timeout)}`);
		return s * 1000;
	}

	#send(reg, request, options) {
		return this.endpoint.request({
			address: reg.address,
			port: reg.port,
			pathname: reg.rootPath + request.path.join("/"),
			timeoutMs: this.#timeoutMs(options),
			...request,
		});
	}

	// Which format to write in when the caller did not say: a single value as text
	// (opaque as opaque), anything larger in what the client announced it reads (ct= on
	// its root link), else TLV, which every 1.0 client and most 1.1 clients accept.
	#writeFormat(reg, path, entries, requested) {
		if (requested) return requested;
		const values = entries.filter((e) => e.value !== undefined);
		if (values.length === 1 && values[0].path.length === path.length && path.length >= 3 && !entries.some((e) => e.multiple)) {
			return values[0].type === "OPAQUE" ? OPAQUE : TEXT;
		}
		return this.#structuredFormat(reg);
	}

	#structuredFormat(reg) {
		const announced = reg.contentFormats ?? [];
		return [SENML_CBOR, TLV, SENML_JSON, LWM2M_CBOR].find((f) => announced.includes(f.id)) ?? TLV;
	}

	#compositeFormat(reg, requested) {
		if (requested) {
			if (![SENML_JSON, SENML_CBOR, LWM2M_CBOR].includes(requested)) throw new FormatError(`composite operations use SENML_JSON, SENML_CBOR or LWM2M_CBOR, not ${requested.name}`);
			return requested;
		}
		const announced = reg.contentFormats ?? [];
		return [SENML_CBOR, SENML_JSON].find((f) => announced.includes(f.id)) ?? SENML_CBOR;
	}

	/** Decoded, typed entries of a client's payload; an undecodable one is an InvalidResponse. */
	entriesOf(reg, path, { format, payload }) {
		if (!format) {
			if (path.length < 3) throw new InvalidResponse(`the client answered for ${formatPath(path)} without a Content-Format`);
			format = TEXT; // a single value without a format: text/plain is the only sensible reading
		}
		if (format.unknown) throw new InvalidResponse(`the client answered in an unsupported content format ${format.name}`);
		try {
			return typeEntries(decodePayload(format, payload, path, { nowSeconds: this.clock.now() / 1000 }), this.lookupFor(reg));
		} catch (e) {
			if (e instanceof CodecError) throw new InvalidResponse(`cannot decode the client's ${format.name} content: ${e.message}`);
			throw e;
		}
	}

	#node(reg, path, res) {
		const entries = this.entriesOf(reg, path, res);
		try {
			return buildNode(path, entries, this.lookupFor(reg));
		} catch (e) {
			if (e instanceof CodecError) throw new InvalidResponse(e.message);
			throw e;
		}
	}

	#composite(reg, paths, res) {
		const entries = this.entriesOf(reg, [], res);
		try {
			return buildComposite(paths, entries, this.lookupFor(reg));
		} catch (e) {
			if (e instanceof CodecError) throw new InvalidResponse(e.message);
			throw e;
		}
	}

	#encode(format, entries, path) {
		try {
			return encodePayload(format, entries, path);
		} catch (e) {
			if (e instanceof CodecError) throw new ValueError(e.message);
			throw e;
		}
	}

	// ------------------------------------------------------------------ operations

	async read(reg, pathText, options = {}) {
		const path = parsePath(pathText);
		const format = asFormat(options.format);
		const res = await this.#send(reg, { method: "GET", path, accept: format?.id }, options);
		const response = toResponse("read", res);
		if (response.success) {
			response.content = this.#node(reg, path, res);
			response.format = res.format?.name ?? "TEXT";
		}
		return response;
	}

	/** @param node a Leshan-like node, or at a resource path a bare value */
	async write(reg, pathText, node, options = {}) {
		const path = parsePath(pathText);
		depth(path, [2, 3, 4], "Write");
		const replace = options.replace === undefined ? true : options.replace === true || options.replace === "true";
		const entries = nodeToEntries(path, node, this.lookupFor(reg), { writable: true });
		const format = this.#writeFormat(reg, path, entries, asFormat(options.format));
		const payload = this.#encode(format, entries, path);
		// onProgress / control: a large write (a firmware Package) reports its blocks and can be aborted
		const res = await this.#send(reg, { method: replace ? "PUT" : "POST", path, contentFormat: format.id, payload, onProgress: options.onProgress, control: options.control }, options);
		return toResponse("write", res);
	}

	async execute(reg, pathText, args, options = {}) {
		const path = parsePath(pathText);
		depth(path, [3], "Execute");
		const model = this.lookupFor(reg)(path);
		if (model && !model.operations.includes("E")) throw new ValueError(`${formatPath(path)} (${model.name}) is not executable`);
		const text = args === undefined || args === null ? "" : String(args);
		parseExecuteArgs(text);
		const res = await this.#send(reg, { method: "POST", path, payload: text || undefined, contentFormat: text ? TEXT.id : undefined }, options);
		return toResponse("execute", res);
	}

	/** @param node {id?, resources: [...]}; without an id the lowest free instance id is used */
	async create(reg, pathText, node, options = {}) {
		const path = parsePath(pathText);
		depth(path, [1], "Create");
		if (node === null || typeof node !== "object" || !Array.isArray(node.resources)) throw new ValueError('Create needs an instance: {"id": 1, "resources": [...]}');
		let id = node.id;
		if (id === undefined || id === null) {
			const taken = new Set(reg.availableInstances?.[path[0]] ?? []);
			for (id = 0; taken.has(id); id++);
		}
		if (!Number.isInteger(Number(id)) || Number(id) < 0 || Number(id) > 65534) throw new ValueError(`instance id ${JSON.stringify(node.id)} is not 0..65534`);
		const entries = nodeToEntries(path, { ...node, id: Number(id) }, this.lookupFor(reg));
		const format = asFormat(options.format) ?? this.#structuredFormat(reg);
		const payload = this.#encode(format, entries, path);
		const res = await this.#send(reg, { method: "POST", path, contentFormat: format.id, payload }, options);
		const response = toResponse("create", res);
		if (response.success) response.location = res.locationPath?.length ? "/" + res.locationPath.join("/") : `/${path[0]}/${id}`;
		return response;
	}

	async delete(reg, pathText, options = {}) {
		const path = parsePath(pathText);
		depth(path, [1, 2, 3, 4], "Delete");
		const res = await this.#send(reg, { method: "DELETE", path }, options);
		return toResponse("delete", res);
	}

	async discover(reg, pathText, options = {}) {
		const path = parsePath(pathText);
		depth(path, [1, 2, 3], "Discover");
		const res = await this.#send(reg, { method: "GET", path, accept: LINK.id }, options);
		const response = toResponse("discover", res);
		if (response.success) {
			if (res.format && res.format.id !== LINK.id) throw new InvalidResponse(`Discover answered in ${res.format.name}, not link-format`);
			try {
				response.objectLinks = parseLinkFormat(res.payload);
			} catch (e) {
				if (e instanceof LinkFormatError) throw new InvalidResponse(`Discover answer: ${e.message}`);
				throw e;
			}
		}
		return response;
	}

	/** @param attributes {pmin: 10, pmax: 60, gt: 25.5, st: null (unset)} */
	async writeAttributes(reg, pathText, attributes, options = {}) {
		const path = parsePath(pathText);
		depth(path, [1, 2, 3, 4], "Write-Attributes");
		const query = attributesToQuery(attributes ?? {}, path, this.lookupFor(reg)(path));
		const res = await this.#send(reg, { method: "PUT", path, query }, options);
		return toResponse("writeAttributes", res);
	}

	async readComposite(reg, pathTexts, options = {}) {
		const paths = this.#paths(pathTexts);
		const nodeFormat = this.#compositeFormat(reg, asFormat(options.format));
		const pathFormat = this.#pathFormat(asFormat(options.pathFormat), nodeFormat);
		const payload = encodePathList(pathFormat, paths);
		const res = await this.#send(reg, { method: "FETCH", path: [], contentFormat: pathFormat.id, accept: nodeFormat.id, payload }, options);
		const response = toResponse("readComposite", res);
		if (response.success) {
			response.content = this.#composite(reg, paths, res);
			response.format = res.format?.name;
		}
		return response;
	}

	/** @param values {"/3308/0/5900": 22.5 or node, ...} */
	async writeComposite(reg, values, options = {}) {
		if (values === null || typeof values !== "object" || Array.isArray(values) || Object.keys(values).length === 0) {
			throw new ValueError('Write-Composite needs an object of path -> value, e.g. {"/3308/0/5900": 22.5}');
		}
		const lookup = this.lookupFor(reg);
		const entries = Object.entries(values).flatMap(([p, node]) => {
			const path = parsePath(p);
			depth(path, [2, 3, 4], "Write-Composite");
			return nodeToEntries(path, node, lookup, { writable: true });
		});
		const format = this.#compositeFormat(reg, asFormat(options.format));
		const payload = this.#encode(format, entries, []);
		const res = await this.#send(reg, { method: "iPATCH", path: [], contentFormat: format.id, payload }, options);
		return toResponse("writeComposite", res);
	}

	// the path list of a composite request is SenML; LwM2M CBOR answers get a SenML CBOR list
	#pathFormat(requested, nodeFormat) {
		const format = requested ?? (nodeFormat === LWM2M_CBOR ? SENML_CBOR : nodeFormat);
		if (format !== SENML_JSON && format !== SENML_CBOR) throw new FormatError(`the path list of a composite request is SENML_JSON or SENML_CBOR, not ${format.name}`);
		return format;
	}

	#paths(pathTexts) {
		const list = typeof pathTexts === "string" ? pathTexts.split(",") : pathTexts;
		if (!Array.isArray(list) || list.length === 0 || list.every((p) => !String(p).trim())) throw new PathError("no paths given (e.g. paths=/3/0/1,/3303/0/5700)");
		return list.filter((p) => String(p).trim()).map((p) => parsePath(String(p)));
	}

	// ------------------------------------------------------------------ observe

	async observe(reg, pathText, onNotify, options = {}) {
		const path = parsePath(pathText);
		depth(path, [1, 2, 3, 4], "Observe");
		const format = asFormat(options.format);
		return this.#observe(reg, { paths: [path], composite: false, format, onNotify }, { method: "GET", path, accept: format?.id }, options);
	}

	async observeComposite(reg, pathTexts, onNotify, options = {}) {
		const paths = this.#paths(pathTexts);
		const format = this.#compositeFormat(reg, asFormat(options.format));
		const pathFormat = this.#pathFormat(asFormat(options.pathFormat), format);
		const payload = encodePathList(pathFormat, paths);
		return this.#observe(
			reg,
			{ paths, composite: true, format, pathFormat, onNotify },
			{ method: "FETCH", path: [], contentFormat: pathFormat.id, accept: format.id, payload },
			options,
		);
	}

	async #observe(reg, spec, request, options) {
		// what is already observed is observed once more under the same token: the client
		// replaces its entry (RFC 7641 §4.1) and answers with the current value
		const existing = this.observations.find(reg.id, spec.paths, spec.composite)[0];
		const observation = existing ?? this.observations.add(new Observation({ token: randomBytes(8), registration: reg, ...spec }));
		if (existing) Object.assign(existing, { format: spec.format, pathFormat: spec.pathFormat });
		const subscription = observation.subscribe({ onNotify: spec.onNotify, owner: options.owner });
		const unsubscribe = () => {
			observation.subscriptions.delete(subscription.id);
			if (observation.subscriptions.size === 0) this.observations.remove(observation);
		};
		let answeredWithObserve = false;
		let res;
		try {
			res = await this.#send(
				reg,
				{
					...request,
					observe: true,
					token: observation.token,
					// runs before any notification behind this response can be looked at
					onResponse: (r) => {
						answeredWithObserve = /^2\./.test(r.code) && r.observe !== undefined;
						if (answeredWithObserve) {
							observation.established = true;
							observation.accept(r.observe, this.clock.now());
						}
					},
				},
				options,
			);
		} catch (e) {
			unsubscribe();
			throw e;
		}
		const operation = spec.composite ? "observeComposite" : "observe";
		const response = toResponse(operation, res);
		// an error or an answer without Observe: the client keeps no entry, for anyone
		if (!answeredWithObserve) {
			if (existing && existing.subscriptions.size > 1) this.log(`observation ${observation.id} of ${observation.endpoint} ${observation.paths.map(formatPath).join(",")} ended by the client (${res.code})`);
			this.observations.remove(observation);
		}
		if (response.success) {
			try {
				response.content = spec.composite ? this.#composite(reg, spec.paths, res) : this.#node(reg, spec.paths[0], res);
			} catch (e) {
				unsubscribe();
				throw e;
			}
			response.format = res.format?.name;
			if (answeredWithObserve) response.observation = subscription.toJSON();
			else response.errormessage = "the client answered without Observe: it does not keep this observation";
		}
		return response;
	}

	/** A response datagram the mux saw: a notification if its token is an observation's. */
	handleResponse(registration, packet) {
		const observation = this.observations.get(packet.token.toString("hex"));
		if (!observation || !observation.established) return;
		if (!registration || registration.id !== observation.registrationId) return;
		const observeOption = packet.options.find((o) => o.name === "Observe");
		if (!/^2\./.test(packet.code) || !observeOption) {
			// the client ended the observation (an error, or a final response without Observe)
			this.log(`observation ${observation.id} of ${observation.endpoint} ${observation.paths.map(formatPath).join(",")} ended by the client (${packet.code})`);
			this.observations.remove(observation);
			return;
		}
		const seq = observeOption.value.length ? observeOption.value.readUIntBE(0, observeOption.value.length) : 0;
		const now = this.clock.now();
		if (!observation.fresh(seq, now)) return;
		observation.accept(seq, now);
		const cf = packet.options.find((o) => o.name === "Content-Format");
		const formatId = cf ? (cf.value.length ? cf.value.readUIntBE(0, cf.value.length) : 0) : undefined;
		let format;
		try {
			format = formatId === undefined ? undefined : formatByName(String(formatId));
		} catch {
			format = { id: formatId, name: String(formatId), unknown: true };
		}
		let content;
		try {
			const res = { format, payload: packet.payload };
			content = observation.composite ? this.#composite(registration, observation.paths, res) : this.#node(registration, observation.paths[0], res);
		} catch (e) {
			this.log(`notification from ${observation.endpoint} for ${observation.paths.map(formatPath).join(",")} dropped: ${e.message}`);
			return;
		}
		const notification = {
			endpoint: observation.endpoint,
			registrationId: observation.registrationId,
			token: observation.id,
			observationIds: [...observation.subscriptions.keys()],
			composite: observation.composite,
			path: observation.composite ? undefined : formatPath(observation.paths[0]),
			paths: observation.paths.map(formatPath),
			format: format?.name,
			content,
		};
		for (const subscription of [...observation.subscriptions.values()]) {
			try {
				subscription.onNotify?.({ ...notification, observationId: subscription.id });
			} catch (e) {
				this.log(`an observe callback failed: ${e.stack ?? e.message}`);
			}
		}
		this.onNotification?.(notification);
	}

	/**
	 * Cancel the caller's subscriptions of `paths`: the one named by options.id, else every
	 * one of options.owner ("local" by default). The client is sent the active cancel
	 * (GET/FETCH with Observe 1) only when no subscription is left.
	 * @returns the number of subscriptions cancelled
	 */
	async cancel(reg, pathTexts, composite, options = {}) {
		const paths = composite ? this.#paths(pathTexts) : [parsePath(pathTexts)];
		const observation = this.observations.find(reg.id, paths, composite)[0];
		if (!observation) return 0;
		const id = options.id === undefined || options.id === null || options.id === "" ? undefined : String(options.id);
		const owner = options.owner ?? "local";
		const mine = [...observation.subscriptions.values()].filter((s) => (id === undefined ? s.owner === owner : s.id === id));
		for (const s of mine) observation.subscriptions.delete(s.id);
		if (mine.length === 0 || observation.subscriptions.size > 0) return mine.length;
		this.observations.remove(observation);
		const request = composite
			? { method: "FETCH", path: [], contentFormat: observation.pathFormat.id, accept: observation.format.id, payload: encodePathList(observation.pathFormat, paths) }
			: { method: "GET", path: paths[0], accept: observation.format?.id };
		try {
			await this.#send(reg, { ...request, observe: 1, token: observation.token }, options);
		} catch (e) {
			// the client forgets it anyway at its next notification, which now gets RST
			this.log(`cancel of observation ${observation.id} (${observation.endpoint}) got no answer: ${e.message}`);
		}
		return mine.length;
	}
}
