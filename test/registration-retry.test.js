// The thermostat firmware (device/main.ts) on XS in virtual time against a server that is
// not there, goes away, or sits behind a Wi-Fi link that drops: after the LwM2M 1.1 retry
// sequences it keeps trying at the slow rate its manifest states (registrationRetryPeriod,
// 300 s by default), starts over when the link comes back, and says at shutdown whether
// there was anything to de-register.
import test from "ava";
import path from "node:path";
import packet from "coap-packet";
import { root, tempDir, HOUR } from "./helpers/sim.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";
import { startMainJob } from "../host-sim/main-job.js";

const EP = "retry-thermostat";
const DDF = path.join(root, "device", "thermostat", "ddf");
const PERIOD = 300_000; // ms: the manifest's registrationRetryPeriod
const EXCHANGE = 93_000; // ms: the longest a CON Register waits for its answer (MAX_TRANSMIT_WAIT)

async function setup(t, { config = {}, serverUp = true } = {}) {
	const env = await lwm2mSimulation(t, { modelsDirs: [DDF] });
	const events = [];
	const watch = (server) => {
		for (const name of ["registered", "updated", "deregistered"]) server.on(name, (e) => events.push({ name, at: env.sim.now, e }));
	};
	if (serverUp) watch(env.state.server);
	else await env.state.server.stop();
	const dev = await env.sim.addDevice({
		board: { room: { temperature: 19, outside: 5 } },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: EP, ssid: "host-sim", ...config },
	});
	const lines = [...dev.log];
	dev.on("log", (l) => lines.push(l));
	// each Register attempt the device put on the air (a new message ID; retransmissions repeat it)
	const registers = [];
	dev.on("datagram", (d) => {
		if (d.direction !== "out") return;
		let p;
		try { p = packet.parse(d.data); } catch { return; }
		const uri = p.options.filter((o) => o.name === "Uri-Path").map((o) => o.value.toString());
		if (p.code === "0.02" && uri.length === 1 && uri[0] === "rd" && !registers.some((r) => r.mid === p.messageId)) registers.push({ at: env.sim.now, mid: p.messageId });
	});
	const restart = async () => {
		env.state.server = await env.startServer();
		watch(env.state.server);
	};
	await env.sim.run(5_000); // Wi-Fi up (1.2 s), the first Register answered if there is a server
	const said = (re) => lines.filter((l) => l.source === "device" && re.test(l.text));
	const log = () => lines.filter((l) => l.source === "device").map((l) => `${((l.at - lines[0].at) / 1000).toFixed(1)} ${l.text}`).join("\n");
	return { ...env, dev, events, lines, registers, restart, said, log };
}

const registered = (events) => events.filter((e) => e.name === "registered");

