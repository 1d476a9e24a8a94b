// The Device Management and Information Reporting interfaces, server side of the device
// (Core TS 1.1 §6.3, §6.4): one CoAP request in, one LwM2M operation on the model, one
// response out.
//
//   GET          Read, or Discover with Accept: 40; Observe 0/1 registers/cancels
//   PUT          Write (replace), or Write-Attributes when it has a query and no body
//   POST         Create on an object, Write (partial update) on an instance, Execute on a resource
//   DELETE       Delete an instance
//   FETCH        Read-Composite (and Observe-Composite)
//   iPATCH       Write-Composite

import { Code, Method, codeText } from "../coap/constants";
import type { Request, Response } from "../coap/server";
import { ByteWriter, ContentFormat, DataType, Entry, FormatError, LinkFormat, parsePath, path, pathString, type Path } from "./formats/index";
import { AttributeSet, parseAttributes, type AttributeStore } from "./attributes";
import { LwError, apply, collect, decode, encode, gather, judge, plan, resolve, responseFormat, type Change } from "./content";
import { Instance, Op, type Model } from "./model";
import type { Reporting } from "./reporting";

const EXECUTE_ARGS = /^(\d(='[^']*')?(,\d(='[^']*')?)*)?$/;

export class Management {
	readonly model: Model;
	readonly attributes: AttributeStore;
	reporting: Reporting | undefined = undefined;
	log: (text: string) => void;
	// reused for every request: a request is handled to the end before the next
	#path: Path = path();
	#entries: Entry[] = [];
	#paths: Entry[] = [];
	#changes: Change[] = [];
	#out = new ByteWriter(512, 16384);
	#links = new LinkFormat(this.#out);

	constructor(model: Model, attributes: AttributeStore, log: (text: string) => void) {
		this.model = model;
		this.attributes = attributes;
		this.log = log;
	}

	/** The CoAP server's handler for everything but the registration's own traffic. */
	handle(request: Request, response: Response) {
		try {
			const p = this.#path;
			try {
				parsePath("/" + request.path, p);
			} catch {
				throw new LwError(Code.NotFound, `no resource "${request.path}"`);
			}
			if (p.object < 0 && request.method !== Method.FETCH && request.method !== Method.iPATCH) throw new LwError(Code.MethodNotAllowed, "the root takes composite operations only");
			switch (request.method) {
				case Method.GET:
					if (request.accept === ContentFormat.LinkFormat) this.#discover(p, response);
					else this.#read(request, p, response);
					return;
				case Method.PUT:
					if (request.query.length && !request.payload.length) this.#writeAttributes(request, p, response);
					else this.#write(request, p, true, response);
					return;
				case Method.POST:
					if (p.instance < 0) this.#create(request, p, response);
					else if (p.resource < 0) this.#write(request, p, false, response);
					else this.#executeOrWrite(request, p, response);
					return;
				case Method.DELETE:
					this.#delete(p, response);
					return;
				case Method.FETCH:
					this.#readComposite(request, response);
					return;
				case Method.iPATCH:
					this.#writeComposite(request, response);
					return;
				default:
					throw new LwError(Code.MethodNotAllowed, "not an LwM2M operation");
			}
		} catch (e) {
			if (!(e instanceof LwError)) throw e; // the CoAP server answers 5.00 and logs it
			this.log(`lwm2m: ${methodName(request.method)} /${request.path}: ${codeText(e.code)} ${e.message}`);
			response.code = e.code;
			response.payload = e.message;
			response.contentFormat = ContentFormat.Text;
			response.observable = false;
		}
	}

