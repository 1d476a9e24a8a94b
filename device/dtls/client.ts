// A DTLS 1.2 client with pre-shared keys (RFC 6347, RFC 4279), as a CoAP Transport: the
// endpoint sends and receives CoAP datagrams as before, and this turns them into records
// of one session with the server. The first datagram opens the session:
//
//   flight 1  ClientHello                      ->
//   flight 2                                   <-  HelloVerifyRequest (cookie)
//   flight 3  ClientHello + cookie             ->
//   flight 4                                   <-  ServerHello, [ServerKeyExchange (hint)], ServerHelloDone
//   flight 5  ClientKeyExchange (identity), ChangeCipherSpec, Finished  ->
//   flight 6                                   <-  ChangeCipherSpec, Finished
//
// Flights are retransmitted with a doubling timer (1 s up to 32 s, RFC 6347 §4.2.4) until
// the next one arrives; after the last the handshake fails with the reason. Records that
// do not authenticate or repeat one already seen (a 64-record window) are dropped without
// a word, as DTLS wants. No plaintext application data ever leaves or is accepted.

import { Alarm } from "../alarm";
import UDP from "embedded:io/socket/udp";
import RNG from "rng";
import type { Receiver, Transport } from "../coap/transport";
import { AlertDescription, AlertLevel, ContentType, HANDSHAKE_HEADER, HandshakeType, RECORD_HEADER, Suite, VERSION_MAJOR, VERSION_MINOR, alertName } from "./constants";
import { DecodeError, Reassembly, clientHello, cookieOf, handshakeMessage, parsePskHint, parseServerHello, pskClientKeyExchange, pskPremaster } from "./handshake";
import { keyBlockLength, protections, writeSeq, type Protection } from "./protection";
import { prf, sha256Of } from "./prf";
import { utf8Encode } from "../coap/utf8";
import { monotonic } from "../monotonic";

export interface DtlsOptions {
	identity: string;
	key: Uint8Array;
	/** offered in this order; both by default, CCM-8 first (LwM2M's mandatory suite) */
	suites?: readonly number[];
	log?: (text: string) => void;
	/** local UDP port (0: any) */
	port?: number;
}

const State = { Idle: 0, Hello: 1, KeyExchange: 2, Finishing: 3, Established: 4, Closed: 5 } as const;
type State = (typeof State)[keyof typeof State];

const FIRST_TIMEOUT = 1000;
const MAX_TIMEOUT = 32_000; // transmissions at 0, 1, 3, 7, 15, 31, 63 s: then the handshake has failed
const MAX_QUEUED = 4;
const FIRST_HOLD = 30_000; // after a failed handshake no new one for this long, doubling
const LAST_HOLD = 600_000;

export class DtlsTransport implements Transport {
	readonly stats = { handshakes: 0, failures: 0, recordsIn: 0, recordsOut: 0, dropped: 0, replayed: 0, badRecords: 0, handshakeBytes: 0, handshakeDatagrams: 0 };
	/** the session is up; the handshake failed (why) */
	onEstablished: () => void = () => {};
	onFailed: (reason: string) => void = () => {};
	suite = 0;
	#socket: UDP;
	#receive: Receiver;
	#log: (text: string) => void;
	#identity: Uint8Array;
	#key: Uint8Array;
	#suites: readonly number[];
	#state: State = State.Idle;
	#address = "";
	#port = 0;
	#alarm: Alarm;
	#timeout = FIRST_TIMEOUT;
	#flight: { type: number; body: Uint8Array; epoch: number }[] = [];
	#queue: Uint8Array[] = [];
	// record layer
	#writeSeq = [0, 0];
	#write: Protection | undefined = undefined;
	#read: Protection | undefined = undefined;
	#pendingRead: Protection | undefined = undefined;
	#windowTop = -1; // highest sequence seen in the read epoch
	#window = 0; // bit i: sequence windowTop - i seen (32 bits used twice: see #fresh)
	#windowHigh = 0;
	// handshake
	#messageSeq = 0;
	#reassembly = new Reassembly();
	#transcript: Uint8Array[] = [];
	#clientRandom = new Uint8Array(32);
	#serverRandom = new Uint8Array(32);
	#cookie: Uint8Array = new Uint8Array(0);
	#master: Uint8Array = new Uint8Array(0);
	#started = 0;
	#holdUntil = 0;
	#hold = FIRST_HOLD;

