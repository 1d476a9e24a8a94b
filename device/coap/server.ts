// Resources served over an Endpoint, with block-wise transfers and Observe handled here
// so that a handler sees whole requests and produces whole representations:
//
//   const server = new CoapServer(endpoint, (request, response) => { ... });
//   server.notify("sensor/temp");   // observers of that path get the new state
//
// A handler fills `response` (code, payload, contentFormat) and returns; or calls
// response.defer() and response.send() later (a separate response). The same handler
// produces notifications: it is called with request.notification set.

import { Code, Method, Option, Type } from "./constants";
import { blockNum, blockSzx, blockSize, blockValue, type Message } from "./message";
import { Endpoint, Exchange, Peer, ResponseOptions, encodeResponseOptions } from "./endpoint";
import { Block1Receiver, Block1Result, Block1Stream, Block2Sender, type Block1Sink } from "./block";
import { Observation, ObserveRegistry } from "./observe";
import { utf8Read, utf8Encode } from "./utf8";
import { monotonic } from "../monotonic";

const EMPTY = new Uint8Array(0);

export class Request {
	method: number = Method.GET;
	path = "";
	peer: Peer;
	query: string[] = [];
	contentFormat = -1;
	accept = -1;
	/** Observe option of the request: 0 register, 1 deregister, -1 none */
	observe = -1;
	payload: Uint8Array = new Uint8Array(0);
	/** the raw message, while the handler runs (undefined for notifications) */
	message: Message | undefined = undefined;
	/** set when the handler is asked for the state to notify an observer with */
	notification = false;
	observation: Observation | undefined = undefined;
	constructor(peer: Peer) {
		this.peer = peer;
	}
	/** The payload as text. */
	text(): string {
		return utf8Read(this.payload);
	}
}

export class Response {
	code: number = Code.Content;
	payload: Uint8Array | string | undefined = undefined;
	contentFormat = -1;
	locationPath: string | undefined = undefined;
	maxAge = -1;
	deferred = false;
	/** set by the handler when a GET may be observed (registration needs a 2.05 too) */
	observable = false;
	#send: ((response: Response) => void) | undefined;
	constructor(send: (response: Response) => void) {
		this.#send = send;
	}
	/** Ready for another use (a notification): defaults back, `send` the way out. */
	rearm(send: (response: Response) => void): this {
		this.code = Code.Content;
		this.payload = undefined;
		this.contentFormat = -1;
		this.locationPath = undefined;
		this.maxAge = -1;
		this.deferred = false;
		this.observable = false;
		this.#send = send;
		return this;
	}
	/** Answer later; call send() when ready. A CON request is acknowledged meanwhile. */
	defer() {
		this.deferred = true;
	}
	send() {
		const send = this.#send;
		this.#send = undefined;
		if (!send) throw new Error("coap: response already sent");
		send(this);
	}
	/** The payload as bytes (strings are UTF-8 encoded). */
	bytes(): Uint8Array {
		const p = this.payload;
		if (p === undefined) return new Uint8Array(0);
		return typeof p === "string" ? utf8Encode(p) : p;
	}
}

export type Handler = (request: Request, response: Response) => void;

export interface ServerOptions {
	/** largest request body accepted block-wise (bytes); more is 4.13 */
	maxBody?: number;
	/** preferred block size exponent for large responses: 2^(szx+4) bytes, 0..6 */
	blockSzx?: number;
	/** every notification confirmable (default: NON, with a CON at least every confirmableInterval) */
	confirmableNotifications?: boolean;
	confirmableInterval?: number;
	maxObservations?: number;
	log?: (text: string) => void;
}

const DAY = 86_400_000;

export class CoapServer {
	readonly endpoint: Endpoint;
	readonly registry: ObserveRegistry;
	handler: Handler;
	confirmableNotifications: boolean;
	confirmableInterval: number;
	/** an observation ended: "deregistered", "reset", "timeout", "error", "replaced" */
	onObservationEnded: (observation: Observation, reason: string) => void = () => {};
	/** an observation was registered (its first response is about to go out) */
	onObservationAdded: (observation: Observation, request: Request) => void = () => {};
	#block1: Block1Receiver;
	#block2: Block2Sender;
	#streams: Block1Stream[] = [];
	#options = new ResponseOptions();
	#log: (text: string) => void;

	constructor(endpoint: Endpoint, handler: Handler, options: ServerOptions = {}) {
		this.endpoint = endpoint;
		this.handler = handler;
		this.registry = new ObserveRegistry(options.maxObservations ?? 16);
		this.confirmableNotifications = options.confirmableNotifications ?? false;
		this.confirmableInterval = options.confirmableInterval ?? DAY;
		this.#block1 = new Block1Receiver(options.maxBody ?? 16_384);
		this.#block2 = new Block2Sender(options.blockSzx ?? 6);
		this.#log = options.log ?? (() => {});
		endpoint.onRequest = (exchange) => this.#request(exchange);
		endpoint.onReset = (mid, peer) => {
			const o = this.registry.byMid(peer, mid);
			if (o) this.#end(o, "reset");
		};
	}

