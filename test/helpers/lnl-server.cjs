// lwm2m-node-lib's LwM2M server (an implementation we did not write, LwM2M 1.0 era) in its
// own process: it predates SES and cannot share one with host-sim. It prints its events
// and answers to commands as JSON lines: {"id", "op": "list"|"read"|"write"|"execute", ...}.
const lwm2m = require("lwm2m-node-lib").server;

const config = { port: Number(process.argv[2]), udpWindow: 100, defaultType: "Device", logLevel: "FATAL", deviceRegistry: { type: "memory" }, types: [] };
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

lwm2m.start(config, (error, info) => {
	if (error) return out({ event: "error", message: error.message });
	lwm2m.setHandler(info, "registration", (endpoint, lifetime, version, binding, payload, callback) => {
		out({ event: "registration", endpoint, lifetime, version, binding, payload });
		callback();
	});
	lwm2m.setHandler(info, "unregistration", (device, callback) => {
		out({ event: "unregistration", endpoint: device.name });
		callback();
	});
	lwm2m.setHandler(info, "updateRegistration", (object, callback) => {
		out({ event: "update" });
		callback();
	});
	out({ event: "listening" });
});

let pending = "";
process.stdin.on("data", (data) => {
	pending += data;
	for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
		const cmd = JSON.parse(pending.slice(0, end));
		pending = pending.slice(end + 1);
		const done = (e, value) => out({ id: cmd.id, error: e ? e.message ?? String(e) : undefined, value });
		if (cmd.op === "list") lwm2m.listDevices((e, devices) => done(e, devices?.map((d) => ({ id: d.id, name: d.name }))));
		else if (cmd.op === "read") lwm2m.read(cmd.device, cmd.o, cmd.i, cmd.r, done);
		else if (cmd.op === "write") lwm2m.write(cmd.device, cmd.o, cmd.i, cmd.r, cmd.value, done);
		else if (cmd.op === "execute") lwm2m.execute(cmd.device, cmd.o, cmd.i, cmd.r, cmd.args ?? "", done);
	}
});
