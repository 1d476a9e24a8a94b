// The thermostat firmware on XS against an LwM2M server we did not write: the npm
// `lwm2m-node-lib` server (LwM2M 1.0 era, text content), in real time on loopback.
// It registers the device, reads the temperature, writes the set point (the device
// applies it) and executes Registration Update Trigger.
import test from "ava";
import path from "node:path";
import { spawn } from "node:child_process";
import { Simulation } from "../host-sim/index.js";
import { root } from "./helpers/sim.js";
import { freePort } from "./helpers/ports.js";

test("lwm2m-node-lib's server registers the thermostat, reads, writes the set point, executes", async (t) => {
	const port = await freePort();
	const child = spawn(process.execPath, [path.join(root, "test/helpers/lnl-server.cjs"), String(port)], { stdio: ["pipe", "pipe", "ignore"] });
	t.teardown(() => child.kill());
	const lines = [];
	let buffer = "";
	child.stdout.on("data", (d) => {
		buffer += d;
		for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
			lines.push(JSON.parse(buffer.slice(0, end)));
			buffer = buffer.slice(end + 1);
		}
	});
	// bounded only against a hang (generous, for a loaded machine); nothing measures speed
	const waitFor = async (predicate, ms = 30_000) => {
		for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
			const found = lines.find(predicate);
			if (found) return found;
		}
		throw new Error(`waited in vain; saw ${JSON.stringify(lines)}`);
	};
	let nextId = 1;
	const call = (cmd) => {
		const id = nextId++;
		child.stdin.write(JSON.stringify({ ...cmd, id }) + "\n");
		return waitFor((l) => l.id === id);
	};
	await waitFor((l) => l.event === "listening");

	const sim = new Simulation({ clock: "real", speed: 1, seed: 8 });
	t.teardown(() => sim.close());
	const dev = await sim.addDevice({ board: { room: { temperature: 18.5, outside: 10 } }, config: { serverUri: `coap://127.0.0.1:${port}`, endpoint: "interop-thermo" } });
	const reg = await waitFor((l) => l.event === "registration");
	t.is(reg.endpoint, "interop-thermo");
	t.is(reg.version, "1.1");
	t.regex(reg.payload, /<\/3303\/0>/);
	t.regex(reg.payload, /<\/32700\/0>/);
	const id = (await call({ op: "list" })).value.find((d) => d.name === "interop-thermo").id;

	const temperature = await call({ op: "read", device: id, o: 3303, i: 0, r: 5700 });
	t.is(temperature.error, undefined);
	t.true(Math.abs(Number(temperature.value) - 18.5) < 0.5, temperature.value);
	// it writes text as content format 1541 (LwM2M 1.0 draft numbering): taken as text/plain
	const write = await call({ op: "write", device: id, o: 3308, i: 0, r: 5900, value: "22.5" });
	t.is(write.error, undefined);
	t.is((await call({ op: "read", device: id, o: 3308, i: 0, r: 5900 })).value, "22.5");
	t.true(dev.traces().includes("thermostat: setpoint = 22.5"), dev.traces().slice(-5).join("\n"));
	const refused = await call({ op: "write", device: id, o: 3308, i: 0, r: 5900, value: "45" });
	t.regex(refused.error ?? "", /4\.00/, "out of the set point limits");
	const exec = await call({ op: "execute", device: id, o: 1, i: 0, r: 8 });
	t.is(exec.error, undefined);
	await waitFor((l) => l.event === "update");
	t.is(dev.resets.length, 0);
});
