// The REST API, in the shape of Eclipse Leshan's server demo (ClientServlet,
// EventServlet), so tools and habits carry over:
//   GET    /api/clients                              registrations
//   GET    /api/clients/{ep}                         one registration
//   GET    /api/clients/{ep}/{path}?format=&timeout= Read
//   PUT    /api/clients/{ep}/{path}?replace=false    Write (replace; partial update with replace=false)
//   POST   /api/clients/{ep}/{o}/{i}/{r}             Execute, body = arguments text
//   POST   /api/clients/{ep}/{o}                     Create, body = instance JSON
//   DELETE /api/clients/{ep}/{path}                  Delete
//   GET    /api/clients/{ep}/{path}/discover         Discover
//   PUT    /api/clients/{ep}/{path}/attributes?pmin= Write-Attributes
//   POST   /api/clients/{ep}/{path}/observe          Observe      DELETE[?id=]: cancel
//   GET    /api/clients/{ep}/composite?paths=a,b     Read-Composite   PUT: Write-Composite
//   POST   /api/clients/{ep}/composite/observe?paths= Observe-Composite  DELETE: cancel
//   POST   /api/clients/{ep}/firmware?mode=push|pull  firmware update, body = the package (GET: its progress, DELETE: cancel)
//   GET    /api/firmware, POST /api/firmware?name=    updates and served packages; serve a package over CoAP
//   GET    /api/event[?ep=]                          Server-Sent Events
//   GET    /api/objectspecs[/{id}], GET /api/server  models, ports
// Errors are {"error": "..."}: 400 bad input, 404 unknown client or route, 405 method,
// 502 a client answer that cannot be decoded, 504 the client did not answer in time.
// A CoAP error from the client is not an HTTP error: 200 with "success": false.
import http from "node:http";
import { EventStream } from "./event-stream.js";
import { modelToJson } from "./object-registry.js";
import { parsePath } from "./path.js";

const MAX_BODY = 1 << 20;
const MAX_PACKAGE = 8 << 20; // a firmware package: an ESP32 OTA slot is 1.5 MB

class HttpError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function readBody(req) {
	return readBytes(req, MAX_BODY).then((b) => b.toString("utf8"));
}

/** The raw body, at most `limit` bytes (a firmware package: MAX_PACKAGE). */
function readBytes(req, limit) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		let tooLarge = false;
		req.on("data", (c) => {
			if (tooLarge) return; // read and dropped, so the 413 reaches a client still sending
			size += c.length;
			if (size > limit) {
				tooLarge = true;
				chunks.length = 0;
				reject(new HttpError(413, `request body larger than ${limit} bytes (${limit >> 20} MiB), the most this API reads${limit === MAX_BODY ? "" : " for a firmware package"}`));
			} else chunks.push(c);
		});
		req.on("end", () => resolve(Buffer.concat(chunks)));
		req.on("error", reject);
	});
}

/** `where` names the target in the reason for a number no float holds (the resource path, or "the body"). */
async function jsonBody(req, where = "the body") {
	const text = await readBody(req);
	if (!text.trim()) throw new HttpError(400, "the request needs a JSON body");
	let finite = true;
	let body;
	try {
		body = JSON.parse(text, (_key, v) => {
			if (typeof v === "number" && !Number.isFinite(v)) finite = false;
			return v;
		});
	} catch (e) {
		throw new HttpError(400, `the body is not JSON: ${e.message}`);
	}
	// JSON.parse reads 1e400 as Infinity, which JSON.stringify would send on as null: refused
	// here, with the number as written, and nothing goes to the device
	if (!finite) throw new HttpError(400, `${where}: ${hugeNumber(text)} is not a finite number (out of the 64-bit float range)`);
	return body;
}

/** The first number token in JSON `text` (outside strings) that reads as Infinity. */
function hugeNumber(text) {
	for (const [token] of text.matchAll(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
		if (token[0] !== '"' && !Number.isFinite(Number(token))) return token;
	}
	return "a number";
}

function send(res, status, body) {
	const text = JSON.stringify(body, null, 1);
	const headers = { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) };
	if (status === 413) headers.Connection = "close"; // the rest of the body is not worth reading
	res.writeHead(status, headers);
	res.end(text);
}

