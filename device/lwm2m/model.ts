// The LwM2M object model (Core TS 1.1 §6.1): objects, their instances, and resources
// typed by the OMA definitions. An application describes an object with an ObjectDef and
// binds resources of an instance to its own state: a getter, a check + setter, an
// executor. Resources without a binding keep their value in the instance.
//
// Writes are two-phase (check every value, then apply) so a rejected write changes
// nothing; and every change, local or remote, goes through `changed()` so observers hear
// of it.

import { DataType, type Value } from "./formats/index";

/** Operations of a resource, as in the DDF <Operations>: R, W, RW, E. */
export const Op = { None: 0, R: 1, W: 2, RW: 3, E: 4 } as const;

export interface ResourceDef {
	readonly id: number;
	readonly type: DataType; // DataType.None for executables
	readonly ops: number;
	readonly multiple?: boolean;
	readonly mandatory?: boolean;
	/** numeric range, or the length range of a String/Opaque */
	readonly min?: number;
	readonly max?: number;
}

export interface ObjectDef {
	readonly id: number;
	/** object version when not 1.0: it goes into the registration links */
	readonly version?: string;
	readonly multiple: boolean;
	readonly resources: readonly ResourceDef[];
}

/** Resource instances of a multiple resource, by id. */
export type Multi = Map<number, Value>;
export type ResourceValue = Value | Multi;

/**
 * The values a write would leave: what the write sets, the current values elsewhere. A
 * check of one resource against another reads the other here, so that a write setting
 * both (a composite, an instance) is judged by its outcome, in whatever order it lists them.
 */
export interface Outcome {
	value(object: number, instance: number, resource: number): ResourceValue | undefined;
}

/** How an application owns a resource of an instance. */
export interface Binding {
	read?(): ResourceValue;
	/** Refuse a value the definition allows but the application does not: an error text (4.00). */
	check?(value: ResourceValue, outcome: Outcome): string | undefined;
	write?(value: ResourceValue): void;
	/** Arguments as sent (Core TS §5.4.5); an error text refuses (4.00). */
	execute?(args: string): string | undefined;
}

export class Instance {
	readonly object: LwObject;
	readonly id: number;
	readonly values = new Map<number, ResourceValue>();
	readonly bindings = new Map<number, Binding>();
	constructor(object: LwObject, id: number) {
		this.object = object;
		this.id = id;
	}
	/** Bind resource `id` to application code. */
	bind(id: number, binding: Binding): this {
		if (!this.object.resource(id)) throw new RangeError(`lwm2m: object ${this.object.def.id} has no resource ${id}`);
		this.bindings.set(id, binding);
		return this;
	}
	has(id: number): boolean {
		return this.bindings.has(id) || this.values.has(id);
	}
	read(id: number): ResourceValue | undefined {
		const b = this.bindings.get(id);
		return b?.read ? b.read() : this.values.get(id);
	}
	/** Set a value from the application side (no checks), and tell observers. */
	set(id: number, value: ResourceValue) {
		const b = this.bindings.get(id);
		if (b?.write) b.write(value);
		else this.values.set(id, value);
		this.object.model.changed(this.object.def.id, this.id, id);
	}
}

export class LwObject {
	readonly model: Model;
	readonly def: ObjectDef;
	readonly instances: Instance[] = []; // ascending ids
	/** The server asks for a new instance: return an error text to refuse; undefined to accept. */
	onCreate: ((instance: Instance) => string | undefined) | undefined = undefined;
	/** The server deletes an instance: return an error text to refuse. */
	onDelete: ((instance: Instance) => string | undefined) | undefined = undefined;
	constructor(model: Model, def: ObjectDef) {
		this.model = model;
		this.def = def;
	}
	// a scan of a few dozen definitions: no table indexed by ids up to 65535 (IPSO's are 5xxx)
	resource(id: number): ResourceDef | undefined {
		for (const r of this.def.resources) if (r.id === id) return r;
		return undefined;
	}
	instance(id: number): Instance | undefined {
		for (const i of this.instances) if (i.id === id) return i;
		return undefined;
	}
	/** Add an instance; `id` defaults to the lowest free one. */
	add(id = this.freeId()): Instance {
		if (this.instance(id)) throw new RangeError(`lwm2m: /${this.def.id}/${id} exists`);
		if (!this.def.multiple && this.instances.length) throw new RangeError(`lwm2m: object ${this.def.id} is single-instance`);
		return this.attach(new Instance(this, id));
	}
	/** Insert an instance made apart (a Create checks it before it exists). */
	attach(instance: Instance): Instance {
		const id = instance.id;
		let k = this.instances.length;
		while (k > 0 && this.instances[k - 1].id > id) k--;
		this.instances.splice(k, 0, instance);
		this.model.structureChanged();
		return instance;
	}
	remove(instance: Instance) {
		const k = this.instances.indexOf(instance);
		if (k < 0) return;
		this.instances.splice(k, 1);
		this.model.structureChanged();
	}
	freeId(): number {
		let id = 0;
		while (this.instance(id)) id++;
		return id;
	}
}

