// host-sim's moddable engine (host-sim/engine/): the thermostat firmware compiled by the real
// mcconfig for x-cli-lin and run on the Moddable SDK's own XS, through the same Simulation,
// network and LwM2M server as the xsnap engine. It registers, answers a read and a write
// through the server's REST API, and a run-away loop is a watchdog reset.
import test from "ava";
import path from "node:path";
import { fixture, root, simulation } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";
import { moddableProgram } from "../host-sim/engine/moddable.js";

const EP = "thermostat-moddable";
const DDF = path.join(root, "device", "thermostat", "ddf");

// without the SDK: skipped with the reason in its title, except in CI (like test/mcsim.test.js)
const sdkTest = process.env.MODDABLE || process.env.CI === "true"
	? test.serial
	: (title, fn) => test.skip(`${title}: MODDABLE is not set (export MODDABLE=$(bash .ci/moddable-sdk.sh) to run it)`, fn);

// the first build of the program takes minutes on a busy machine; later runs reuse it
test.before(async () => {
	if (!process.env.MODDABLE) return;
	const built = await moddableProgram({ entry: path.join(root, "device", "main.ts") });
	if (!built.cached) console.log(`engine-moddable: program built in ${built.seconds.toFixed(1)} s: ${built.program}`);
});

sdkTest("device/main.ts on the moddable engine registers, reads 3303/0/5700 and takes a set point write", async (t) => {
	if (!process.env.MODDABLE) return t.fail("MODDABLE is not set: run `export MODDABLE=$(bash .ci/moddable-sdk.sh)` (CI must build the Moddable SDK)");
	t.timeout(20 * 60_000);
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF] });
	const registered = [];
	env.state.server.on("registered", (e) => registered.push(e));
	const dev = await env.sim.addDevice({
		engine: "moddable",
		board: { room: { temperature: 19, outside: 5 } },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, ssid: "host-sim" },
	});
	t.is(dev.engine, "moddable");
	await env.sim.run(10_000);
	t.is(registered.length, 1, dev.log.map((l) => l.text).join("\n"));
	const read = await env.rest("GET", `/clients/${EP}/3303/0/5700`);
	t.is(read.status, 200, JSON.stringify(read.body));
	t.true(read.body.success, JSON.stringify(read.body));
	const celsius = read.body.content.value;
	t.true(celsius > 15 && celsius < 25, `room read back as ${celsius} °C`);
	const write = await env.rest("PUT", `/clients/${EP}/3308/0/5900`, "23.5");
	t.true(write.body.success, JSON.stringify(write.body));
	const back = await env.rest("GET", `/clients/${EP}/3308/0/5900`);
	t.is(back.body.content.value, 23.5);
	// a refused write: the reason the firmware gives comes back through the server
	const refused = await env.rest("PUT", `/clients/${EP}/3308/0/5900`, "99");
	t.false(refused.body.success);
	t.regex(refused.body.errormessage ?? JSON.stringify(refused.body), /outside 5\.\.30/);
	t.is((await env.rest("GET", `/clients/${EP}/3308/0/5900`)).body.content.value, 23.5);
	const heap = await dev.heap();
	t.log(`moddable engine heap after registration: ${heap.runtimeSlots} slots, ${heap.runtimeChunkBytes} chunk bytes above the loaded program`);
	t.true(heap.slots > 0 && heap.chunkBytes > 0);
	t.is(dev.resets.length, 0, JSON.stringify(dev.resets));
});

sdkTest("on the moddable engine a run-away loop is a watchdog reset, as on xsnap", async (t) => {
	if (!process.env.MODDABLE) return t.fail("MODDABLE is not set");
	t.timeout(10 * 60_000);
	const sim = simulation(t);
	const dev = await sim.addDevice({ engine: "moddable", entry: fixture("crasher.ts"), config: { failure: "loop", failAfterMs: 1000 }, meteringLimit: 2e7 });
	await sim.run(3000);
	t.true(dev.resets.length >= 1, dev.log.map((l) => l.text).join("\n"));
	t.regex(dev.resets[0].reason, /watchdog/);
});

// Preloaded modules live in the archive (the ESP32's flash): a typed array a module made at
// load time is read-only at run time there ("read-only buffer"), which xsnap never shows. The
// content formats' float scratch buffers and CBOR readers were such: every float written or
// read in TLV, SenML CBOR or LWM2M CBOR failed on the device with 5.00.
sdkTest("on the moddable engine (firmware preloaded as on the ESP32) floats go both ways in TLV, SenML CBOR and LWM2M CBOR", async (t) => {
	if (!process.env.MODDABLE) return t.fail("MODDABLE is not set");
	t.timeout(20 * 60_000);
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF] });
	const dev = await env.sim.addDevice({
		engine: "moddable",
		board: { room: { temperature: 19, outside: 5 } },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, ssid: "host-sim" },
	});
	await env.sim.run(10_000);
	const log = () => dev.log.map((l) => l.text).join("\n");
	let setpoint = 20.25;
	for (const format of ["TLV", "SENML_CBOR", "LWM2M_CBOR", "SENML_JSON"]) {
		setpoint += 0.5;
		const write = await env.rest("PUT", `/clients/${EP}/3308/0?replace=false&format=${format}`, { id: 0, kind: "instance", resources: [{ id: 5900, kind: "singleResource", value: setpoint }] });
		t.true(write.body.success, `${format} write: ${JSON.stringify(write.body)}\n${log()}`);
		const read = await env.rest("GET", `/clients/${EP}/3308/0?format=${format}`);
		t.true(read.body.success, `${format} read: ${JSON.stringify(read.body)}`);
		t.is(read.body.content?.resources?.find((r) => r.id === 5900)?.value, setpoint, format);
		const room = await env.rest("GET", `/clients/${EP}/3303/0/5700?format=${format}`);
		t.true(room.body.success, `${format} read 5700: ${JSON.stringify(room.body)}`);
		t.true(room.body.content.value > 15 && room.body.content.value < 25, `${format}: room read back as ${room.body.content.value}`);
	}
	t.deepEqual(dev.log.filter((l) => /read.only|private property|failed/.test(l.text)).map((l) => l.text), []);
	t.is(dev.resets.length, 0, JSON.stringify(dev.resets));
});