	constructor(options: DtlsOptions, receive: Receiver) {
		this.#receive = receive;
		this.#log = options.log ?? (() => {});
		this.#identity = utf8Encode(options.identity); // RFC 4279: a PSK identity is UTF-8
		this.#key = options.key;
		this.#suites = options.suites ?? [Suite.PSK_AES128_CCM8, Suite.PSK_AES128_CBC_SHA256];
		const self = this;
		this.#socket = new UDP({
			port: options.port ?? 0,
			onReadable(count: number) {
				for (let i = 0; i < count; i++) {
					const d = this.read();
					if (!d) break;
					self.#datagram(new Uint8Array(d), d.address, d.port);
				}
			},
		});
		this.#alarm = new Alarm(() => this.#retransmit());
	}

	get established() {
		return this.#state === State.Established;
	}

	/** CoAP datagram out: sealed into the session, which is opened first if need be. */
	send(data: Uint8Array, address: string, port: number) {
		if (this.#state === State.Closed) return;
		if (this.#state !== State.Idle && (address !== this.#address || port !== this.#port)) {
			this.#log(`dtls: dropped a datagram for ${address}:${port}: the session is with ${this.#address}:${this.#port}`);
			return;
		}
		if (this.#state === State.Established) {
			this.#sendRecords([{ type: ContentType.ApplicationData, body: data, epoch: 1 }]);
			return;
		}
		if (this.#state === State.Idle) {
			// after a failed handshake, hold back: a wrong key would otherwise cost a handshake
			// for every retransmission of every request
			if (monotonic() < this.#holdUntil) return;
			this.#connect(address, port);
		}
		if (this.#queue.length < MAX_QUEUED) this.#queue.push(data.slice());
	}

	/** Forget the session (the server lost it, or we were told to): the next send opens a new one. */
	reset(why = "reset") {
		if (this.#state === State.Closed || this.#state === State.Idle) return;
		this.#log(`dtls: session with ${this.#address}:${this.#port} dropped (${why})`);
		this.#idle();
	}

	/** close_notify to the server, then the socket goes. */
	close() {
		if (this.#state === State.Closed) return;
		if (this.#state === State.Established) this.#sendRecords([{ type: ContentType.Alert, body: Uint8Array.of(AlertLevel.Warning, AlertDescription.CloseNotify), epoch: 1 }]);
		this.#state = State.Closed;
		this.#alarm.close();
		this.#socket.close();
	}

	// ---------------------------------------------------------------- handshake
	#connect(address: string, port: number) {
		this.#address = address;
		this.#port = port;
		this.#state = State.Hello;
		this.#started = monotonic();
		this.#writeSeq[0] = this.#writeSeq[1] = 0;
		this.#write = this.#read = this.#pendingRead = undefined;
		this.#messageSeq = 0;
		this.#reassembly.reset();
		this.#transcript.length = 0;
		this.#cookie = new Uint8Array(0);
		this.#clientRandom.set(new Uint8Array(RNG.get(32)));
		// the first four bytes are the time in seconds (RFC 5246 §7.4.1.2)
		const t = Math.floor(Date.now() / 1000);
		this.#clientRandom[0] = (t >>> 24) & 0xff;
		this.#clientRandom[1] = (t >> 16) & 0xff;
		this.#clientRandom[2] = (t >> 8) & 0xff;
		this.#clientRandom[3] = t & 0xff;
		this.stats.handshakes++;
		this.#log(`dtls: handshake with ${address}:${port}`);
		this.#sendHello();
	}

	#sendHello() {
		const hello = handshakeMessage(HandshakeType.ClientHello, this.#messageSeq++, clientHello(this.#clientRandom, this.#cookie, this.#suites));
		// the ClientHello without a cookie stays out of the transcript (RFC 6347 §4.2.6)
		this.#transcript.length = 0;
		if (this.#cookie.length) this.#transcript.push(hello);
		this.#startFlight([{ type: ContentType.Handshake, body: hello, epoch: 0 }]);
	}

	#handshake(type: number, body: Uint8Array, seq: number) {
		const message = handshakeMessage(type, seq, body);
		switch (type) {
			case HandshakeType.HelloVerifyRequest:
				if (this.#state !== State.Hello) return;
				this.#cookie = cookieOf(body);
				this.#reassembly.reset(seq + 1);
				this.#sendHello();
				return;
			case HandshakeType.ServerHello: {
				if (this.#state !== State.Hello) return;
				if (!this.#cookie.length) this.#transcript.push(this.#flight[0].body); // no cookie round: the first ClientHello counts
				const hello = parseServerHello(body);
				if (this.#suites.indexOf(hello.suite) < 0) throw new HandshakeError(`the server chose suite 0x${hello.suite.toString(16)}, which was not offered`, AlertDescription.IllegalParameter);
				this.suite = hello.suite;
				this.#serverRandom.set(hello.random);
				this.#transcript.push(message);
				this.#state = State.KeyExchange;
				return;
			}
			case HandshakeType.ServerKeyExchange:
				if (this.#state !== State.KeyExchange) return;
				parsePskHint(body); // the hint names which identity to use; we have one
				this.#transcript.push(message);
				return;
			case HandshakeType.ServerHelloDone:
				if (this.#state !== State.KeyExchange) return;
				this.#transcript.push(message);
				this.#sendKeyExchange();
				return;
			case HandshakeType.Finished: {
				if (this.#state !== State.Finishing || !this.#read) throw new HandshakeError("Finished before ChangeCipherSpec", AlertDescription.UnexpectedMessage);
				const expected = prf(this.#master, "server finished", [sha256Of(...this.#transcript)], 12);
				let diff = body.length ^ 12;
				for (let i = 0; i < 12 && i < body.length; i++) diff |= body[i] ^ expected[i];
				if (diff) throw new HandshakeError("the server's Finished does not verify", AlertDescription.DecryptError);
				this.#established();
				return;
			}
			case HandshakeType.HelloRequest:
				return; // no renegotiation
			default:
				throw new HandshakeError(`unexpected handshake message ${type}`, AlertDescription.UnexpectedMessage);
		}
	}

	#sendKeyExchange() {
		const cke = handshakeMessage(HandshakeType.ClientKeyExchange, this.#messageSeq++, pskClientKeyExchange(this.#identity));
		this.#transcript.push(cke);
		this.#master = prf(pskPremaster(this.#key), "master secret", [this.#clientRandom, this.#serverRandom], 48);
		const kb = prf(this.#master, "key expansion", [this.#serverRandom, this.#clientRandom], keyBlockLength(this.suite));
		const p = protections(this.suite, kb);
		const verify = prf(this.#master, "client finished", [sha256Of(...this.#transcript)], 12);
		const finished = handshakeMessage(HandshakeType.Finished, this.#messageSeq++, verify);
		this.#transcript.push(finished); // the server's Finished covers ours
		this.#write = p.write;
		this.#pendingRead = p.read;
		this.#state = State.Finishing;
		this.#startFlight([
			{ type: ContentType.Handshake, body: cke, epoch: 0 },
			{ type: ContentType.ChangeCipherSpec, body: Uint8Array.of(1), epoch: 0 },
			{ type: ContentType.Handshake, body: finished, epoch: 1 },
		]);
	}

	#established() {
		this.#state = State.Established;
		this.#hold = FIRST_HOLD;
		this.#holdUntil = 0;
		this.#flight.length = 0;
		this.#alarm.cancel();
		this.#log(`dtls: session with ${this.#address}:${this.#port} established (${this.suite === Suite.PSK_AES128_CCM8 ? "PSK-AES128-CCM8" : "PSK-AES128-CBC-SHA256"}) in ${monotonic() - this.#started} ms`);
		this.onEstablished();
		const queued = this.#queue;
		this.#queue = [];
		for (const data of queued) this.#sendRecords([{ type: ContentType.ApplicationData, body: data, epoch: 1 }]);
	}

	#fail(reason: string, alert = -1) {
		this.stats.failures++;
		this.#holdOff();
		if (alert >= 0) this.#sendRecords([{ type: ContentType.Alert, body: Uint8Array.of(AlertLevel.Fatal, alert), epoch: this.#write ? 1 : 0 }]); // after our ChangeCipherSpec, protected
		this.#log(`dtls: handshake with ${this.#address}:${this.#port} failed: ${reason}`);
		const address = this.#address, port = this.#port;
		this.#idle();
		this.onFailed(`${address}:${port}: ${reason}`);
	}

	#holdOff() {
		this.#holdUntil = monotonic() + this.#hold;
		this.#hold = Math.min(this.#hold * 2, LAST_HOLD);
	}

	#idle() {
		this.#state = State.Idle;
		this.#flight.length = 0;
		this.#queue.length = 0;
		this.#write = this.#read = this.#pendingRead = undefined;
		this.#alarm.cancel();
	}

	// ---------------------------------------------------------------- flights
	#startFlight(records: { type: number; body: Uint8Array; epoch: number }[]) {
		this.#flight = records;
		this.#timeout = FIRST_TIMEOUT;
		this.#sendRecords(records, true);
		this.#alarm.after(this.#timeout);
	}

	#retransmit() {
		if (!this.#flight.length) return;
		if (this.#timeout >= MAX_TIMEOUT) {
			const why = this.#state === State.Finishing
				? "no Finished from the server (a wrong pre-shared key or identity looks like this)"
				: this.#state === State.Hello ? "no answer to ClientHello" : "the server stopped answering";
			this.#fail(why);
			return;
		}
		this.#timeout *= 2;
		this.#sendRecords(this.#flight, true);
		this.#alarm.after(this.#timeout);
	}

	// ---------------------------------------------------------------- records out
	#sendRecords(records: readonly { type: number; body: Uint8Array; epoch: number }[], handshake = false) {
		const sealed: Uint8Array[] = [];
		let total = 0;
		for (const r of records) {
			const epoch = r.epoch;
			if (epoch === 1 && !this.#write) continue;
			const seq = this.#writeSeq[epoch]++;
			const fragment = epoch ? this.#write!.seal(r.type, epoch, seq, r.body) : r.body;
			const record = new Uint8Array(RECORD_HEADER + fragment.length);
			record[0] = r.type;
			record[1] = VERSION_MAJOR;
			record[2] = VERSION_MINOR;
			record[3] = epoch >> 8;
			record[4] = epoch & 0xff;
			writeSeq(record, 5, seq);
			record[11] = fragment.length >> 8;
			record[12] = fragment.length & 0xff;
			record.set(fragment, RECORD_HEADER);
			sealed.push(record);
			total += record.length;
		}
		if (!sealed.length) return;
		const datagram = sealed.length === 1 ? sealed[0] : new Uint8Array(total);
		if (sealed.length > 1) {
			let at = 0;
			for (const r of sealed) {
				datagram.set(r, at);
				at += r.length;
			}
		}
		this.stats.recordsOut += sealed.length;
		if (handshake) {
			this.stats.handshakeBytes += datagram.length;
			this.stats.handshakeDatagrams++;
		}
		try {
			this.#socket.write(datagram, this.#address, this.#port);
		} catch (e) {
			this.#log(`dtls: send to ${this.#address}:${this.#port} failed: ${(e as Error).message}`);
		}
	}

	// ---------------------------------------------------------------- records in
	#datagram(data: Uint8Array, address: string, port: number) {
		if (this.#state === State.Idle || this.#state === State.Closed || address !== this.#address || port !== this.#port) {
			this.stats.dropped++;
			return;
		}
		if (this.#state !== State.Established) {
			this.stats.handshakeBytes += data.length;
			this.stats.handshakeDatagrams++;
		}
		try {
			for (let at = 0; at + RECORD_HEADER <= data.length;) {
				const length = (data[at + 11] << 8) | data[at + 12];
				if (at + RECORD_HEADER + length > data.length) break; // a truncated record ends the datagram
				this.#record(data, at, length);
				at += RECORD_HEADER + length;
				if ((this.#state as State) === State.Idle || (this.#state as State) === State.Closed) return; // #record may end the session
			}
		} catch (e) {
			if (e instanceof HandshakeError) this.#fail(e.message, e.alert);
			else if (e instanceof DecodeError) this.#fail(e.message, AlertDescription.DecodeError);
			else throw e;
		}
	}

	#record(data: Uint8Array, at: number, length: number) {
		const type = data[at];
		const epoch = (data[at + 3] << 8) | data[at + 4];
		const seq = (((data[at + 5] << 8) | data[at + 6]) * 0x100000000) + ((data[at + 7] << 24) >>> 0) + ((data[at + 8] << 16) | (data[at + 9] << 8) | data[at + 10]);
		if (data[at + 1] !== VERSION_MAJOR) return void this.stats.badRecords++;
		let body = data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
		this.stats.recordsIn++;
		if (epoch === 1) {
			const read = this.#read; // set by the server's ChangeCipherSpec
			if (!read) return void this.stats.dropped++;
			if (!this.#fresh(seq)) return void this.stats.replayed++;
			const opened = read.open(type, epoch, seq, body);
			if (!opened) return void this.stats.badRecords++;
			this.#seen(seq);
			body = opened;
		} else if (epoch !== 0) return void this.stats.dropped++;
		else if (type === ContentType.ApplicationData) return void this.stats.dropped++; // never plaintext
		else if (this.#state === State.Established && type !== ContentType.Alert) return; // a late handshake retransmission
		switch (type) {
			case ContentType.Handshake:
				this.#reassembly.add(body);
				for (let m = this.#reassembly.take(); m; m = this.#reassembly.take()) {
					this.#handshake(m.type, m.body, m.seq);
					if (this.#state === State.Idle) return;
				}
				return;
			case ContentType.ChangeCipherSpec:
				if (this.#state === State.Finishing && body.length === 1 && body[0] === 1) {
					this.#read = this.#pendingRead;
					this.#windowTop = -1;
				}
				return;
			case ContentType.Alert:
				this.#alert(body, epoch);
				return;
			case ContentType.ApplicationData:
				if (this.#state === State.Established && epoch === 1) this.#receive(body, this.#address, this.#port);
				return;
		}
	}

	#alert(body: Uint8Array, epoch: number) {
		if (body.length < 2) return;
		const [level, description] = body;
		if (description === AlertDescription.CloseNotify) {
			this.#log(`dtls: the server closed the session (close_notify)`);
			this.#idle();
			return;
		}
		// an unauthenticated plaintext alert could be forged: it only ends a handshake in progress
		if (level === AlertLevel.Fatal && (epoch === 1 || this.#state !== State.Established)) {
			this.stats.failures++;
			// an alert right after our Finished is how servers refuse a key that does not match
			const hint = this.#state === State.Finishing && (description === AlertDescription.BadRecordMac || description === AlertDescription.DecryptError) ? " (a wrong pre-shared key or identity?)" : "";
			this.#log(`dtls: fatal alert from the server: ${alertName(description)}`);
			const address = this.#address, port = this.#port;
			if (this.#state !== State.Established) this.#holdOff();
			this.#idle();
			this.onFailed(`${address}:${port}: the server sent ${alertName(description)}${hint}`);
		}
	}

	// the anti-replay window (RFC 6347 §4.1.2.6): 64 sequence numbers below the highest seen
	#fresh(seq: number): boolean {
		if (seq > this.#windowTop) return true;
		const age = this.#windowTop - seq;
		if (age >= 64) return false;
		return age < 32 ? !((this.#window >>> age) & 1) : !((this.#windowHigh >>> (age - 32)) & 1);
	}
	#seen(seq: number) {
		if (seq > this.#windowTop) {
			const shift = this.#windowTop < 0 ? 64 : seq - this.#windowTop;
			if (shift >= 64) {
				this.#window = 0;
				this.#windowHigh = 0;
			} else if (shift >= 32) {
				this.#windowHigh = shift === 32 ? this.#window : this.#window << (shift - 32);
				this.#window = 0;
			} else {
				this.#windowHigh = (this.#windowHigh << shift) | (this.#window >>> (32 - shift));
				this.#window <<= shift;
			}
			this.#window |= 1;
			this.#windowTop = seq;
			return;
		}
		const age = this.#windowTop - seq;
		if (age < 32) this.#window |= 1 << age;
		else this.#windowHigh |= 1 << (age - 32);
	}
}

class HandshakeError extends Error {
	readonly alert: number;
	constructor(message: string, alert: number) {
		super(message);
		this.alert = alert;
	}
}

export { HANDSHAKE_HEADER };