export class Model {
	readonly objects: LwObject[] = []; // ascending ids
	/** a resource changed: (object, instance, resource) */
	onChange: (object: number, instance: number, resource: number) => void = () => {};
	/** instances were added or removed: the registration must be updated */
	onStructure: () => void = () => {};
	/** the typeOf callback decoders take, bound once */
	readonly typeOf = (object: number, resource: number): DataType | undefined => this.object(object)?.resource(resource)?.type;

	define(def: ObjectDef): LwObject {
		if (this.object(def.id)) throw new RangeError(`lwm2m: object ${def.id} is already defined`);
		const o = new LwObject(this, def);
		let k = this.objects.length;
		while (k > 0 && this.objects[k - 1].def.id > def.id) k--;
		this.objects.splice(k, 0, o);
		this.structureChanged();
		return o;
	}
	object(id: number): LwObject | undefined {
		for (const o of this.objects) if (o.def.id === id) return o;
		return undefined;
	}
	instance(object: number, instance: number): Instance | undefined {
		return this.object(object)?.instance(instance);
	}
	changed(object: number, instance: number, resource: number) {
		this.onChange(object, instance, resource);
	}
	structureChanged() {
		this.onStructure();
	}
}

/** Whether `value` has the resource's type and lies in its range; an error text if not. */
export function checkValue(def: ResourceDef, value: Value): string | undefined {
	switch (def.type) {
		case DataType.String:
		case DataType.Corelnk:
			if (typeof value !== "string") return `a string was expected, not ${received(value)}`;
			if (def.max !== undefined && value.length > def.max) return `longer than ${def.max}`;
			return undefined;
		case DataType.Opaque:
			if (!(value instanceof Uint8Array)) return `opaque data was expected, not ${received(value)}`;
			if (def.max !== undefined && value.length > def.max) return `longer than ${def.max} bytes`;
			return undefined;
		case DataType.Boolean:
			return typeof value === "boolean" ? undefined : `a boolean was expected, not ${received(value)}`;
		case DataType.Objlnk:
			return typeof value === "string" && /^\d{1,5}:\d{1,5}$/.test(value) ? undefined : `an object link was expected, not ${received(value)}`;
		case DataType.Integer:
		case DataType.Unsigned:
		case DataType.Time:
			if (typeof value !== "number") return `an integer was expected, not ${received(value)}`;
			if (!Number.isFinite(value)) return `${value} is not a finite number`;
			if (!Number.isInteger(value)) return `${value} is not an integer`;
			if (!Number.isSafeInteger(value)) return `${value} is beyond the integers this device holds exactly`;
			if (def.type === DataType.Unsigned && value < 0) return `${value} is negative, and the resource is unsigned`;
			break;
		case DataType.Float:
			if (typeof value !== "number") return `a number was expected, not ${received(value)}`;
			if (!Number.isFinite(value)) return `${value} is not a finite number`;
			break;
		default:
			return "the resource has no value";
	}
	if (def.min !== undefined && (value as number) < def.min) return `below ${def.min}`;
	if (def.max !== undefined && (value as number) > def.max) return `above ${def.max}`;
	return undefined;
}

/** What a value of the wrong type is, for a reason: `the string "abc"`, `true`, `3 bytes of opaque data`. */
function received(value: Value): string {
	if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)}`;
	if (value instanceof Uint8Array) return `${value.length} bytes of opaque data`;
	return String(value);
}
