// DtlsServer: a DTLS 1.2 PSK server over one dgram(-like) socket - a real node:dgram
// socket or host-sim's simulated one - serving many peers, each keyed by address:port.
// ClientHellos are answered statelessly with a HelloVerifyRequest until they carry a
// valid cookie; only then does a peer get state (a DtlsSession). `server.socket` is a
// dgram-like socket of decrypted application data for the LwM2M server to use unchanged.
import { EventEmitter } from "node:events";
import { wallClock } from "./clock.js";
import { CookieJar } from "./cookie.js";
import { HandshakeType, encodeMessage, parseFragments } from "./handshake.js";
import { helloVerifyRequest, parseClientHello } from "./messages.js";
import { ContentType, DTLS_1_0, encodeRecord, parseRecords } from "./record.js";
import { DtlsSession } from "./session.js";
import { DtlsSocket, LOOPBACK, checkLoopback } from "./socket.js";
import { SUITES, suiteName, TLS_PSK_WITH_AES_128_CBC_SHA256, TLS_PSK_WITH_AES_128_CCM_8 } from "./suites.js";

const DEFAULTS = {
	cipherSuites: [TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256],
	mtu: 1200,
	idleTimeoutMs: 24 * 3600_000,
	cookieRotateMs: 5 * 60_000,
	maxSessions: 1000,
};

export class DtlsServer extends EventEmitter {
	/**
	 * @param options.socket        dgram-like socket, unbound (bind it through server.socket)
	 * @param options.psk           (identity: string) => Buffer | string | undefined
	 * @param options.hint          psk_identity_hint; sent in a ServerKeyExchange when given
	 * @param options.cipherSuites  in order of preference, from 0xC0A8 (CCM-8), 0x00AE (CBC-SHA256)
	 * @param options.clock         {now(), after(ms, fn), cancel(item)}; wall time by default
	 * @param options.log           (line) => void
	 * @param options.mtu           largest datagram the handshake sends (default 1200)
	 * @param options.idleTimeoutMs an established session with no traffic this long is dropped
	 * @param options.cookieRotateMs cookie secret lifetime
	 * @param options.maxSessions   associations (established + handshaking) at most
	 * @param options.retransmission {initialMs = 1000, maxMs = 60000, maxRetransmissions = 7}
	 */
	constructor(options = {}) {
		super();
		const { socket, psk, hint, clock = wallClock, log = () => {}, retransmission = {} } = options;
		if (!socket || typeof socket.send !== "function" || typeof socket.on !== "function" || typeof socket.bind !== "function") {
			throw new TypeError("dtls: options.socket must be a dgram-like socket (bind, send, on)");
		}
		if (typeof psk !== "function") throw new TypeError("dtls: options.psk must be a function (identity) => Buffer | undefined");
		if (hint !== undefined && (typeof hint !== "string" || Buffer.byteLength(hint) > 65535)) throw new TypeError("dtls: options.hint must be a string");
		const cipherSuites = options.cipherSuites ?? DEFAULTS.cipherSuites;
		if (!Array.isArray(cipherSuites) || !cipherSuites.length || cipherSuites.some((s) => !SUITES.has(s))) {
			throw new RangeError(`dtls: cipherSuites must be a non-empty list from ${[...SUITES.keys()].map((s) => `0x${s.toString(16)} (${suiteName(s)})`).join(", ")}`);
		}
		const mtu = options.mtu ?? DEFAULTS.mtu;
		if (!(Number.isInteger(mtu) && mtu >= 128 && mtu <= 65507)) throw new RangeError("dtls: mtu must be an integer 128..65507");
		this.options = {
			psk,
			hint,
			cipherSuites: [...cipherSuites],
			mtu,
			idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
			maxSessions: options.maxSessions ?? DEFAULTS.maxSessions,
			retransmission: { ...retransmission },
		};
		this.clock = clock;
		this.log = log;
		this.raw = socket;
		this.socket = new DtlsSocket(this);
		this.cookies = new CookieJar({ now: () => clock.now(), rotateMs: options.cookieRotateMs ?? DEFAULTS.cookieRotateMs });
		this.peers = new Map(); // "address:port" -> DtlsSession
		this.closed = false;
		this.pendingSends = 0; // a dgram socket closed with sends queued drops them
		this.stats = {
			datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, recordsIn: 0,
			helloVerifyRequests: 0, handshakesStarted: 0, handshakesCompleted: 0, handshakesFailed: 0,
			retransmissions: 0, applicationDataIn: 0, applicationDataOut: 0, alertsSent: 0, alertsReceived: 0,
			replayDropped: 0, badMacDropped: 0, malformedDropped: 0, unexpectedDropped: 0, noSessionDropped: 0,
		};
		this.onRawMessage = (msg, rinfo) => this.#receive(msg, rinfo);
		this.onRawError = (error) => this.socket.emit("error", error);
		this.onRawListening = () => this.socket.emit("listening");
		this.onRawClose = () => this.socket.emit("close");
		socket.on("message", this.onRawMessage);
		socket.on("error", this.onRawError);
		socket.on("listening", this.onRawListening);
		socket.on("close", this.onRawClose);
	}

