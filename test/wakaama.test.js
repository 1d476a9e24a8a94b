// Interop with Eclipse Wakaama, an LwM2M implementation we did not write, built by
// .ci/wakaama.sh outside the clone (WAKAAMA_BIN names the folder of its binaries):
// - the thermostat firmware on XS (real time, real UDP on 127.0.0.1) against Wakaama's
//   `lwm2mserver`, driven on its stdin, asserting on what it prints and on the device;
// - Wakaama's `lwm2mclient` against the local server (host-sim/lwm2m-server) through its REST API;
// - Wakaama's tinydtls `lwm2mclient` against the local server behind host-sim's DTLS server (PSK).
// The peers run in wall time: every wait is on a line or an event, with bounds of seconds
// that hold on a loaded machine; nothing here measures speed.
import test from "ava";
import path from "node:path";
import dgram from "node:dgram";
import { Simulation } from "../host-sim/index.js";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { DtlsServer } from "../host-sim/dtls/index.js";
import { freePort } from "./helpers/ports.js";
import { peerProcess, lwm2mserverCborAnswer } from "./helpers/peer-process.js";

const BIN = process.env.WAKAAMA_BIN;
const POWER_FAIL_PIN = 35;
const WAIT_MS = 20_000; // wall: generous, for two busy CPU loops beside the test

// one after another (each starts its own peers); none of them without the binaries
const run = BIN ? test.serial : () => {};
if (!BIN && process.env.CI === "true") {
	test("Wakaama interop", (t) => t.fail("WAKAAMA_BIN is not set: build the peers with `WAKAAMA_BIN=$(bash .ci/wakaama.sh)` (.ci/run does)"));
} else if (!BIN) {
	// skipped, not passed: ava lists it as skipped, with the reason in its title
	test.skip("Wakaama interop: WAKAAMA_BIN is not set (WAKAAMA_BIN=$(bash .ci/wakaama.sh) builds Wakaama's peers)", () => {});
}

/** One of Wakaama's peers, by its name under WAKAAMA_BIN. */
const peer = (t, name, args) => peerProcess(t, path.join(BIN, name), args, { waitMs: WAIT_MS });

/** Resolves with the first event of `emitter` that `predicate` takes, within WAIT_MS. */
function nextEvent(emitter, name, predicate = () => true, ms = WAIT_MS) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			emitter.off(name, on);
			reject(new Error(`no ${name} event within ${ms / 1000} s`));
		}, ms);
		const on = (e, ...rest) => {
			if (!predicate(e, ...rest)) return;
			clearTimeout(timer);
			emitter.off(name, on);
			resolve(e);
		};
		emitter.on(name, on);
	});
}

/** Waits for the device's (n+1)-th trace line that matches (n: how many earlier ones to pass). */
function traceLine(dev, re, n = 0, ms = WAIT_MS) {
	const seen = dev.traces().filter((l) => re.test(l));
	if (seen.length > n) return Promise.resolve(seen[n]);
	let count = seen.length;
	return nextEvent(dev, "log", (l) => l?.source === "device" && re.test(l.text) && count++ === n, ms).then((l) => l.text);
}

/** The SenML CBOR answer lwm2mserver dumped last (it prints "Unsupported." for it on stdout). */
function lastCborAnswer(server, token) {
	const answer = lwm2mserverCborAnswer(server, { token });
	if (answer === undefined) throw new Error(`no SenML CBOR answer in lwm2mserver's dump:\n${server.err.slice(-3000)}`);
	return answer;
}

