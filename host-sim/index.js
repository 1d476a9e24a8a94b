// host-sim: runs the firmware in device/ on the real XS engine with simulated peripherals.
//
//   const sim = new Simulation({ clock: "virtual" });          // or { clock: "real", speed: 60 }
//   const dev = await sim.addDevice({ name: "t1", storage: "flash/t1.json" });
//   await sim.run(24 * 3600_000);                              // a day, in seconds of wall time
//   (await dev.state()).room.temperature
//
// The clock decides which peers can take part: in virtual time only in-process ones
// (sim.network.createSocket() gives a dgram-like socket on the simulated network, and
// sim.clock.at()/after() schedules test code); external programs on real sockets need
// the real clock and the loopback network.

import { Clock } from "./clock.js";
import { SimulatedNetwork, LoopbackNetwork } from "./network.js";
import { SimDevice } from "./device.js";
import { Random } from "./models/random.js";
import crypto from "node:crypto";

const SIM_OPTIONS = ["clock", "speed", "start", "network", "latencyMs", "seed"];

export class Simulation {
	/**
	 * @param {{clock?: "virtual" | "real", speed?: number, start?: number,
	 *          network?: "simulated" | "loopback", latencyMs?: number, seed?: number}} options
	 */
	constructor(options = {}) {
		for (const key of Object.keys(options)) {
			if (!SIM_OPTIONS.includes(key)) throw new RangeError(`host-sim: unknown option "${key}" (known: ${SIM_OPTIONS.join(", ")})`);
		}
		const mode = options.clock ?? "virtual";
		this.clock = new Clock({ mode, speed: options.speed, start: options.start });
		const network = options.network ?? (mode === "virtual" ? "simulated" : "loopback");
		if (network === "simulated") this.network = new SimulatedNetwork(this.clock, { latencyMs: options.latencyMs });
		else if (network === "loopback") this.network = new LoopbackNetwork(this.clock);
		else throw new RangeError(`host-sim: network must be "simulated" or "loopback", not ${JSON.stringify(network)}`);
		// a seed makes a run repeatable; without one each run draws from the OS
		this.seeds = new Random(options.seed ?? crypto.randomInt(2 ** 31));
		this.devices = [];
	}
	nextSeed() {
		return this.seeds.nextUint32();
	}
	/** Create and boot a device; see SimDevice for the options. */
	async addDevice(options) {
		const device = new SimDevice(this, options);
		this.devices.push(device);
		await device.start();
		return device;
	}
	get now() {
		return this.clock.now();
	}
	/** Let ms of simulated time pass (virtual: as fast as possible; real: ms / speed of wall time). */
	run(ms) {
		return this.clock.run(ms);
	}
	async close() {
		this.clock.close();
		await Promise.all(this.devices.map((d) => d.close()));
		this.network.close();
	}
}

export { SimDevice } from "./device.js";
export { Clock } from "./clock.js";
