// One peer's association, from the cookie-verified ClientHello to close: the server side
// of the PSK handshake (RFC 6347 §4.2, RFC 5246 §7.3, RFC 4279 §2) and then application
// data. Flights:
//   client  1 ClientHello              (no cookie: answered statelessly by DtlsServer)
//   server  2 HelloVerifyRequest       (DtlsServer)
//   client  3 ClientHello + cookie     -> begin()
//   server  4 ServerHello, [ServerKeyExchange(hint)], ServerHelloDone   (timer-retransmitted)
//   client  5 ClientKeyExchange(identity), ChangeCipherSpec, Finished
//   server  6 ChangeCipherSpec, Finished                                 (resent on a repeated flight 5)
import { randomBytes } from "node:crypto";
import { AlertDescription, AlertLevel, alertName, encodeAlert, parseAlert } from "./alerts.js";
import { FlightTimer } from "./flight.js";
import { HEADER_LENGTH as HANDSHAKE_HEADER, HandshakeType, encodeMessage, fragmentMessage, parseFragments, Reassembler } from "./handshake.js";
import { EMPTY_RENEGOTIATION_INFO_SCSV, ExtensionType, parseClientKeyExchangePsk, serverHello, serverKeyExchangePsk } from "./messages.js";
import { extendedMasterSecret, masterSecret, pskPremasterSecret, sha256, verifyData } from "./prf.js";
import { ContentType, DTLS_1_2, HEADER_LENGTH as RECORD_HEADER } from "./record.js";
import { RecordLayer } from "./record-layer.js";
import { createCipher, deriveKeys, suiteName } from "./suites.js";

const MAX_CIPHER_EXPANSION = 64; // CBC: IV 16 + MAC 32 + padding up to 16; CCM-8: 16
const MAX_PLAINTEXT = 2 ** 14;
const MAX_EARLY_RECORDS = 8; // epoch-1 records that overtook the ClientKeyExchange

export class DtlsSession {
	/** @param server the DtlsServer: clock, options, stats, transmit(), ended(), emit() */
	constructor(server, address, port) {
		this.server = server;
		this.address = address;
		this.port = port;
		this.peer = `${address}:${port}`;
		this.state = "handshake"; // -> "established" -> "closed"
		this.identity = undefined;
		this.suiteId = undefined;
		this.extendedMasterSecret = false;
		this.establishedAt = undefined;
		this.lastActivity = server.clock.now();
		this.traffic = { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0 };
		this.lastFlight = undefined;
		this.retransmitAsked = false;
		this.earlyRecords = [];
		this.idleTimer = undefined;
	}

	get info() {
		return {
			peer: this.peer,
			address: this.address,
			port: this.port,
			identity: this.identity,
			suite: this.suiteId === undefined ? undefined : suiteName(this.suiteId),
			suiteId: this.suiteId,
			extendedMasterSecret: this.extendedMasterSecret,
			establishedAt: this.establishedAt,
		};
	}

