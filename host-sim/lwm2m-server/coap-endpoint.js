// The server's CoAP side on one UDP socket: npm `coap`'s Server for the requests clients
// send us (Register, Update, De-register, Send), our own Requester (requester.js) for the
// requests we send clients (device management), both over a SocketMux so they share the
// socket.
//
// Timing: request timeouts, retransmissions (ACK_TIMEOUT 2 s x 1..1.5, doubling, 4
// retransmissions) and block-wise transfers of the requests we send run on the injected
// clock, so they follow virtual time. npm `coap`'s Server keeps wall-clock timers only for
// what it sends unasked: a separate CON response, which our handlers never need (they
// answer at once, piggybacked on the ACK).
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import coap from "coap";
import { SocketMux } from "./socket-mux.js";
import { Requester } from "./requester.js";
import { formatFromHeader } from "./content-formats.js";

export class RequestTimeout extends Error {
	constructor(message) {
		super(message);
		this.status = 504;
		this.timeout = true;
	}
}

// Minimal uint option value: content format 0 (text/plain) is the empty option
function uintOption(n) {
	if (n === 0) return Buffer.alloc(0);
	const b = Buffer.alloc(n > 0xff ? 2 : 1);
	b.writeUIntBE(n, 0, b.length);
	return b;
}

function optionStrings(options, name) {
	return (options ?? []).filter((o) => o.name === name).map((o) => Buffer.from(o.value).toString("utf8"));
}

export class CoapEndpoint {
	/**
	 * @param options.socket dgram-like socket, unbound (created when absent)
	 * @param options.clock {now(), after(ms, fn), cancel(item)}
	 * @param options.onRequest async ({method, path: string[], query: string[], format, payload, rinfo}) -> {code, options?, payload?}
	 * @param options.isObserved (tokenHex, address, port) -> boolean: a notification with this token is acknowledged, others reset
	 * @param options.reliability {ackTimeoutMs, ackRandomFactor, maxRetransmit} of the requests we send
	 */
	constructor({ socket, clock, host = "127.0.0.1", port = 5683, onRequest, onError = () => {}, isObserved, reliability, random }) {
		// an injected socket is bound here, and closed again by stop(), like our own
		this.socket = socket ?? dgram.createSocket("udp4");
		this.clock = clock;
		this.host = host;
		this.port = port;
		this.onRequest = onRequest;
		this.onError = onError;
		this.requesterOptions = { isObserved, reliability, random };
		this.pending = new Set(); // outgoing requests awaiting an answer: {req, timer, reject}
	}

	async start() {
		await new Promise((resolve, reject) => {
			const failed = (e) => reject(new Error(`lwm2m server: cannot bind CoAP on ${this.host}:${this.port}: ${e.message}`));
			this.socket.once("error", failed);
			try {
				this.socket.bind(this.port, this.host, () => {
					this.socket.off("error", failed);
					resolve();
				});
			} catch (e) {
				failed(e);
			}
		});
		this.mux = new SocketMux(this.socket, () => this.clock.now());
		this.server = coap.createServer({ piggybackReplyMs: 50 });
		this.server.on("request", (req, res) => this.#handle(req, res));
		this.server.on("error", (e) => this.onError(e));
		this.server.listen(this.mux.server);
		this.requester = new Requester({ send: (bytes, port, address) => this.mux.send(bytes, port, address), clock: this.clock, ...this.requesterOptions });
		this.mux.client = (packet, rinfo) => this.requester.receive(packet, rinfo);
		return this.address();
	}

	address() {
		return this.socket.address();
	}

	async #handle(req, res) {
		res.on("error", (e) => this.onError(e));
		let reply;
		try {
			reply = await this.onRequest({
				method: req.method ?? req.code,
				path: optionStrings(req.options, "Uri-Path"),
				query: optionStrings(req.options, "Uri-Query"),
				format: formatFromHeader(req.headers["Content-Format"]),
				payload: Buffer.from(req.payload ?? []),
				rinfo: { address: req.rsinfo.address, port: req.rsinfo.port, secure: req.rsinfo.secure === true, pskIdentity: req.rsinfo.pskIdentity },
			});
		} catch (e) {
			// a handler bug must not take the server down; the client still gets an answer
			this.onError(e);
			reply = { code: "5.00", payload: "internal server error" };
		}
		if (!reply) return; // e.g. a CoAP ping
		res.code = reply.code;
		for (const [name, value] of Object.entries(reply.options ?? {})) res.setOption(name, value);
		res.end(reply.payload === undefined ? undefined : Buffer.from(reply.payload));
	}

