// Real time on a busy machine: when Node is starved, simulated time must not run ahead of
// what Node has delivered. At x600 a CoAP timeout of 2 s is 3 ms of wall time; a pause of
// Node longer than that must slow the simulation down, not make the device time out on an
// answer that is already waiting in its socket.
import test from "ava";
import { startMainJob } from "../host-sim/main-job.js";
import { Clock, MAX_LAG_WALL_MS } from "../host-sim/clock.js";
import { tempDir } from "./helpers/sim.js";

const EP = "thermostat-1";
const CODE_POST = 0x02;

/** Resolves with the first event `name` of `emitter` for which `pick` holds (bounded in wall time). */
function next(emitter, name, pick = () => true, wallMs = 120_000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			emitter.off(name, on);
			reject(new Error(`no ${name} within ${wallMs} ms of wall time`));
		}, wallMs);
		function on(...args) {
			if (!pick(...args)) return;
			clearTimeout(timer);
			emitter.off(name, on);
			resolve(args);
		}
		emitter.on(name, on);
	});
}

function block(ms) {
	for (const end = performance.now() + ms; performance.now() < end;);
}

test("x600: Node blocked for 300 ms while an Update is on its way; the exchange completes and the device stays registered", async (t) => {
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ speed: 600, coapPort: 0, httpPort: 0, dashboardPort: 0, headless: true, flash, seed: 5, log: (l) => lines.push(l) });
	t.teardown(() => job.stop());
	const server = job.server;
	if (!server.client(EP)) await next(server, "registered", (r) => r.endpoint === EP);
	const registration = server.client(EP);
	// registrations after the first one (counted from here: on a busy machine the first may
	// come after the job started)
	const registered = [];
	server.on("registered", (r) => registered.push(r));
	const device = job.devices[0];
	const fromLog = device.log.length;

	// the next Update (a POST to the server once registered): Node stalls as it leaves, for
	// 300 ms, 180 simulated seconds at x600, well past every retransmission of the device
	const [out] = await next(device, "datagram", (d) => d.direction === "out" && d.port === job.coapPort && d.data[1] === CODE_POST);
	t.pass(`Update of ${out.data.length} bytes`);
	const sentAt = job.sim.now;
	block(300);
	await next(server, "updated", ({ registration: r }) => r.endpoint === EP);
	const [line] = await next(device, "log", (l) => /lwm2m: /.test(l.text));

	// the device took the server's answer: no timeout, no new registration
	t.regex(line.text, /registered: updated/);
	const after = device.log.slice(fromLog).map((l) => l.text).join("\n");
	t.notRegex(after, /no answer|timeout|registering/);
	t.deepEqual(registered, []);
	t.is(server.client(EP)?.registrationId, registration.registrationId);
	// the answer came within the first exchange's time, not after the 180 s the wall ran on
	t.true(line.at - sentAt < 60_000, `answered ${line.at - sentAt} ms of simulated time after the stall began`);
});

test("real mode: simulated time stops short of a due event until Node has run it; a lag beyond the bound is given up and reported", async (t) => {
	const clock = new Clock({ mode: "real", speed: 600, start: 0 });
	t.teardown(() => clock.close());
	let ran;
	const due = clock.now() + 1000;
	const done = new Promise((resolve) => clock.at(due, () => resolve((ran = clock.now()))));
	block(600); // 360 simulated s of wall time in which Node runs nothing
	// nothing reads a time at or past the event before the event has run
	t.true(clock.now() < due, `now ${clock.now()}, the event at ${due}`);
	t.is(ran, undefined);
	t.is(await done, due);
	// the wall ran 360 s ahead; the clock catches up at most MAX_LAG_WALL_MS x speed and
	// gives the rest up: the run slows down, and says so
	const { slips, slippedMs } = clock.lag;
	t.true(slips >= 1, `slips ${slips}`);
	t.true(slippedMs >= 360_000 - MAX_LAG_WALL_MS * 600 - 1000, `slipped ${slippedMs} ms`);
});
