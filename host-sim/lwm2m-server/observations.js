// Active observations, found by CoAP token (what a notification carries) and by
// registration and paths (what a cancel names). Also decides whether a notification is
// fresh (RFC 7641 §3.4), since a retransmitted or reordered one must not be reported as
// a new value.
//
// A client keeps one observation per resource and observer (RFC 7641 §4.1: a second
// Observe of the same target replaces the first), so the server keeps one too, and
// whoever asks to observe what is already observed (the dashboard, a REST caller, the
// CLI) becomes one more Subscription of it. Cancelling a subscription cancels only it;
// the client is told only when the last one goes.
import { randomBytes } from "node:crypto";
import { formatPath } from "./path.js";

const FRESH_WINDOW = 2 ** 23;
const FRESH_AFTER_MS = 128_000;

export class Observation {
	constructor({ token, registration, paths, composite, format, pathFormat, onNotify }) {
		this.id = token.toString("hex");
		this.token = token;
		this.registrationId = registration.id;
		this.endpoint = registration.endpoint;
		this.paths = paths;
		this.composite = composite;
		this.format = format; // what was asked for (Accept), if anything
		this.pathFormat = pathFormat; // composite: format of the path list
		this.onNotify = onNotify;
		this.established = false;
		this.lastSeq = undefined;
		this.lastAt = 0;
		this.subscriptions = new Map(); // id -> Subscription
	}

	/** @param owner who may cancel it without naming its id ("local" in-process, "rest" over HTTP) */
	subscribe({ onNotify, owner = "local" }) {
		const subscription = new Subscription(this, { onNotify, owner });
		this.subscriptions.set(subscription.id, subscription);
		return subscription;
	}

	/** RFC 7641 §3.4: is a notification with sequence `seq` at `now` newer than the last? */
	fresh(seq, now) {
		if (this.lastSeq === undefined) return true;
		const v1 = this.lastSeq;
		const newer = (v1 < seq && seq - v1 < FRESH_WINDOW) || (v1 > seq && v1 - seq > FRESH_WINDOW) || now > this.lastAt + FRESH_AFTER_MS;
		return newer;
	}

	accept(seq, now) {
		this.lastSeq = seq;
		this.lastAt = now;
	}

	toJSON() {
		return {
			id: this.id,
			token: this.id,
			endpoint: this.endpoint,
			registrationId: this.registrationId,
			composite: this.composite,
			paths: this.paths.map(formatPath),
			format: this.format?.name,
		};
	}
}

export class Subscription {
	constructor(observation, { onNotify, owner }) {
		this.id = randomBytes(6).toString("hex");
		this.observation = observation;
		this.onNotify = onNotify;
		this.owner = owner;
	}
	toJSON() {
		return { ...this.observation.toJSON(), id: this.id, owner: this.owner };
	}
}

export class ObservationStore {
	constructor() {
		this.byToken = new Map();
	}
	add(observation) {
		this.byToken.set(observation.id, observation);
		return observation;
	}
	get(tokenHex) {
		return this.byToken.get(tokenHex);
	}
	remove(observation) {
		if (this.byToken.get(observation.id) === observation) this.byToken.delete(observation.id);
		observation.subscriptions.clear();
	}
	/** Every subscription, of one registration or all. */
	subscriptions(registrationId) {
		const list = registrationId === undefined ? this.all() : this.forRegistration(registrationId);
		return list.flatMap((o) => [...o.subscriptions.values()]);
	}
	forRegistration(registrationId) {
		return [...this.byToken.values()].filter((o) => o.registrationId === registrationId);
	}
	/** Observations of a registration on exactly these paths (single or composite). */
	find(registrationId, paths, composite) {
		const key = paths.map(formatPath).join(",");
		return this.forRegistration(registrationId).filter((o) => o.composite === composite && o.paths.map(formatPath).join(",") === key);
	}
	all() {
		return [...this.byToken.values()];
	}
	clear() {
		for (const o of this.all()) this.remove(o);
	}
}
