// A bare LwM2M server for tests that look at the wire: it accepts registrations with
// fixed answers and sends hand-made DM requests, all through the npm `coap-packet`
// codec on the simulation's network (virtual time). Independent of device/.
import packet from "coap-packet";

const uint = (n) => {
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
};
export const num = (buffer) => [...(buffer ?? [])].reduce((a, b) => a * 256 + b, 0);
export const option = (p, name) => p.options.find((o) => o.name === name)?.value;
export const options = (p, name) => p.options.filter((o) => o.name === name).map((o) => o.value.toString());

export class RawServer {
	constructor(sim, { address = "127.0.0.1", port = 5683, location = "rd/x1" } = {}) {
		this.sim = sim;
		this.socket = sim.network.createSocket();
		this.socket.bind(port, address);
		this.location = location;
		this.received = []; // every parsed datagram from the device: {at, p, bytes, rinfo}
		this.client = undefined; // {address, port} of the registered client
		this.mid = 0x100;
		this.answerRegistration = true;
		this.socket.on("message", (msg, rinfo) => this.#receive(Buffer.from(msg), rinfo));
	}
	#receive(bytes, rinfo) {
		const p = packet.parse(bytes);
		this.received.push({ at: this.sim.now, p, bytes, rinfo });
		if (p.code === "0.00" || p.ack || p.reset) return;
		const path = options(p, "Uri-Path");
		if (p.code.startsWith("0.") && path[0] === "rd") {
			if (!this.answerRegistration) return;
			this.client = { address: rinfo.address, port: rinfo.port };
			let code = "2.04";
			const opts = [];
			if (p.code === "0.02" && path.length === 1) {
				code = "2.01";
				for (const segment of this.location.split("/")) opts.push({ name: "Location-Path", value: Buffer.from(segment) });
			} else if (p.code === "0.04") code = "2.02";
			else if (path.join("/") !== this.location) code = "4.04";
			this.reply(p, rinfo, code, opts);
			return;
		}
		if (p.code === "0.02" && path[0] === "dp") {
			this.reply(p, rinfo, "2.04");
			return;
		}
		if (p.confirmable) this.socket.send(packet.generate({ messageId: p.messageId, ack: true, code: "0.00", token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0) }), rinfo.port, rinfo.address);
	}
	reply(p, rinfo, code, opts = []) {
		const fields = { messageId: p.messageId, token: p.token, code, options: opts, payload: Buffer.alloc(0) };
		if (p.confirmable) fields.ack = true;
		else fields.confirmable = false;
		this.socket.send(packet.generate(fields), rinfo.port, rinfo.address);
	}
	/** Requests the device received on /rd (Register, Update, De-register). */
	registrations() {
		return this.received.filter((r) => r.p.code.startsWith("0.") && options(r.p, "Uri-Path")[0] === "rd");
	}
	/**
	 * A CON request to the registered client; resolves with the piggybacked response.
	 * @param code "GET" | "PUT" | "POST" | "DELETE" | "FETCH" | "iPATCH"
	 */
	async request(code, path, { accept, contentFormat, query = [], observe, payload, token, block1 } = {}) {
		if (!this.client) throw new Error("no client registered");
		const messageId = ++this.mid & 0xffff;
		token ??= Buffer.from([0x7a, messageId & 0xff]);
		const opts = [];
		if (observe !== undefined) opts.push({ name: "Observe", value: uint(observe) });
		for (const s of path.split("/").filter(Boolean)) opts.push({ name: "Uri-Path", value: Buffer.from(s) });
		if (contentFormat !== undefined) opts.push({ name: "Content-Format", value: uint(contentFormat) });
		for (const q of query) opts.push({ name: "Uri-Query", value: Buffer.from(q) });
		if (accept !== undefined) opts.push({ name: "Accept", value: uint(accept) });
		if (block1 !== undefined) opts.push({ name: "Block1", value: block1 }); // Buffer: the option's bytes
		const codes = { GET: "0.01", POST: "0.02", PUT: "0.03", DELETE: "0.04", FETCH: "0.05", iPATCH: "0.07" };
		const from = this.received.length;
		this.socket.send(packet.generate({ messageId, token, code: codes[code] ?? code, confirmable: true, options: opts, payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(payload) }), this.client.port, this.client.address);
		await this.sim.run(50);
		const answer = this.received.slice(from).find((r) => r.p.ack && r.p.messageId === messageId);
		if (!answer) throw new Error(`no answer to ${code} ${path}`);
		return Object.assign(answer.p, { bytes: answer.bytes, text: answer.p.payload.toString(), format: option(answer.p, "Content-Format") === undefined ? undefined : num(option(answer.p, "Content-Format")) });
	}
	notifications(token) {
		return this.received.filter((r) => !r.p.ack && r.p.token.equals(token) && option(r.p, "Observe") !== undefined);
	}
}
