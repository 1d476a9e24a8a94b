// npm run sim, as a module: the embedded LwM2M server (as npm start starts it, with the
// thermostat's DDF), the firmware built for Moddable's simulator with that server in its
// config, and mcsim running it with the thermostat pane. host-sim/mcsim/run.js is the
// command line; test/mcsim.test.js starts it with port 0 and its own display:
//
//   const job = await startMcsimJob({ coapPort: 0, httpPort: null, xvfb: true, out, flash });
//   job.server, job.endpoint, job.display, job.buildSeconds, job.mcsim.pid
//   await job.stop();     // mcsim (by its PID), the display if ours, the server
import path from "node:path";
import { Lwm2mServer } from "../lwm2m-server/index.js";
import { buildSim, moddable, root } from "./build.js";
import { startMcsim, startXvfb } from "./launch.js";

export const DDF_DIR = path.join(root, "device", "thermostat", "ddf");

/**
 * Options: coapPort (default 5683; 0 any), httpPort (default 8080; null for none),
 * endpoint, lifetime (s), config (more mc/config values), out, flash, xvfb (start a private
 * display instead of using $DISPLAY; xvfbSize "WxHxD"), log(line, source), onExit() when mcsim
 * exits by itself.
 */
export async function startMcsimJob(options = {}) {
	const o = {
		coapPort: 5683,
		httpPort: 8080,
		endpoint: "mcsim-thermostat",
		out: path.join(root, ".host-sim", "mcsim", "build"),
		log: () => {},
		onExit: () => {},
		...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
	};
	const sdk = moddable(); // first: a clear error before anything starts
	if (!o.xvfb && !process.env.DISPLAY) throw new Error("mcsim needs a display and DISPLAY is not set: run it on your desktop, or give --xvfb for a private virtual one (Xvfb)");
	const job = { endpoint: o.endpoint, stopping: false };
	const stops = [];
	job.stop = async () => {
		job.stopping = true;
		for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
	};
	try {
		const server = new Lwm2mServer({ host: "127.0.0.1", coapPort: o.coapPort, httpPort: o.httpPort, modelsDirs: [DDF_DIR] });
		const bound = await server.start();
		stops.push(() => server.stop());
		job.server = server;
		job.coapPort = bound.coapPort;
		job.apiUrl = bound.httpPort ? `http://127.0.0.1:${bound.httpPort}/api` : undefined;
		server.on("log", (line) => o.log(line, "server"));

		// the flash keeps the server it first registered with (flash wins over config): one per endpoint and server
		const flash = o.flash ?? path.join(root, ".host-sim", "mcsim", `flash-${o.endpoint}-${bound.coapPort}`);
		job.flash = flash;
		const config = { serverUri: `coap://127.0.0.1:${bound.coapPort}`, endpoint: o.endpoint, ...(o.lifetime ? { lifetime: o.lifetime } : {}), ...o.config };
		o.log(`building manifests/sim.json for mcsim (${sdk.dir})`, "build");
		const built = await buildSim({ out: o.out, flash, config, log: (line) => o.log(line, "build") });
		job.library = built.library;
		job.buildSeconds = built.seconds;

		if (o.xvfb) {
			const x = await startXvfb(o.xvfbSize ? { size: o.xvfbSize } : {});
			stops.push(() => x.stop());
			job.display = x.display;
		} else job.display = process.env.DISPLAY;
		job.mcsim = startMcsim({
			sdk,
			library: built.library,
			display: job.display,
			onTrace: (line) => o.log(line, "mcsim"),
			onExit: (code, signal) => {
				if (!job.stopping) o.onExit(code, signal);
			},
		});
		stops.push(() => job.mcsim.stop());
		return job;
	} catch (e) {
		await job.stop();
		throw e;
	}
}
