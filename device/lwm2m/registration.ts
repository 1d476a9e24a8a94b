// The Registration interface, client side (Core TS 1.1 §6.2): Register, Update,
// De-register, and the 1.1 registration retry procedure (§6.2.1.1): an attempt that fails
// is retried after retryTimer * 2^(n-1) seconds, up to retryCount attempts; then after
// sequenceDelay the whole sequence again, up to sequenceRetryCount sequences. Waits get a
// random jitter so that a fleet rebooting together does not register in lockstep.
//
// The specification stops there ("registration failed"); a thermostat must not stay
// unregistered until a reboot while its server is reachable again, so once the sequences
// are used up the client goes on with a slow retry: one Register attempt (a CON with its
// retransmissions) per `slowRetryPeriod`, until one is answered. One attempt rather than a
// fresh sequence: the rate against a server that is down is then one exchange per period,
// whatever the server wrote into the retry resources. The network coming back (networkUp)
// starts a fresh 1.1 procedure at once; while it is down, no attempt goes out.
//
// An Update goes out before the lifetime runs out, and soon after anything the server
// must know changes (objects, lifetime, binding); an Update answered 4.04 means the server
// forgot the client: register again.

import { Alarm } from "../alarm";
import { Code, ContentFormat, Method, codeText } from "../coap/constants";
import { ClientRequest, type Endpoint } from "../coap/endpoint";
import type { Message } from "../coap/message";
import { monotonic } from "../monotonic";

export interface RegistrationSettings {
	endpointName: string;
	lifetime: number; // s
	binding: string;
	address: string;
	port: number;
	retryCount: number;
	retryTimer: number; // s
	sequenceDelay: number; // s
	sequenceRetryCount: number;
}

export const State = {
	Stopped: "stopped",
	Registering: "registering",
	Registered: "registered",
	Updating: "updating",
	Waiting: "waiting", // a retry of the 1.1 procedure is due later
	SlowRetry: "waiting for a slow retry", // every 1.1 sequence failed: one attempt per slowRetryPeriod
	Offline: "offline", // no network: the procedure starts over when it is back
	Deregistering: "deregistering",
	Disabled: "disabled", // by the server (/1/x/4), for the disable timeout
} as const;
export type State = (typeof State)[keyof typeof State];

const MAX_TRANSMIT_WAIT = 93; // s: an Update must be answered before the lifetime ends
const DEFAULT_SLOW_RETRY = 300; // s: settings.ts REGISTRATION_RETRY_PERIOD says why

export class Registration {
	readonly endpoint: Endpoint;
	state: State = State.Stopped;
	/** Location-Path the server gave ("rd/5a3f") */
	location = "";
	registeredAt = 0;
	/** registrations made; updates sent and answered */
	stats = { registrations: 0, updates: 0, failures: 0 };
	onStateChange: (state: State, why: string) => void = () => {};
	/** an attempt failed without an answer (a timeout): the transport may need a new session */
	onFailure: () => void = () => {};
	/** s between the slow retries that follow the used-up 1.1 sequences (settings.ts checks the configured value) */
	slowRetryPeriod = DEFAULT_SLOW_RETRY;
	#settings: () => RegistrationSettings;
	#links: () => Uint8Array;
	#log: (text: string) => void;
	#alarm: Alarm;
	#attempt = 0;
	#sequence = 0;
	#slow = false; // the attempt under way is a slow retry
	#online = true;
	#updateLinks = false;
	#updateParams = false;
	#request: ClientRequest | undefined = undefined;
	#sent: { lifetime: number; binding: string } = { lifetime: 0, binding: "" };

	constructor(endpoint: Endpoint, settings: () => RegistrationSettings, links: () => Uint8Array, log: (text: string) => void) {
		this.endpoint = endpoint;
		this.#settings = settings;
		this.#links = links;
		this.#log = log;
		this.#alarm = new Alarm(() => this.#due());
	}

	get registered() {
		return this.state === State.Registered || this.state === State.Updating;
	}

	/** Register now, with a fresh 1.1 procedure (a first boot, the network back). */
	start() {
		this.#attempt = 0;
		this.#sequence = 0;
		this.#slow = false;
		this.#register();
	}

