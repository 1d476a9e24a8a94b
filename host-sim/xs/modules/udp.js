// embedded:io/socket/udp (ECMA-419) as Moddable's lwIP build has it, bridged to Node,
// which binds a real socket on loopback or an endpoint of the simulated network.
// write(buffer, address, port) takes an IP literal only (no DNS: "invalid IP address").
import { host, call, invoke, atBoot } from "../runtime.js";
import { toBytes } from "./i2c.js";
import { closedError } from "./closed.js";
import { RECEIVE_QUEUE_PACKETS } from "../../receive-queue.js";

let sockets; // id -> UDP
atBoot.push(() => { sockets = new Map(); });
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAX_SEND = 65507; // lwIP fragments larger datagrams; beyond this the send fails
// packets held for read(): past this lwIP runs out of pbufs and drops (Node models the
// queue on arrival; this holds for a device that does not read in its onReadable)
const MAX_QUEUED = RECEIVE_QUEUE_PACKETS;

export function isIPv4(address) {
	return typeof address === "string" && IPV4.test(address);
}

class UDP {
	#id; #queue = []; #onReadable; #closed = false;
	constructor(options) {
		const { port = 0, onReadable, format } = options ?? {};
		if (!(port >= 0 && port <= 65535)) throw new RangeError("invalid port");
		if (format !== undefined && format !== "buffer") throw new RangeError("invalid format");
		const { header } = call({ op: "udp.open", port: Math.trunc(port) });
		if (header.bindError) throw new Error("bind failed");
		this.#id = header.id;
		this.#onReadable = typeof onReadable === "function" ? onReadable : undefined;
		if (options?.target !== undefined) this.target = options.target;
		sockets.set(this.#id, this);
	}
	write(buffer, address, port) {
		if (this.#closed) throw closedError();
		const bytes = toBytes(buffer);
		if (!isIPv4(address)) throw new RangeError("invalid IP address");
		port = Math.trunc(Number(port)) & 0xffff;
		if (!port || bytes.length > MAX_SEND || host.networkUp === false) throw new Error("UDP send failed");
		call({ op: "udp.send", id: this.#id, address, port, at: host.now }, bytes); // sent at the device's time
		host.yielded = true; // let Node route it before simulated time moves on
	}
	read() {
		if (this.#closed) throw closedError();
		return this.#queue.shift();
	}
	close() {
		if (this.#closed) return;
		this.#closed = true;
		this.#queue.length = 0;
		sockets.delete(this.#id);
		call({ op: "udp.close", id: this.#id });
	}
	get format() { return "buffer"; }
	set format(value) { if (value !== "buffer") throw new RangeError(); }
	deliver(datagram) {
		if (this.#queue.length >= MAX_QUEUED) return false;
		this.#queue.push(datagram);
		if (this.#onReadable) invoke(this.#onReadable, this, this.#queue.length);
		return true;
	}
}

host.handlers.set("udp.deliver", (h, payload) => {
	const socket = sockets.get(h.id);
	if (!socket || host.networkUp === false) return { accepted: false };
	const datagram = payload ? payload.slice().buffer : new ArrayBuffer(0);
	datagram.address = h.address;
	datagram.port = h.port;
	return { accepted: socket.deliver(datagram) };
});

export default UDP;
