// Where the device's UDP sockets lead. Two networks, and the clock decides which may run:
//   SimulatedNetwork - in-process, datagrams delivered by the simulation clock after a
//                      latency; peers are dgram-like sockets made by createSocket().
//                      Works in virtual and real time; fully deterministic in virtual.
//   LoopbackNetwork  - each device socket is a real dgram socket on a loopback address;
//                      any process on the machine can be the peer. Needs the real clock.
// Both can impair the device's link (loss, duplication) from a seeded PRNG, so a lossy
// run is repeatable.

import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { Random } from "./models/random.js";

const MAX_RECEIVE = 1472; // the ESP32's lwIP does not reassemble IP fragments by default

/** Loss and duplication on one device's link, both directions. */
export class Link {
	constructor({ loss = 0, duplicate = 0, seed = 1 } = {}) {
		for (const [name, p] of [["loss", loss], ["duplicate", duplicate]]) {
			if (!(p >= 0 && p <= 1)) throw new RangeError(`link: ${name} must be a probability 0..1, got ${p}`);
		}
		this.loss = loss;
		this.duplicate = duplicate;
		this.random = new Random(seed);
		this.stats = { sent: 0, received: 0, dropped: 0, duplicated: 0, oversize: 0 };
	}
	/** How many copies of a datagram cross this link: 0, 1 or 2. */
	copies() {
		if (this.loss && this.random.next() < this.loss) {
			this.stats.dropped++;
			return 0;
		}
		if (this.duplicate && this.random.next() < this.duplicate) {
			this.stats.duplicated++;
			return 2;
		}
		return 1;
	}
}

function checkAddress(address) {
	if (typeof address !== "string" || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) {
		throw new RangeError(`network: host-sim uses loopback addresses only (127.0.0.0/8), not ${JSON.stringify(address)}`);
	}
}

// ---------------------------------------------------------------- simulated network

class SimSocket extends EventEmitter {
	constructor(network) {
		super();
		this.network = network;
		this.bound = undefined;
	}
	bind(port = 0, address = "127.0.0.1", callback) {
		if (typeof port === "object") ({ port = 0, address = "127.0.0.1" } = port);
		if (typeof address === "function") [callback, address] = [address, "127.0.0.1"];
		checkAddress(address);
		this.bound = this.network.bindEndpoint(address, port, (msg, rinfo) => this.emit("message", msg, rinfo));
		queueMicrotask(() => { this.emit("listening"); callback?.(); });
		return this;
	}
	address() {
		if (!this.bound) throw new Error("socket is not bound");
		return { address: this.bound.address, port: this.bound.port, family: "IPv4" };
	}
	send(msg, ...args) {
		// send(msg, port, address, cb) or send(msg, offset, length, port, address, cb)
		let offset = 0, length, port, address, callback;
		if (typeof args[2] === "number" || (args.length >= 4 && typeof args[1] === "number" && typeof args[3] === "string")) [offset, length, port, address, callback] = args;
		else [port, address, callback] = args;
		if (typeof address === "function") [callback, address] = [address, "127.0.0.1"];
		if (!this.bound) this.bind(0);
		const bytes = Buffer.from(msg.buffer ? Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength) : msg);
		const data = length === undefined ? bytes.subarray(offset) : bytes.subarray(offset, offset + length);
		this.network.route(this.bound, address ?? "127.0.0.1", port, Buffer.from(data));
		if (callback) queueMicrotask(() => callback(null, data.length));
	}
	close(callback) {
		if (this.bound) this.network.unbind(this.bound);
		this.bound = undefined;
		queueMicrotask(() => { this.emit("close"); callback?.(); });
	}
	unref() { return this; }
	ref() { return this; }
	setRecvBufferSize() {}
	setSendBufferSize() {}
}

