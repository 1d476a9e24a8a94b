// A pull download (object 5's Package URI, Block2) that a reboot interrupts goes on after
// it from the last recorded block, not from block 0: the thermostat firmware on XS in
// host-sim with its flash (the update slot keeps what was written: embedded:update's mode
// "a" erases a sector only when the writes reach it), a CoAP file server that records the
// blocks asked for, a raw LwM2M server. After a power cut, or a reset by Execute /3/0/4, at
// about half of a ~300 KB package: the device registers again with State 1 and the URI in
// /5/0/1, reads the slot back (hashing it again), asks for the block where it stopped, and
// the update ends with 1.0.1 in /3/0/3, Result 1. When the server's package changed
// meanwhile (another ETag), it starts over at block 0 and installs the new one. And the
// local server's pull job (server.updateFirmware) follows the device through such a reboot.
import test from "ava";
import { createHash } from "node:crypto";
import packet from "coap-packet";
import { simulation } from "./helpers/sim.js";
import { RawServer } from "./helpers/raw-lwm2m.js";
import { buildPackage } from "../host-sim/fota/image.js";
import { fileServer } from "./helpers/coap-file-server.js";
import { lwm2mSimulation } from "./helpers/lwm2m-sim.js";

const TEXT = 0;
const PATH = "fw/thermostat.ltfw";
const URI = `coap://127.0.0.3:5683/${PATH}`;
const etagOf = (path, file) => createHash("sha256").update(file).digest().subarray(0, 4);

let packages;
const built = () => (packages ??= (async () => ({ v101: await buildPackage({ version: "1.0.1" }), v102: await buildPackage({ version: "1.0.2" }) }))());

async function setup(t, files) {
	const sim = simulation(t, { seed: 23, latencyMs: 2 });
	const server = new RawServer(sim);
	const served = fileServer(sim, { files, etag: etagOf });
	const dev = await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: "fota-r", lifetime: 600 } });
	const settle = async (predicate, maxMs, what) => {
		for (let waited = 0; waited < maxMs; waited += 250) {
			if (predicate()) return;
			await sim.run(250);
		}
		throw new Error(`not within ${maxMs} ms: ${what}\n${dev.traces().filter((l) => l.startsWith("firmware")).join("\n")}`);
	};
	await settle(() => server.client, 60_000, "registered");
	let mid = 0x5000;
	/** A CON request, sent again (2 s, doubling) until answered: the device may be busy with its flash */
	const request = async (code, path, { payload, accept } = {}) => {
		const messageId = ++mid & 0xffff;
		const opts = path.split("/").filter(Boolean).map((s) => ({ name: "Uri-Path", value: Buffer.from(s) }));
		if (payload !== undefined) opts.push({ name: "Content-Format", value: Buffer.alloc(0) }); // 0: text/plain
		if (accept !== undefined) opts.push({ name: "Accept", value: Buffer.alloc(0) });
		const bytes = packet.generate({ messageId, token: Buffer.from([0x52, messageId >> 8, messageId & 255]), code, confirmable: true, options: opts, payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(payload) });
		const from = server.received.length;
		for (let attempt = 0, timeout = 2000; attempt <= 4; attempt++, timeout *= 2) {
			server.socket.send(bytes, server.client.port, server.client.address);
			for (let waited = 0; waited < timeout; waited += 20) {
				await sim.run(20);
				const answer = server.received.slice(from).find((r) => r.p.ack && r.p.messageId === messageId);
				if (answer) return Object.assign(answer.p, { text: answer.p.payload.toString() });
			}
		}
		throw new Error(`no answer to ${code} ${path}`);
	};
	const read = async (path) => (await request("0.01", path, { accept: TEXT })).text;
	const registrations = () => server.registrations().filter((r) => r.p.code === "0.02");
	const firmwareLog = () => dev.traces().filter((l) => l.startsWith("firmware")).join("\n");
	return { sim, server, served, dev, request, read, settle, registrations, firmwareLog };
}

/**
 * Write the URI, let about half the package come, interrupt (`interrupt`), then follow the
 * device until it has the package again; the blocks asked for before and after.
 */
async function interrupted(t, d, pkg, interrupt, meanwhile = () => {}) {
	const { served, dev, request, read, settle, registrations, firmwareLog } = d;
	t.is((await request("0.03", "/5/0/1", { payload: URI })).code, "2.04");
	const blocks = Math.ceil(pkg.length / 1024);
	await settle(() => served.blocks.length >= blocks / 2, 600_000, "half the package");
	const registered = registrations().length;
	await interrupt();
	meanwhile();
	await settle(() => registrations().length > registered && d.server.client, 120_000, "registered again after the reboot");
	// what was asked for before the reboot (a request already on its way when the power went
	// included); the download goes on only after the Register and the slot's read-back
	const before = served.blocks.slice();
	t.is(await read("/5/0/1"), URI, "the Package URI is still there");
	t.is(await read("/5/0/3"), "1", "State 1 (Downloading) after the reboot");
	await settle(() => dev.traces().filter((l) => /^firmware: package .* downloaded and verified|^firmware: download failed/.test(l)).length > 0, 900_000, "the download's end");
	const after = served.blocks.slice(before.length);
	t.log(`${blocks} blocks; ${before.length} asked for before the reboot (up to block ${Math.max(...before)}), ${after.length} after, from block ${after[0]}`);
	t.is(await read("/5/0/3"), "2", firmwareLog());
	return { before, after, blocks };
}

