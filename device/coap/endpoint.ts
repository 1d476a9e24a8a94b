// The CoAP message layer and request/response layer (RFC 7252 §4, §5) for one socket,
// in both roles: it serves requests (to `onRequest`) and sends requests (request()).
//
//  - Confirmable messages are retransmitted with exponential back-off from a randomized
//    ACK_TIMEOUT until MAX_RETRANSMIT; one timer serves all of them.
//  - Received CON/NON messages are remembered per peer and Message ID for
//    EXCHANGE_LIFETIME / NON_LIFETIME: a duplicate gets the same answer again and never
//    reaches the handler twice.
//  - At most NSTART confirmable requests are outstanding per peer; more wait their turn.
//  - Responses match requests by token and peer; ACK and RST by Message ID and peer.

import { Alarm } from "../alarm";
import { Type, Code, Option, ACK_TIMEOUT, ACK_RANDOM_FACTOR, MAX_RETRANSMIT, NSTART, EXCHANGE_LIFETIME, NON_LIFETIME, MAX_MESSAGE } from "./constants";
import { Message, Encoder, Decoded, hexKey } from "./message";
import type { Transport } from "./transport";
import { monotonic } from "../monotonic";
import { Refusal, Refusals } from "./refusals";

export interface EndpointOptions {
	ackTimeout?: number;
	ackRandomFactor?: number;
	maxRetransmit?: number;
	nstart?: number;
	/** bytes of token for requests this endpoint sends (1..8) */
	tokenLength?: number;
	/** most remembered exchanges (duplicate detection); the oldest go first */
	maxRemembered?: number;
	log?: (text: string) => void;
}

export class Peer {
	readonly address: string;
	readonly port: number;
	readonly key: string;
	outstanding = 0; // confirmable requests awaiting their ACK or response (NSTART)
	readonly queue: ClientRequest[] = [];
	constructor(address: string, port: number, key: string) {
		this.address = address;
		this.port = port;
		this.key = key;
	}
}

/** Options a response may carry, filled in numeric order by the encoder. */
export class ResponseOptions {
	etag: Uint8Array | undefined = undefined;
	observe = -1;
	locationPath: string | undefined = undefined;
	contentFormat = -1;
	maxAge = -1;
	block2 = -1;
	block1 = -1;
	size2 = -1;
	size1 = -1;
	clear(): this {
		this.etag = undefined;
		this.observe = this.contentFormat = this.maxAge = this.block2 = this.block1 = this.size2 = this.size1 = -1;
		this.locationPath = undefined;
		return this;
	}
}

/** A request this endpoint serves; respond() now or later (a separate response). */
export class Exchange {
	readonly endpoint: Endpoint;
	readonly peer: Peer;
	readonly confirmable: boolean;
	readonly mid: number;
	readonly token: Uint8Array;
	/** the request; valid only while the handler runs */
	request: Message | undefined;
	responded = false;
	acknowledged = false; // an empty ACK went out: the response will be separate
	memory: Remembered | undefined;
	constructor(endpoint: Endpoint, peer: Peer, request: Message, memory: Remembered | undefined) {
		this.endpoint = endpoint;
		this.peer = peer;
		this.confirmable = request.type === Type.CON;
		this.mid = request.mid;
		this.token = request.token().slice();
		this.request = request;
		this.memory = memory;
	}
	/** The endpoint's scratch options, cleared: fill them, then respond(). */
	options(): ResponseOptions {
		return this.endpoint.responseOptions.clear();
	}
	respond(code: number, payload?: Uint8Array | string, options?: ResponseOptions) {
		if (this.responded) throw new Error("coap: exchange already answered");
		this.responded = true;
		this.endpoint.sendResponse(this, code, payload, options);
	}
}

export type RequestHandler = (exchange: Exchange) => void;