run("the firmware against Wakaama's lwm2mserver: register, read, write, discover, observe, cancel, reboot, de-register", async (t) => {
	const port = await freePort();
	const server = peer(t, "lwm2mserver", ["-4", "-l", String(port)]);
	const sim = new Simulation({ clock: "real", speed: 1, seed: 21 });
	t.teardown(() => sim.close());
	const dev = await sim.addDevice({
		board: { room: { temperature: 18.5, outside: 8 } },
		config: { serverUri: `coap://127.0.0.1:${port}`, endpoint: "wakaama-thermo", powerFailPin: POWER_FAIL_PIN },
	});
	dev.on("error", () => {});
	dev.on("reset", () => dev.setInput(POWER_FAIL_PIN, 1).catch(() => {}));
	await dev.setInput(POWER_FAIL_PIN, 1);

	// Register: accepted (a 4.00 here was the quoted ct list), with the object versions the device claims
	const registered = await server.waitLine(/^New client #(\d+) registered\./);
	const id = /#(\d+)/.exec(registered.line)[1];
	const objects = await server.waitLine(/^\s*objects: /, { from: registered.index });
	t.regex(objects.line, /\/1 \(1\.1\), \/1\/0, \/3 \(1\.1\), \/3\/0, \/4 \(1\.2\), \/4\/0, \/5 \(1\.2\), \/5\/0, \/3303 \(1\.1\), \/3303\/0/);
	t.regex(objects.line, /\/32700\/0/);
	t.regex((await server.waitLine(/^\s*version: /, { from: registered.index })).line, /"1\.1"/);
	await traceLine(dev, /^lwm2m: registered: as \/rd\/\d+/);

	// Read 3303/0/5700: Wakaama asks in the format the Register named (SenML CBOR)
	let mark = server.out.length;
	server.send(`read ${id} /3303/0/5700`);
	await server.waitLine(`Client #${id} /3303/0/5700 : 2.05 (COAP_205_CONTENT)`, { from: mark });
	await server.waitLine("bytes received of type application/senml+cbor", { from: mark });
	const [temperature] = lastCborAnswer(server);
	t.is(temperature[-2], "/3303/0/5700");
	t.true(Math.abs(temperature[2] - 18.5) < 1, `read ${temperature[2]} °C in a room at 18.5`);

	// Read /3/0: the whole instance
	mark = server.out.length;
	server.send(`read ${id} /3/0`);
	await server.waitLine(`Client #${id} /3/0 : 2.05 (COAP_205_CONTENT)`, { from: mark });
	const device = lastCborAnswer(server);
	let bn = "";
	const byName = Object.fromEntries(device.map((r) => [(bn = r[-2] ?? bn) + r[0], r[3] ?? r[2] ?? r[4]]));
	t.is(byName["/3/0/16"], "U", JSON.stringify(device));
	t.truthy(byName["/3/0/0"], "Manufacturer");

	// Write 3308/0/5900 as text: the device applies it
	mark = server.out.length;
	server.send(`write ${id} /3308/0/5900 22.5`);
	await server.waitLine(`Client #${id} /3308/0/5900 : 2.04 (COAP_204_CHANGED)`, { from: mark });
	await traceLine(dev, /^thermostat: setpoint = 22\.5$/);
	mark = server.out.length;
	server.send(`write ${id} /3308/0/5900 45`);
	await server.waitLine(`Client #${id} /3308/0/5900 : 4.00 (COAP_400_BAD_REQUEST)`, { from: mark });

	// Discover
	mark = server.out.length;
	server.send(`disc ${id} /3303/0`);
	await server.waitLine(`Client #${id} /3303/0 : 2.05 (COAP_205_CONTENT)`, { from: mark });
	const links = await server.waitLine(/^\s*<\/3303\/0>,/, { from: mark });
	t.regex(links.line, /<\/3303\/0\/5700>/);

	// Observe with pmin 1 s / pmax 2 s: notifications keep coming without a change
	mark = server.out.length;
	server.send(`time ${id} /3303/0/5700 1 2`);
	await server.waitLine(`Client #${id} /3303/0/5700 : 2.04 (COAP_204_CHANGED)`, { from: mark });
	mark = server.out.length;
	server.send(`observe ${id} /3303/0/5700`);
	const first = await server.waitLine(`Notify from client #${id} /3303/0/5700 number`, { from: mark });
	const second = await server.waitLine(`Notify from client #${id} /3303/0/5700 number`, { from: first.index + 1 });
	await server.waitLine(`Notify from client #${id} /3303/0/5700 number`, { from: second.index + 1 });

	// Cancel: the device ends the observation (Wakaama prints 0.00 for the 2.05 of a cancel)
	mark = server.out.length;
	server.send(`cancel ${id} /3303/0/5700`);
	await server.waitLine(new RegExp(`^Client #${id} /3303/0/5700 : `), { from: mark });
	await traceLine(dev, /^coap: observation of 3303\/0\/5700 by 127\.0\.0\.1:\d+ ended: deregistered/);

	// Execute Reboot: 2.04, the chip resets, registers again
	mark = server.out.length;
	server.send(`exec ${id} /3/0/4`);
	await server.waitLine(`Client #${id} /3/0/4 : 2.04 (COAP_204_CHANGED)`, { from: mark });
	const again = await server.waitLine(/^New client #(\d+) registered\./, { from: mark });
	t.is(dev.resets.length, 1);
	t.regex(dev.resets[0].reason, /restart/);
	const id2 = /#(\d+)/.exec(again.line)[1];
	await traceLine(dev, /^lwm2m: registered: as \/rd\/\d+/, 1);

	// Power fails (the supply monitor's pin goes low, as Ctrl-C in npm start): the device de-registers
	mark = server.out.length;
	await dev.setInput(POWER_FAIL_PIN, 0);
	await server.waitLine(`Client #${id2} unregistered.`, { from: mark });
	await traceLine(dev, /^de-registered$/);
	t.is(dev.resets.length, 1);
});

/** The local server on a real loopback port (behind the DTLS server with a PSK). */
async function localServer(t, psk) {
	let socket, dtls;
	if (psk) {
		dtls = new DtlsServer({ socket: dgram.createSocket("udp4"), psk: (identity) => (identity === psk.identity ? Buffer.from(psk.key, "hex") : undefined) });
		socket = dtls.socket;
	}
	const server = new Lwm2mServer({ host: "127.0.0.1", coapPort: 0, httpPort: 0, ...(socket ? { socket } : {}) });
	const bound = await server.start();
	t.teardown(() => server.stop().catch(() => {}));
	const rest = async (method, p, body) => {
		const res = await fetch(`http://127.0.0.1:${bound.httpPort}/api${p}`, {
			method,
			body: body === undefined ? undefined : JSON.stringify(body),
			headers: body === undefined ? {} : { "content-type": "application/json" },
		});
		const text = await res.text();
		try {
			return { status: res.status, body: JSON.parse(text) };
		} catch {
			return { status: res.status, body: text };
		}
	};
	return { server, dtls, port: bound.coapPort, rest };
}

run("Wakaama's lwm2mclient against the local server: register, read, write, observe through the REST API", async (t) => {
	const { server, port, rest } = await localServer(t);
	const registered = nextEvent(server, "registered", (r) => r.endpoint === "wakaama-client");
	peer(t, "lwm2mclient", ["-4", "-h", "127.0.0.1", "-p", String(port), "-l", String(await freePort()), "-n", "wakaama-client"]);
	const reg = await registered;
	t.is(reg.lwM2mVersion, "1.1");
	t.true("3" in reg.supportedObjects, JSON.stringify(reg.supportedObjects));
	// its root link's single bare ct=110 (SenML JSON) is what the local server chooses from
	t.deepEqual(reg.supportedContentFormats, [110]);

	const manufacturer = await rest("GET", "/clients/wakaama-client/3/0/0");
	t.true(manufacturer.body.success, JSON.stringify(manufacturer.body));
	t.is(typeof manufacturer.body.content.value, "string");
	t.true(manufacturer.body.content.value.length > 0);

	// UTC Offset (its example device implements that write, and answers 5.01 for Timezone)
	const write = await rest("PUT", "/clients/wakaama-client/3/0/14", "+02:00");
	t.true(write.body.success, JSON.stringify(write.body));
	t.is((await rest("GET", "/clients/wakaama-client/3/0/14")).body.content.value, "+02:00");
	t.false((await rest("PUT", "/clients/wakaama-client/3/0/14", "garbage")).body.success, "its own check refuses a bad offset");
	const whole = await rest("GET", "/clients/wakaama-client/3/0");
	t.true(whole.body.success, JSON.stringify(whole.body));

	t.true((await rest("PUT", "/clients/wakaama-client/3/0/13/attributes?pmin=1&pmax=2")).body.success);
	const notified = nextEvent(server, "notification", (n) => JSON.stringify(n).includes("3/0/13"));
	const observe = await rest("POST", "/clients/wakaama-client/3/0/13/observe");
	t.true(observe.body.success, JSON.stringify(observe.body));
	await notified; // a second one, after pmax without a change
	await nextEvent(server, "notification", (n) => JSON.stringify(n).includes("3/0/13"));
	const cancel = await rest("DELETE", "/clients/wakaama-client/3/0/13/observe");
	t.is(cancel.status, 200, JSON.stringify(cancel.body));
});

run("Wakaama's tinydtls lwm2mclient against the local DTLS server with a PSK: registers, a read works", async (t) => {
	const psk = { identity: "wakaama-psk", key: "00112233445566778899aabbccddeeff" };
	const { server, dtls, port, rest } = await localServer(t, psk);
	const handshake = nextEvent(dtls, "handshake");
	const registered = nextEvent(server, "registered", (r) => r.endpoint === "wakaama-secure");
	peer(t, "lwm2mclient_tinydtls", ["-4", "-h", "127.0.0.1", "-p", String(port), "-l", String(await freePort()), "-n", "wakaama-secure", "-i", psk.identity, "-s", psk.key]);
	const session = await handshake;
	t.is(session.identity, psk.identity);
	const reg = await registered;
	t.is(reg.endpoint, "wakaama-secure");
	const read = await rest("GET", "/clients/wakaama-secure/3/0/0");
	t.true(read.body.success, JSON.stringify(read.body));
	t.true(read.body.content.value.length > 0);
});