test("no server for 2 h, then it starts: the device registers within one slow-retry period, and said it was waiting for a slow retry", async (t) => {
	const { sim, events, registers, restart, said, log } = await setup(t, { serverUp: false });
	await sim.run(2 * HOUR);
	t.is(said(/^lwm2m: waiting for a slow retry: registration failed after 1 sequence\(s\) of 5 attempts; next attempt in \d+ s \(one every 300 s until registered\)$/).length, 1, log());
	t.true(said(/^lwm2m: waiting for a slow retry: slow retry failed; next attempt in \d+ s/).length >= 10, log());
	t.is(said(/^lwm2m: failed/).length, 0, "never a final failure");
	// the slow rate, as the device's Register attempts show it in the second hour: one per
	// 3/4 to 1 period, after the previous one gave up
	const late = registers.filter((r) => r.at >= sim.clock.start + HOUR);
	t.true(late.length >= Math.floor(HOUR / (PERIOD + EXCHANGE)) && late.length <= Math.ceil(HOUR / (0.75 * PERIOD)), `${late.length} attempts in the second hour`);
	for (let i = 1; i < late.length; i++) {
		const gap = late[i].at - late[i - 1].at;
		t.true(gap >= 0.75 * PERIOD && gap <= PERIOD + EXCHANGE, `${gap} ms between slow retries`);
	}
	const up = sim.now;
	await restart();
	await sim.run(PERIOD + EXCHANGE + 5_000);
	const [first] = registered(events);
	t.truthy(first, log());
	t.true(first.at - up <= PERIOD + EXCHANGE, `registered ${(first.at - up) / 1000} s after the server started`);
	t.true(said(/^lwm2m: registered: as \/rd\//).length === 1);
});

test("the server is gone for 15 min after the device registered: the device registers again once it is back", async (t) => {
	const { sim, state, events, rest, restart, said, log } = await setup(t);
	t.is(registered(events).length, 1, log());
	// a server's own retry settings (Server 17, 18): 3 attempts 10 s apart, used up well within the outage
	t.true((await rest("PUT", `/clients/${EP}/1/0/17`, "3")).body.success);
	t.true((await rest("PUT", `/clients/${EP}/1/0/18`, "10")).body.success);
	await state.server.stop();
	await sim.run(15 * 60_000);
	t.is(said(/^lwm2m: waiting for a slow retry: registration failed after 1 sequence\(s\) of 3 attempts/).length, 1, log());
	const back = sim.now;
	await restart();
	await sim.run(PERIOD + EXCHANGE + 5_000);
	t.is(registered(events).length, 2, log());
	t.true(registered(events)[1].at - back <= PERIOD + EXCHANGE);
	t.truthy(state.server.client(EP));
});

test("Wi-Fi down while unregistered: no attempts while it is down, a Register at once when it is up; a flap while registered is an Update, not a second Register", async (t) => {
	const { sim, dev, events, lines, registers, restart, said, log } = await setup(t, { serverUp: false });
	await sim.run(10 * 60_000);
	t.is(registered(events).length, 0);
	await dev.setNetwork(false);
	await sim.run(20 * 60_000);
	t.is(said(/^lwm2m: offline: no network: registering when it is back$/).length, 1, log());
	const lost = said(/^wifi: connection lost$/)[0].at;
	t.is(registers.filter((r) => r.at > lost).length, 0, "nothing sent while the link is down");
	t.is(said(/^coap: send to .* failed/).length, 0, "no attempt into a dead link");
	await restart();
	await dev.setNetwork(true);
	await sim.run(2 * 60_000);
	const connected = said(/^wifi: connected/).at(-1);
	t.true(connected.at > lost, log());
	t.true(registers.some((r) => r.at > lost), "a Register on the air again");
	t.is(registered(events).length, 1, log());
	t.true(registered(events)[0].at - connected.at < 1_000, "registered at once: no waiting for the attempt the outage interrupted");
	t.true(said(/^lwm2m: network back: registering now \(was offline\)$/).length === 1);

	// registered: the link flaps; the registration holds, the device tells the server with an Update
	const before = lines.length;
	await dev.setNetwork(false);
	await sim.run(5_000);
	await dev.setNetwork(true);
	await sim.run(2 * 60_000);
	t.true(lines.slice(before).some((l) => /^wifi: connected/.test(l.text)), log());
	t.is(registered(events).length, 1, "no second Register");
	const upAgain = said(/^wifi: connected/).at(-1).at;
	t.truthy(events.find((e) => e.name === "updated" && e.at >= upAgain), log());
});

test("an out-of-range registrationRetryPeriod is refused with a log line and the default kept", async (t) => {
	const { sim, registers, said, log } = await setup(t, { serverUp: false, config: { registrationRetryPeriod: 5 } });
	t.is(said(/^lwm2m: registrationRetryPeriod 5 refused: give whole seconds, 60 to 86400; using 300 s$/).length, 1, log());
	await sim.run(45 * 60_000);
	const slow = said(/^lwm2m: waiting for a slow retry/);
	t.true(slow.length >= 2, log());
	t.true(slow.every((l) => /\(one every 300 s until registered\)$/.test(l.text)));
	const late = registers.filter((r) => r.at > slow[0].at);
	t.true(late.length >= 2 && late.length <= 5, `${late.length} slow attempts`);
	for (let i = 1; i < late.length; i++) t.true(late[i].at - late[i - 1].at >= 0.75 * PERIOD);
});

test("Ctrl-C on a device that never registered: it says so, and the main job stops without waiting for a de-registration", async (t) => {
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ hours: 1, flash, log: (l) => lines.push(l) });
	t.teardown(() => job.stop());
	await job.server.stop(); // the device finds no server
	await job.sim.run(10 * 60_000);
	t.true(lines.some((l) => /thermostat-1: lwm2m: waiting/.test(l)), lines.join("\n"));
	await job.stop();
	t.true(lines.some((l) => /thermostat-1: never registered; nothing to de-register$/.test(l)), lines.join("\n"));
	t.false(lines.some((l) => /thermostat-1: de-registered$/.test(l)));
	t.true(lines.some((l) => /all devices stopped \(not registered, nothing to de-register: thermostat-1\); stopping$/.test(l)), lines.join("\n"));
	t.false(lines.some((l) => /not de-registered within/.test(l)));
});
