// The server as a CoAP client: the device-management requests it sends to clients
// (RFC 7252 §4 reliability, RFC 7959 block-wise transfer), on the clock it is given.
//
// npm `coap`'s Agent retransmits on Node's wall-clock timers, so under host-sim's virtual
// clock a lost request was never sent again. This layer does what the Agent did for us,
// with every timer on the injected clock: confirmable requests retransmitted after
// ACK_TIMEOUT x (1..ACK_RANDOM_FACTOR), doubling, MAX_RETRANSMIT times; piggybacked and
// separate responses (a confirmable one is acknowledged, its retransmission acknowledged
// again); Block2 responses reassembled; bodies larger than one datagram sent with Block1,
// following the block size the peer asks for (2.31 / 4.13) and starting over on 4.08.
// Under the real clock the behaviour is the Agent's: same parameters, same wire format.
import { randomBytes } from "node:crypto";
import { generatePacket } from "./socket-mux.js";

// RFC 7252 §4.8; maxIntervalMs caps the doubling (none by default) for a lossy link
// that needs more retransmissions within the peer's EXCHANGE_LIFETIME deduplication
export const RELIABILITY = Object.freeze({ ackTimeoutMs: 2000, ackRandomFactor: 1.5, maxRetransmit: 4, maxIntervalMs: Infinity });
const EXCHANGE_LIFETIME_MS = 247_000; // RFC 7252 §4.8.2: how long a response's MID is remembered
const BLOCK1_SZX = 6; // 1024-byte blocks: with header and options, within a 1280-byte datagram
const MAX_RESTARTS = 2; // a Block1 transfer started over (4.08, a smaller size in 4.13) at most this often
const MAX_BLOCK2 = 1 << 20; // bytes of a Block2 response kept before giving up

export class TransmitTimeout extends Error {
	constructor(message) {
		super(message);
		this.status = 504;
		this.timeout = true;
	}
}

export class PeerReset extends Error {
	constructor(message) {
		super(message);
		this.status = 502;
	}
}

function uint(n) {
	if (n === 0) return Buffer.alloc(0);
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
}
const readUint = (value) => [...(value ?? [])].reduce((a, b) => a * 256 + b, 0);
const blockOption = (num, more, szx) => uint(num * 16 + (more ? 8 : 0) + szx);
function parseBlock(value) {
	const n = readUint(value);
	return { num: Math.floor(n / 16), more: (n & 8) !== 0, szx: n & 7 };
}
const optionValue = (packet, name) => packet.options.find((o) => o.name === name)?.value;
const without = (options, ...names) => options.filter((o) => !names.includes(o.name));

export class Requester {
	/**
	 * @param send (bytes: Buffer, port, address) -> void
	 * @param clock {now(), after(ms, fn), cancel(item)}
	 * @param isObserved (tokenHex, address, port) -> boolean: a notification with this token is wanted
	 * @param random () -> [0, 1), for the retransmission jitter
	 */
	constructor({ send, clock, isObserved = () => false, random = Math.random, reliability = RELIABILITY }) {
		this.send = send;
		this.clock = clock;
		this.isObserved = isObserved;
		this.random = random;
		this.reliability = { ...RELIABILITY, ...reliability };
		this.nextMid = randomBytes(2).readUInt16BE(0);
		this.byMid = new Map(); // "address:port/mid" -> transmission awaiting its ACK or response
		this.byToken = new Map(); // "address:port/token" -> transmission awaiting its response
		this.answered = new Map(); // "address:port/mid" -> {at, reply} of separate responses we acknowledged
		this.stats = { sent: 0, retransmitted: 0, timeouts: 0 };
	}

	/**
	 * Send one request and resolve with its complete response (Block2 reassembled).
	 * @param r {address, port, method: "GET"|..., options: [{name, value: Buffer}], token: Buffer, payload?: Buffer,
	 *   onResponse?(packet)}: onResponse sees the first response packet synchronously, before
	 *   any datagram behind it (a notification) is handled; onProgress?({sent, total}) is
	 *   called for each block of a Block1 request the peer accepted (2.31, and the last one)
	 * @returns {{promise: Promise<{packet, transmissions}>, abort()}}
	 */
	request(r) {
		const state = { aborted: false, current: undefined, transmissions: 0, onResponse: r.onResponse, onProgress: r.onProgress };
		const promise = this.#run(r, state);
		return {
			promise,
			abort: () => {
				state.aborted = true;
				if (state.current) this.#finish(state.current, new Error("request aborted"));
			},
		};
	}