export class HttpApi {
	constructor(server, { host, port }) {
		this.server = server;
		this.host = host;
		this.port = port;
		this.events = undefined;
	}

	wantsCoapLog() {
		return this.events?.wantsCoapLog() ?? false;
	}

	async start() {
		this.events = new EventStream(this.server);
		this.http = http.createServer((req, res) => this.#handle(req, res));
		await new Promise((resolve, reject) => {
			this.http.once("error", (e) => reject(new Error(`lwm2m server: cannot listen for HTTP on ${this.host}:${this.port}: ${e.message}`)));
			this.http.listen(this.port, this.host, resolve);
		});
		this.http.on("error", (e) => this.server.log(`http: ${e.message}`));
		return this.http.address().port;
	}

	async stop() {
		this.events?.close();
		if (!this.http) return;
		await new Promise((resolve) => {
			this.http.close(() => resolve());
			this.http.closeAllConnections();
		});
	}

	async #handle(req, res) {
		try {
			await this.#route(req, res);
		} catch (e) {
			const status = e.status && e.status >= 400 && e.status < 600 ? e.status : 500;
			if (status === 500) this.server.log(`http: ${req.method} ${req.url}: ${e.stack ?? e.message}`);
			if (!res.headersSent) send(res, status, { error: e.message });
			else res.end();
		}
	}

	async #route(req, res) {
		const url = new URL(req.url, "http://localhost");
		const q = url.searchParams;
		let segments;
		try {
			segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
		} catch {
			throw new HttpError(400, "malformed percent-encoding in the URL");
		}
		const method = req.method;
		const only = (...methods) => {
			if (!methods.includes(method)) throw new HttpError(405, `${method} is not allowed on ${url.pathname} (use ${methods.join(", ")})`);
		};
		if (segments[0] !== "api") throw new HttpError(404, `no route ${url.pathname} (the API is under /api)`);
		const [, section, ...rest] = segments;
		const server = this.server;

		if (section === "event" && rest.length === 0) {
			only("GET");
			return this.events.open(req, res, q.get("ep") ?? undefined, q.get("types") ?? undefined);
		}
		if (section === "server" && rest.length === 0) {
			only("GET");
			return send(res, 200, { host: server.host, coapPort: server.coapPort, httpPort: server.httpPort, lwm2mVersion: "1.1", now: server.clock.now() });
		}
		if (section === "objectspecs") {
			only("GET");
			if (rest.length === 0) return send(res, 200, server.models.objects().map(modelToJson));
			const model = rest.length === 1 && /^\d+$/.test(rest[0]) ? server.models.object(Number(rest[0]), q.get("version") ?? undefined) : undefined;
			if (!model) throw new HttpError(404, `no object model ${JSON.stringify(rest.join("/"))}`);
			return send(res, 200, modelToJson(model));
		}
		if (section === "firmware") {
			if (rest.length === 0) {
				only("GET", "POST");
				if (method === "GET") return send(res, 200, { updates: server.firmware.all(), packages: server.firmware.packages.list() });
				const bytes = await readBytes(req, MAX_PACKAGE);
				if (bytes.length === 0) throw new HttpError(400, "no package: the body is empty");
				return send(res, 201, server.servePackage(bytes, { name: q.get("name") ?? undefined }));
			}
			if (rest.length === 1) {
				only("DELETE");
				if (!server.firmware.packages.get(rest[0])) throw new HttpError(404, `no served package ${JSON.stringify(rest[0])}`);
				server.unservePackage(rest[0]);
				return send(res, 200, { removed: rest[0] });
			}
			throw new HttpError(404, `no route ${url.pathname}`);
		}
		if (section !== "clients") throw new HttpError(404, `no route ${url.pathname}`);
		if (rest.length === 0) {
			only("GET");
			return send(res, 200, server.clients());
		}
		const [ep, ...target] = rest;
		const client = server.client(ep);
		if (!client) throw new HttpError(404, `no registered client with endpoint name ${JSON.stringify(ep)}`);
		if (target.length === 0) {
			only("GET");
			return send(res, 200, client);
		}
		const options = { timeout: q.get("timeout") ?? undefined, format: q.get("format") ?? undefined };
		const last = target[target.length - 1];

