// Observe (RFC 7641), server side: who observes what, with which token, and the
// bookkeeping of notifications — a 24-bit sequence, a confirmable one at least every
// `confirmableInterval` (24 h by default) so a vanished client is eventually noticed,
// at most one confirmable notification in flight per observer (a newer state waits
// and replaces older ones), and removal on RST or when a confirmable one times out.

import type { Peer } from "./endpoint";

export class Observation {
	readonly peer: Peer;
	readonly token: Uint8Array;
	readonly tokenKey: string;
	readonly path: string;
	readonly accept: number;
	lastConfirmable: number; // when the last CON notification went out (ms)
	inFlight = false; // a CON notification awaits its ACK
	pending = false; // a newer state to send once it is acknowledged
	lastMid = -1;
	/** GET, or FETCH for an observed query (RFC 8132): notifications are made with the same */
	method = 1;
	notifications = 0;
	/** what the layer above keeps per observation (LwM2M attributes, last value) */
	context: unknown = undefined;
	constructor(peer: Peer, token: Uint8Array, tokenKey: string, path: string, accept: number, now: number) {
		this.peer = peer;
		this.token = token;
		this.tokenKey = tokenKey;
		this.path = path;
		this.accept = accept;
		this.lastConfirmable = now;
	}
}

export class ObserveRegistry {
	readonly observations: Observation[] = [];
	#sequence = 0;
	readonly maxObservations: number;

	constructor(maxObservations = 16) {
		this.maxObservations = maxObservations;
	}
	/** The Observe value of the next notification (24 bits, wraps, §3.4). */
	nextSequence(): number {
		this.#sequence = (this.#sequence + 1) & 0xffffff;
		return this.#sequence;
	}
	find(peer: Peer, tokenKey: string): Observation | undefined {
		for (const o of this.observations) if (o.peer === peer && o.tokenKey === tokenKey) return o;
		return undefined;
	}
	/** Register, replacing an entry of the same client and resource (§4.1). */
	add(observation: Observation): boolean {
		for (let i = 0; i < this.observations.length; i++) {
			const o = this.observations[i];
			if (o.peer === observation.peer && (o.tokenKey === observation.tokenKey || o.path === observation.path)) {
				this.observations[i] = observation;
				return true;
			}
		}
		if (this.observations.length >= this.maxObservations) return false;
		this.observations.push(observation);
		return true;
	}
	remove(observation: Observation) {
		const i = this.observations.indexOf(observation);
		if (i >= 0) this.observations.splice(i, 1);
	}
	removeByPeer(peer: Peer, path: string) {
		for (let i = this.observations.length - 1; i >= 0; i--) {
			const o = this.observations[i];
			if (o.peer === peer && o.path === path) this.observations.splice(i, 1);
		}
	}
	byMid(peer: Peer, mid: number): Observation | undefined {
		for (const o of this.observations) if (o.peer === peer && o.lastMid === mid) return o;
		return undefined;
	}
}
