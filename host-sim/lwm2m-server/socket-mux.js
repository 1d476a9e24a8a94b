// One UDP socket, two users. An LwM2M server must send its device-management requests
// from the very address and port the client registered to: a NAT binding or a DTLS
// session exists only for that pair, and clients often drop anything else. npm `coap`
// has no such mode: its Server answers requests on a socket of its own unless given one
// (the documented custom-socket `listen(socket)`), and a Server on a real dgram socket
// also answers unparsable datagrams with 5.00. So the Server gets a small facade, and
// this mux parses every datagram once and routes it: requests to the Server, responses,
// pings and the empty ACK/RST of our own requests to the client side (requester.js, the
// `client` callback), any other empty ACK/RST to the Server. A side effect is one place
// to log every message (the COAPLOG event) and to refuse malformed datagrams with 4.00.
//
// This works the same over a real dgram socket and over the simulated network's
// dgram-like sockets, which is what lets the server run in virtual time. No private
// field of `coap` is touched.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";

// coap-packet is the parser npm `coap` itself uses; resolving it from coap's own location
// keeps this independent of how npm laid out node_modules, and adds no dependency
const requireFromCoap = createRequire(createRequire(import.meta.url).resolve("coap"));
const { parse: parsePacket, generate: generatePacket } = requireFromCoap("coap-packet");

export { parsePacket, generatePacket };

/** The dgram-like object npm `coap` gets instead of the socket. */
class Facade extends EventEmitter {
	constructor(mux, role) {
		super();
		this.mux = mux;
		this.role = role;
	}
	// send(msg, offset, length, port, address, cb) as npm coap calls it, or send(msg, port, address, cb)
	send(msg, ...args) {
		let offset = 0;
		let length;
		let port;
		let address;
		let callback;
		if (typeof args[0] === "number" && typeof args[1] === "number" && args.length >= 3) [offset, length, port, address, callback] = args;
		else [port, address, callback] = args;
		if (typeof address === "function") [callback, address] = [address, undefined];
		const data = Buffer.from(msg).subarray(offset, length === undefined ? undefined : offset + length);
		this.mux.send(data, port, address ?? "127.0.0.1", callback);
	}
	address() {
		return this.mux.socket.address();
	}
	// npm coap never closes a socket it was given; present for completeness
	close(callback) {
		callback?.();
	}
}

const EXCHANGE_LIFETIME_MS = 247_000; // RFC 7252 §4.8.2

export class SocketMux extends EventEmitter {
	/**
	 * @param socket a bound dgram socket or dgram-like socket
	 * @param now () -> ms, the clock that ages the duplicate-detection memory
	 * Events: "datagram" ({incoming, packet, rinfo}) for every parsed message in either
	 * direction; "malformed" ({data, rinfo, error}) for every unparsable one received.
	 */
	constructor(socket, now = Date.now) {
		super();
		this.socket = socket;
		this.now = now;
		this.exchanges = new Map(); // "address:port/mid" -> {at, reply?: Buffer} of requests received
		this.server = new Facade(this, "server");
		this.client = () => false; // (packet, rinfo) -> true when the client side took it
		this.onMessage = (msg, rinfo) => this.#receive(msg, rinfo);
		this.onError = (error) => {
			this.server.emit("error", error);
			this.emit("socket-error", error);
		};
		socket.on("message", this.onMessage);
		socket.on("error", this.onError);
		this.closed = false;
	}

	send(data, port, address, callback) {
		if (this.closed) {
			callback?.(new Error("socket closed"));
			return;
		}
		let packet;
		try {
			packet = parsePacket(data);
		} catch {}
		if (packet) {
			try {
				this.emit("datagram", { incoming: false, packet, rinfo: { address, port } });
			} catch (error) {
				this.emit("handler-error", { error, rinfo: { address, port } });
			}
			// remember the ACK (piggybacked response or empty) that answers a request, to repeat it
			const exchange = packet.ack ? this.exchanges.get(`${address}:${port}/${packet.messageId}`) : undefined;
			if (exchange) exchange.reply = Buffer.from(data);
		}
		this.socket.send(data, 0, data.length, port, address, callback);
	}

	#receive(msg, rinfo) {
		let packet;
		try {
			packet = parsePacket(msg);
		} catch (error) {
			this.emit("malformed", { data: msg, rinfo, error });
			this.#refuse(msg, rinfo, error);
			return;
		}
		// whatever a datagram does to a handler, the socket keeps serving the others
		try {
			this.emit("datagram", { incoming: true, packet, rinfo });
		} catch (error) {
			this.emit("handler-error", { error, rinfo });
		}
		try {
			this.#route(msg, rinfo, packet);
		} catch (error) {
			this.emit("handler-error", { error, rinfo });
		}
	}

	#route(msg, rinfo, packet) {
		const isEmpty = packet.code === "0.00";
		if (isEmpty && (packet.ack || packet.reset)) {
			// an ACK/RST ends either one of our requests or one of the Server's CON responses
			if (!this.client(packet, rinfo)) this.server.emit("message", msg, rinfo);
		} else if (isEmpty) this.client(packet, rinfo); // a CoAP ping: answered with RST
		else if (packet.code.startsWith("0.")) {
			if (this.#duplicate(packet, rinfo)) return;
			this.server.emit("message", msg, rinfo);
		} else this.client(packet, rinfo);
	}

	// A retransmitted request gets the ACK already sent for it, or nothing while the
	// first copy is still being handled - never a second run of its handler.
	#duplicate(packet, rinfo) {
		const now = this.now();
		for (const [key, exchange] of this.exchanges) {
			if (now - exchange.at < EXCHANGE_LIFETIME_MS) break;
			this.exchanges.delete(key);
		}
		const key = `${rinfo.address}:${rinfo.port}/${packet.messageId}`;
		const seen = this.exchanges.get(key);
		if (!seen) {
			this.exchanges.set(key, { at: now });
			return false;
		}
		if (seen.reply && packet.confirmable) this.socket.send(seen.reply, 0, seen.reply.length, rinfo.port, rinfo.address);
		this.emit("duplicate", { packet, rinfo });
		return true;
	}

	// RFC 7252 would have a malformed CON rejected with RST; an explicit 4.00 tells the
	// developer at the other end what happened. Only what can be read is answered.
	#refuse(msg, rinfo, error) {
		if (msg.length < 4 || msg[0] >> 6 !== 1) return;
		const type = (msg[0] >> 4) & 0x03;
		const tokenLength = msg[0] & 0x0f;
		const isRequest = msg[1] >> 5 === 0 && msg[1] !== 0;
		if (!isRequest || type > 1 || tokenLength > 8 || msg.length < 4 + tokenLength) return;
		const reply = generatePacket({
			code: "4.00",
			messageId: type === 0 ? msg.readUInt16BE(2) : Math.floor(Math.random() * 0x10000),
			token: Buffer.from(msg.subarray(4, 4 + tokenLength)),
			ack: type === 0,
			confirmable: false,
			payload: Buffer.from(`malformed CoAP message: ${error.message}`.slice(0, 120)),
		});
		this.send(reply, rinfo.port, rinfo.address);
	}

	close() {
		this.closed = true;
		this.exchanges.clear();
		this.socket.off("message", this.onMessage);
		this.socket.off("error", this.onError);
	}
}
