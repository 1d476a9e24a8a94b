// A small CoAP client for tests, independent of device/: messages are generated and
// parsed by the npm `coap-packet` package, and reliability follows RFC 7252 §4.2 on a
// clock the test provides (the simulation's virtual clock, or the wall clock).
import packet from "coap-packet";

export const codeText = (code) => `${code >> 5}.${String(code & 31).padStart(2, "0")}`;

export class CoapPeer {
	/**
	 * @param socket a dgram-like socket (node:dgram or the simulated network's)
	 * @param clock {after(ms, fn) -> handle, cancel(handle), random() -> [0,1)}
	 */
	constructor(socket, clock, { ackTimeout = 2000, randomFactor = 1.5, maxRetransmit = 4 } = {}) {
		this.socket = socket;
		this.clock = clock;
		this.ackTimeout = ackTimeout;
		this.randomFactor = randomFactor;
		this.maxRetransmit = maxRetransmit;
		this.mid = Math.floor(clock.random() * 0x10000);
		this.pending = new Map(); // mid -> exchange
		this.byToken = new Map(); // token hex -> exchange
		this.received = []; // every parsed datagram, for assertions
		this.unparsable = [];
		socket.on("message", (msg, rinfo) => this.#receive(msg, rinfo));
	}
	nextMid() {
		this.mid = (this.mid + 1) & 0xffff;
		return this.mid;
	}
	/** Send raw bytes (for malformed input). */
	sendRaw(bytes, port, host = "127.0.0.1") {
		this.socket.send(Buffer.from(bytes), port, host);
	}
	/**
	 * @returns {Promise<{response, transmissions, mid}>} rejects on timeout or reset
	 */
	request({ method = "GET", path = "", payload, options = [], confirmable = true, port, host = "127.0.0.1", token }) {
		const mid = this.nextMid();
		token ??= Buffer.from([1, 2, 3, 4].map(() => Math.floor(this.clock.random() * 256)));
		const pathOptions = path.split("/").filter(Boolean).map((s) => ({ name: "Uri-Path", value: Buffer.from(s) }));
		const bytes = packet.generate({
			messageId: mid, token, code: method, confirmable, payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(payload),
			options: [...pathOptions, ...options],
		});
		return new Promise((resolve, reject) => {
			const exchange = { mid, token: token.toString("hex"), bytes, transmissions: 0, resolve, reject, timer: undefined, port, host, acked: false };
			this.pending.set(mid, exchange);
			this.byToken.set(exchange.token, exchange);
			let timeout = this.ackTimeout * (1 + this.clock.random() * (this.randomFactor - 1));
			const send = () => {
				exchange.transmissions++;
				this.socket.send(bytes, port, host);
				if (!confirmable) return;
				exchange.timer = this.clock.after(timeout, () => {
					if (exchange.acked || !this.pending.has(mid)) return;
					if (exchange.transmissions > this.maxRetransmit) {
						this.#finish(exchange);
						reject(Object.assign(new Error(`no answer to ${method} /${path} after ${exchange.transmissions} transmissions`), { timeout: true, exchange }));
						return;
					}
					timeout *= 2;
					send();
				});
			};
			send();
		});
	}
	#finish(exchange) {
		this.pending.delete(exchange.mid);
		this.byToken.delete(exchange.token);
		if (exchange.timer !== undefined) this.clock.cancel(exchange.timer);
	}
	#receive(msg, rinfo) {
		let p;
		try {
			p = packet.parse(msg);
		} catch (e) {
			this.unparsable.push({ msg, error: e.message });
			return;
		}
		this.received.push({ packet: p, rinfo });
		if (p.ack || p.reset) {
			const exchange = this.pending.get(p.messageId);
			if (!exchange) return;
			if (p.reset) {
				this.#finish(exchange);
				exchange.reject(Object.assign(new Error("reset by peer"), { reset: true }));
				return;
			}
			exchange.acked = true;
			if (p.code === "0.00") return; // a separate response will follow
			this.#finish(exchange);
			exchange.resolve({ response: p, transmissions: exchange.transmissions, mid: exchange.mid });
			return;
		}
		const exchange = this.byToken.get(p.token.toString("hex"));
		if (p.confirmable) {
			const reply = exchange ? { messageId: p.messageId, ack: true, code: "0.00" } : { messageId: p.messageId, reset: true, code: "0.00" };
			this.socket.send(packet.generate({ ...reply, token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }), rinfo.port, rinfo.address);
		}
		if (!exchange) return;
		this.#finish(exchange);
		exchange.resolve({ response: p, transmissions: exchange.transmissions, mid: exchange.mid });
	}
}

/** A clock adapter over the simulation's virtual clock. */
export function simClock(sim, random = Math.random) {
	return { after: (ms, fn) => sim.clock.after(ms, fn), cancel: (h) => sim.clock.cancel(h), random };
}
/** A clock adapter over the wall clock. */
export const wallClock = { after: (ms, fn) => setTimeout(fn, ms), cancel: (h) => clearTimeout(h), random: Math.random };