	/** The link is gone: no attempt goes out until networkUp (a registration keeps its Update schedule). */
	networkDown() {
		this.#online = false;
		if (this.state === State.Registering || this.state === State.Waiting || this.state === State.SlowRetry) this.#offline();
	}

	/**
	 * The link is back: an unregistered client starts a fresh procedure at once; a registered
	 * one sends an Update (its address may have changed, and a NoSec server knows it by that),
	 * never a new Register. Stopped (never started, or shut down) and Disabled stay as they are.
	 */
	networkUp() {
		this.#online = true;
		switch (this.state) {
			case State.Offline:
			case State.Waiting:
			case State.SlowRetry:
			case State.Registering:
				this.#log(`lwm2m: network back: registering now (was ${this.state})`);
				this.start();
				return;
			case State.Registered:
				this.update();
				return;
		}
	}

	/** Send an Update soon; with new links when the objects changed, with lt/b when those did. */
	update(links = false) {
		if (links) this.#updateLinks = true;
		if (this.state === State.Registered) this.#wait(0);
	}

	/** De-register, then stay stopped; `done` runs when the server answered or gave up. */
	deregister(done?: (ok: boolean) => void) {
		this.#cancel();
		if (!this.registered || !this.location) {
			this.#set(State.Stopped, "not registered");
			done?.(false);
			return;
		}
		this.#set(State.Deregistering, "");
		const r = this.#newRequest(Method.DELETE, this.location);
		r.onResponse = (m) => {
			this.location = "";
			this.#set(State.Stopped, `deregistered (${codeText(m.code)})`);
			done?.(m.code === Code.Deleted);
		};
		r.onError = (reason) => {
			this.location = "";
			this.#set(State.Stopped, `deregistration got no answer (${reason})`);
			done?.(false);
		};
		this.#send(r);
	}

	/** The server disabled us (/1/x/4): de-register, wait `seconds`, register again. */
	disable(seconds: number) {
		this.deregister(() => {
			this.#set(State.Disabled, `for ${seconds} s`);
			this.#attempt = 0;
			this.#sequence = 0;
			this.#alarm.after(seconds * 1000);
		});
	}

	close() {
		this.#cancel();
		this.#alarm.close();
		this.state = State.Stopped;
	}

