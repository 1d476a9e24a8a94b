// Firmware Update under power loss: the thermostat firmware (device/main.ts) on XS in host-sim,
// registered with a raw LwM2M server that pushes the built 1.0.1 package (host-sim/fota/image.js)
// to /5/0/0 in Block1 and executes /5/0/2; the power is cut at a point a seed chooses (a flash
// operation of the download torn, one of complete()'s otadata write, or a moment of the new
// image's first boot, its confirmation included), then it comes back. What must hold every
// time: the device boots a whole verified image (1.0.0 or 1.0.1, never halted), registers
// again, and /3/0/3, /5/0/3, /5/0/5 agree with where the cut came:
// - in the download: 1.0.0, State 0, Result 0 (the partial download is gone);
// - after Update, in complete() (otadata half written): 1.0.0, State 0, Result 8;
// - after it, before the new image confirmed itself: the bootloader boots the unconfirmed
//   image once, and a reset then rolls it back (ESP-IDF's rollback): 1.0.0, Result 8 — unless
//   the cut came before that first boot, when 1.0.1 boots, confirms itself: Result 1;
// - after the confirmation: 1.0.1, Result 1.
// Virtual time, deterministic: each seed is its own simulation with its own flash.
import test from "ava";
import packet from "coap-packet";
import { simulation } from "./helpers/sim.js";
import { RawServer, options } from "./helpers/raw-lwm2m.js";
import { buildPackage } from "../host-sim/fota/image.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { Simulation } from "../host-sim/index.js";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { freePort } from "./helpers/ports.js";
import { peerProcess, lwm2mserverCborAnswer } from "./helpers/peer-process.js";

const OPAQUE = 42, TEXT = 0;
const uint = (n) => {
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
};

/** mulberry32: the seed's choices */
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

let packages;
const built = () => (packages ??= buildPackage({ version: "1.0.1" }));

class PowerGone extends Error {}

async function setup(t, seed) {
	const sim = simulation(t, { seed, latencyMs: 2 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: `fota-cut-${seed}`, lifetime: 600 } });
	const halted = [];
	dev.on("halted", (why) => halted.push(why));
	const settle = async (predicate, maxMs, what) => {
		for (let waited = 0; waited < maxMs; waited += 250) {
			if (predicate()) return;
			await sim.run(250);
		}
		throw new Error(`seed ${seed}: not within ${maxMs} ms: ${what}\n${dev.traces().filter((l) => /^(firmware|lwm2m)/.test(l)).slice(-20).join("\n")}`);
	};
	let mid = 0x4000;
	/** A CON request, retransmitted as RFC 7252 says; PowerGone once the device is off. */
	const request = async (code, path, { contentFormat, payload, block1, size1, accept } = {}) => {
		const messageId = ++mid & 0xffff;
		const opts = [];
		for (const s of path.split("/").filter(Boolean)) opts.push({ name: "Uri-Path", value: Buffer.from(s) });
		if (contentFormat !== undefined) opts.push({ name: "Content-Format", value: uint(contentFormat) });
		if (accept !== undefined) opts.push({ name: "Accept", value: uint(accept) });
		if (block1 !== undefined) opts.push({ name: "Block1", value: uint(block1) });
		if (size1 !== undefined) opts.push({ name: "Size1", value: uint(size1) });
		const bytes = packet.generate({ messageId, token: Buffer.from([0x52, messageId >> 8, messageId & 255]), code, confirmable: true, options: opts, payload: payload ?? Buffer.alloc(0) });
		const from = server.received.length;
		let timeout = 2000;
		for (let attempt = 0; attempt <= 4; attempt++, timeout *= 2) {
			if (dev.poweredOff) throw new PowerGone();
			server.socket.send(bytes, server.client.port, server.client.address);
			for (let waited = 0; waited < timeout; waited += 20) {
				await sim.run(20);
				const answer = server.received.slice(from).find((r) => r.p.ack && r.p.messageId === messageId);
				if (answer) return Object.assign(answer.p, { text: answer.p.payload.toString() });
				if (dev.poweredOff) throw new PowerGone();
			}
		}
		throw new Error(`seed ${seed}: no answer to ${code} ${path} after 5 transmissions`);
	};
	const read = async (path) => (await request("0.01", path, { accept: TEXT })).text;
	const push = async (pkg) => {
		const size = 1024, count = Math.ceil(pkg.length / size);
		let last;
		for (let n = 0; n < count; n++) {
			const more = n < count - 1;
			last = await request("0.03", "/5/0/0", { contentFormat: OPAQUE, block1: (n << 4) | (more ? 8 : 0) | 6, size1: n === 0 ? pkg.length : undefined, payload: pkg.subarray(n * size, (n + 1) * size) });
			if (more && last.code !== "2.31") throw new Error(`seed ${seed}: block ${n}: ${last.code} ${last.text}`);
		}
		return last;
	};
	const registrations = () => server.registrations().filter((r) => r.p.code === "0.02" && options(r.p, "Uri-Path").join("/") === "rd").length;
	await settle(() => server.client, 60_000, "registered");
	return { sim, server, dev, halted, request, read, push, settle, registrations };
}

