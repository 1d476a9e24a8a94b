// The pull of a firmware package (object 5's Package URI): a CoAP GET walked block by
// block (RFC 7959 Block2) from coap:// or coaps:// (DTLS with the LwM2M server's PSK), on a
// socket of its own, each block handed on as it arrives (into the update slot), nothing
// kept. A lost exchange is tried again from the block it was at (the bytes written stay),
// a bounded number of times with growing pauses; then the download has failed (result 4).
// A download resumed after a reboot (options.resume) starts at the block it had reached and
// checks on the first answer that the server still has the same package (ETag, Size2);
// otherwise it starts over from block 0 (sink.restarted).

import Timer from "timer";
import { Alarm } from "../../alarm";
import { Code, Method, Option, codeText } from "../../coap/constants";
import { ClientRequest, Endpoint } from "../../coap/endpoint";
import { blockMore, blockNum, blockSize, blockSzx, blockValue, type Message } from "../../coap/message";
import { UdpTransport, type Transport } from "../../coap/transport";
import { utf8Read } from "../../coap/utf8";
import { DtlsTransport } from "../../dtls/client";

export interface PackageUri {
	secure: boolean;
	address: string;
	port: number;
	/** Uri-Path segments joined with "/" */
	path: string;
	query: string[] | undefined;
}

/** Update Results of a URI the device cannot use: 7 malformed, 9 a scheme it does not fetch. */
export function parsePackageUri(uri: string): PackageUri | { result: number; why: string } {
	const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/.exec(uri);
	if (!m) return { result: 7, why: `${JSON.stringify(uri)} is not a URI (scheme://host/path)` };
	const scheme = m[1].toLowerCase();
	if (scheme !== "coap" && scheme !== "coaps") return { result: 9, why: `${scheme}:// is not a protocol this device fetches with (coap:// and coaps:// are)` };
	const host = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::(\d{1,5}))?$/.exec(m[2]);
	if (!host) return { result: 7, why: `${JSON.stringify(m[2])} is not an IPv4 address[:port] (the device has no DNS)` };
	if (host[1].split(".").some((b) => Number(b) > 255)) return { result: 7, why: `${host[1]} is not an IPv4 address` };
	const secure = scheme === "coaps";
	const port = host[2] ? Number(host[2]) : secure ? 5684 : 5683;
	if (port < 1 || port > 65535) return { result: 7, why: `port ${port} is out of range` };
	let path = m[3];
	while (path.charCodeAt(0) === 47) path = path.slice(1);
	if (!path.length) return { result: 7, why: `${JSON.stringify(uri)} names no resource (a path is needed)` };
	const query = m[4] ? m[4].split("&") : undefined;
	return { secure, address: host[1], port, path: decode(path), query };
}

