// The dashboard's HTTP server (127.0.0.1 only): the static page in public/, a small JSON
// API for the simulation, Server-Sent Events, and a pass-through to the embedded LwM2M
// server's REST API so the page's writes are real LwM2M operations from the same origin.
//
//   GET  /                               the dashboard (public/index.html, app.js, plot.js, style.css)
//   GET  /sim/info                       speed, simulated time, the server (embedded or not), the devices
//   GET  /sim/history[?since=SEQ]        {seq, events}: the retained events, oldest first
//   GET  /sim/events[?since=SEQ]         SSE: every new event (event: sample|relay|reported|registration|
//                                        message|fault|room|log, id: seq, data: JSON); with since= (or
//                                        Last-Event-ID on a reconnect) the retained ones after SEQ first
//   GET  /sim/devices                    each device: latest sample, reported values, registration
//   POST /sim/devices/{name}/fault       {"kind": "absent"|"stuck"|"range"|"noise"|"none", "value"?: σ °C for noise}
//   POST /sim/devices/{name}/room        {"outside": °C}
//   *    /api/...                        the LwM2M server's REST API (Leshan's shape), passed through;
//                                        503 when the devices use an external server (--server)
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PUBLIC = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png" };
const HEARTBEAT_MS = 15_000;
const MAX_BODY = 64 * 1024;

class HttpError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function send(res, status, body) {
	const text = JSON.stringify(body);
	res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-store" });
	res.end(text);
}

async function jsonBody(req) {
	const chunks = [];
	let size = 0;
	for await (const c of req) {
		size += c.length;
		if (size > MAX_BODY) throw new HttpError(413, "request body too large");
		chunks.push(c);
	}
	const text = Buffer.concat(chunks).toString("utf8");
	try {
		return JSON.parse(text || "{}");
	} catch (e) {
		throw new HttpError(400, `the body is not JSON: ${e.message}`);
	}
}

export class DashboardServer {
	/**
	 * @param options.host, options.port   where to listen (127.x only)
	 * @param options.journal              the main job's Journal
	 * @param options.job                  the main job (devices, controls, info)
	 * @param options.api                  {host, port} of the LwM2M REST API, or undefined (external server)
	 */
	constructor({ host = "127.0.0.1", port = 8090, journal, job, api }) {
		if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new RangeError(`dashboard: listens on loopback addresses only, not ${JSON.stringify(host)}`);
		this.host = host;
		this.port = port;
		this.journal = journal;
		this.job = job;
		this.api = api;
		this.streams = new Set();
		this.proxied = new Set();
		this.files = new Map(fs.readdirSync(PUBLIC).map((f) => [`/${f}`, path.join(PUBLIC, f)]));
		this.files.set("/", path.join(PUBLIC, "index.html"));
	}