export class SimulatedNetwork {
	kind = "simulated";
	constructor(clock, { latencyMs = 1 } = {}) {
		if (!(latencyMs >= 0)) throw new RangeError("network: latencyMs must be >= 0");
		this.clock = clock;
		this.latencyMs = latencyMs;
		this.endpoints = new Map(); // "address:port" -> {address, port, receive}
		this.nextEphemeral = 49152;
	}
	/** A dgram-like socket for an in-process peer (test code, a server model). */
	createSocket(type = "udp4") {
		if (type !== "udp4" && type?.type !== "udp4") throw new RangeError("network: only udp4 sockets are simulated");
		return new SimSocket(this);
	}
	bindEndpoint(address, port, receive) {
		if (!port) {
			do port = this.nextEphemeral++; while (this.endpoints.has(`${address}:${port}`));
		}
		const key = `${address}:${port}`;
		if (this.endpoints.has(key)) {
			const err = new Error(`bind EADDRINUSE ${key}`);
			err.code = "EADDRINUSE";
			throw err;
		}
		const endpoint = { address, port, receive, key };
		this.endpoints.set(key, endpoint);
		return endpoint;
	}
	unbind(endpoint) {
		if (this.endpoints.get(endpoint.key) === endpoint) this.endpoints.delete(endpoint.key);
	}
	/**
	 * Deliver after the latency. `sentAt`: a device's send time, which can be ahead of the
	 * clock (a device runs its timers up to the next event Node knows of, in one go).
	 */
	route(from, address, port, data, link, sentAt) {
		const copies = link ? link.copies() : 1;
		const at = Math.max(sentAt ?? -Infinity, this.clock.now()) + this.latencyMs;
		for (let i = 0; i < copies; i++) {
			this.clock.at(at, () => {
				const to = this.endpoints.get(`${address}:${port}`);
				if (to) return to.receive(data, { address: from.address, port: from.port, family: "IPv4", size: data.length }, link);
			});
		}
	}
	/** The device side: bind an endpoint for a device's UDP socket. */
	async openForDevice(device, port, receive) {
		return this.bindEndpoint(device.address, port, receive);
	}
	sendFromDevice(endpoint, address, port, data, link, sentAt) {
		this.route(endpoint, address, port, data, link, sentAt);
	}
	closeForDevice(endpoint) {
		this.unbind(endpoint);
	}
	close() {}
}

// ---------------------------------------------------------------- loopback network

export class LoopbackNetwork {
	kind = "loopback";
	constructor(clock) {
		if (clock.virtual) {
			throw new Error("network: the loopback network bridges real sockets, whose peers keep wall-clock time; use the real clock (optionally with speed), or the simulated network for virtual time");
		}
		this.clock = clock;
		this.sockets = new Set();
	}
	createSocket(type = "udp4") {
		return dgram.createSocket(type);
	}
	/** Bind a real socket for a device's UDP socket; resolves to the endpoint. */
	openForDevice(device, port, receive) {
		const socket = dgram.createSocket("udp4");
		return new Promise((resolve, reject) => {
			socket.once("error", reject);
			socket.bind(port, device.address, () => {
				socket.off("error", reject);
				socket.on("error", (e) => device.logHost(`udp socket error: ${e.message}`));
				const { address, port: bound } = socket.address();
				const endpoint = { socket, address, port: bound };
				socket.on("message", (msg, rinfo) => receive(msg, rinfo));
				this.sockets.add(socket);
				resolve(endpoint);
			});
		});
	}
	sendFromDevice(endpoint, address, port, data, link) {
		const copies = link ? link.copies() : 1;
		for (let i = 0; i < copies; i++) endpoint.socket.send(data, port, address);
	}
	closeForDevice(endpoint) {
		this.sockets.delete(endpoint.socket);
		try { endpoint.socket.close(); } catch {}
	}
	close() {
		for (const s of this.sockets) try { s.close(); } catch {}
		this.sockets.clear();
	}
}

export { MAX_RECEIVE, checkAddress };