/** One seed: the update, a cut where the seed says, power on; what the device reports after. */
async function cutAndCheck(t, seed) {
	const pkg = await built();
	const random = rng(seed);
	const phase = ["download", "complete", "boot"][Math.floor(random() * 3)];
	const { sim, dev, halted, request, read, push, settle, registrations } = await setup(t, seed);
	const installed = () => dev.traces().includes("firmware: 1.0.1 installed: restarting into it");
	const confirmed = () => dev.traces().includes("firmware: 1.0.1 registered and confirmed");
	let where, executed = false;
	const update = async () => {
		const answer = await request("0.02", "/5/0/2");
		executed ||= answer.code === "2.04";
		return answer;
	};
	try {
		if (phase === "download") {
			const n = Math.floor(random() * 380); // the download's erases and programs: ~77 + 308
			where = `flash operation ${n} of the download`;
			await dev.powerCut({ afterFlashOps: n });
			await push(pkg);
			// past the download's last flash operation: the cut is armed for complete()
			where += " (past the download: in complete())";
			await update();
			await settle(() => dev.poweredOff, 10_000, "the cut");
		} else {
			t.is((await push(pkg)).code, "2.04");
			t.is(await read("/5/0/3"), "2");
			if (phase === "complete") {
				const n = Math.floor(random() * 2); // otadata: the sector's erase, the entry's program
				where = `flash operation ${n} of complete()`;
				await dev.powerCut({ afterFlashOps: n });
				await update();
				await settle(() => dev.poweredOff, 10_000, "the cut");
			} else {
				const ms = Math.floor(random() * 2_500); // the new image confirms itself about 1 s after its boot
				where = `${ms} ms after Update`;
				const resets = dev.resets.length;
				t.is((await update()).code, "2.04");
				await sim.run(ms);
				// the confirmation's own otadata write, torn, on some seeds
				if (dev.resets.length > resets && !confirmed() && random() < 0.5) {
					const n = Math.floor(random() * 2);
					where += `, then flash operation ${n} from there (markValid())`;
					await dev.powerCut({ afterFlashOps: n });
					await settle(() => dev.poweredOff || confirmed(), 60_000, "the cut or the confirmation");
				}
				if (!dev.poweredOff) await dev.powerCut();
			}
		}
	} catch (e) {
		if (!(e instanceof PowerGone)) throw e;
	}
	t.true(dev.poweredOff, `seed ${seed}: the power is off (${where})`);
	// what the cut leaves: the new image booted (bootloader: NEW → PENDING_VERIFY) or not yet
	const newBooted = dev.traces().some((l) => /^firmware: 1\.0\.1 on trial in ota_1/.test(l));
	const expected = confirmed() || (installed() && !newBooted) ? { version: "1.0.1", result: "1" } : executed ? { version: "1.0.0", result: "8" } : { version: "1.0.0", result: "0" };
	const before = registrations();
	await dev.powerOn();
	await settle(() => registrations() > before, 300_000, `registered again after the cut at ${where}`);
	await settle(() => !/on trial/.test(dev.traces().filter((l) => l.startsWith("firmware:")).at(-1) ?? "") || confirmed(), 60_000, "confirmed");
	await sim.run(2_000);
	t.deepEqual(halted, [], `seed ${seed}`);
	const seen = { version: await read("/3/0/3"), state: await read("/5/0/3"), result: await read("/5/0/5") };
	t.log(`seed ${seed}: cut at ${where}: ${seen.version}, State ${seen.state}, Result ${seen.result}`);
	t.deepEqual(seen, { ...expected, state: "0" }, `seed ${seed}: cut at ${where}\n${dev.traces().filter((l) => l.startsWith("firmware")).join("\n")}`);
	return phase;
}

const SEEDS = Array.from({ length: 20 }, (_, i) => 1001 + i * 7919);
for (let part = 0; part < 4; part++) {
	const seeds = SEEDS.slice(part * 5, part * 5 + 5);
	test(`power cut at a random point of a whole firmware update (seeds ${seeds.join(", ")}): always a whole verified image, registered, with a consistent /3/0/3 and /5/0/3, /5/0/5`, async (t) => {
		const phases = [];
		for (const seed of seeds) phases.push(await cutAndCheck(t, seed));
		t.log(`phases: ${phases.join(", ")}`);
	});
}