		if (target[0] === "composite") {
			const composite = { ...options, format: q.get("nodeformat") ?? options.format, pathFormat: q.get("pathformat") ?? undefined };
			const paths = q.get("paths") ?? "";
			if (target.length === 1) {
				only("GET", "PUT");
				if (method === "GET") return send(res, 200, await server.readComposite(ep, paths, composite));
				return send(res, 200, await server.writeComposite(ep, await jsonBody(req), composite));
			}
			if (target.length === 2 && last === "observe") {
				only("POST", "DELETE");
				if (method === "POST") return send(res, 200, await server.observeComposite(ep, paths, undefined, { ...composite, owner: "rest" }));
				return send(res, 200, { cancelled: await server.cancelCompositeObservation(ep, paths, { ...options, owner: "rest", id: q.get("id") ?? undefined }) });
			}
			throw new HttpError(404, `no route ${url.pathname}`);
		}

		if (target.length === 1 && target[0] === "firmware") {
			only("GET", "POST", "DELETE");
			if (method === "GET") {
				const job = server.firmwareStatus(ep);
				if (!job) throw new HttpError(404, `no firmware update of ${ep} (POST the package to start one)`);
				return send(res, 200, job);
			}
			if (method === "DELETE") return send(res, 200, { cancelled: server.cancelFirmware(ep) });
			const flag = (name) => (q.get(name) === null ? undefined : q.get(name) !== "false" && q.get(name) !== "0");
			const mode = q.get("mode") ?? "push";
			if (mode !== "push" && mode !== "pull") throw new HttpError(400, `mode is push or pull, not ${JSON.stringify(mode)}`);
			const bytes = await readBytes(req, MAX_PACKAGE);
			const { job, done } = server.updateFirmware(ep, bytes, {
				mode,
				execute: flag("execute"),
				force: flag("force"),
				timeout: q.get("timeout") ?? undefined,
				updateTimeout: q.get("updateTimeout") ?? undefined,
				name: q.get("name") ?? undefined,
			});
			if (flag("wait")) return send(res, 200, await done);
			done.catch(() => {});
			return send(res, 202, job);
		}

		const lwm2mPath = (ids) => "/" + ids.join("/");
		if (last === "observe" && target.length > 1) {
			only("POST", "DELETE");
			const path = lwm2mPath(target.slice(0, -1));
			if (method === "POST") return send(res, 200, await server.observe(ep, path, undefined, { ...options, owner: "rest" }));
			return send(res, 200, { cancelled: await server.cancelObservation(ep, path, { ...options, owner: "rest", id: q.get("id") ?? undefined }) });
		}
		if (last === "discover" && target.length > 1) {
			only("GET");
			return send(res, 200, await server.discover(ep, lwm2mPath(target.slice(0, -1)), options));
		}
		if (last === "attributes" && target.length > 1) {
			only("PUT");
			const attributes = {};
			for (const [k, v] of q) if (k !== "timeout") attributes[k] = v === "" ? null : v;
			return send(res, 200, await server.writeAttributes(ep, lwm2mPath(target.slice(0, -1)), attributes, options));
		}

		const path = lwm2mPath(target);
		const ids = parsePath(path); // a 400 for anything that is not an LwM2M path
		switch (method) {
			case "GET":
				return send(res, 200, await server.read(ep, path, options));
			case "PUT":
				return send(res, 200, await server.write(ep, path, await jsonBody(req, path), { ...options, replace: q.get("replace") !== "false" }));
			case "POST":
				if (ids.length === 3) return send(res, 200, await server.execute(ep, path, await readBody(req), options));
				if (ids.length === 1) return send(res, 200, await server.create(ep, path, await jsonBody(req, path), options));
				throw new HttpError(400, `POST on ${path}: Execute takes /object/instance/resource, Create takes /object (for a partial update use PUT ?replace=false)`);
			case "DELETE":
				return send(res, 200, await server.delete(ep, path, options));
			default:
				throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
		}
	}
}
