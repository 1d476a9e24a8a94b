// The thermostat firmware (device/main.ts) on XS in virtual time, registered with the local
// server over simulated Wi-Fi, in a room model: what the thermostat tests start from.
import path from "node:path";
import { root } from "./sim.js";
import { lwm2mSimulation } from "./lwm2m-sim.js";

export const EP = "thermostat-test";
const DDF = path.join(root, "device", "thermostat", "ddf");

/** Returns the simulation, the device, relay switches, server events, and REST read/write. */
export async function thermostatSimulation(t, { board = {}, config = {} } = {}) {
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF] });
	const events = [];
	for (const name of ["registered", "updated", "deregistered", "notification"]) env.state.server.on(name, (e) => events.push({ name, at: env.sim.now, e }));
	const dev = await env.sim.addDevice({
		board: { room: { temperature: 17, outside: { mean: 3, amplitude: 5, coldestHour: 4 } }, ...board },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, ssid: "host-sim", ...config },
	});
	const relay = [];
	dev.on("relay", (on, at) => relay.push({ on, at }));
	await env.sim.run(5_000);
	const read = async (p) => (await env.rest("GET", `/clients/${EP}${p}`)).body;
	const write = async (p, v) => (await env.rest("PUT", `/clients/${EP}${p}`, typeof v === "string" ? v : JSON.stringify(v))).body;
	return { ...env, dev, relay, events, read, write };
}
