// The server's CoAP side on one UDP socket: npm `coap`'s Server for the requests clients
// send us (Register, Update, De-register, Send), its Agent for the requests we send
// clients (device management), both over a SocketMux so they share the socket.
//
// Timing: request timeouts use the injected clock, so they follow virtual time. The
// retransmission timers inside npm `coap` (ACK_TIMEOUT 2 s, doubling) are wall-clock
// timers it does not let us replace; in virtual time a lost datagram is therefore
// retransmitted only as wall-clock time passes. Tests in virtual time use a lossless
// simulated network, where that never matters.
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import coap from "coap";
import { SocketMux } from "./socket-mux.js";
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
	 */
	constructor({ socket, clock, host = "127.0.0.1", port = 5683, onRequest, onError = () => {} }) {
		// an injected socket is bound here, and closed again by stop(), like our own
		this.socket = socket ?? dgram.createSocket("udp4");
		this.clock = clock;
		this.host = host;
		this.port = port;
		this.onRequest = onRequest;
		this.onError = onError;
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
		this.agent = new coap.Agent({ socket: this.mux.agent });
		this.agent.on("error", (e) => this.onError(e));
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
				rinfo: { address: req.rsinfo.address, port: req.rsinfo.port },
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
	 * @returns {Promise<{code, format, payload: Buffer, observe?: number, token: Buffer, stream?}>}
	 */
	request({ address, port, method, pathname, query = [], accept, contentFormat, payload, observe, token, timeoutMs, onResponse }) {
		return new Promise((resolve, reject) => {
			const options = {};
			if (accept !== undefined) options.Accept = uintOption(accept);
			if (contentFormat !== undefined) options["Content-Format"] = uintOption(contentFormat);
			const tokenBytes = token ?? randomBytes(8);
			let req;
			try {
				req = this.agent.request({
					hostname: address,
					port,
					method,
					pathname,
					query: query.length ? query.join("&") : undefined,
					options,
					observe,
					token: tokenBytes,
					confirmable: true,
				});
			} catch (e) {
				reject(e);
				return;
			}
			const entry = { req, timer: undefined, reject: undefined };
			const finish = () => {
				this.pending.delete(entry);
				if (entry.timer !== undefined) this.clock.cancel(entry.timer);
			};
			entry.reject = (error, { abort = true } = {}) => {
				finish();
				if (abort) this.agent.abort(req);
				reject(error);
			};
			this.pending.add(entry);
			entry.timer = this.clock.after(timeoutMs, () => {
				entry.timer = undefined;
				entry.reject(new RequestTimeout(`no response from ${address}:${port} within ${timeoutMs / 1000} s`));
			});
			req.on("response", (res) => {
				finish();
				const response = {
					code: res.code,
					format: formatFromHeader(res.headers["Content-Format"]),
					payload: Buffer.from(res.payload ?? []),
					observe: typeof res.headers.Observe === "number" ? res.headers.Observe : undefined,
					locationPath: optionStrings(res.options, "Location-Path"),
					token: tokenBytes,
				};
				// an observe stream would buffer every notification; the mux delivers them instead
				if (typeof res.close === "function" && typeof res.append === "function") {
					response.stream = res;
					res.on("data", () => {});
					res.on("error", () => {});
				}
				onResponse?.(response);
				resolve(response);
			});
			req.on("error", (e) => {
				if (this.pending.has(entry)) entry.reject(e);
			});
			// npm coap's own give-up (EXCHANGE_LIFETIME); it has aborted the request itself
			req.on("timeout", () => {
				if (this.pending.has(entry)) entry.reject(new RequestTimeout(`no response from ${address}:${port}`), { abort: false });
			});
			req.end(payload === undefined ? undefined : Buffer.from(payload));
		});
	}

	async stop() {
		for (const entry of [...this.pending]) entry.reject(new Error("lwm2m server stopped"));
		this.agent?.close();
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
