// Information Reporting (Core TS 1.1 §6.4): when an observed path is notified. The CoAP
// server keeps the observers and sends; this decides the moments, from the notification
// attributes: not before pmin after the last one, at the latest pmax after it, and for a
// numeric resource only when gt/lt is crossed or the value moved by st. epmax makes the
// device look at a value itself (a getter nobody announces changes of).
//
// One timer serves every observation: it is set for the earliest moment any is due.

import { Alarm } from "../alarm";
import type { CoapServer, Request } from "../coap/server";
import type { Observation } from "../coap/observe";
import { DataType, type Entry, type Path, isUnder, parsePath, path } from "./formats/index";
import { entryAt } from "./formats/record";
import { AttributeSet, type AttributeStore } from "./attributes";
import { collect } from "./content";
import type { Model } from "./model";
import { monotonic } from "../monotonic";


class Watch {
	readonly paths: Path[];
	lastSent = 0;
	lastValue = NaN; // the numeric value last reported, for gt/lt/st
	lastEvaluated = 0;
	pending = false; // a change waits for pmin
	attrs = new AttributeSet();
	constructor(paths: Path[]) {
		this.paths = paths;
	}
}

export class Reporting {
	readonly model: Model;
	readonly attributes: AttributeStore;
	readonly server: CoapServer;
	/** the Server object's default pmin/pmax (s) */
	defaults: () => { pmin: number; pmax: number };
	#alarm: Alarm;
	// composite paths of an observation being registered, by token, until the CoAP server has made it
	#registering = new Map<string, Path[]>();
	#entries: Entry[] = [];
	#probe = path();

	constructor(model: Model, attributes: AttributeStore, server: CoapServer, defaults: () => { pmin: number; pmax: number }) {
		this.model = model;
		this.attributes = attributes;
		this.server = server;
		this.defaults = defaults;
		this.#alarm = new Alarm(() => this.#tick());
		server.onObservationEnded = (o) => {
			o.context = undefined;
			this.#schedule();
		};
		server.onObservationAdded = (o) => {
			this.#watch(o);
			this.#schedule();
		};
	}

	close() {
		this.#alarm.close();
		this.#registering.clear();
	}

	get count() {
		return this.server.observations.length;
	}

	/**
	 * A representation of an observed path was just made: the registration's response or a
	 * notification. Remember what was reported and when.
	 */
	reported(request: Request, p: Path, composite: Path[] | undefined, entries: readonly Entry[], n: number) {
		const o = request.observation;
		let w = o ? (o.context as Watch | undefined) : undefined;
		if (!w) {
			w = new Watch(composite ?? [path(p.object, p.instance, p.resource, p.index)]);
			if (o) o.context = w;
			else if (request.message) {
				// bounded: a registration the CoAP server refused leaves its entry behind
				if (this.#registering.size >= 8) this.#registering.clear();
				this.#registering.set(request.message.tokenKey(), w.paths);
			}
		}
		w.lastSent = w.lastEvaluated = monotonic();
		w.pending = false;
		w.lastValue = n === 1 && isNumeric(entries[0].type) ? (entries[0].value as number) : NaN;
		this.#schedule();
	}

	/** The paths a composite observation was registered for. */
	compositePaths(o: Observation, out: Entry[]): number {
		const w = this.#watch(o);
		let n = 0;
		for (const p of w.paths) entryAt(out, n++).set(p.object, p.instance, p.resource, p.index, DataType.None, 0);
		return n;
	}

	/** A value changed: observers of a path that covers it may be due a notification. */
	changed(object: number, instance: number, resource: number) {
		const probe = this.#probe;
		probe.object = object;
		probe.instance = instance;
		probe.resource = resource;
		probe.index = -1;
		const now = monotonic();
		for (const o of this.server.observations) {
			const w = this.#watch(o);
			let covered = false;
			for (const p of w.paths) if (isUnder(probe, p) || (p.index >= 0 && p.object === object && p.instance === instance && p.resource === resource)) covered = true;
			if (covered) this.#evaluate(o, w, now);
		}
		this.#schedule();
	}

	attributesChanged() {
		this.#schedule();
	}

	instanceDeleted(object: number, instance: number) {
		this.changed(object, instance, -1);
	}

	// the Watch of an observation; made here when the registration went through the CoAP server
	#watch(o: Observation): Watch {
		let w = o.context as Watch | undefined;
		if (!w) {
			const composite = this.#registering.get(o.tokenKey);
			this.#registering.delete(o.tokenKey);
			const p = path();
			// the path Management parsed when it accepted the registration
			if (!composite) parsePath("/" + o.path, p);
			w = new Watch(composite ?? [p]);
			w.lastSent = w.lastEvaluated = monotonic();
			o.context = w;
		}
		return w;
	}