	// ---------------------------------------------------------------- Read, Observe
	#read(request: Request, p: Path, response: Response) {
		const n = collect(this.model, p, this.#entries);
		if (!n && p.resource >= 0) throw new LwError(Code.NotFound, `${pathString(p)} has no value`);
		const format = responseFormat(request.accept, this.#entries, n, p);
		response.payload = encode(format, this.#entries, n, p, this.#out);
		response.contentFormat = format;
		if (request.observe === 0 || request.notification) {
			response.observable = true;
			this.reporting?.reported(request, p, undefined, this.#entries, n);
		}
	}

	#readComposite(request: Request, response: Response) {
		const o = request.observation;
		const paths = this.#paths;
		// a notification asks again for the paths the observation was made with
		const count = o ? this.reporting!.compositePaths(o, paths) : decode(this.model, request.contentFormat, request.payload, path(), paths);
		if (request.contentFormat !== ContentFormat.SenmlJson && request.contentFormat !== ContentFormat.SenmlCbor && !o) {
			throw new LwError(Code.UnsupportedContentFormat, "composite requests are SenML");
		}
		let n = 0;
		for (let k = 0; k < count; k++) {
			const e = paths[k];
			try {
				n = collect(this.model, e, this.#entries, n);
			} catch (err) {
				// a path the device lacks or may not read is left out (§6.3.3.3)
				if (!(err instanceof LwError) || err.code >= Code.InternalServerError) throw err;
			}
		}
		let format = request.accept >= 0 ? request.accept : ContentFormat.SenmlCbor;
		if (format !== ContentFormat.SenmlJson && format !== ContentFormat.SenmlCbor) throw new LwError(Code.NotAcceptable, "composite responses are SenML");
		response.payload = encode(format, this.#entries, n, path(), this.#out);
		response.contentFormat = format;
		if (request.observe === 0 || request.notification) {
			response.observable = true;
			this.reporting?.reported(request, path(), o ? undefined : paths.slice(0, count).map(copyPath), this.#entries, n);
		}
	}

	// ---------------------------------------------------------------- Discover
	#discover(p: Path, response: Response) {
		const { object, instance, resource } = resolve(this.model, p);
		const w = this.#out.reset();
		const links = this.#links.begin();
		const attrs = (key: string) => {
			this.attributes.get(key)?.each((name, value) => links.attribute(name, value));
		};
		const resourceLink = (i: number, id: number) => {
			const r = object.resource(id)!;
			const inst = object.instance(i)!;
			links.addLink(`/${object.def.id}/${i}/${id}`);
			if (r.multiple) {
				const v = inst.read(id);
				links.attribute("dim", v instanceof Map ? v.size : 0);
			}
			attrs(`/${object.def.id}/${i}/${id}`);
		};
		if (resource) resourceLink(instance!.id, resource.id);
		else if (instance) {
			links.addLink(`/${object.def.id}/${instance.id}`);
			attrs(`/${object.def.id}/${instance.id}`);
			for (const r of object.def.resources) if (instance.has(r.id)) resourceLink(instance.id, r.id);
		} else {
			links.addLink(`/${object.def.id}`);
			if (object.def.version) links.attribute("ver", object.def.version);
			attrs(`/${object.def.id}`);
			for (const i of object.instances) {
				links.addLink(`/${object.def.id}/${i.id}`);
				attrs(`/${object.def.id}/${i.id}`);
				for (const r of object.def.resources) if (i.has(r.id)) resourceLink(i.id, r.id);
			}
		}
		response.payload = w.bytes();
		response.contentFormat = ContentFormat.LinkFormat;
	}

	// ---------------------------------------------------------------- Write-Attributes
	#writeAttributes(request: Request, p: Path, response: Response) {
		const { resource } = resolve(this.model, p);
		if (p.index >= 0) throw new LwError(Code.BadRequest, "attributes are set on objects, instances and resources");
		const numeric = !!resource && (resource.type === DataType.Integer || resource.type === DataType.Unsigned || resource.type === DataType.Float);
		const key = pathString(p);
		let next: AttributeSet;
		try {
			next = parseAttributes(request.query, this.attributes.get(key), numeric, p.resource >= 0);
		} catch (e) {
			if (e instanceof FormatError) throw new LwError(Code.BadRequest, e.message);
			throw e;
		}
		this.attributes.set(key, next);
		this.reporting?.attributesChanged();
		response.code = Code.Changed;
	}

	// ---------------------------------------------------------------- Write, Create, Execute, Delete
	#write(request: Request, p: Path, replace: boolean, response: Response) {
		const { instance } = resolve(this.model, p);
		if (!instance) throw new LwError(Code.MethodNotAllowed, "Write is on an instance or a resource");
		const n = decode(this.model, request.contentFormat, request.payload, p, this.#entries);
		if (!n) throw new LwError(Code.BadRequest, "no value in the request");
		const changes = plan(this.model, p, this.#entries, n, replace, undefined, this.#changes);
		apply(changes);
		this.#changes.length = 0;
		response.code = Code.Changed;
	}

	#executeOrWrite(request: Request, p: Path, response: Response) {
		const { instance, resource } = resolve(this.model, p);
		if (resource!.ops & Op.E) {
			if (p.index >= 0) throw new LwError(Code.MethodNotAllowed, "Execute is on a resource");
			const args = request.text();
			if (!EXECUTE_ARGS.test(args)) throw new LwError(Code.BadRequest, `bad Execute arguments "${args}"`);
			const execute = instance!.bindings.get(resource!.id)?.execute;
			if (!execute) throw new LwError(Code.MethodNotAllowed, `${pathString(p)} cannot be executed`);
			const problem = execute(args);
			if (problem) throw new LwError(Code.BadRequest, problem);
			response.code = Code.Changed;
			return;
		}
		if (!(resource!.ops & Op.W) || !resource!.multiple) throw new LwError(Code.MethodNotAllowed, `${pathString(p)} cannot be executed`);
		this.#write(request, p, false, response);
	}

	#create(request: Request, p: Path, response: Response) {
		const { object } = resolve(this.model, p);
		if (!object.onCreate) throw new LwError(Code.MethodNotAllowed, `instances of object ${p.object} are not created by a server`);
		const n = decode(this.model, request.contentFormat, request.payload, p, this.#entries);
		// the server may name the new instance (TLV instance, SenML name) or leave it to the device
		let id = n ? this.#entries[0].instance : -1;
		for (let k = 1; k < n; k++) if (this.#entries[k].instance !== id) throw new LwError(Code.BadRequest, "Create makes one instance");
		if (id < 0) {
			id = object.freeId();
			for (let k = 0; k < n; k++) this.#entries[k].instance = id;
		}
		if (object.instance(id)) throw new LwError(Code.BadRequest, `/${p.object}/${id} exists`);
		if (!object.def.multiple && object.instances.length) throw new LwError(Code.BadRequest, `object ${p.object} has its single instance`);
		const instance = new Instance(object, id); // attached only when everything is accepted
		const changes = plan(this.model, path(p.object, id), this.#entries, n, true, instance, this.#changes);
		for (const r of object.def.resources) {
			if (!r.mandatory || r.type === DataType.None || !(r.ops & Op.W)) continue;
			if (!changes.some((c) => c.resource === r)) throw new LwError(Code.BadRequest, `/${p.object}/${id}/${r.id} is mandatory`);
		}
		for (const c of changes) instance.values.set(c.resource.id, c.value);
		const problem = object.onCreate(instance);
		if (problem) throw new LwError(Code.BadRequest, problem);
		object.attach(instance);
		this.#changes.length = 0;
		response.code = Code.Created;
		response.locationPath = `${p.object}/${id}`;
	}

	#delete(p: Path, response: Response) {
		const { object, instance } = resolve(this.model, p);
		if (!instance || p.resource >= 0) throw new LwError(Code.MethodNotAllowed, "Delete is on an instance");
		if (p.object === 1 || !object.onDelete) throw new LwError(Code.MethodNotAllowed, `${pathString(p)} cannot be deleted`);
		const problem = object.onDelete(instance);
		if (problem) throw new LwError(Code.BadRequest, problem);
		object.remove(instance);
		this.attributes.forget(pathString(p));
		this.reporting?.instanceDeleted(p.object, p.instance);
		response.code = Code.Deleted;
	}

	// ---------------------------------------------------------------- Write-Composite
	#writeComposite(request: Request, response: Response) {
		if (request.contentFormat !== ContentFormat.SenmlJson && request.contentFormat !== ContentFormat.SenmlCbor) throw new LwError(Code.UnsupportedContentFormat, "Write-Composite is SenML");
		const n = decode(this.model, request.contentFormat, request.payload, path(), this.#entries);
		if (!n) throw new LwError(Code.BadRequest, "no value in the request");
		// each value against its own resource's definition, then the application's checks
		// on what they leave together: all or nothing
		const all = this.#changes;
		all.length = 0;
		for (let k = 0; k < n; k++) {
			const e = this.#entries[k];
			resolve(this.model, path(e.object, e.instance, e.resource));
			gather(this.model, path(e.object, e.instance, e.resource, e.index), this.#entries.slice(k, k + 1), 1, e.index < 0, undefined, all);
		}
		judge(this.model, all);
		apply(all);
		all.length = 0;
		response.code = Code.Changed;
	}
}

function copyPath(e: Path): Path {
	return path(e.object, e.instance, e.resource, e.index);
}

const METHODS = ["", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"];
const methodName = (m: number) => METHODS[m] ?? `method ${m}`;
