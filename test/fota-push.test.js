// Firmware Update by push, end to end: the thermostat firmware (device/main.ts) on XS in
// host-sim with its two OTA slots, a server that Writes an LTFW package of a built firmware
// (host-sim/fota/image.js) to /5/0/0 in Block1 over a lossy link, retransmitting as RFC 7252
// says (CON, doubling timeouts; written here on the npm coap-packet codec), then Executes
// /5/0/2; what it sees: each block answered, the device rebooting into the new version,
// registering with it in /3/0/3, State 0 and Update Result 1; or Result 5 for a bad hash
// with the old firmware running on; or, when the new image cannot register, a rollback and
// the old version registering with Result 8.
import test from "ava";
import packet from "coap-packet";
import { simulation } from "./helpers/sim.js";
import { RawServer, num, option, options } from "./helpers/raw-lwm2m.js";
import { buildPackage } from "../host-sim/fota/image.js";
import { DtlsServer } from "../host-sim/dtls/index.js";
import { fileServer } from "./helpers/coap-file-server.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";

const OPAQUE = 42, TEXT = 0;
const uint = (n) => {
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
};

let packages;
const built = () => (packages ??= (async () => ({ v101: await buildPackage({ version: "1.0.1" }) }))());

async function setup(t, { link, config = {} } = {}) {
	const sim = simulation(t, { seed: 17, latencyMs: 2 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ link, config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: "fota-1", lifetime: 600, ...config } });
	const settle = async (predicate, maxMs, what) => {
		for (let waited = 0; waited < maxMs; waited += 250) {
			if (predicate()) return;
			await sim.run(250);
		}
		throw new Error(`not within ${maxMs} ms: ${what}`);
	};
	await settle(() => server.client, 60_000, "registered");
	let mid = 0x4000;
	const stats = { sent: 0, retransmitted: 0 };
	/** A CON request with RFC 7252 retransmission (2 s doubling, 4 retransmissions); the piggybacked answer. */
	const request = async (code, path, { contentFormat, payload, block1, size1, accept, token } = {}) => {
		const messageId = ++mid & 0xffff;
		const opts = [];
		for (const s of path.split("/").filter(Boolean)) opts.push({ name: "Uri-Path", value: Buffer.from(s) });
		if (contentFormat !== undefined) opts.push({ name: "Content-Format", value: uint(contentFormat) });
		if (accept !== undefined) opts.push({ name: "Accept", value: uint(accept) });
		if (block1 !== undefined) opts.push({ name: "Block1", value: uint(block1) });
		if (size1 !== undefined) opts.push({ name: "Size1", value: uint(size1) });
		const bytes = packet.generate({ messageId, token: token ?? Buffer.from([0x51, messageId >> 8, messageId & 255]), code, confirmable: true, options: opts, payload: payload ?? Buffer.alloc(0) });
		const from = server.received.length;
		let timeout = 2000;
		for (let attempt = 0; attempt <= 4; attempt++, timeout *= 2) {
			if (attempt) stats.retransmitted++;
			stats.sent++;
			server.socket.send(bytes, server.client.port, server.client.address);
			for (let waited = 0; waited < timeout; waited += 20) {
				await sim.run(20);
				const answer = server.received.slice(from).find((r) => r.p.ack && r.p.messageId === messageId);
				if (answer) return Object.assign(answer.p, { text: answer.p.payload.toString() });
			}
		}
		throw new Error(`no answer to ${code} ${path} after 5 transmissions`);
	};
	const read = async (path) => (await request("0.01", path, { accept: TEXT })).text;
	/** Write the package to /5/0/0 in 1024-byte blocks; the answers' codes */
	const push = async (pkg, { szx = 6, onBlock } = {}) => {
		const size = 16 << szx, count = Math.ceil(pkg.length / size);
		const codes = [];
		for (let n = 0; n < count; n++) {
			const more = n < count - 1;
			const a = await request("0.03", "/5/0/0", { contentFormat: OPAQUE, block1: (n << 4) | (more ? 8 : 0) | szx, size1: n === 0 ? pkg.length : undefined, payload: pkg.subarray(n * size, (n + 1) * size) });
			codes.push(a.code);
			await onBlock?.(n);
			if (more && a.code !== "2.31") throw new Error(`block ${n}: ${a.code} ${a.text}`);
			if (more && num(option(a, "Block1")) >> 4 !== n) throw new Error(`block ${n} answered for block ${num(option(a, "Block1")) >> 4}`);
		}
		return codes;
	};
	const registrations = () => server.registrations().filter((r) => r.p.code === "0.02" && options(r.p, "Uri-Path").join("/") === "rd");
	return { sim, server, dev, request, read, push, settle, stats, registrations };
}

