// A simulation with the local LwM2M server on its network, in virtual time, and its REST
// API on a real loopback port: tests drive the firmware's client the way a user would,
// through HTTP, while the simulation moves time on.
import { Lwm2mServer } from "../../host-sim/lwm2m-server/index.js";
import { DtlsServer } from "../../host-sim/dtls/index.js";
import { simulation } from "./sim.js";

/**
 * @param options.psk {identity, key (hex)}: the server listens for DTLS (PSK) on 5684
 *   instead of plain CoAP on 5683; `dtls` is then its DtlsServer
 */
export async function lwm2mSimulation(t, { seed = 13, latencyMs = 1, modelsDirs = [], psk, dtlsMtu } = {}) {
	const sim = simulation(t, { seed, latencyMs });
	const servers = [];
	const startServer = async () => {
		let socket = sim.network.createSocket();
		if (psk) {
			state.dtls = new DtlsServer({ socket, clock: sim.clock, ...(dtlsMtu ? { mtu: dtlsMtu } : {}), psk: (identity) => (identity === psk.identity ? Buffer.from(psk.key, "hex") : undefined) });
			socket = state.dtls.socket;
		}
		const server = new Lwm2mServer({ coapPort: psk ? 5684 : 5683, httpPort: 0, socket, clock: sim.clock, modelsDirs, requestTimeout: 30 });
		await server.start();
		servers.push(server);
		return server;
	};
	const state = {};
	t.teardown(async () => {
		for (const s of servers) await s.stop().catch(() => {});
	});
	state.server = await startServer();
	/** Run the simulation until `promise` settles (or `maxMs` of simulated time passed). */
	const drive = async (promise, { step = 20, maxMs = 120_000 } = {}) => {
		let settled = false, value, error;
		promise.then((v) => { settled = true; value = v; }, (e) => { settled = true; error = e; });
		for (let elapsed = 0; !settled && elapsed < maxMs; elapsed += step) await sim.run(step);
		for (let i = 0; !settled && i < 50; i++) await new Promise((r) => setTimeout(r, 5));
		if (!settled) throw new Error(`nothing settled within ${maxMs} ms of simulated time`);
		if (error) throw error;
		return value;
	};
	/** A REST call (a path under /api), while the simulation runs. */
	const api = (current) => async (method, path, body) => {
		const res = await drive(fetch(`http://127.0.0.1:${current().httpPort}/api${path}`, {
			method,
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
			headers: body === undefined ? {} : { "content-type": typeof body === "string" ? "text/plain" : "application/json" },
		}));
		const text = await res.text();
		let json;
		try { json = JSON.parse(text); } catch { json = text; }
		return { status: res.status, body: json };
	};
	return { sim, state, startServer, drive, rest: api(() => state.server) };
}