	#log(line) {
		this.server.log(`dtls ${this.peer}: ${line}`);
	}

	/** A ClientHello repeated by the client while this association is its answer. */
	isSameHello(hello) {
		return this.clientRandom !== undefined && this.clientRandom.equals(hello.random);
	}

	// ------------------------------------------------------------ flight 3 -> flight 4

	/**
	 * Start the handshake with a ClientHello whose cookie verified.
	 * @param record the record it came in; f its handshake fragment; hello the parsed body
	 */
	begin(record, f, hello) {
		const { options } = this.server;
		this.clientRandom = Buffer.from(hello.random);
		this.serverRandom = randomBytes(32);
		// The HelloVerifyRequest used the client's record sequence number; continue from the
		// second ClientHello's, so the client's epoch-0 replay window never sees a repeat.
		this.records = new RecordLayer({ firstWriteSeq: record.seq });
		this.records.markReceived(0, record.seq);
		// ... and the HelloVerifyRequest had the first ClientHello's message_seq: ServerHello
		// takes the next, which is this ClientHello's.
		this.sendSeq = f.messageSeq;
		this.reassembler = new Reassembler(f.messageSeq + 1);
		this.transcript = [encodeMessage(HandshakeType.clientHello, f.messageSeq, f.body)];
		this.expect = HandshakeType.clientKeyExchange;

		if (hello.clientVersion > DTLS_1_2) {
			// larger is older in DTLS: 0xfeff is DTLS 1.0
			return this.fail(`client offers only DTLS version 0x${hello.clientVersion.toString(16)}, not DTLS 1.2`, AlertDescription.protocol_version);
		}
		if (!hello.compressionMethods.includes(0)) return this.fail("client does not offer the null compression method", AlertDescription.illegal_parameter);
		this.suiteId = options.cipherSuites.find((s) => hello.cipherSuites.includes(s));
		if (this.suiteId === undefined) {
			const offered = hello.cipherSuites.map(suiteName).join(", ");
			return this.fail(`no cipher suite in common; client offered ${offered}`, AlertDescription.handshake_failure);
		}
		const extensions = [];
		if (hello.extensions.has(ExtensionType.renegotiationInfo) || hello.cipherSuites.includes(EMPTY_RENEGOTIATION_INFO_SCSV)) {
			const ri = hello.extensions.get(ExtensionType.renegotiationInfo);
			if (ri && !(ri.length === 1 && ri[0] === 0)) return this.fail("renegotiation_info not empty on an initial handshake", AlertDescription.handshake_failure);
			extensions.push([ExtensionType.renegotiationInfo, Buffer.from([0])]); // RFC 5746 §3.6
		}
		if (hello.extensions.has(ExtensionType.extendedMasterSecret)) {
			this.extendedMasterSecret = true; // RFC 7627 §5.1
			extensions.push([ExtensionType.extendedMasterSecret, Buffer.alloc(0)]);
		}

		const flight = [];
		this.#addMessage(flight, HandshakeType.serverHello, serverHello({ random: this.serverRandom, cipherSuite: this.suiteId, extensions }));
		if (options.hint !== undefined) this.#addMessage(flight, HandshakeType.serverKeyExchange, serverKeyExchangePsk(options.hint));
		this.#addMessage(flight, HandshakeType.serverHelloDone, Buffer.alloc(0));
		this.lastFlight = flight;
		this.#log(`handshake: ${suiteName(this.suiteId)}${this.extendedMasterSecret ? ", extended master secret" : ""}`);
		this.timer = new FlightTimer({
			clock: this.server.clock,
			...this.server.options.retransmission,
			send: (again) => {
				if (again) {
					this.server.stats.retransmissions++;
					this.#log("retransmitting flight 4");
				}
				this.#transmit(flight);
			},
			onGiveUp: () => this.fail(`handshake timed out: no ClientKeyExchange/Finished after ${this.timer.retransmissions} retransmissions`),
		});
		this.timer.start();
	}

	/** Appends a handshake message (fragmented to the MTU) to a flight and to the transcript. */
	#addMessage(flight, msgType, body, epoch = 0) {
		const seq = this.sendSeq++;
		const maxBody = this.server.options.mtu - RECORD_HEADER - HANDSHAKE_HEADER - MAX_CIPHER_EXPANSION;
		for (const payload of fragmentMessage(msgType, seq, body, maxBody)) flight.push({ type: ContentType.handshake, epoch, payload });
		this.transcript.push(encodeMessage(msgType, seq, body));
	}

	/** Seal every record afresh (new sequence numbers) and pack them into MTU-sized datagrams. */
	#transmit(flight) {
		const { mtu } = this.server.options;
		let batch = [];
		let size = 0;
		const flush = () => {
			if (batch.length) this.#sendDatagram(Buffer.concat(batch));
			batch = [];
			size = 0;
		};
		for (const item of flight) {
			const record = this.records.seal(item.type, item.payload, item.epoch);
			if (size + record.length > mtu) flush();
			batch.push(record);
			size += record.length;
		}
		flush();
	}

	#sendDatagram(datagram, callback) {
		this.traffic.datagramsOut++;
		this.traffic.bytesOut += datagram.length;
		this.server.transmit(datagram, this.address, this.port, callback);
	}

	// ------------------------------------------------------------ incoming records

	/** Counts a datagram of this peer (for the handshake figures). */
	countDatagram(length) {
		this.traffic.datagramsIn++;
		this.traffic.bytesIn += length;
	}

	handleRecord(record) {
		if (this.state === "closed") return;
		const { stats } = this.server;
		const opened = this.records.open(record);
		if (opened.drop === "replay") {
			stats.replayDropped++;
			return;
		}
		if (opened.drop === "epoch") {
			if (this.state === "handshake" && record.epoch === 1 && this.earlyRecords.length < MAX_EARLY_RECORDS) this.earlyRecords.push(record);
			else stats.unexpectedDropped++;
			return;
		}
		if (opened.drop === "badMac") {
			stats.badMacDropped++;
			// RFC 6347 §4.1.2.7: invalid records are silently discarded - except that a
			// Finished that does not authenticate means the keys differ: a wrong PSK. An
			// implementation that alerts must send a fatal bad_record_mac.
			if (this.state === "handshake" && this.expect === HandshakeType.finished && record.type === ContentType.handshake) {
				this.fail(`client Finished failed to authenticate: the client's PSK for identity ${JSON.stringify(this.identity)} is not the server's`, AlertDescription.bad_record_mac);
			}
			return;
		}
		const data = opened.plaintext;
		if (record.epoch > 0) this.lastActivity = this.server.clock.now();
		switch (record.type) {
			case ContentType.changeCipherSpec:
				if (data.length !== 1 || data[0] !== 1) stats.malformedDropped++;
				return; // the epoch field of the next records says it all in DTLS
			case ContentType.alert:
				return this.#handleAlert(record, data);
			case ContentType.handshake:
				return this.#handleHandshake(record, data);
			case ContentType.applicationData:
				if (this.state !== "established" || record.epoch !== 1) {
					stats.unexpectedDropped++;
					return;
				}
				this.lastFlight = undefined; // the client has our Finished
				stats.applicationDataIn++;
				this.server.deliver(data, this);
				return;
		}
	}

	/** After all records of a datagram: at most one retransmission per datagram. */
	endOfDatagram() {
		if (!this.retransmitAsked) return;
		this.retransmitAsked = false;
		if (this.state === "closed" || !this.lastFlight) return;
		if (this.state === "handshake") this.timer.retransmit();
		else {
			this.server.stats.retransmissions++;
			this.#log("client repeated its last flight: retransmitting flight 6");
			this.#transmit(this.lastFlight);
		}
	}

	#handleAlert(record, data) {
		const alert = parseAlert(data);
		if (!alert) {
			this.server.stats.malformedDropped++;
			return;
		}
		// after the handshake only authenticated alerts count (RFC 6347 §4.1.2.7 spirit:
		// an unprotected alert must not end a session anyone can spoof an address for)
		if (this.state === "established" && record.epoch === 0) {
			this.server.stats.unexpectedDropped++;
			return;
		}
		this.server.stats.alertsReceived++;
		if (alert.description === AlertDescription.close_notify) {
			this.#log("close_notify from the client");
			if (this.state === "established") this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
			if (this.state === "handshake") return this.fail("client sent close_notify during the handshake");
			return this.end("closed by the client (close_notify)");
		}
		if (alert.level === AlertLevel.fatal) {
			const reason = `fatal alert from the client: ${alert.name}`;
			if (this.state === "handshake") return this.fail(reason);
			return this.end(reason);
		}
		this.#log(`warning alert from the client: ${alert.name}`);
	}

	#handleHandshake(record, data) {
		let fragments;
		try {
			fragments = parseFragments(data);
		} catch (e) {
			this.server.stats.malformedDropped++;
			if (this.state === "handshake") this.fail(`malformed handshake record: ${e.message}`, AlertDescription.decode_error);
			return;
		}
		for (const f of fragments) {
			if (this.state === "closed") return;
			if (this.state === "established") {
				if (f.msgType === HandshakeType.clientHello && record.epoch > 0) {
					this.#sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
					continue;
				}
				if (f.messageSeq < this.reassembler.nextSeq) this.retransmitAsked = true; // flight 5 again: our flight 6 was lost
				continue;
			}
			const { messages, old } = this.reassembler.add(f);
			if (old) this.retransmitAsked = true; // flight 3 again: our flight 4 was lost
			for (const m of messages) {
				if (this.state !== "handshake") return;
				this.#handleMessage(m, record.epoch);
			}
		}
	}

	// ------------------------------------------------------------ flight 5 -> flight 6

	#handleMessage(m, epoch) {
		if (m.msgType !== this.expect || (m.msgType === HandshakeType.finished) !== (epoch === 1)) {
			return this.fail(`unexpected handshake message ${m.msgType} in epoch ${epoch}`, AlertDescription.unexpected_message);
		}
		if (m.msgType === HandshakeType.clientKeyExchange) return this.#clientKeyExchange(m);
		return this.#finished(m);
	}

	#clientKeyExchange(m) {
		let identity;
		try {
			identity = parseClientKeyExchangePsk(m.body).identity.toString("utf8");
		} catch (e) {
			return this.fail(`malformed ClientKeyExchange: ${e.message}`, AlertDescription.decode_error);
		}
		this.identity = identity;
		let psk;
		try {
			psk = this.server.options.psk(identity);
		} catch (e) {
			return this.fail(`psk lookup for ${JSON.stringify(identity)} threw: ${e.message}`, AlertDescription.internal_error);
		}
		if (psk === undefined || psk === null) {
			return this.fail(`unknown PSK identity ${JSON.stringify(identity)}`, AlertDescription.unknown_psk_identity);
		}
		psk = Buffer.from(psk);
		if (psk.length === 0 || psk.length > 65535) return this.fail(`PSK for ${JSON.stringify(identity)} has an unusable length ${psk.length}`, AlertDescription.internal_error);
		this.transcript.push(encodeMessage(m.msgType, m.messageSeq, m.body));
		const premaster = pskPremasterSecret(psk);
		this.master = this.extendedMasterSecret
			? extendedMasterSecret(premaster, sha256(Buffer.concat(this.transcript)))
			: masterSecret(premaster, this.clientRandom, this.serverRandom);
		const keys = deriveKeys(this.suiteId, this.master, this.clientRandom, this.serverRandom);
		this.records.setReadEpoch(1, createCipher(this.suiteId, keys.client));
		this.records.setWriteEpoch(1, createCipher(this.suiteId, keys.server));
		this.expect = HandshakeType.finished;
		// records of epoch 1 that arrived before the keys existed
		const early = this.earlyRecords;
		this.earlyRecords = [];
		queueMicrotask(() => {
			for (const r of early) this.handleRecord(r);
			this.endOfDatagram();
		});
	}

	#finished(m) {
		const expected = verifyData(this.master, "client finished", sha256(Buffer.concat(this.transcript)));
		if (m.body.length !== expected.length || !m.body.equals(expected)) {
			return this.fail("client Finished verify_data does not match (transcript or keys differ)", AlertDescription.decrypt_error);
		}
		this.transcript.push(encodeMessage(m.msgType, m.messageSeq, m.body));
		const flight = [{ type: ContentType.changeCipherSpec, epoch: 0, payload: Buffer.from([1]) }];
		this.#addMessage(flight, HandshakeType.finished, verifyData(this.master, "server finished", sha256(Buffer.concat(this.transcript))), 1);
		this.timer.stop();
		this.#transmit(flight);
		this.lastFlight = flight; // kept until the client's first application data
		this.records.writeEpoch = 1;
		this.transcript = undefined;
		this.state = "established";
		this.establishedAt = this.server.clock.now();
		this.lastActivity = this.establishedAt;
		this.#armIdle(this.server.options.idleTimeoutMs);
		this.server.stats.handshakesCompleted++;
		this.#log(`established: identity ${JSON.stringify(this.identity)}, ${suiteName(this.suiteId)}, ${this.traffic.datagramsIn} datagrams in / ${this.traffic.datagramsOut} out`);
		this.server.emit("handshake", { ...this.info, traffic: { ...this.traffic } });
	}

	// ------------------------------------------------------------ established

	sendApplicationData(data, callback) {
		if (data.length > MAX_PLAINTEXT) {
			const error = new RangeError(`dtls: ${data.length} octets exceed the record limit of ${MAX_PLAINTEXT}`);
			if (callback) queueMicrotask(() => callback(error));
			else this.#log(error.message);
			return;
		}
		this.lastActivity = this.server.clock.now();
		this.server.stats.applicationDataOut++;
		const record = this.records.seal(ContentType.applicationData, data);
		this.#sendDatagram(record, callback && ((error) => callback(error ?? null, data.length)));
	}

	#armIdle(ms) {
		this.idleTimer = this.server.clock.after(ms, () => {
			this.idleTimer = undefined;
			if (this.state !== "established") return;
			const idle = this.server.clock.now() - this.lastActivity;
			const limit = this.server.options.idleTimeoutMs;
			if (idle < limit) return this.#armIdle(limit - idle);
			this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
			this.end(`idle for ${Math.round(idle / 1000)} s`);
		});
	}

	#sendAlert(level, description) {
		this.server.stats.alertsSent++;
		this.#log(`sending ${level === AlertLevel.fatal ? "fatal" : "warning"} alert ${alertName(description)}`);
		try {
			this.#sendDatagram(this.records.seal(ContentType.alert, encodeAlert(level, description)));
		} catch (e) {
			this.#log(`cannot send alert: ${e.message}`);
		}
	}

	// ------------------------------------------------------------ endings

	/** The handshake failed: optional fatal alert (in the clear: our write epoch is 0), then forget. */
	fail(reason, alert) {
		if (this.state === "closed") return;
		if (alert !== undefined) this.#sendAlert(AlertLevel.fatal, alert);
		this.#stop();
		this.server.stats.handshakesFailed++;
		this.#log(`handshake failed: ${reason}`);
		this.server.ended(this);
		this.server.emit("handshakeFailed", { peer: this.peer, address: this.address, port: this.port, identity: this.identity, reason });
	}

	/** An established association ends (peer closed, idle, replaced, server closing). */
	end(reason, { notify = false } = {}) {
		if (this.state === "closed") return;
		if (this.state === "handshake") return this.fail(reason);
		if (notify) this.#sendAlert(AlertLevel.warning, AlertDescription.close_notify);
		this.#stop();
		this.#log(`session closed: ${reason}`);
		this.server.ended(this);
		this.server.emit("sessionClosed", { ...this.info, reason });
	}

	#stop() {
		this.state = "closed";
		this.timer?.stop();
		if (this.idleTimer) this.server.clock.cancel(this.idleTimer);
		this.idleTimer = undefined;
		this.lastFlight = undefined;
		this.earlyRecords = [];
	}
}