/** A request this endpoint sends. Fill it, then endpoint.request(it). */
export class ClientRequest {
	method = 1;
	path = "";
	query: string[] | undefined = undefined;
	payload: Uint8Array | string | undefined = undefined;
	contentFormat = -1;
	accept = -1;
	observe = -1;
	block1 = -1;
	block2 = -1;
	size1 = -1;
	/** 0 asks the server for the representation's size (RFC 7959 §4) */
	size2 = -1;
	confirmable = true;
	/** the response; `message` is only valid during the call */
	onResponse: (message: Message, request: ClientRequest) => void = () => {};
	/** "timeout" (no ACK after MAX_RETRANSMIT), "reset" (peer sent RST), "closed" */
	onError: (reason: string, request: ClientRequest) => void = () => {};
	// set by the endpoint
	peer: Peer | undefined = undefined;
	token: Uint8Array | undefined = undefined;
	tokenKey = "";
	mid = -1;
	acknowledged = false;
	done = false;
	/** keep matching responses on this token (an observation) after the first */
	keep = false;
}

interface Transmission {
	bytes: Uint8Array; // a copy: the encoder's buffer is reused
	peer: Peer;
	mid: number;
	deadline: number;
	timeout: number;
	retransmissions: number;
	request: ClientRequest | undefined;
	onDone: ((acked: boolean, reset: boolean) => void) | undefined;
}

interface Remembered {
	expires: number;
	response: Uint8Array | undefined; // the answer to repeat for a duplicate
	acknowledged: boolean;
}


export class Endpoint {
	readonly transport: Transport;
	onRequest: RequestHandler = (exchange) => exchange.respond(Code.NotFound);
	/** an RST for a message not awaiting an ACK (a non-confirmable one) */
	onReset: (mid: number, peer: Peer) => void = () => {};
	/**
	 * Whether this endpoint deals with a peer at all. A refused peer's request is answered
	 * 4.01 at once: no Peer, no duplicate memory, no Block1 buffer is made for it.
	 */
	accepts: (address: string, port: number) => boolean = () => true;
	/** what was refused, counted and logged once per period */
	readonly refusals: Refusals;
	readonly responseOptions = new ResponseOptions();
	readonly stats = { received: 0, sent: 0, retransmitted: 0, duplicates: 0, rejected: 0, handled: 0, timeouts: 0 };
	#encoder = new Encoder(MAX_MESSAGE);
	#message = new Message();
	#peers = new Map<string, Peer>();
	#remembered = new Map<string, Remembered>();
	#transmissions: Transmission[] = [];
	#requests = new Map<string, ClientRequest>();
	#mid: number;
	#alarm: Alarm;
	#ackTimeout: number;
	#randomFactor: number;
	#maxRetransmit: number;
	#nstart: number;
	#tokenLength: number;
	#maxRemembered: number;
	#log: (text: string) => void;
	#closed = false;