function decode(s: string): string {
	return s.indexOf("%") < 0 ? s : s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export interface DownloadSink {
	/** the next bytes of the package; false stops the download (the sink has failed it) */
	data(bytes: Uint8Array): boolean;
	/** the last block is in */
	done(): void;
	/** the download cannot go on: the Update Result it is (4, 7) and why */
	failed(result: number, why: string): void;
	/** a resumed download starts over from byte 0 (the package changed on the server) */
	restarted(why: string): void;
}

/** Where a download interrupted by a reboot goes on, and what the server said then. */
export interface DownloadResume {
	/** bytes of the package already in (a multiple of the block size) */
	received: number;
	/** the ETag the server gave, if any */
	etag: Uint8Array | undefined;
	/** the Size2 it gave, -1 when none */
	size: number;
}

export interface DownloadOptions {
	/** the LwM2M server's PSK, for coaps:// */
	psk?: { identity: string; key: Uint8Array };
	log?: (text: string) => void;
	/** block size exponent asked for: 2^(szx+4) bytes */
	szx?: number;
	/** attempts after a lost exchange before giving up; pauses of retryDelay ms, doubling */
	retries?: number;
	retryDelay?: number;
	ackTimeout?: number;
	/** go on from there (after a reboot) instead of byte 0 */
	resume?: DownloadResume;
}

export class PackageDownload {
	readonly uri: PackageUri;
	received = 0;
	blocks = 0;
	retried = 0;
	#sink: DownloadSink;
	#log: (text: string) => void;
	#endpoint: Endpoint;
	#request = new ClientRequest();
	#szx: number;
	#retries: number;
	#retryDelay: number;
	#failures = 0;
	#etag: Uint8Array | undefined = undefined;
	/** the package's size as the server gave it (Size2), -1 unknown */
	size = -1;
	#resumed = false;
	#alarm: Alarm;
	#closed = false;

	constructor(uri: PackageUri, sink: DownloadSink, options: DownloadOptions = {}) {
		this.uri = uri;
		this.#sink = sink;
		const log = (this.#log = options.log ?? (() => {}));
		this.#szx = options.szx ?? 6;
		this.#retries = options.retries ?? 4;
		this.#retryDelay = options.retryDelay ?? 10_000;
		const psk = options.psk;
		this.#endpoint = new Endpoint((ep): Transport => {
			const receive = (data: Uint8Array, address: string, port: number) => ep.receive(data, address, port);
			if (!uri.secure) return new UdpTransport(0, receive);
			const dtls = new DtlsTransport({ identity: psk!.identity, key: psk!.key, port: 0, log }, receive);
			dtls.onFailed = (why) => log(`firmware: download: DTLS: ${why}`);
			return dtls;
		}, { log, ackTimeout: options.ackTimeout });
		// only the package's server may answer
		this.#endpoint.accepts = (address, port) => address === uri.address && port === uri.port;
		this.#alarm = new Alarm(() => this.#get());
		const r = this.#request;
		r.method = Method.GET;
		r.path = uri.path;
		r.query = uri.query;
		r.onResponse = (m) => this.#response(m);
		r.onError = (why) => this.#lost(`no answer (${why})`);
		const resume = options.resume;
		if (resume && resume.received > 0) {
			this.received = resume.received;
			// the block size may have been cut by the server: one that ends where it stopped
			while (this.#szx > 0 && resume.received % blockSize(this.#szx)) this.#szx--;
			this.#etag = resume.etag;
			this.size = resume.size;
			this.#resumed = true;
		}
	}

	/** the server's ETag for the package (the first block's), undefined when none */
	get etag() {
		return this.#etag;
	}

	start() {
		this.#get();
	}

	/** Stop (a cancel, a new package): no callback follows. */
	close() {
		if (this.#closed) return;
		this.#closed = true;
		this.#alarm.close();
		const endpoint = this.#endpoint;
		endpoint.forget(this.#request);
		// not from inside the socket's own callback (the last block's response)
		Timer.set(() => endpoint.close(), 0);
	}

	#get() {
		if (this.#closed) return;
		const r = this.#request;
		r.token = undefined;
		r.block2 = blockValue(Math.floor(this.received / blockSize(this.#szx)), false, this.#szx);
		r.size2 = this.blocks === 0 ? 0 : -1; // the first answer says the package's size
		this.#endpoint.request(r, this.uri.address, this.uri.port);
	}

	#response(m: Message) {
		if (this.#closed) return;
		if (m.code !== Code.Content) {
			const text = m.payloadLength ? `: ${utf8Read(m.payload(), 0, Math.min(m.payloadLength, 80))}` : "";
			if (m.code >= Code.InternalServerError) return this.#lost(`the server answered ${codeText(m.code)}${text}`);
			// a block past the end of what it has now (npm coap answers 4.02): another package
			if (this.#resumed && m.code !== Code.NotFound) {
				this.#resumed = false;
				return this.#restart(`the server answered ${codeText(m.code)}${text} to block ${Math.floor(this.received / blockSize(this.#szx))}: starting over from byte 0`);
			}
			return this.#fail(7, `the server answered ${codeText(m.code)}${text}`);
		}
		const etag = m.opaque(Option.ETag);
		if (this.blocks === 0) {
			const size = m.uint(Option.Size2);
			if (this.#resumed) {
				this.#resumed = false;
				let changed = "";
				if (!sameBytes(this.#etag, etag)) changed = "its ETag";
				else if (size >= 0 && this.size >= 0 && size !== this.size) changed = `its size (Size2 ${size}, was ${this.size})`;
				if (changed) return this.#restart(`the package on the server changed since the download began (${changed}): starting over from byte 0`);
			} else this.#etag = etag ? etag.slice() : undefined;
			if (size >= 0) this.size = size;
		} else if (!sameBytes(this.#etag, etag)) return this.#fail(5, "the package changed on the server during the download (another ETag)");
		const block2 = m.uint(Option.Block2);
		const payload = m.payload();
		let more = false;
		if (block2 >= 0) {
			const szx = blockSzx(block2);
			const offset = blockNum(block2) * blockSize(szx);
			more = blockMore(block2);
			if (more && payload.length !== blockSize(szx)) return this.#fail(5, `block ${blockNum(block2)} has ${payload.length} bytes, not ${blockSize(szx)}`);
			if (offset !== this.received) return this.#fail(5, `the server sent the block at byte ${offset}, ${this.received} were received`);
			if (szx < this.#szx) this.#szx = szx; // the server's block size from now on (RFC 7959 §2.4)
		} else if (this.received) return this.#fail(5, "the server answered a block with the whole representation");
		this.#failures = 0;
		this.blocks++;
		this.received += payload.length;
		if (payload.length && !this.#sink.data(payload)) return this.close();
		if (this.#closed) return;
		if (more) {
			this.#get();
			return;
		}
		this.close();
		this.#sink.done();
	}

	#lost(why: string) {
		if (this.#closed) return;
		if (this.#failures >= this.#retries) return this.#fail(4, `${why}; gave up after ${this.#failures + 1} attempts at byte ${this.received}`);
		const pause = this.#retryDelay * (1 << this.#failures);
		this.#failures++;
		this.retried++;
		this.#log(`firmware: download: ${why} at byte ${this.received}; trying again in ${Math.round(pause / 1000)} s (${this.#failures} of ${this.#retries})`);
		this.#alarm.after(pause);
	}

	#restart(why: string) {
		this.#log(`firmware: download: ${why}`);
		this.received = 0;
		this.blocks = 0;
		this.#etag = undefined;
		this.size = -1;
		this.#sink.restarted(why);
		this.#get();
	}

	#fail(result: number, why: string) {
		this.close();
		this.#sink.failed(result, why);
	}
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
	if (!a || !b) return !a && !b;
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}