	#request(exchange: Exchange) {
		const m = exchange.request!;
		const peer = exchange.peer;
		const path = m.path();
		const key = peer.key + " " + path;
		const now = monotonic();
		this.#block1.expire(now);
		this.#block2.expire(now);
		const method = m.code;
		const block2 = m.uint(Option.Block2);
		if (block2 >= 0 && blockSzx(block2) === 7) {
			exchange.respond(Code.BadRequest, "Block2 SZX 7 is reserved");
			return;
		}
		// a later block of a representation kept from block 0
		if (block2 >= 0 && blockNum(block2) > 0 && (method === Method.GET || method === Method.FETCH)) {
			const kept = this.#block2.kept(key);
			if (kept) {
				this.#sendBlock(exchange, key, Code.Content, kept.payload, kept.contentFormat, kept.etag, block2, -1, -1, -1, m.has(Option.Size2));
				return;
			}
		}
		let payload = m.payload();
		let finalBlock1 = -1;
		const block1 = m.uint(Option.Block1);
		if (method === Method.PUT || method === Method.POST) {
			for (const s of this.#streams) {
				s.expire(now);
				if (s.path === path) return s.receive(exchange, method, m.uint(Option.ContentFormat), block1, m.uint(Option.Size1), payload);
			}
		}
		if (block1 >= 0) {
			const result = this.#block1.receive(exchange, key, block1, payload, m.uint(Option.Size1));
			if (result !== Block1Result.Complete) return;
			payload = this.#block1.completed;
			finalBlock1 = this.#block1.finalBlock1;
		}
		const request = new Request(peer);
		request.method = method;
		request.path = path;
		request.query = m.strings(Option.UriQuery);
		request.contentFormat = m.uint(Option.ContentFormat);
		request.accept = m.uint(Option.Accept);
		request.observe = m.uint(Option.Observe);
		request.payload = payload;
		request.message = m;
		const wantsSize2 = m.has(Option.Size2);
		const tokenKey = m.tokenKey();
		const response = new Response((r) => this.#finish(exchange, key, request, r, block2, finalBlock1, wantsSize2, tokenKey));
		this.handler(request, response);
		request.message = undefined;
		if (!response.deferred) response.send();
	}

