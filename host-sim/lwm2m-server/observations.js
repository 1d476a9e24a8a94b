// Active observations, found by CoAP token (what a notification carries) and by
// registration and paths (what a cancel names). Also decides whether a notification is
// fresh (RFC 7641 §3.4), since a retransmitted or reordered one must not be reported as
// a new value.
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
		this.stream = undefined; // npm coap's observe stream, closed on cancel
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

	close() {
		try {
			this.stream?.close();
		} catch {}
		this.stream = undefined;
	}

	toJSON() {
		return {
			id: this.id,
			endpoint: this.endpoint,
			registrationId: this.registrationId,
			composite: this.composite,
			paths: this.paths.map(formatPath),
			format: this.format?.name,
		};
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
		this.byToken.delete(observation.id);
		observation.close();
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