async function updateAndCheck(t, d, version) {
	const { request, read, settle, registrations, firmwareLog } = d;
	const n = registrations().length;
	t.is((await request("0.02", "/5/0/2")).code, "2.04");
	await settle(() => registrations().length > n, 120_000, "registered again after the update");
	await d.sim.run(2_000);
	t.is(await read("/3/0/3"), version, firmwareLog());
	t.is(await read("/5/0/5"), "1");
	t.is(await read("/5/0/3"), "0");
}

test("a power cut half-way through a pull: after it the download goes on near the block where it stopped, not at block 0, and 1.0.1 installs (Result 1)", async (t) => {
	const { v101 } = await built();
	const d = await setup(t, { [PATH]: v101 });
	const { before, after } = await interrupted(t, d, v101, async () => {
		await d.dev.powerCut();
		await d.sim.run(5_000);
		await d.dev.powerOn();
	});
	const stopped = Math.max(...before);
	t.true(after[0] > 0, `the first block asked for after the reboot is ${after[0]}`);
	t.true(after[0] <= stopped + 1 && after[0] >= stopped - 16, `block ${after[0]} after the reboot, ${stopped} the last before (a checkpoint every 16 KB)`);
	t.false(after.includes(0), "block 0 is not asked for again");
	t.true(d.dev.traces().some((l) => /^firmware: \d+ payload bytes read back and hashed again; the download goes on at byte \d+/.test(l)), d.firmwareLog());
	await updateAndCheck(t, d, "1.0.1");
});

test("a reset (Execute /3/0/4) half-way through a pull: the download goes on from where it was and 1.0.1 installs", async (t) => {
	const { v101 } = await built();
	const d = await setup(t, { [PATH]: v101 });
	const { before, after, blocks } = await interrupted(t, d, v101, async () => {
		t.is((await d.request("0.02", "/3/0/4")).code, "2.04");
	});
	t.true(after[0] > 0 && after[0] >= Math.max(...before) - 16, `from block ${after[0]} after the reset`);
	t.false(after.includes(0));
	t.true(before.length + after.length < blocks + 40, `${before.length + after.length} blocks asked for, the package has ${blocks}`);
	await updateAndCheck(t, d, "1.0.1");
});

test("the package at that URI changed during the reboot (another ETag): the download starts over at block 0 and the new package installs", async (t) => {
	const { v101, v102 } = await built();
	const files = { [PATH]: v101 };
	const d = await setup(t, files);
	const { after } = await interrupted(
		t,
		d,
		v101,
		async () => {
			await d.dev.powerCut();
			await d.dev.powerOn();
		},
		() => {
			files[PATH] = v102;
		},
	);
	t.true(after[0] > 0, "it asked first for the block where it was");
	t.is(after[1], 0, "then, the ETag being another, for block 0");
	t.true(d.dev.traces().some((l) => /^firmware: download: the package on the server changed since the download began \(its ETag\): starting over from byte 0/.test(l)), d.firmwareLog());
	t.is(await d.read("/5/0/7"), "1.0.2");
	await updateAndCheck(t, d, "1.0.2");
});

test("the local server's pull job (server.updateFirmware, mode pull) through a power cut half-way: the device goes on from where it was and the job ends with Result 1, 1.0.1", async (t) => {
	const { v101 } = await built();
	const { sim, state, drive } = await lwm2mSimulation(t, { seed: 29, latencyMs: 2 });
	const registered = [];
	state.server.on("registered", (e) => registered.push(e));
	const dev = await sim.addDevice({ config: { serverUri: "coap://127.0.0.1:5683", ssid: "host-sim", endpoint: "fota-rj", lifetime: 600 } });
	for (let i = 0; i < 120 && !registered.length; i++) await sim.run(500);
	t.is(registered.length, 1, "registered");
	const asked = []; // the job's progress (a block asked for, one event a percent), before and after the cut
	let cut = false;
	state.server.on("firmware", (e) => {
		if (e.phase === "downloading" && e.sent) asked.push({ block: Math.ceil(e.sent / 1024) - 1, afterCut: cut });
	});
	const { done } = state.server.updateFirmware("fota-rj", v101, { mode: "pull" });
	const blocks = Math.ceil(v101.length / 1024);
	for (let i = 0; i < 2000 && !(asked.length && asked.at(-1).block >= blocks / 2); i++) await sim.run(100);
	await dev.powerCut();
	cut = true;
	await sim.run(3_000);
	await dev.powerOn();
	const final = await drive(done, { step: 100, maxMs: 900_000 });
	t.like(final, { phase: "done", success: true, mode: "pull", state: 0, result: 1, firmwareVersion: "1.0.1" }, dev.traces().filter((l) => l.startsWith("firmware")).join("\n"));
	t.true(dev.traces().some((l) => /^firmware: \d+ payload bytes read back and hashed again; the download goes on at byte \d+/.test(l)));
	t.is(registered.length, 3, "registered after the cut and with the new image");
	const lowest = Math.min(...asked.filter((a) => a.afterCut).map((a) => a.block));
	t.true(lowest >= blocks / 2 - 17, `after the cut the lowest block asked for is ${lowest} (of ${blocks})`);
});
