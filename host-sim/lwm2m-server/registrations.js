// Registered clients: by registration id (the /rd/<id> location), by endpoint name, and
// by source address (Send identifies its client only by where it comes from). Each
// registration carries an expiry timer on the injected clock, re-armed on every Update,
// so lifetimes run in virtual time when the server does.
import { randomBytes } from "node:crypto";

export class Registration {
	constructor(fields, { id, address, port, secure = false, pskIdentity, now }) {
		Object.assign(this, fields);
		this.id = id;
		this.address = address;
		this.port = port;
		this.secure = secure; // registered over DTLS
		this.pskIdentity = pskIdentity;
		this.registrationDate = now;
		this.lastUpdate = now;
		this.expiresAt = now + this.lifetime * 1000;
	}

	/** The Leshan-like JSON of GET /api/clients. */
	toJSON() {
		return {
			endpoint: this.endpoint,
			registrationId: this.id,
			registrationDate: new Date(this.registrationDate).toISOString(),
			lastUpdate: new Date(this.lastUpdate).toISOString(),
			expiresAt: new Date(this.expiresAt).toISOString(),
			address: `${this.address}:${this.port}`,
			smsNumber: this.smsNumber,
			lwM2mVersion: this.lwM2mVersion,
			lifetime: this.lifetime,
			bindingMode: this.bindingMode,
			rootPath: this.rootPath,
			objectLinks: this.objectLinks,
			secure: this.secure,
			pskIdentity: this.pskIdentity,
			additionalRegistrationAttributes: this.additionalRegistrationAttributes,
			queuemode: this.queueMode,
			supportedObjects: this.supportedObjects,
			availableInstances: this.availableInstances,
			supportedContentFormats: this.contentFormats,
		};
	}
}

export class RegistrationStore {
	/**
	 * @param clock {now(), after(ms, fn), cancel(item)}
	 * @param onExpire (registration) -> void, after it has been removed
	 * @param graceMs extra time past the lifetime before a registration expires
	 */
	constructor({ clock, onExpire, graceMs = 0 }) {
		this.clock = clock;
		this.onExpire = onExpire;
		this.graceMs = graceMs;
		this.byId = new Map();
		this.byEndpoint = new Map();
		this.timers = new Map(); // id -> clock item
	}

	#newId() {
		// random rather than counted: a client still holding a location from before a
		// server restart must get 4.04, not somebody else's registration
		let id;
		do id = randomBytes(5).toString("hex");
		while (this.byId.has(id));
		return id;
	}

	/** Add a registration; one already there for the endpoint is replaced (§6.2.1) and returned. */
	add(fields, rinfo) {
		const previous = this.byEndpoint.get(fields.endpoint);
		if (previous) this.remove(previous.id);
		const reg = new Registration(fields, { id: this.#newId(), address: rinfo.address, port: rinfo.port, secure: rinfo.secure === true, pskIdentity: rinfo.pskIdentity, now: this.clock.now() });
		this.byId.set(reg.id, reg);
		this.byEndpoint.set(reg.endpoint, reg);
		this.#arm(reg);
		return { registration: reg, previous };
	}

	update(id, changes, rinfo) {
		const reg = this.byId.get(id);
		if (!reg) return undefined;
		Object.assign(reg, changes);
		// the client may come from a new port (NAT rebinding): requests follow it
		reg.address = rinfo.address;
		reg.port = rinfo.port;
		reg.lastUpdate = this.clock.now();
		this.#arm(reg);
		return reg;
	}

	remove(id) {
		const reg = this.byId.get(id);
		if (!reg) return undefined;
		this.byId.delete(id);
		if (this.byEndpoint.get(reg.endpoint) === reg) this.byEndpoint.delete(reg.endpoint);
		const timer = this.timers.get(id);
		if (timer !== undefined) this.clock.cancel(timer);
		this.timers.delete(id);
		return reg;
	}

	#arm(reg) {
		const old = this.timers.get(reg.id);
		if (old !== undefined) this.clock.cancel(old);
		reg.expiresAt = reg.lastUpdate + reg.lifetime * 1000;
		this.timers.set(
			reg.id,
			this.clock.after(reg.lifetime * 1000 + this.graceMs, () => {
				this.timers.delete(reg.id);
				if (this.byId.get(reg.id) !== reg) return;
				this.remove(reg.id);
				this.onExpire(reg);
			}),
		);
	}

	get(id) {
		return this.byId.get(id);
	}
	byName(endpoint) {
		return this.byEndpoint.get(endpoint);
	}
	byAddress(address, port) {
		for (const reg of this.byId.values()) if (reg.address === address && reg.port === port) return reg;
		return undefined;
	}
	all() {
		return [...this.byId.values()];
	}
	clear() {
		for (const id of [...this.byId.keys()]) this.remove(id);
	}
}