	/**
	 * Send a request to a client and wait for its response.
	 * @param r.observe true to register an observation (Observe: 0), 1 to cancel one
	 * @param r.onResponse called synchronously with the first response, before any
	 *   notification that may follow it can be delivered
	 * @param r.onProgress ({sent, total}) for each block of a Block1 request the client
	 *   accepted; with it, timeoutMs is the longest wait for the next block's answer
	 *   (a firmware push), not for the whole transfer
	 * @param r.control an object that gets abort(error), to give up on the request
	 * @returns {Promise<{code, format, payload: Buffer, observe?: number, token: Buffer, transmissions}>}
	 */
	request({ address, port, method, pathname, query = [], accept, contentFormat, payload, observe, token, timeoutMs, onResponse, onProgress, control }) {
		return new Promise((resolve, reject) => {
			const options = [];
			if (observe !== undefined) options.push({ name: "Observe", value: uintOption(observe === true ? 0 : Number(observe)) });
			for (const segment of pathname.split("/").filter(Boolean)) options.push({ name: "Uri-Path", value: Buffer.from(segment) });
			if (contentFormat !== undefined) options.push({ name: "Content-Format", value: uintOption(contentFormat) });
			for (const q of query) options.push({ name: "Uri-Query", value: Buffer.from(q) });
			if (accept !== undefined) options.push({ name: "Accept", value: uintOption(accept) });
			const tokenBytes = token ?? randomBytes(8);
			const toResponse = (packet) => {
				const observeOption = packet.options.find((o) => o.name === "Observe");
				const cf = packet.options.find((o) => o.name === "Content-Format");
				return {
					code: packet.code,
					format: formatFromHeader(cf ? (cf.value.length ? cf.value.readUIntBE(0, cf.value.length) : 0) : undefined),
					payload: Buffer.from(packet.payload ?? []),
					observe: observeOption ? (observeOption.value.length ? observeOption.value.readUIntBE(0, observeOption.value.length) : 0) : undefined,
					locationPath: optionStrings(packet.options, "Location-Path"),
					token: tokenBytes,
				};
			};
			if (!this.requester) {
				reject(new Error("lwm2m server: not started"));
				return;
			}
			const entry = { timer: undefined, reject: undefined };
			const arm = () => {
				if (entry.timer !== undefined) this.clock.cancel(entry.timer);
				entry.timer = this.clock.after(timeoutMs, () => {
					entry.timer = undefined;
					entry.reject(new RequestTimeout(`no response from ${address}:${port} within ${timeoutMs / 1000} s`));
				});
			};
			const exchange = this.requester.request({
				address,
				port,
				method,
				options,
				token: tokenBytes,
				payload: payload === undefined ? undefined : Buffer.from(payload),
				onResponse: onResponse && ((packet) => onResponse(toResponse(packet))),
				onProgress:
					onProgress &&
					((p) => {
						if (!this.pending.has(entry)) return;
						arm();
						onProgress(p);
					}),
			});
			const finish = () => {
				this.pending.delete(entry);
				if (entry.timer !== undefined) this.clock.cancel(entry.timer);
			};
			entry.reject = (error) => {
				finish();
				exchange.abort();
				reject(error);
			};
			this.pending.add(entry);
			if (control) control.abort = (error = new Error("request aborted")) => this.pending.has(entry) && entry.reject(error);
			arm();
			exchange.promise.then(
				({ packet, transmissions }) => {
					if (!this.pending.has(entry)) return;
					finish();
					resolve({ ...toResponse(packet), transmissions });
				},
				(e) => {
					if (!this.pending.has(entry)) return;
					finish();
					reject(e.timeout ? new RequestTimeout(`no response from ${address}:${port}: ${e.message}`) : e);
				},
			);
		});
	}

	async stop() {
		for (const entry of [...this.pending]) entry.reject(new Error("lwm2m server stopped"));
		this.requester?.close();
		this.server?.close();
		this.mux?.close();
		await new Promise((resolve) => {
			try {
				this.socket.close(() => resolve());
			} catch {
				resolve();
			}
		});
	}
}