// ---------------------------------------------------------------- peers we did not write
// In real time on real loopback UDP: libcoap's example server (`coap-server-notls -d`: dynamic
// resources, created by a PUT) holds the package, put there by libcoap's `coap-client`; the
// firmware pulls it in Block2 by the Package URI that a server writes to /5/0/1: the local
// server (its REST API), or Eclipse Wakaama's `lwm2mserver` driven on its console.
const WAIT_MS = 60_000; // wall: generous, for a busy machine
const which = (name) => process.env.PATH.split(path.delimiter).map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
const LIBCOAP = which("coap-server-notls") && which("coap-client-notls");
const WAKAAMA = process.env.WAKAAMA_BIN;

const spawnPeer = (t, file, args) => peerProcess(t, file, args, { waitMs: WAIT_MS });

/** Polls (wall time) until `probe` returns something; rejects after `ms`. */
async function until(probe, ms, what) {
	for (const end = Date.now() + ms; ;) {
		const v = await probe();
		if (v) return v;
		if (Date.now() > end) throw new Error(typeof what === "function" ? what() : `not within ${ms / 1000} s: ${what}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** libcoap's coap-server on a free loopback port, holding the package at fw/<name> (PUT by coap-client). */
async function libcoapServer(t, bytes, name) {
	const port = await freePort();
	const server = spawnPeer(t, which("coap-server-notls"), ["-A", "127.0.0.1", "-p", String(port), "-d", "4", "-v", "4"]);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fota-robust-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	const file = path.join(dir, name);
	fs.writeFileSync(file, bytes);
	const uri = `coap://127.0.0.1:${port}/fw/${name}`;
	await until(async () => {
		const put = spawn(which("coap-client-notls"), ["-m", "put", "-b", "1024", "-f", file, uri], { stdio: "ignore" });
		return (await new Promise((r) => put.on("exit", r))) === 0;
	}, 10_000, `coap-client could not PUT ${uri}`);
	// the same bytes come back from it (libcoap's client, Block2)
	const back = path.join(dir, "back");
	const get = spawn(which("coap-client-notls"), ["-m", "get", "-b", "1024", "-o", back, uri], { stdio: "ignore" });
	await new Promise((r) => get.on("exit", r));
	if (!fs.readFileSync(back).equals(bytes)) throw new Error("coap-server-notls does not give back what was PUT");
	return { server, uri };
}

const firmwareLines = (dev) => dev.traces().filter((l) => l.startsWith("firmware")).join("\n");

(LIBCOAP ? test.serial : test.skip)(`pull from libcoap's coap-server (a PUT resource, -d), the Package URI written through the local server: 1.0.1 registers, Result 1${LIBCOAP ? "" : " — coap-server-notls / coap-client-notls not on PATH (libcoap3-bin)"}`, async (t) => {
	const pkg = await built();
	const { uri } = await libcoapServer(t, pkg, "thermostat-1.0.1.ltfw");
	const server = new Lwm2mServer({ host: "127.0.0.1", coapPort: 0, httpPort: 0 });
	const bound = await server.start();
	t.teardown(() => server.stop().catch(() => {}));
	const rest = async (method, p, body) => {
		const res = await fetch(`http://127.0.0.1:${bound.httpPort}/api${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": "application/json" } });
		const text = await res.text();
		try {
			return { status: res.status, body: JSON.parse(text) };
		} catch {
			return { status: res.status, body: text };
		}
	};
	const registered = [];
	server.on("registered", (r) => registered.push(r));
	const sim = new Simulation({ clock: "real", speed: 1, seed: 23 });
	t.teardown(() => sim.close());
	const dev = await sim.addDevice({ config: { serverUri: `coap://127.0.0.1:${bound.coapPort}`, endpoint: "fota-libcoap", lifetime: 600 } });
	dev.on("error", () => {});
	await until(() => registered.length, WAIT_MS, "registered");
	const read = async (p) => (await rest("GET", `/clients/fota-libcoap${p}`)).body.content?.value;
	t.is(await read("/3/0/3"), "1.0.0");
	const start = Date.now();
	const written = await rest("PUT", "/clients/fota-libcoap/5/0/1", uri);
	t.is(written.status, 200, JSON.stringify(written.body));
	await until(() => /^firmware: (pulled|download failed)/m.test(firmwareLines(dev)), 4 * WAIT_MS, () => `the download's end:\n${firmwareLines(dev)}`);
	t.true(dev.traces().some((l) => l.startsWith(`firmware: pulled ${pkg.length} bytes in ${Math.ceil(pkg.length / 1024)} blocks`)), firmwareLines(dev));
	t.log(`pulled ${pkg.length} bytes from coap-server-notls in ${((Date.now() - start) / 1000).toFixed(1)} s wall`);
	t.is(await read("/5/0/3"), 2);
	t.is(await read("/5/0/7"), "1.0.1");
	t.is((await rest("POST", "/clients/fota-libcoap/5/0/2")).status, 200);
	await until(() => registered.length >= 2, WAIT_MS, () => `registered again with the new image:\n${firmwareLines(dev)}`);
	await until(() => dev.traces().includes("firmware: 1.0.1 registered and confirmed"), WAIT_MS, () => firmwareLines(dev));
	t.is(await read("/3/0/3"), "1.0.1");
	t.is(await read("/5/0/3"), 0);
	t.is(await read("/5/0/5"), 1);
});

/** The SenML CBOR of the answer lwm2mserver dumped on stderr after `from`: waited for (stderr comes apart from stdout). */
const cborAnswer = (server, from) => until(() => lwm2mserverCborAnswer(server, { from }), WAIT_MS, () => `no SenML CBOR answer in lwm2mserver's dump:\n${server.err.slice(-3000)}`);

(WAKAAMA && LIBCOAP ? test.serial : test.skip)(`Wakaama's lwm2mserver drives object 5: writes the Package URI (a file on libcoap's coap-server), reads State 2, executes Update: 1.0.1 registers, Result 1${WAKAAMA && LIBCOAP ? "" : " — needs WAKAAMA_BIN (.ci/wakaama.sh) and libcoap3-bin"}`, async (t) => {
	const pkg = await built();
	const { uri } = await libcoapServer(t, pkg, "1.0.1");
	const port = await freePort();
	const server = spawnPeer(t, path.join(WAKAAMA, "lwm2mserver"), ["-4", "-l", String(port)]);
	const sim = new Simulation({ clock: "real", speed: 1, seed: 29 });
	t.teardown(() => sim.close());
	const dev = await sim.addDevice({ config: { serverUri: `coap://127.0.0.1:${port}`, endpoint: "fota-wakaama", lifetime: 600 } });
	dev.on("error", () => {});
	const registered = await server.waitLine(/^New client #(\d+) registered\./);
	const id = /#(\d+)/.exec(registered.line)[1];
	const objects = await server.waitLine(/^\s*objects: /, { from: registered.index });
	t.regex(objects.line, /\/5 \(1\.2\), \/5\/0/);
	/** read through lwm2mserver's console: the resource's value from its SenML CBOR answer */
	const read = async (p) => {
		const mark = server.out.length, err = server.err.length;
		server.send(`read ${id} ${p}`);
		await server.waitLine(`Client #${id} ${p} : 2.05 (COAP_205_CONTENT)`, { from: mark });
		await server.waitLine("bytes received of type application/senml+cbor", { from: mark });
		const [record] = await cborAnswer(server, err);
		return record[2] ?? record[3];
	};
	let mark = server.out.length;
	server.send(`write ${id} /5/0/1 ${uri}`);
	await server.waitLine(`Client #${id} /5/0/1 : 2.04 (COAP_204_CHANGED)`, { from: mark });
	// State: 1 (Downloading) while it pulls, 2 (Downloaded) at the end
	const states = [];
	await until(async () => {
		states.push(await read("/5/0/3"));
		return states.at(-1) === 2 || /download failed/.test(firmwareLines(dev));
	}, 4 * WAIT_MS, () => `State 2; read ${states.join(", ")}\n${firmwareLines(dev)}`);
	t.is(states.at(-1), 2, firmwareLines(dev));
	t.true(states.every((s) => s === 1 || s === 2), states.join(", "));
	mark = server.out.length;
	server.send(`exec ${id} /5/0/2`);
	await server.waitLine(`Client #${id} /5/0/2 : 2.04 (COAP_204_CHANGED)`, { from: mark });
	const again = await server.waitLine(/^New client #(\d+) registered\./, { from: mark });
	const id2 = /#(\d+)/.exec(again.line)[1];
	await until(() => dev.traces().includes("firmware: 1.0.1 registered and confirmed"), WAIT_MS, () => firmwareLines(dev));
	const readNew = async (p) => {
		const m = server.out.length, err = server.err.length;
		server.send(`read ${id2} ${p}`);
		await server.waitLine(`Client #${id2} ${p} : 2.05 (COAP_205_CONTENT)`, { from: m });
		await server.waitLine("bytes received of type application/senml+cbor", { from: m });
		const [record] = await cborAnswer(server, err);
		return record[2] ?? record[3];
	};
	t.is(await readNew("/3/0/3"), "1.0.1");
	t.is(await readNew("/5/0/3"), 0);
	t.is(await readNew("/5/0/5"), 1);
});
