// The dgram-like face of a DtlsServer: what the LwM2M server (or anything written for a
// UDP socket) uses in its place. "message" carries decrypted application data; send()
// encrypts to the peer's established session. Binding binds the socket underneath.
import { EventEmitter } from "node:events";

export const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function checkLoopback(address, what) {
	if (typeof address !== "string" || !LOOPBACK.test(address)) {
		throw new RangeError(`dtls: ${what} ${JSON.stringify(address)} refused - this DTLS server serves loopback addresses (127.0.0.0/8) only`);
	}
}

export class DtlsSocket extends EventEmitter {
	#server;
	constructor(server) {
		super();
		this.#server = server;
	}
	/** bind(port, address, cb) | bind(port, cb) | bind({port, address}, cb) | bind(cb) */
	bind(...args) {
		let port = 0, address = "127.0.0.1", callback;
		if (typeof args.at(-1) === "function") callback = args.pop();
		if (typeof args[0] === "object" && args[0] !== null) ({ port = 0, address = "127.0.0.1" } = args[0]);
		else [port = 0, address = "127.0.0.1"] = args;
		if (address === "localhost") address = "127.0.0.1";
		checkLoopback(address, "bind address");
		this.#server.raw.bind(port, address, callback);
		return this;
	}
	address() {
		return this.#server.raw.address();
	}
	/** send(msg, offset, length, port, address, cb) | send(msg, port, address, cb) | send(msg, port, cb) */
	send(msg, ...args) {
		let offset = 0, length, port, address, callback;
		if (typeof args.at(-1) === "function") callback = args.pop();
		if (args.length >= 3 && typeof args[1] === "number") [offset, length, port, address] = args;
		else [port, address] = args;
		address ??= "127.0.0.1";
		const bytes = Buffer.isBuffer(msg) ? msg : Array.isArray(msg) ? Buffer.concat(msg.map((m) => Buffer.from(m))) : Buffer.from(msg.buffer ? Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength) : msg);
		const data = bytes.subarray(offset, length === undefined ? undefined : offset + length);
		this.#server.sendApplicationData(Buffer.from(data), port, address, callback);
	}
	close(callback) {
		this.#server.close(callback);
		return this;
	}
	ref() {
		this.#server.raw.ref?.();
		return this;
	}
	unref() {
		this.#server.raw.unref?.();
		return this;
	}
	setRecvBufferSize(size) {
		this.#server.raw.setRecvBufferSize?.(size);
	}
	setSendBufferSize(size) {
		this.#server.raw.setSendBufferSize?.(size);
	}
}
