// Shared set-up for firmware tests: a simulation whose devices keep flash in a fresh
// temporary folder, closed again when the test ends.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Simulation } from "../../host-sim/index.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const fixture = (name) => path.join(root, "test", "fixtures", name);

export function tempDir(t) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-sim-test-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}

/** A simulation torn down with the test. */
export function simulation(t, options = { seed: 7 }) {
	const sim = new Simulation(options);
	t.teardown(() => sim.close());
	return sim;
}

/** Probe lines of test/fixtures/api-probe.ts, by name. */
export function probes(device) {
	const out = {};
	for (const text of device.traces()) if (text.startsWith("probe {")) {
		const p = JSON.parse(text.slice(6));
		out[p.name] = p;
	}
	return out;
}

export const HOUR = 3_600_000;