	#effective(w: Watch): AttributeSet {
		const { pmin, pmax } = this.defaults();
		// a composite observation takes the server's defaults (§6.4.3.2: attributes of the paths do not combine)
		if (w.paths.length !== 1 || w.paths[0].object < 0) {
			const a = w.attrs;
			a.pmin = pmin;
			a.pmax = pmax;
			a.gt = a.lt = a.st = NaN;
			a.epmin = a.epmax = -1;
			return a;
		}
		return this.attributes.effective(w.paths[0], pmin, pmax, w.attrs);
	}

	// whether the current state is worth a notification; sends it or marks it pending for pmin
	#evaluate(o: Observation, w: Watch, now: number) {
		const a = this.#effective(w);
		w.lastEvaluated = now;
		const p = w.paths[0];
		if (w.paths.length === 1 && p.resource >= 0) {
			const n = safeCollect(this.model, p, this.#entries);
			if (n === 1 && isNumeric(this.#entries[0].type)) {
				const v = this.#entries[0].value as number;
				const last = w.lastValue;
				const conditional = a.gt === a.gt || a.lt === a.lt || a.st === a.st;
				let due = !conditional ? v !== last : false;
				if (conditional && last === last) {
					if (a.gt === a.gt && (last <= a.gt) !== (v <= a.gt)) due = true;
					if (a.lt === a.lt && (last < a.lt) !== (v < a.lt)) due = true;
					if (a.st === a.st && Math.abs(v - last) >= a.st) due = true;
				} else if (conditional) due = true;
				if (!due) return;
			}
		}
		if (now - w.lastSent >= a.pmin * 1000) this.#notify(o, w);
		else w.pending = true;
	}

	#notify(o: Observation, w: Watch) {
		w.pending = false;
		w.lastSent = monotonic(); // also set by reported(); a deferred one must not be sent twice
		this.server.notifyObservation(o);
	}

	#tick() {
		const now = monotonic();
		for (const o of this.server.observations.slice()) {
			const w = this.#watch(o);
			const a = this.#effective(w);
			if (w.pending && now - w.lastSent >= a.pmin * 1000) this.#notify(o, w);
			else if (a.pmax > 0 && a.pmax >= a.pmin && now - w.lastSent >= a.pmax * 1000) this.#notify(o, w);
			else if (a.epmax > 0 && now - w.lastEvaluated >= a.epmax * 1000) this.#evaluate(o, w, now);
		}
		this.#schedule();
	}

	#schedule() {
		let next = Infinity;
		for (const o of this.server.observations) {
			const w = this.#watch(o);
			const a = this.#effective(w);
			if (w.pending) next = Math.min(next, w.lastSent + a.pmin * 1000);
			if (a.pmax > 0 && a.pmax >= a.pmin) next = Math.min(next, w.lastSent + a.pmax * 1000);
			if (a.epmax > 0) next = Math.min(next, w.lastEvaluated + a.epmax * 1000);
		}
		this.#alarm.at(next);
	}
}

const isNumeric = (t: DataType) => t === DataType.Integer || t === DataType.Unsigned || t === DataType.Float;

function safeCollect(model: Model, p: Path, out: Entry[]): number {
	try {
		return collect(model, p, out);
	} catch {
		return 0;
	}
}