test("push of the built firmware over a link losing 10 % each way: the device reboots into 1.0.1, registers with it in /3/0/3, State 0, Result 1", async (t) => {
	const { v101 } = await built();
	const { sim, dev, request, read, push, settle, stats, registrations } = await setup(t, { link: { loss: 0.1 } });
	t.is(await read("/3/0/3"), "1.0.0");
	const links = registrations()[0].p.payload.toString();
	t.true(links.includes("</5>;ver=1.2"), links);
	const start = sim.now;
	const codes = await push(v101);
	const seconds = (sim.now - start) / 1000;
	t.is(codes.at(-1), "2.04");
	t.log(`pushed ${v101.length} bytes in ${codes.length} blocks in ${seconds.toFixed(1)} s simulated, ${stats.retransmitted} retransmissions`);
	t.is(await read("/5/0/3"), "2");
	t.is(await read("/5/0/7"), "1.0.1");
	const before = registrations().length;
	t.is((await request("0.02", "/5/0/2")).code, "2.04");
	await settle(() => registrations().length > before, 120_000, "registered again after the update");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.1");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "1");
	t.is(await read("/5/0/7"), "1.0.1");
	const traces = dev.traces();
	t.true(traces.some((l) => /firmware: 1\.0\.1 registered and confirmed/.test(l)), traces.filter((l) => l.startsWith("firmware")).join("\n"));
	// the result survives another reboot, and the confirmed image stays
	const again = registrations().length;
	t.is((await request("0.02", "/3/0/4")).code, "2.04");
	await settle(() => registrations().length > again, 120_000, "registered after a reboot");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.1");
	t.is(await read("/5/0/5"), "1");
});

test("a bad hash: the last block is answered 4.00, Result 5, Update refused, and the old firmware runs on after a reboot", async (t) => {
	const { v101 } = await built();
	const bad = Buffer.from(v101);
	bad[bad.length - 100] ^= 0xff; // one payload byte: the SHA-256 in the header no longer matches
	const { sim, dev, request, read, push, settle, registrations } = await setup(t);
	// the XS heap during the download: the package streams through, never held (an ESP32 slot is 16 bytes)
	const idle = await dev.heap();
	let peak = 0;
	const codes = await push(bad, {
		onBlock: async (n) => {
			if (n % 60 !== 30) return;
			const h = await dev.heap();
			peak = Math.max(peak, (h.slots - idle.slots) * 16 + (h.chunkBytes - idle.chunkBytes));
			t.log(`block ${n}: ${h.slots - idle.slots} slots, ${h.chunkBytes - idle.chunkBytes} chunk bytes above idle`);
		},
	});
	t.log(`XS heap above idle during a ${bad.length}-byte download: at most ${peak} bytes`);
	t.true(peak < 16 * 1024, `${peak} bytes above idle`);
	t.is(codes.at(-1), "4.00");
	t.is(await read("/5/0/5"), "5");
	t.is(await read("/5/0/3"), "0");
	const update = await request("0.02", "/5/0/2");
	t.is(update.code, "4.05");
	const before = registrations().length;
	t.is((await request("0.02", "/3/0/4")).code, "2.04");
	await settle(() => registrations().length > before, 120_000, "registered after the reboot");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.0");
});

test("a new image that cannot register rolls back after firmwareConfirmTimeout: the previous version registers and reports Result 8", async (t) => {
	const { v101 } = await built();
	const { sim, dev, server, request, read, push, settle, registrations } = await setup(t, { config: { firmwareConfirmTimeout: 120 } });
	t.is((await push(v101)).at(-1), "2.04");
	server.answerRegistration = false; // the server does not take the new image's registration
	t.is((await request("0.02", "/5/0/2")).code, "2.04");
	await settle(() => dev.traces().some((l) => /did not register within 120 s: rolling back/.test(l)), 300_000, "the rollback");
	server.answerRegistration = true;
	const before = registrations().length;
	await settle(() => registrations().length > before && server.client, 300_000, "the old image registered");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.0");
	t.is(await read("/5/0/5"), "8");
	t.is(await read("/5/0/3"), "0");
	t.true(dev.traces().some((l) => /the update to 1\.0\.1 did not take \(rolled back\)/.test(l)));
});