	async start() {
		this.http = http.createServer((req, res) => {
			this.#handle(req, res).catch((e) => {
				const status = e.status >= 400 && e.status < 600 ? e.status : 500;
				if (!res.headersSent) send(res, status, { error: e.message });
				else res.end();
			});
		});
		await new Promise((resolve, reject) => {
			this.http.once("error", (e) => reject(new Error(`dashboard: cannot listen on ${this.host}:${this.port}: ${e.message}`)));
			this.http.listen(this.port, this.host, resolve);
		});
		this.http.on("error", () => {});
		this.listener = (event) => this.#broadcast(event);
		this.journal.on("event", this.listener);
		this.heartbeat = setInterval(() => {
			for (const s of this.streams) s.write(": keep-alive\n\n");
		}, HEARTBEAT_MS);
		this.heartbeat.unref();
		this.port = this.http.address().port;
		return this.port;
	}

	async close() {
		clearInterval(this.heartbeat);
		if (this.listener) this.journal.off("event", this.listener);
		for (const s of this.streams) s.end();
		this.streams.clear();
		for (const p of this.proxied) p.destroy();
		this.proxied.clear();
		if (!this.http) return;
		await new Promise((resolve) => {
			this.http.close(() => resolve());
			this.http.closeAllConnections();
		});
		this.http = undefined;
	}

	#broadcast(event) {
		const frame = `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
		for (const s of this.streams) {
			if (s.writableEnded || s.destroyed) this.streams.delete(s);
			else s.write(frame);
		}
	}

	info() {
		const job = this.job;
		const o = job.options;
		return {
			title: "LwM2M thermostat — host-sim",
			speed: job.virtual ? null : o.speed,
			virtual: job.virtual,
			start: job.sim.clock.start,
			now: job.sim.now,
			sampleWallMs: job.sampleWallMs,
			powerFailPin: 35,
			server: job.embedded
				? { embedded: true, uri: job.serverUri, restApi: job.apiUrl, api: "/api" }
				: {
						embedded: false,
						uri: job.serverUri,
						api: null,
						note: `The devices register with an external LwM2M server (${job.serverUri}, --server): this dashboard has no server to observe or write through, so it shows the simulation's model data only. Use that server's own tools for LwM2M.`,
					},
			devices: job.devices.map((d) => ({ name: d.name, endpoint: d.name })),
		};
	}

	devices() {
		const j = this.journal;
		return this.job.devices.map((d) => ({
			name: d.name,
			sample: j.latest("sample", d.name),
			reported: Object.fromEntries(["/3303/0/5700", "/3308/0/5900", "/3306/0/5850", "/32700/0/9"].map((p) => [p, j.latest("reported", d.name, p)?.value])),
			registration: this.job.registered.get(d.name) ?? null,
			// resets the chip did unasked; reboots the server asked for (Execute /3/0/4 or /3/0/5)
			resets: this.job.stats?.get(d.name)?.resets ?? d.resets.length,
			reboots: this.job.stats?.get(d.name)?.reboots ?? 0,
		}));
	}

	async #handle(req, res) {
		const url = new URL(req.url, "http://localhost");
		const p = url.pathname;
		if (p === "/api" || p.startsWith("/api/")) return this.#proxy(req, res);
		if (req.method === "GET" && this.files.has(p)) return this.#file(res, this.files.get(p));
		if (p === "/sim/info") {
			if (req.method !== "GET") throw new HttpError(405, "use GET");
			return send(res, 200, this.info());
		}
		if (p === "/sim/history") {
			if (req.method !== "GET") throw new HttpError(405, "use GET");
			const since = Number(url.searchParams.get("since") ?? 0) || 0;
			return send(res, 200, { seq: this.journal.seq, now: this.job.sim.now, events: this.journal.since(since) });
		}
		if (p === "/sim/events") {
			if (req.method !== "GET") throw new HttpError(405, "use GET");
			return this.#events(req, res, url);
		}
		if (p === "/sim/devices") {
			if (req.method !== "GET") throw new HttpError(405, "use GET");
			return send(res, 200, this.devices());
		}
		const m = /^\/sim\/devices\/([^/]+)\/(fault|room)$/.exec(p);
		if (m) {
			if (req.method !== "POST") throw new HttpError(405, "use POST with a JSON body");
			const name = decodeURIComponent(m[1]);
			const body = await jsonBody(req);
			if (this.job.stopping) throw new HttpError(503, "the main job is stopping");
			if (m[2] === "fault") return send(res, 200, await this.job.injectFault(name, body.kind, body.value));
			return send(res, 200, await this.job.setOutside(name, typeof body.outside === "string" && body.outside.trim() !== "" ? Number(body.outside) : body.outside));
		}
		throw new HttpError(404, `no route ${req.method} ${p}`);
	}

	#file(res, file) {
		const data = fs.readFileSync(file);
		res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream", "Content-Length": data.length, "Cache-Control": "no-cache" });
		res.end(data);
	}

	#events(req, res, url) {
		res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive" });
		res.write("retry: 1000\n: host-sim dashboard events\n\n");
		const since = Number(req.headers["last-event-id"] ?? url.searchParams.get("since") ?? NaN);
		if (Number.isFinite(since)) for (const e of this.journal.since(since)) res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
		this.streams.add(res);
		const drop = () => this.streams.delete(res);
		req.on("close", drop);
		res.on("error", drop);
	}

	#proxy(req, res) {
		if (!this.api) throw new HttpError(503, "no embedded LwM2M server: the devices register with an external one (--server)");
		const upstream = http.request(
			{ host: this.api.host, port: this.api.port, method: req.method, path: req.url, headers: { ...req.headers, host: `${this.api.host}:${this.api.port}` } },
			(up) => {
				res.writeHead(up.statusCode, up.headers);
				up.pipe(res);
				up.on("error", () => res.destroy());
			},
		);
		this.proxied.add(upstream);
		const forget = () => this.proxied.delete(upstream);
		upstream.on("close", forget);
		upstream.on("error", (e) => {
			forget();
			if (!res.headersSent) send(res, 502, { error: `LwM2M REST API unreachable: ${e.message}` });
			else res.destroy();
		});
		res.on("close", () => {
			if (!upstream.writableFinished || !upstream.destroyed) upstream.destroy();
		});
		req.pipe(upstream);
	}
}