	constructor(transport: Transport | ((endpoint: Endpoint) => Transport), options: EndpointOptions = {}) {
		this.#ackTimeout = options.ackTimeout ?? ACK_TIMEOUT;
		this.#randomFactor = options.ackRandomFactor ?? ACK_RANDOM_FACTOR;
		this.#maxRetransmit = options.maxRetransmit ?? MAX_RETRANSMIT;
		this.#nstart = options.nstart ?? NSTART;
		this.#tokenLength = options.tokenLength ?? 4;
		this.#maxRemembered = options.maxRemembered ?? 32;
		this.#log = options.log ?? (() => {});
		this.refusals = new Refusals(this.#log);
		this.#mid = Math.floor(Math.random() * 0x10000);
		this.#alarm = new Alarm(() => this.#tick());
		this.transport = typeof transport === "function" ? transport(this) : transport;
	}

	peer(address: string, port: number): Peer {
		const key = address + ":" + port;
		let peer = this.#peers.get(key);
		if (!peer) {
			peer = new Peer(address, port, key);
			this.#peers.set(key, peer);
		}
		return peer;
	}

	nextMid(): number {
		this.#mid = (this.#mid + 1) & 0xffff;
		return this.#mid;
	}

	randomToken(length = this.#tokenLength): Uint8Array {
		const token = new Uint8Array(length);
		for (let i = 0; i < length; i++) token[i] = Math.floor(Math.random() * 256);
		return token;
	}

	// ---------------------------------------------------------------- receiving
	/** A datagram from the transport. Never throws: a bad datagram is answered or dropped. */
	receive(data: Uint8Array, address: string, port: number) {
		if (this.#closed) return;
		this.stats.received++;
		const m = this.#message;
		const verdict = m.decode(data);
		if (verdict !== Decoded.OK) {
			this.stats.rejected++;
			if (verdict === Decoded.FormatError && m.type === Type.CON) this.#sendEmpty(Type.RST, m.mid, address, port);
			this.refusals.note(verdict === Decoded.FormatError ? Refusal.Malformed : Refusal.Ignored, address, port, data.length);
			return;
		}
		if (m.badCriticalOption && !(m.type === Type.CON && m.isRequest)) {
			// an unrecognized critical option rejects the message (§5.4.1): only a CON request
			// gets 4.02; a NON or a CON response is answered RST, an ACK is dropped
			this.stats.rejected++;
			if (m.type !== Type.ACK) this.#sendEmpty(Type.RST, m.mid, address, port);
			this.refusals.note(Refusal.CriticalOption, address, port, m.badCriticalOption);
			return;
		}
		if (!this.accepts(address, port)) {
			this.#refuse(m, address, port);
			return;
		}
		const peer = this.peer(address, port);
		try {
			switch (m.type) {
				case Type.CON:
				case Type.NON:
					if (m.isRequest) this.#receiveRequest(m, peer);
					else if (m.isResponse) this.#receiveResponse(m, peer);
					else if (m.type === Type.CON) this.#sendEmpty(Type.RST, m.mid, address, port); // CoAP ping (§4.3)
					break;
				case Type.ACK:
					this.#receiveAck(m, peer);
					break;
				case Type.RST:
					this.#receiveReset(m, peer);
					break;
			}
		} catch (e) {
			// a handler's bug must not take the socket callback (and the device) down
			this.#log(`coap: error handling a message from ${peer.key}: ${(e as Error).message}`);
		}
	}

	// A peer this endpoint does not deal with: a request gets 4.01 (with no state kept: a
	// retransmission is refused the same way again), a message that is not one gets RST
	// unless it is an ACK or RST, which are dropped.
	#refuse(m: Message, address: string, port: number) {
		this.stats.rejected++;
		this.refusals.note(Refusal.NotServed, address, port, 0);
		if (m.type === Type.ACK || m.type === Type.RST) return;
		if (!m.isRequest) {
			if (m.type === Type.CON || m.isResponse) this.#sendEmpty(Type.RST, m.mid, address, port);
			return;
		}
		const e = this.#encoder.begin(m.type === Type.CON ? Type.ACK : Type.NON, Code.Unauthorized, m.type === Type.CON ? m.mid : this.nextMid(), m.token());
		e.payload("not our server");
		this.#sendRaw(e.end(), address, port);
	}

	#receiveRequest(m: Message, peer: Peer) {
		const key = peer.key + "#" + m.mid;
		const seen = this.#remembered.get(key);
		if (seen) {
			this.stats.duplicates++;
			if (seen.response) this.#transmit(seen.response, peer);
			else if (seen.acknowledged) this.#sendEmpty(Type.ACK, m.mid, peer.address, peer.port);
			return;
		}
		const memory: Remembered = { expires: monotonic() + (m.type === Type.CON ? EXCHANGE_LIFETIME : NON_LIFETIME), response: undefined, acknowledged: false };
		this.#remember(key, memory);
		const exchange = new Exchange(this, peer, m, memory);
		if (m.badCriticalOption) exchange.respond(Code.BadOption, `unrecognized critical option ${m.badCriticalOption}`);
		else if (m.code > 7) exchange.respond(Code.MethodNotAllowed);
		else {
			this.stats.handled++;
			try {
				this.onRequest(exchange);
			} catch (e) {
				this.#log(`coap: handler failed on ${m.path()}: ${(e as Error).message}`);
				if (!exchange.responded) exchange.respond(Code.InternalServerError);
			}
		}
		exchange.request = undefined;
		if (!exchange.responded && exchange.confirmable) {
			// answered later: acknowledge now so the client stops retransmitting (§5.2.2)
			exchange.acknowledged = memory.acknowledged = true;
			this.#sendEmpty(Type.ACK, exchange.mid, peer.address, peer.port);
		}
	}

