// A hand-built LwM2M client for the server's tests, on npm `coap` alone: it registers
// with a link-format payload, answers the server's requests through routes the test
// sets, keeps observations open to push notifications, and can Send. It deliberately
// shares no code with the server (nor with device/): its payloads are written by the
// tests themselves, byte by byte or with cbor-x directly.
import dgram from "node:dgram";
import coap from "coap";

export const CF = { TEXT: 0, LINK: 40, OPAQUE: 42, CBOR: 60, SENML_JSON: 110, SENML_CBOR: 112, TLV: 11542, LWM2M_CBOR: 11544 };

// npm coap reports known content formats by media type; tests think in numbers
const MIME = {
	"text/plain": 0,
	"application/link-format": 40,
	"application/octet-stream": 42,
	"application/cbor": 60,
	"application/senml+json": 110,
	"application/senml+cbor": 112,
	"application/vnd.oma.lwm2m+tlv": 11542,
	"application/vnd.oma.lwm2m+cbor": 11544,
};
export const formatNumber = (h) => (h === undefined ? undefined : typeof h === "number" ? h : MIME[h]);

export class TestClient {
	/**
	 * @param options.serverPort the server's CoAP port
	 * @param options.socket a dgram-like socket (unbound); a new UDP socket when absent
	 */
	constructor({ serverPort, serverHost = "127.0.0.1", socket, endpoint = "test-client" } = {}) {
		this.serverPort = serverPort;
		this.serverHost = serverHost;
		this.endpoint = endpoint;
		this.socket = socket ?? dgram.createSocket("udp4");
		this.requests = []; // every request the server sent us
		this.routes = new Map(); // "GET /3303/0/5700" -> (req, res) => void
		this.observers = new Map(); // "/3303/0/5700" or "FETCH" -> ObserveWriteStream
		this.location = undefined;
		this.unanswered = new Set(); // responses a silent route never ended
	}

	async start() {
		await new Promise((resolve) => this.socket.bind(0, "127.0.0.1", resolve));
		this.port = this.socket.address().port;
		this.server = coap.createServer();
		this.server.listen(this.socket);
		this.server.on("request", (req, res) => this.#handle(req, res));
		this.agent = new coap.Agent({ socket: this.socket });
		return this;
	}

	/** route("GET", "/3303/0/5700", (req, res) => ...) */
	route(method, path, handler) {
		this.routes.set(`${method} ${path}`, handler);
		return this;
	}

	#handle(req, res) {
		const [path, query = ""] = req.url.split("?");
		const record = {
			method: req.method,
			path,
			query: query ? query.split("&") : [],
			accept: formatNumber(req.headers.Accept),
			format: formatNumber(req.headers["Content-Format"]),
			observe: req.headers.Observe,
			payload: Buffer.from(req.payload ?? []),
			rinfo: req.rsinfo,
			token: req._packet?.token,
		};
		this.requests.push(record);
		if (record.observe === 0) this.observers.set(req.method === "FETCH" ? "FETCH" : path, res);
		if (record.observe === 1) {
			const key = req.method === "FETCH" ? "FETCH" : path;
			this.observers.get(key)?.end();
			this.observers.delete(key);
		}
		this.unanswered.add(res);
		res.once("finish", () => this.unanswered.delete(res));
		const handler = this.routes.get(`${req.method} ${path}`);
		if (!handler) {
			res.code = "4.04";
			res.end();
			return;
		}
		handler(record, res);
	}

	/** Send a CoAP request to the server; resolves with npm coap's response. */
	request({ method = "POST", pathname, query, format, payload, confirmable = true }) {
		return new Promise((resolve, reject) => {
			const req = this.agent.request({ hostname: this.serverHost, port: this.serverPort, method, pathname, query, confirmable, options: format === undefined ? {} : { "Content-Format": format } });
			req.on("response", resolve);
			req.on("error", reject);
			req.end(payload === undefined ? undefined : Buffer.from(payload));
		});
	}

	async register({ query = `ep=${this.endpoint}&lt=300&lwm2m=1.1&b=U`, links = '</>;rt="oma.lwm2m";ct="60 110 112 11542 11544",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3308/0>,</5/0>' } = {}) {
		const res = await this.request({ pathname: "/rd", query, format: CF.LINK, payload: links });
		if (res.code === "2.01") {
			const location = res.options.filter((o) => o.name === "Location-Path").map((o) => String(o.value));
			this.location = "/" + location.join("/");
		}
		return res;
	}

	update({ query, links } = {}) {
		return this.request({ pathname: this.location, query, format: links === undefined ? undefined : CF.LINK, payload: links });
	}

	deregister() {
		return this.request({ method: "DELETE", pathname: this.location });
	}

	send(format, payload) {
		return this.request({ pathname: "/dp", format, payload });
	}

	/** Push a notification on an open observation. */
	notify(key, format, payload) {
		const stream = this.observers.get(key);
		if (!stream) throw new Error(`no observation open on ${key}`);
		stream.setOption("Content-Format", format);
		stream.write(Buffer.from(payload));
	}

	async stop() {
		// npm coap's piggyback timer of an unanswered request would fire after close and
		// leave a 202 s retransmission timer behind: end those exchanges first
		for (const res of this.unanswered) {
			if (res instanceof coap.ObserveWriteStream) continue;
			res.code = "5.03";
			res.end();
		}
		for (const stream of this.observers.values()) stream.end?.();
		this.agent?.close();
		this.server?.close();
		await new Promise((resolve) => this.socket.close(resolve));
	}
}

/** Answer a request with a payload in a content format (the first notification, on an observation). */
export function reply(res, { code = "2.05", format, payload } = {}) {
	if (format !== undefined) res.setOption("Content-Format", format);
	if (res instanceof coap.ObserveWriteStream && code.startsWith("2.")) {
		// the first write is the response (Observe: 1), later writes are notifications
		res.statusCode = code;
		res.write(Buffer.from(payload ?? []));
		return;
	}
	res.code = code;
	res.statusCode = code;
	if (res instanceof coap.ObserveWriteStream) res.end(); // refused: no Observe, no payload
	else res.end(payload === undefined ? undefined : Buffer.from(payload));
}