test("pull of the same over a link losing 10 %: a coap:// Package URI served in Block2, then Update: 1.0.1 registers, Result 1", async (t) => {
	const { v101 } = await built();
	const { sim, dev, request, read, settle, registrations } = await setup(t, { link: { loss: 0.1 } });
	const served = fileServer(sim, { files: { "fw/thermostat-1.0.1.ltfw": v101 } });
	const start = sim.now;
	t.is((await request("0.03", "/5/0/1", { contentFormat: TEXT, payload: Buffer.from("coap://127.0.0.3:5683/fw/thermostat-1.0.1.ltfw") })).code, "2.04");
	await settle(() => dev.traces().some((l) => /^firmware: (pulled|download failed)/.test(l)), 900_000, "the download's end");
	t.is(await read("/5/0/3"), "2");
	t.log(`pulled ${v101.length} bytes in ${((sim.now - start) / 1000).toFixed(1)} s simulated, ${served.requests} requests for ${Math.ceil(v101.length / 1024)} blocks`);
	const before = registrations().length;
	t.is((await request("0.02", "/5/0/2")).code, "2.04");
	await settle(() => registrations().length > before, 120_000, "registered again after the update");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.1");
	t.is(await read("/5/0/5"), "1");
	t.is(await read("/5/0/3"), "0");
});

test("pull over coaps:// with the LwM2M server's PSK, driven through the local server's REST API", async (t) => {
	const { v101 } = await built();
	const psk = { identity: "thermostat-fota", key: "00112233445566778899aabbccddeeff" };
	const { sim, state, rest } = await lwm2mSimulation(t, { psk });
	const raw = sim.network.createSocket();
	const files = new DtlsServer({ socket: raw, clock: sim.clock, psk: (identity) => (identity === psk.identity ? Buffer.from(psk.key, "hex") : undefined) });
	files.socket.bind(5684, "127.0.0.3");
	const served = fileServer(sim, { socket: files.socket, files: { "fw/1.0.1": v101 } });
	const events = [];
	state.server.on("registered", (e) => events.push(e));
	const dev = await sim.addDevice({ config: { serverUri: "coaps://127.0.0.1:5684", ssid: "host-sim", endpoint: "fota-s", pskIdentity: psk.identity, pskKey: psk.key } });
	for (let i = 0; i < 120 && !events.length; i++) await sim.run(500);
	t.is(events.length, 1, "registered over DTLS");
	const read = async (p) => (await rest("GET", `/clients/fota-s${p}`)).body.content?.value;
	const written = await rest("PUT", "/clients/fota-s/5/0/1", JSON.stringify("coaps://127.0.0.3:5684/fw/1.0.1"));
	t.is(written.status, 200, JSON.stringify(written.body));
	for (let i = 0; i < 600 && served.blocks.length < Math.ceil(v101.length / 1024); i++) await sim.run(1_000);
	await sim.run(3_000);
	t.is(await read("/5/0/3"), 2, dev.traces().filter((l) => l.startsWith("firmware")).join("\n"));
	t.true(dev.traces().includes(`firmware: pulled ${v101.length} bytes in ${Math.ceil(v101.length / 1024)} blocks (0 exchanges tried again)`), dev.traces().filter((l) => l.startsWith("firmware")).join("\n"));
	t.is((await rest("POST", "/clients/fota-s/5/0/2")).status, 200);
	for (let i = 0; i < 240 && events.length < 2; i++) await sim.run(500);
	t.is(events.length, 2, "registered again, over DTLS, with the new image");
	await sim.run(2_000);
	t.is(await read("/3/0/3"), "1.0.1");
	t.is(await read("/5/0/5"), 1);
	t.is(await read("/5/0/3"), 0);
});

test("the local server's pull job (server.updateFirmware, mode pull) ends on what the rebooted device says: State 0 (Idle), Result 1", async (t) => {
	const { v101 } = await built();
	const { sim, state, drive } = await lwm2mSimulation(t, { seed: 21, latencyMs: 2 });
	const registered = [];
	state.server.on("registered", (e) => registered.push(e));
	const events = [];
	state.server.on("firmware", (e) => events.push(e));
	await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: "fota-job", lifetime: 600 } });
	for (let i = 0; i < 120 && !registered.length; i++) await sim.run(500);
	t.is(registered.length, 1, "registered");
	const { done } = state.server.updateFirmware("fota-job", v101, { mode: "pull" });
	const final = await drive(done, { step: 100, maxMs: 900_000 });
	t.like(final, { phase: "done", success: true, mode: "pull", state: 0, stateText: "Idle", result: 1, firmwareVersion: "1.0.1" });
	t.is(final.message, "Update Result 1 (firmware updated successfully), State 0 (Idle), firmware version 1.0.1");
	t.deepEqual([...new Set(events.map((e) => e.phase))], ["started", "downloading", "downloaded", "updating", "rebooted", "done"]);
	t.is(registered.length, 2, "registered again with the new image");
});