	#receiveResponse(m: Message, peer: Peer) {
		const request = this.#requests.get(m.tokenKey());
		if (m.type === Type.CON) {
			// separate response: acknowledge it, and only once per Message ID
			const key = peer.key + "#" + m.mid;
			const seen = this.#remembered.get(key);
			if (seen) {
				this.stats.duplicates++;
				if (seen.response) this.#transmit(seen.response, peer);
				return;
			}
			if (!request || request.peer !== peer) {
				this.#sendEmpty(Type.RST, m.mid, peer.address, peer.port);
				return;
			}
			const ack = this.#encodeEmpty(Type.ACK, m.mid);
			this.#remember(key, { expires: monotonic() + EXCHANGE_LIFETIME, response: ack.slice(), acknowledged: true });
			this.#transmit(ack, peer);
		} else if (!request || request.peer !== peer) {
			if (m.type === Type.NON) this.#sendEmpty(Type.RST, m.mid, peer.address, peer.port);
			return;
		}
		this.#complete(request, m);
	}

	#receiveAck(m: Message, peer: Peer) {
		const t = this.#takeTransmission(m.mid, peer);
		if (!t) return; // late or unknown ACK: nothing to do
		t.onDone?.(true, false);
		const request = t.request;
		if (!request || request.done) return;
		this.#release(request);
		if (m.isEmpty) {
			request.acknowledged = true; // the response will come separately
			return;
		}
		if (m.tokenKey() !== request.tokenKey) return;
		this.#complete(request, m);
	}

	#receiveReset(m: Message, peer: Peer) {
		const t = this.#takeTransmission(m.mid, peer);
		if (!t) {
			this.onReset(m.mid, peer); // e.g. a client rejecting a NON notification
			return;
		}
		t.onDone?.(false, true);
		if (t.request && !t.request.done) this.#fail(t.request, "reset");
	}

	#complete(request: ClientRequest, m: Message) {
		// a response acknowledges the request implicitly (§5.3.2): stop retransmitting it
		const list = this.#transmissions;
		for (let i = list.length - 1; i >= 0; i--) if (list[i].request === request) list.splice(i, 1);
		if (!request.keep || !m.has(Option.Observe)) {
			request.done = true;
			this.#requests.delete(request.tokenKey);
		}
		if (!request.acknowledged && request.confirmable) this.#release(request);
		request.onResponse(m, request);
	}

	// ---------------------------------------------------------------- sending
	/** Send a request; the answer arrives at request.onResponse or request.onError. */
	request(request: ClientRequest, address: string, port: number): ClientRequest {
		if (this.#closed) throw new Error("coap: endpoint closed");
		const peer = this.peer(address, port);
		request.peer = peer;
		request.done = false;
		request.acknowledged = false;
		if (!request.token) {
			do request.token = this.randomToken(); while (this.#requests.has(hexKey(request.token, 0, request.token.length)));
		}
		request.tokenKey = hexKey(request.token, 0, request.token.length);
		if (request.confirmable && peer.outstanding >= this.#nstart) peer.queue.push(request);
		else this.#sendRequest(request);
		return request;
	}

	/** Stop waiting for a request (or cancel an observation's matching); no callback follows. */
	forget(request: ClientRequest) {
		request.done = true;
		this.#requests.delete(request.tokenKey);
		const peer = request.peer;
		if (peer) {
			const i = peer.queue.indexOf(request);
			if (i >= 0) peer.queue.splice(i, 1);
		}
		for (let i = this.#transmissions.length - 1; i >= 0; i--) if (this.#transmissions[i].request === request) this.#transmissions.splice(i, 1);
		this.#release(request);
	}

	#sendRequest(request: ClientRequest) {
		const peer = request.peer!;
		request.mid = this.nextMid();
		const e = this.#encoder.begin(request.confirmable ? Type.CON : Type.NON, request.method, request.mid, request.token);
		if (request.observe >= 0) e.uint(Option.Observe, request.observe);
		e.path(Option.UriPath, request.path);
		if (request.contentFormat >= 0) e.uint(Option.ContentFormat, request.contentFormat);
		if (request.query) for (const q of request.query) e.string(Option.UriQuery, q);
		if (request.accept >= 0) e.uint(Option.Accept, request.accept);
		if (request.block2 >= 0) e.uint(Option.Block2, request.block2);
		if (request.block1 >= 0) e.uint(Option.Block1, request.block1);
		if (request.size2 >= 0) e.uint(Option.Size2, request.size2);
		if (request.size1 >= 0) e.uint(Option.Size1, request.size1);
		if (request.payload !== undefined) e.payload(request.payload);
		this.#requests.set(request.tokenKey, request);
		if (request.confirmable) {
			peer.outstanding++;
			this.#confirmable(e.end(), peer, request.mid, request, undefined);
		} else this.#transmit(e.end(), peer);
	}

	/** Free the peer's NSTART slot and start its next queued request. */
	#release(request: ClientRequest) {
		const peer = request.peer;
		if (!peer || !request.confirmable || request.mid < 0) return;
		request.mid = -1;
		if (peer.outstanding > 0) peer.outstanding--;
		while (peer.outstanding < this.#nstart && peer.queue.length) this.#sendRequest(peer.queue.shift()!);
	}

	/**
	 * Send a confirmable message that is not a request (a separate response, a CON
	 * notification) and learn whether it was acknowledged, reset or timed out.
	 */
	sendConfirmable(bytes: Uint8Array, peer: Peer, mid: number, onDone: (acked: boolean, reset: boolean) => void) {
		this.#confirmable(bytes, peer, mid, undefined, onDone);
	}

	sendNonConfirmable(bytes: Uint8Array, peer: Peer) {
		this.#transmit(bytes, peer);
	}

	/** The endpoint's encoder, for layers that build their own messages (notifications). */
	get encoder(): Encoder {
		return this.#encoder;
	}

	sendResponse(exchange: Exchange, code: number, payload?: Uint8Array | string, options?: ResponseOptions) {
		const peer = exchange.peer;
		const piggyback = exchange.confirmable && !exchange.acknowledged;
		const type = piggyback ? Type.ACK : exchange.confirmable ? Type.CON : Type.NON;
		const mid = piggyback ? exchange.mid : this.nextMid();
		const e = this.#encoder.begin(type, code, mid, exchange.token);
		if (options) encodeResponseOptions(e, options);
		if (payload !== undefined) e.payload(payload);
		const bytes = e.end();
		if (type === Type.CON) this.#confirmable(bytes, peer, mid, undefined, undefined);
		else this.#transmit(bytes, peer);
		// a duplicate of the request gets this very response again
		if (exchange.memory && type !== Type.CON) exchange.memory.response = bytes.slice();
	}

	#confirmable(bytes: Uint8Array, peer: Peer, mid: number, request: ClientRequest | undefined, onDone: Transmission["onDone"]) {
		const timeout = this.#ackTimeout * (1 + Math.random() * (this.#randomFactor - 1));
		const t: Transmission = { bytes: bytes.slice(), peer, mid, deadline: monotonic() + timeout, timeout, retransmissions: 0, request, onDone };
		this.#transmissions.push(t);
		this.#transmit(t.bytes, peer);
		this.#arm();
	}

	#takeTransmission(mid: number, peer: Peer): Transmission | undefined {
		const list = this.#transmissions;
		for (let i = 0; i < list.length; i++) {
			if (list[i].mid === mid && list[i].peer === peer) return list.splice(i, 1)[0];
		}
		return undefined;
	}

	#encodeEmpty(type: number, mid: number): Uint8Array {
		return this.#encoder.begin(type, Code.Empty, mid).end();
	}

	#sendEmpty(type: number, mid: number, address: string, port: number) {
		this.#sendRaw(this.#encodeEmpty(type, mid), address, port);
	}

	#transmit(bytes: Uint8Array, peer: Peer) {
		this.#sendRaw(bytes, peer.address, peer.port);
	}

	#sendRaw(bytes: Uint8Array, address: string, port: number) {
		if (this.#closed) return;
		this.stats.sent++;
		try {
			this.transport.send(bytes, address, port);
		} catch (e) {
			this.#log(`coap: send to ${address}:${port} failed: ${(e as Error).message}`);
		}
	}

	#fail(request: ClientRequest, reason: string) {
		if (request.done) return;
		request.done = true;
		this.#requests.delete(request.tokenKey);
		this.#release(request);
		request.onError(reason, request);
	}

	#remember(key: string, memory: Remembered) {
		if (this.#remembered.size >= this.#maxRemembered) {
			// the oldest first: Map keeps insertion order
			const oldest = this.#remembered.keys().next().value;
			if (oldest !== undefined) this.#remembered.delete(oldest);
		}
		this.#remembered.set(key, memory);
		this.#arm();
	}

	// ---------------------------------------------------------------- time
	#arm() {
		let next = Infinity;
		for (const t of this.#transmissions) if (t.deadline < next) next = t.deadline;
		if (this.#remembered.size) {
			const first = this.#remembered.values().next().value;
			if (first && first.expires < next) next = first.expires;
		}
		this.#alarm.at(next);
	}

	#tick() {
		const now = monotonic();
		const list = this.#transmissions;
		for (let i = 0; i < list.length; i++) {
			const t = list[i];
			if (t.deadline > now) continue;
			if (t.retransmissions < this.#maxRetransmit) {
				t.retransmissions++;
				t.timeout *= 2;
				t.deadline = now + t.timeout;
				this.stats.retransmitted++;
				this.#transmit(t.bytes, t.peer);
				continue;
			}
			list.splice(i--, 1);
			this.stats.timeouts++;
			t.onDone?.(false, false);
			if (t.request) this.#fail(t.request, "timeout");
		}
		// forget exchanges past their lifetime (inserted in expiry order per type)
		for (const [key, memory] of this.#remembered) {
			if (memory.expires > now) continue;
			this.#remembered.delete(key);
		}
		// a request acknowledged with an empty ACK waits for its separate response, but
		// not forever (§5.2.2 leaves it to the client): give up after EXCHANGE_LIFETIME
		this.#arm();
	}

	close() {
		if (this.#closed) return;
		for (const request of [...this.#requests.values()]) this.#fail(request, "closed");
		for (const peer of this.#peers.values()) for (const r of peer.queue.splice(0)) r.onError("closed", r);
		this.#closed = true;
		this.#transmissions.length = 0;
		this.#remembered.clear();
		this.#alarm.close();
		this.refusals.close();
		this.transport.close();
	}
}

export function encodeResponseOptions(e: Encoder, o: ResponseOptions) {
	if (o.etag) e.bytes(Option.ETag, o.etag);
	if (o.observe >= 0) e.uint(Option.Observe, o.observe);
	if (o.locationPath !== undefined) e.path(Option.LocationPath, o.locationPath);
	if (o.contentFormat >= 0) e.uint(Option.ContentFormat, o.contentFormat);
	if (o.maxAge >= 0) e.uint(Option.MaxAge, o.maxAge);
	if (o.block2 >= 0) e.uint(Option.Block2, o.block2);
	if (o.block1 >= 0) e.uint(Option.Block1, o.block1);
	if (o.size2 >= 0) e.uint(Option.Size2, o.size2);
	if (o.size1 >= 0) e.uint(Option.Size1, o.size1);
}