	#finish(exchange: Exchange, key: string, request: Request, response: Response, block2: number, block1: number, wantsSize2: boolean, tokenKey: string) {
		const peer = exchange.peer;
		let observe = -1;
		if (request.method === Method.GET || request.method === Method.FETCH) {
			const existing = this.registry.find(peer, tokenKey);
			if (request.observe === 0 && response.observable && response.code === Code.Content) {
				const o = new Observation(peer, exchange.token, tokenKey, request.path, request.accept, monotonic());
				o.method = request.method;
				if (this.registry.add(o)) {
					observe = this.registry.nextSequence();
					this.onObservationAdded(o, request);
				}
				else this.#log(`coap: too many observations, ${peer.key} not registered for ${request.path}`);
			} else if (existing && (request.observe === 1 || request.observe < 0 || response.code !== Code.Content)) {
				this.#end(existing, "deregistered");
			}
		}
		this.#sendBlock(exchange, key, response.code, response.bytes(), response.contentFormat, undefined, block2, observe, block1, response.maxAge, wantsSize2, response.locationPath);
	}

	// Sends a whole representation, or the requested block of it when it is larger than
	// the block size both sides accept (the client's Block2 SZX asks for smaller ones).
	#sendBlock(exchange: Exchange, key: string, code: number, payload: Uint8Array, format: number, etag: Uint8Array | undefined, block2: number, observe: number, block1: number, maxAge: number, wantsSize2: boolean, locationPath?: string) {
		const o = exchange.options();
		o.observe = observe;
		o.contentFormat = payload.length || format >= 0 ? format : -1;
		o.maxAge = maxAge;
		o.block1 = block1;
		o.locationPath = locationPath;
		let szx = this.#block2.szx;
		if (block2 >= 0 && blockSzx(block2) < szx) szx = blockSzx(block2);
		const size = blockSize(szx);
		if (payload.length > size || (block2 >= 0 && blockNum(block2) > 0)) {
			const num = block2 >= 0 ? Math.floor((blockNum(block2) * blockSize(blockSzx(block2))) / size) : 0;
			const start = num * size;
			if (start >= payload.length && num > 0) {
				exchange.respond(Code.BadOption, "Block2 past the end of the representation");
				return;
			}
			const end = Math.min(payload.length, start + size);
			if (!etag) etag = this.#block2.keep(key, payload, format).etag;
			o.etag = etag;
			o.block2 = blockValue(num, end < payload.length, szx);
			if (num === 0 || wantsSize2) o.size2 = payload.length;
			exchange.respond(code, payload.subarray(start, end), o);
			return;
		}
		exchange.respond(code, payload.length ? payload : undefined, o);
	}

	/**
	 * PUT and POST bodies on `path` go to `sink` block by block as they arrive (Block1Stream),
	 * not to the handler; the sink answers. Returns the stream (its phase, reset()).
	 */
	stream(path: string, sink: Block1Sink, idleMs?: number): Block1Stream {
		const s = new Block1Stream(path, sink, this.#block1.maxSzx, idleMs);
		this.#streams.push(s);
		return s;
	}

	// ---------------------------------------------------------------- notifications
	get observations(): readonly Observation[] {
		return this.registry.observations;
	}

	/** Notify every observer of `path` with its current state. */
	notify(path: string) {
		const list = this.registry.observations;
		for (let i = list.length - 1; i >= 0; i--) if (list[i]?.path === path) this.notifyObservation(list[i]);
	}

	notifyObservation(o: Observation) {
		if (o.inFlight) {
			o.pending = true; // sent when the confirmable one in flight is acknowledged
			return;
		}
		// one Request and Response serve every notification a handler answers at once (no
		// garbage per notification); one it defers keeps them, and the next gets new ones
		const request = (this.#noteRequest ??= new Request(o.peer));
		request.peer = o.peer;
		request.method = o.method;
		request.path = o.path;
		request.query.length = 0;
		request.contentFormat = -1;
		request.accept = o.accept;
		request.observe = 0;
		request.payload = EMPTY;
		request.notification = true;
		request.observation = o;
		const response = (this.#noteResponse ??= new Response(this.#sendNote)).rearm(this.#sendNote);
		this.handler(request, response);
		if (response.deferred) {
			this.#noting.set(response, o);
			this.#noteRequest = this.#noteResponse = undefined;
			return;
		}
		response.send();
		request.observation = undefined;
	}

	#noteRequest: Request | undefined = undefined;
	#noteResponse: Response | undefined = undefined;
	// the observation travels on the response's request: a deferred one still knows it
	#sendNote = (response: Response) => {
		const o = this.#noting.get(response) ?? this.#noteRequest?.observation;
		this.#noting.delete(response);
		if (o) this.#sendNotification(o, response);
	};
	#noting = new Map<Response, Observation>();

	#sendNotification(o: Observation, response: Response) {
		if (this.registry.observations.indexOf(o) < 0) return;
		const now = monotonic();
		const confirmable = this.confirmableNotifications || now - o.lastConfirmable >= this.confirmableInterval;
		const ended = response.code !== Code.Content; // an error ends the observation (§3.2)
		const payload = response.bytes();
		const opts = this.#options.clear();
		const size = blockSize(this.#block2.szx);
		let body = payload;
		if (payload.length > size) {
			opts.etag = this.#block2.keep(o.peer.key + " " + o.path, payload, response.contentFormat).etag;
			opts.block2 = blockValue(0, true, this.#block2.szx);
			opts.size2 = payload.length;
			body = payload.subarray(0, size);
		}
		if (!ended) opts.observe = this.registry.nextSequence();
		opts.contentFormat = payload.length ? response.contentFormat : -1;
		const mid = this.endpoint.nextMid();
		const e = this.endpoint.encoder.begin(confirmable ? Type.CON : Type.NON, response.code, mid, o.token);
		encodeResponseOptions(e, opts);
		if (body.length) e.payload(body);
		o.notifications++;
		o.lastMid = mid;
		if (ended) this.#end(o, "error");
		if (confirmable) {
			o.inFlight = true;
			o.lastConfirmable = now;
			this.endpoint.sendConfirmable(e.end(), o.peer, mid, (acked, reset) => {
				o.inFlight = false;
				if (!acked) this.#end(o, reset ? "reset" : "timeout");
				else if (o.pending) {
					o.pending = false;
					this.notifyObservation(o);
				}
			});
		} else this.endpoint.sendNonConfirmable(e.end(), o.peer);
	}

	#end(o: Observation, reason: string) {
		if (this.registry.observations.indexOf(o) < 0) return;
		this.registry.remove(o);
		this.#log(`coap: observation of ${o.path} by ${o.peer.key} ended: ${reason}`);
		this.onObservationEnded(o, reason);
	}

	/** End every observation (e.g. before deregistering). */
	cancelObservations() {
		for (const o of [...this.registry.observations]) this.#end(o, "cancelled");
	}
}
