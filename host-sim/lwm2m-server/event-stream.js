// GET /api/event: the server's events as Server-Sent Events, named as in Leshan's
// EventServlet (REGISTRATION, UPDATED, DEREGISTRATION, NOTIFICATION, SEND, COAPLOG, and
// our FIRMWARE: each step of a firmware update),
// optionally only those of one client (?ep=). As in Leshan, COAPLOG (every CoAP message)
// goes only to streams that name a client, so an unfiltered stream stays readable.
// ?types=FIRMWARE,DEREGISTRATION keeps only those events (the CLI's update command).

export class EventStream {
	constructor(server) {
		this.server = server;
		this.clients = new Set(); // {res, ep}
		const on = (event, fn) => {
			server.on(event, fn);
			return () => server.off(event, fn);
		};
		this.unsubscribe = [
			on("registered", (reg) => this.#broadcast("REGISTRATION", reg, reg.endpoint)),
			on("updated", (u) => this.#broadcast("UPDATED", u, u.registration.endpoint)),
			on("deregistered", (reg) => this.#broadcast("DEREGISTRATION", { ...reg, expired: false }, reg.endpoint)),
			on("expired", (reg) => this.#broadcast("DEREGISTRATION", { ...reg, expired: true }, reg.endpoint)),
			on("notification", (n) =>
				this.#broadcast(
					"NOTIFICATION",
					{ ep: n.endpoint, res: n.composite ? n.paths.join(",") : n.path, val: n.content, composite: n.composite, observationIds: n.observationIds, format: n.format, timestamp: server.clock.now() },
					n.endpoint,
				),
			),
			on("send", (s) => this.#broadcast("SEND", { ep: s.endpoint, val: s.content, timestamped: s.timestamped, format: s.format }, s.endpoint)),
			on("coaplog", (entry) => this.#broadcast("COAPLOG", entry, entry.ep, true)),
			on("firmware", (job) => this.#broadcast("FIRMWARE", job, job.ep)),
		];
	}

	/** Whether anybody would see COAPLOG events (building them costs a little per datagram). */
	wantsCoapLog() {
		for (const c of this.clients) if (c.ep !== undefined && (!c.types || c.types.has("COAPLOG"))) return true;
		return false;
	}

	open(req, res, ep, types) {
		res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive" });
		res.write(": lwm2m server events\n\n");
		const list = (types ?? "").split(",").map((t) => t.trim().toUpperCase()).filter(Boolean);
		const client = { res, ep: ep || undefined, types: list.length ? new Set(list) : undefined };
		res.on("error", () => this.clients.delete(client));
		this.clients.add(client);
		req.on("close", () => this.clients.delete(client));
	}

	#broadcast(event, data, endpoint, onlyFiltered = false) {
		const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
		for (const c of this.clients) {
			if (c.ep === undefined ? onlyFiltered : c.ep !== endpoint) continue;
			if (c.types && !c.types.has(event)) continue;
			if (c.res.writableEnded || c.res.destroyed) this.clients.delete(c);
			else c.res.write(frame);
		}
	}

	close() {
		for (const u of this.unsubscribe) u();
		for (const c of this.clients) c.res.end();
		this.clients.clear();
	}
}