	async #run(r, state) {
		const payload = r.payload ?? Buffer.alloc(0);
		let response = payload.length > 16 << BLOCK1_SZX ? await this.#sendBlock1(r, payload, state) : await this.#exchange(r, r.options, payload, r.token, state);
		const first = response;
		let block2 = optionValue(response, "Block2");
		if (!block2 || !/^2\./.test(response.code)) return { packet: response, transmissions: state.transmissions };
		const parts = [response.payload];
		let total = response.payload.length;
		for (let b = parseBlock(block2); b.more; b = parseBlock(block2)) {
			// follow-ups carry no Observe: they fetch the rest of one representation, not a new registration
			const options = [...without(r.options, "Observe", "Block1", "Size1", "Block2"), { name: "Block2", value: blockOption(b.num + 1, false, b.szx) }];
			response = await this.#exchange(r, options, r.method === "FETCH" ? payload : Buffer.alloc(0), randomBytes(8), state);
			block2 = optionValue(response, "Block2");
			if (!/^2\./.test(response.code)) return { packet: response, transmissions: state.transmissions };
			if (!block2 || parseBlock(block2).num !== b.num + 1) throw new PeerReset(`block ${b.num + 1} of a Block2 response was answered with another block`);
			parts.push(response.payload);
			total += response.payload.length;
			if (total > MAX_BLOCK2) throw new PeerReset(`a Block2 response past ${MAX_BLOCK2} bytes`);
		}
		return {
			packet: { ...first, options: without(first.options, "Block2"), payload: Buffer.concat(parts) },
			transmissions: state.transmissions,
		};
	}

	// RFC 7959 §2.5: blocks of 2^(szx+4) bytes, in order, each awaiting 2.31 Continue;
	// a smaller SZX in an answer is the size to go on with.
	async #sendBlock1(r, payload, state) {
		let szx = BLOCK1_SZX;
		let offset = 0;
		let restarts = 0;
		for (;;) {
			const size = 16 << szx;
			const num = offset / size;
			const more = offset + size < payload.length;
			const options = [...without(r.options, "Block1", "Size1"), { name: "Block1", value: blockOption(num, more, szx) }];
			if (num === 0) options.push({ name: "Size1", value: uint(payload.length) });
			const response = await this.#exchange(r, options, payload.subarray(offset, offset + size), r.token, state);
			const answered = optionValue(response, "Block1");
			const asked = answered ? parseBlock(answered).szx : undefined;
			if (/^2\./.test(response.code)) this.#progress(state, Math.min(offset + size, payload.length), payload.length);
			if (response.code === "2.31" && more) {
				offset += size;
				if (asked !== undefined && asked < szx) szx = asked;
				continue;
			}
			if (response.code === "4.13" && asked !== undefined && asked < szx && restarts < MAX_RESTARTS) {
				restarts++;
				[szx, offset] = [asked, 0];
				continue;
			}
			if (response.code === "4.08" && restarts < MAX_RESTARTS) {
				restarts++;
				offset = 0;
				continue;
			}
			return response;
		}
	}

	#progress(state, sent, total) {
		try {
			state.onProgress?.({ sent, total });
		} catch {}
	}

	// One confirmable message: retransmitted until acknowledged, then its response
	// (piggybacked, or separate with the same token).
	#exchange(r, options, payload, token, state) {
		if (state.aborted) return Promise.reject(new Error("request aborted"));
		return new Promise((resolve, reject) => {
			const mid = this.nextMid;
			this.nextMid = (this.nextMid + 1) & 0xffff;
			const peer = `${r.address}:${r.port}`;
			const bytes = generatePacket({ code: r.method, confirmable: true, messageId: mid, token, options, payload });
			const t = { peer, mid, token, bytes, address: r.address, port: r.port, resolve, reject, timer: undefined, acked: false, sends: 0, state };
			t.midKey = `${peer}/${mid}`;
			t.tokenKey = `${peer}/${token.toString("hex")}`;
			this.byMid.set(t.midKey, t);
			this.byToken.set(t.tokenKey, t);
			state.current = t;
			let wait = this.reliability.ackTimeoutMs * (1 + (this.reliability.ackRandomFactor - 1) * this.random());
			const transmit = () => {
				t.timer = undefined;
				if (t.sends > this.reliability.maxRetransmit) {
					this.stats.timeouts++;
					this.#finish(t, new TransmitTimeout(`no acknowledgement from ${peer} after ${t.sends} transmissions`));
					return;
				}
				if (t.sends > 0) this.stats.retransmitted++;
				t.sends++;
				state.transmissions++;
				this.stats.sent++;
				this.send(bytes, r.port, r.address);
				t.timer = this.clock.after(Math.min(wait, this.reliability.maxIntervalMs), transmit);
				wait *= 2;
			};
			transmit();
		});
	}

	#finish(t, error, packet) {
		if (t.timer !== undefined) this.clock.cancel(t.timer);
		t.timer = undefined;
		if (this.byMid.get(t.midKey) === t) this.byMid.delete(t.midKey);
		if (this.byToken.get(t.tokenKey) === t) this.byToken.delete(t.tokenKey);
		if (t.state.current === t) t.state.current = undefined;
		if (error) return t.reject(error);
		const first = t.state.onResponse;
		t.state.onResponse = undefined;
		// a 2.31 Continue is not the response yet
		if (first && packet.code !== "2.31") first(packet);
		t.resolve(packet);
	}

	#stopRetransmitting(t) {
		t.acked = true;
		if (t.timer !== undefined) this.clock.cancel(t.timer);
		t.timer = undefined;
		this.byMid.delete(t.midKey);
	}

	#reply(packet, port, address) {
		const bytes = generatePacket(packet);
		this.send(bytes, port, address);
		return bytes;
	}

	/**
	 * A response, an empty ACK/RST or a ping from a client. Returns true when it was
	 * this layer's (an answer to one of its requests, a notification it acknowledged).
	 */
	receive(packet, rinfo) {
		const peer = `${rinfo.address}:${rinfo.port}`;
		const midKey = `${peer}/${packet.messageId}`;
		if (packet.code === "0.00") {
			if (packet.confirmable) {
				// a CoAP ping (§4.3): an empty RST says we are here
				this.#reply({ code: "0.00", reset: true, messageId: packet.messageId }, rinfo.port, rinfo.address);
				return true;
			}
			const t = this.byMid.get(midKey);
			if (!t) return false; // perhaps the ACK of a response of npm coap's Server
			if (packet.reset) this.#finish(t, new PeerReset(`${peer} answered the request with Reset`));
			else this.#stopRetransmitting(t);
			return true;
		}
		if (packet.code.startsWith("0.")) return false; // a request
		if (packet.ack) {
			const t = this.byMid.get(midKey);
			if (!t || !t.token.equals(packet.token)) return false; // a late duplicate
			this.#finish(t, undefined, packet);
			return true;
		}
		// a separate response or a notification
		this.#expireAnswered();
		const seen = this.answered.get(midKey);
		if (seen) {
			if (packet.confirmable) this.send(seen.reply, rinfo.port, rinfo.address);
			return true;
		}
		const t = this.byToken.get(`${peer}/${packet.token.toString("hex")}`);
		const wanted = t !== undefined || this.isObserved(packet.token.toString("hex"), rinfo.address, rinfo.port);
		if (packet.confirmable) {
			const reply = this.#reply({ code: "0.00", ack: wanted, reset: !wanted, messageId: packet.messageId }, rinfo.port, rinfo.address);
			if (wanted) this.answered.set(midKey, { at: this.clock.now(), reply });
		} else if (!wanted) this.#reply({ code: "0.00", reset: true, messageId: packet.messageId }, rinfo.port, rinfo.address);
		if (t) this.#finish(t, undefined, packet);
		return wanted;
	}

	#expireAnswered() {
		const now = this.clock.now();
		for (const [key, entry] of this.answered) {
			if (now - entry.at < EXCHANGE_LIFETIME_MS) break;
			this.answered.delete(key);
		}
	}

	close() {
		for (const t of [...this.byToken.values(), ...this.byMid.values()]) this.#finish(t, new Error("lwm2m server stopped"));
		this.answered.clear();
	}
}