	// ---------------------------------------------------------------- the procedure
	#due() {
		switch (this.state) {
			case State.Registered:
				this.#sendUpdate();
				return;
			case State.Waiting:
			case State.Disabled:
			case State.SlowRetry:
				this.#register();
				return;
		}
	}

	#register() {
		this.#cancel();
		const s = this.#settings();
		this.#set(State.Registering, this.#slow ? `slow retry (one attempt every ${this.slowRetryPeriod} s)` : `attempt ${this.#attempt + 1} of ${s.retryCount}, sequence ${this.#sequence + 1} of ${s.sequenceRetryCount}`);
		const r = this.#newRequest(Method.POST, "rd");
		r.query = [`ep=${s.endpointName}`, `lt=${s.lifetime}`, "lwm2m=1.1", `b=${s.binding}`];
		r.contentFormat = ContentFormat.LinkFormat;
		r.payload = this.#links();
		r.onResponse = (m) => {
			if (m.code !== Code.Created) return this.#failed(`Register answered ${codeText(m.code)}${reason(m)}`);
			const location = m.strings(8 /* Location-Path */).join("/");
			if (!location.startsWith("rd/") && location !== "rd") return this.#failed(`Register answered without a Location-Path under /rd ("${location}")`);
			this.location = location;
			this.registeredAt = monotonic();
			this.stats.registrations++;
			this.#attempt = 0;
			this.#sequence = 0;
			this.#slow = false;
			this.#sent.lifetime = s.lifetime;
			this.#sent.binding = s.binding;
			this.#updateLinks = false;
			this.#set(State.Registered, `as /${location}, lifetime ${s.lifetime} s`);
			this.#scheduleUpdate();
		};
		r.onError = (why) => {
			this.onFailure();
			this.#failed(`Register got no answer (${why})`);
		};
		this.#send(r);
	}

	#sendUpdate() {
		const s = this.#settings();
		this.#set(State.Updating, "");
		const r = this.#newRequest(Method.POST, this.location);
		const query: string[] = [];
		// lt and b only when they differ from what the server has (§6.2.2)
		if (s.lifetime !== this.#sent.lifetime) query.push(`lt=${s.lifetime}`);
		if (s.binding !== this.#sent.binding) query.push(`b=${s.binding}`);
		if (query.length) r.query = query;
		const withLinks = this.#updateLinks;
		if (withLinks) {
			r.contentFormat = ContentFormat.LinkFormat;
			r.payload = this.#links();
		}
		this.#updateLinks = false;
		r.onResponse = (m) => {
			if (m.code === Code.Changed) {
				this.stats.updates++;
				this.#sent.lifetime = s.lifetime;
				this.#sent.binding = s.binding;
				this.registeredAt = monotonic();
				this.#set(State.Registered, `updated${query.length ? " " + query.join("&") : ""}${withLinks ? " with links" : ""}`);
				this.#scheduleUpdate();
			} else if (m.code === Code.NotFound) {
				// the server lost the registration (restarted, or it expired there)
				this.location = "";
				this.#log("lwm2m: Update answered 4.04: registering again");
				this.#attempt = 0;
				this.#sequence = 0;
				this.#slow = false;
				this.#register();
			} else this.#failed(`Update answered ${codeText(m.code)}${reason(m)}`);
		};
		r.onError = (why) => {
			this.location = "";
			this.onFailure();
			this.#failed(`Update got no answer (${why})`);
		};
		this.#send(r);
	}

	#scheduleUpdate() {
		const lifetime = this.#settings().lifetime;
		// early enough for a CON Update to be retransmitted to the end before the lifetime ends
		const margin = Math.min(lifetime / 2, Math.max(lifetime / 10, MAX_TRANSMIT_WAIT));
		this.#wait((lifetime - margin) * 1000, State.Registered);
	}

	#failed(why: string) {
		this.stats.failures++;
		const s = this.#settings();
		this.#log(`lwm2m: ${why}`);
		if (!this.#online) return this.#offline();
		if (this.#slow) return this.#slowRetry(`slow retry failed`);
		this.#attempt++;
		let delay: number;
		if (this.#attempt < s.retryCount) {
			delay = s.retryTimer * 2 ** (this.#attempt - 1);
		} else {
			this.#attempt = 0;
			this.#sequence++;
			if (this.#sequence >= s.sequenceRetryCount) {
				this.#sequence = 0;
				this.#slow = true;
				return this.#slowRetry(`registration failed after ${s.sequenceRetryCount} sequence(s) of ${s.retryCount} attempts`);
			}
			delay = s.sequenceDelay;
		}
		// up to +25 %: spreads a fleet out
		const ms = Math.round(delay * 1000 * (1 + Math.random() * 0.25));
		this.#set(State.Waiting, `next attempt in ${Math.round(ms / 1000)} s`);
		this.#wait(ms);
	}

	// the jitter takes up to a quarter off, never adds: the period is the longest a reachable
	// server waits for the next attempt
	#slowRetry(why: string) {
		const ms = Math.round(this.slowRetryPeriod * 1000 * (1 - Math.random() * 0.25));
		this.#set(State.SlowRetry, `${why}; next attempt in ${Math.round(ms / 1000)} s (one every ${this.slowRetryPeriod} s until registered)`);
		this.#wait(ms);
	}

	#offline() {
		this.#cancel();
		this.#set(State.Offline, "no network: registering when it is back");
	}

	#wait(ms: number, state?: State) {
		if (state) this.state = state;
		this.#alarm.after(ms);
	}

	#cancel() {
		this.#alarm.cancel();
		if (this.#request && !this.#request.done) this.endpoint.forget(this.#request);
		this.#request = undefined;
	}

	#newRequest(method: number, path: string): ClientRequest {
		const r = new ClientRequest();
		r.method = method;
		r.path = path;
		return r;
	}

	#send(r: ClientRequest) {
		const s = this.#settings();
		this.#request = r;
		this.endpoint.request(r, s.address, s.port);
	}

	#set(state: State, why: string) {
		this.state = state;
		if (why) this.#log(`lwm2m: ${state}${why ? ": " + why : ""}`);
		this.onStateChange(state, why);
	}
}


function reason(m: Message): string {
	const p = m.payload();
	return p.length ? ` "${String.fromCharCode(...p.subarray(0, 60))}"` : "";
}