	/** Established sessions. */
	sessions() {
		return [...this.peers.values()].filter((s) => s.state === "established").map((s) => s.info);
	}
	/** The established session with a peer, if any. */
	session(address, port) {
		const s = this.peers.get(`${address}:${port}`);
		return s?.state === "established" ? s.info : undefined;
	}
	get handshakesInProgress() {
		let n = 0;
		for (const s of this.peers.values()) if (s.state === "handshake") n++;
		return n;
	}

	// ------------------------------------------------------------ receiving

	#receive(msg, rinfo) {
		if (this.closed) return;
		this.stats.datagramsIn++;
		this.stats.bytesIn += msg.length;
		if (!LOOPBACK.test(rinfo.address)) {
			this.stats.unexpectedDropped++;
			return;
		}
		const key = `${rinfo.address}:${rinfo.port}`;
		const { records, malformed } = parseRecords(msg);
		if (malformed) this.stats.malformedDropped++;
		let session = this.peers.get(key);
		session?.countDatagram(msg.length);
		for (const record of records) {
			this.stats.recordsIn++;
			if (record.epoch === 0 && record.type === ContentType.handshake && record.fragment[0] === HandshakeType.clientHello) {
				const hello = this.#readClientHello(record);
				if (!hello) continue;
				if (!session?.isSameHello(hello.body)) {
					session?.endOfDatagram();
					const started = this.#clientHello(record, hello, rinfo, msg.length);
					if (started) session = started;
					continue;
				}
			}
			if (!session || session.state === "closed") {
				this.stats.noSessionDropped++;
				continue;
			}
			session.handleRecord(record);
		}
		session?.endOfDatagram();
	}

	/** A ClientHello must come whole in one record (this server keeps no state before the cookie). */
	#readClientHello(record) {
		try {
			const fragments = parseFragments(record.fragment);
			const f = fragments[0];
			if (fragments.length !== 1 || f.fragmentOffset !== 0 || f.fragmentLength !== f.length) {
				this.log(`dtls: dropping a fragmented ClientHello (not supported)`);
				this.stats.malformedDropped++;
				return undefined;
			}
			return { fragment: f, body: parseClientHello(f.body) };
		} catch (e) {
			this.stats.malformedDropped++;
			this.log(`dtls: dropping a malformed ClientHello: ${e.message}`);
			return undefined;
		}
	}

	/** Stateless until the cookie checks out (RFC 6347 §4.2.1); then a new association. */
	#clientHello(record, { fragment, body: hello }, rinfo, datagramLength) {
		const { address, port } = rinfo;
		if (!hello.cookie.length || !this.cookies.verify(address, port, hello)) {
			const cookie = this.cookies.make(address, port, hello);
			// the ClientHello's record sequence number and message_seq (RFC 6347 §4.2.1)
			const datagram = encodeRecord({
				type: ContentType.handshake,
				version: DTLS_1_0,
				epoch: 0,
				seq: record.seq,
				fragment: encodeMessage(HandshakeType.helloVerifyRequest, fragment.messageSeq, helloVerifyRequest(cookie)),
			});
			this.stats.helloVerifyRequests++;
			this.transmit(datagram, address, port);
			return undefined;
		}
		const key = `${address}:${port}`;
		const existing = this.peers.get(key);
		if (!existing && this.peers.size >= this.options.maxSessions) {
			this.log(`dtls ${key}: refusing a handshake, ${this.peers.size} associations already`);
			return undefined;
		}
		// RFC 6347 §4.2.8: a peer that completed a cookie exchange from the address of an
		// established association has lost its state - it gets a fresh handshake.
		existing?.end("the client started a new handshake");
		const session = new DtlsSession(this, address, port);
		this.peers.set(key, session);
		session.countDatagram(datagramLength);
		this.stats.handshakesStarted++;
		session.begin(record, fragment, hello);
		return session;
	}

	// ------------------------------------------------------------ called by sessions

	transmit(datagram, address, port, callback) {
		if (this.closed && !this.closing) {
			callback?.(new Error("dtls: server closed"));
			return;
		}
		this.stats.datagramsOut++;
		this.stats.bytesOut += datagram.length;
		this.pendingSends++;
		const sent = (error) => {
			if (error) this.log(`dtls ${address}:${port}: send failed: ${error.message}`);
			if (--this.pendingSends === 0) this.#drained?.();
			callback?.(error ?? null);
		};
		try {
			this.raw.send(datagram, 0, datagram.length, port, address, sent);
		} catch (error) {
			sent(error);
		}
	}

	deliver(data, session) {
		// `secure` and the PSK identity tell the application what a plain UDP rinfo cannot
		this.socket.emit("message", data, { address: session.address, port: session.port, family: "IPv4", size: data.length, secure: true, pskIdentity: session.identity });
	}

	#drained;

	ended(session) {
		const key = session.peer;
		if (this.peers.get(key) === session) this.peers.delete(key);
	}

	// ------------------------------------------------------------ the socket face

	sendApplicationData(data, port, address, callback) {
		const fail = (error) => {
			if (callback) queueMicrotask(() => callback(error));
			else this.log(error.message);
		};
		try {
			checkLoopback(address, "destination");
		} catch (error) {
			return fail(error);
		}
		const session = this.peers.get(`${address}:${port}`);
		if (this.closed || !session || session.state !== "established") {
			const error = new Error(`dtls: no established DTLS session with ${address}:${port}; datagram dropped`);
			error.code = "ENOTCONN";
			return fail(error);
		}
		session.sendApplicationData(data, callback);
	}

	/** close_notify to every established peer, then close the socket underneath. */
	close(callback) {
		if (this.closed) {
			if (!callback) return;
			if (this.closeCallbacks) this.closeCallbacks.push(callback);
			else queueMicrotask(callback);
			return;
		}
		this.closeCallbacks = callback ? [callback] : [];
		this.closing = true;
		this.closed = true;
		for (const session of [...this.peers.values()]) {
			if (session.state === "established") session.end("server closed", { notify: true });
			else session.fail("server closed");
		}
		this.closing = false;
		this.raw.off("message", this.onRawMessage);
		this.raw.off("close", this.onRawClose);
		const done = () => {
			this.raw.off("error", this.onRawError);
			this.raw.off("listening", this.onRawListening);
			this.socket.emit("close");
			const callbacks = this.closeCallbacks;
			this.closeCallbacks = undefined;
			for (const cb of callbacks) cb();
		};
		const closeRaw = () => {
			this.#drained = undefined;
			try {
				this.raw.close(done);
			} catch {
				queueMicrotask(done);
			}
		};
		// let the close_notify alerts leave first (a dgram socket drops sends still queued)...
		if (this.pendingSends === 0) return closeRaw();
		this.#drained = closeRaw;
		// ...but do not wait for a socket that never calls back
		setTimeout(() => this.#drained?.(), 1000).unref?.();
	}
}
