// host-sim's firmware-update flash (issue 13): the XS modules embedded:storage/flash,
// embedded:update and ota on a device's two app slots and otadata, its bootloader (boot
// slot, rollback of an unconfirmed image, the image check), power cuts in the middle of
// flash work, and `npm run build:image`. Driven through test/fixtures/ota-probe.ts, which
// uses the modules directly on commands sent over the simulated network.
import test from "ava";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { simulation, fixture, tempDir, root } from "./helpers/sim.js";
import { parsePackage, buildAppImage, verifyAppImage } from "../host-sim/fota/image.js";
import { FlashFile, FLASH_TIMING } from "../host-sim/storage.js";

const run = promisify(execFile);
const DEVICE_PORT = 7000, PEER_PORT = 7001;
const CHUNK = 1024;

let imageOnce;
/** the fixture built as version 1.0.1, by the build:image command line */
async function packageOfFixture(t) {
	imageOnce ??= (async () => {
		const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ota-test-")), "probe.ltfw");
		const { stdout } = await run(process.execPath, [path.join(root, "host-sim", "fota", "image.js"), "--version", "1.0.1", "--entry", fixture("ota-probe.ts"), "--out", out]);
		const bytes = fs.readFileSync(out);
		fs.rmSync(path.dirname(out), { recursive: true, force: true });
		return { stdout, bytes };
	})();
	const r = await imageOnce;
	t.truthy(r.bytes.length);
	return r;
}

async function probeDevice(t, options = {}) {
	const sim = simulation(t);
	const peer = sim.network.createSocket("udp4");
	peer.bind(PEER_PORT, "127.0.0.1");
	const replies = [];
	peer.on("message", (m) => replies.push(m.toString()));
	const storage = options.storage ?? path.join(tempDir(t), "dev.json");
	const dev = await sim.addDevice({ entry: fixture("ota-probe.ts"), storage, config: { port: DEVICE_PORT, peerPort: PEER_PORT, firmwareVersion: "1.0.0" } });
	/** the next "ready" line after a boot */
	const ready = async () => {
		for (let i = 0; i < 200; i++) {
			const k = replies.findIndex((r) => r.startsWith("ready "));
			if (k >= 0) return replies.splice(k, 1)[0];
			await sim.run(100);
		}
		throw new Error(`no ready line; log: ${dev.log.slice(-5).map((l) => l.text).join(" | ")}`);
	};
	const ask = async (data) => {
		replies.length = 0;
		sim.clock.after(0, () => peer.send(Buffer.from(data), DEVICE_PORT, "127.0.0.1"));
		for (let i = 0; i < 200; i++) {
			await sim.run(50);
			if (replies.length) return replies.shift();
		}
		return undefined;
	};
	const write = (bytes) => ask(Buffer.concat([Buffer.from("W"), bytes]));
	/** write an app image in 1 KB appends; returns the modelled ms each took */
	const install = async (image) => {
		t.regex(await ask("B"), /^ok begin/);
		const times = [];
		for (let at = 0; at < image.length; at += CHUNK) {
			const reply = await write(image.subarray(at, at + CHUNK));
			t.regex(reply, /^ok write \d+$/, `write at ${at}`);
			times.push(Number(reply.split(" ")[2]));
		}
		return times;
	};
	return { sim, dev, peer, ready, ask, write, install, storage };
}

test("a fresh device boots ota_0; the modules report the partitions and Moddable's errors", async (t) => {
	const d = await probeDevice(t);
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
	const status = JSON.parse((await d.ask("S")).slice("status ".length));
	t.deepEqual(status.labels, ["otadata", "ota_0", "ota_1"]);
	t.is(status.running, "ota_0");
	t.false(status.pending);
	t.deepEqual(status.nextStatus, { size: 0x180000, blockLength: 4096, blocks: 384 });
	t.is(status.head, "HSAP"); // ota_0 holds the app image the simulator flashed
	const errors = Object.fromEntries(JSON.parse((await d.ask("E")).slice("errors ".length)));
	t.deepEqual(errors, {
		"open unknown": "Error: can't find partition",
		"open app slot by label": "Error: can't find partition", // only data partitions by label (esp_partition_find_first(DATA...))
		"update running": "Error: begin failed",
		"update read-only": "Error: read-only partition",
		"bad mode": "RangeError: invalid mode",
		"offset in append mode": "Error: offset not allowed",
		"not an image": "Error: write failed",
		"complete nothing": "Error: end failed",
		"write after complete": "Error: already complete",
		"write after close": "SyntaxError: C: xsGetHostData: invalid",
		"write read-only flash": "Error: read-only",
		"read past the end": "Error: read failed",
		"read after close": "SyntaxError: C: xsGetHostData: invalid",
	});
	t.is(d.dev.resets.length, 0);
});

test("build:image makes an LTFW package; its payload, written and completed, boots pending and stays once confirmed", async (t) => {
	const { stdout, bytes } = await packageOfFixture(t);
	t.regex(stdout, /probe\.ltfw: host-sim 1\.0\.1, \d+ bytes/);
	const pkg = parsePackage(bytes);
	t.like(pkg, { format: 1, headerLength: 160, target: "host-sim", version: "1.0.1", signatureAlgorithm: 0, complete: true, hashOk: true });
	const image = verifyAppImage(pkg.payload);
	t.true(image.ok);
	t.deepEqual(image.program.config, { firmwareVersion: "1.0.1" });

	const d = await probeDevice(t);
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
	const times = await d.install(pkg.payload);
	// the device's clock ran on as the flash worked: 45 ms per 4 KB sector erased as the
	// appends reach it, 0.1 ms per 64 bytes programmed
	const sectors = Math.ceil(pkg.payload.length / 4096);
	const expected = sectors * FLASH_TIMING.eraseSectorMs + Math.ceil(pkg.payload.length / 64) * FLASH_TIMING.programChunkMs;
	const total = times.reduce((a, b) => a + b, 0);
	t.true(Math.abs(total - expected) <= 1, `modelled ${total} ms, expected ${expected}`);
	t.true(times[0] >= 45 && times[1] < 45, `a sector erased on the first write into it: ${times.slice(0, 5)}`);
	t.regex(await d.ask("C"), /^ok complete \d+$/);
	t.true(d.dev.log.some((l) => l.text === "ota: ota_1 set as boot slot"));
	// nothing changes until the reset
	t.is(JSON.parse((await d.ask("S")).slice(7)).running, "ota_0");
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.1 ota_1 true");
	t.true(d.dev.log.some((l) => l.text === "bootloader: booting ota_1 (1.0.1, pending)"));
	// an update may not start before the new image confirmed itself (ESP-IDF with rollback)
	t.is(await d.ask("B"), "err Error: begin failed");
	t.is(await d.ask("V"), "ok valid false");
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.1 ota_1 false");
	// a power cycle keeps it too, and the flash file says so
	await d.dev.powerCut();
	await d.dev.powerOn();
	t.is(await d.ready(), "ready 1.0.1 ota_1 false");
	const otadata = new FlashFile(FlashFile.fileFor(d.storage));
	otadata.boot();
	t.deepEqual(otadata.otadata().filter((e) => e.valid).map((e) => [e.slot, e.state]), [["ota_1", "valid"]]);
});

test("an image that resets before markValid, or calls rollback(), gives way to the previous one", async (t) => {
	const { bytes } = await packageOfFixture(t);
	const { payload } = parsePackage(bytes);
	const d = await probeDevice(t);
	await d.ready();
	await d.install(payload);
	t.regex(await d.ask("C"), /^ok complete/);
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.1 ota_1 true");
	await d.ask("T"); // reset without confirming
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
	t.true(d.dev.log.some((l) => l.text === "bootloader: ota_1 was not confirmed: marked aborted, rolling back"));
	await d.ask("T"); // and it stays there
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");

	// again, and this time the new image gives up itself
	await d.install(payload);
	t.regex(await d.ask("C"), /^ok complete/);
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.1 ota_1 true");
	await d.ask("R"); // restart() does not stop the current callback in host-sim: it may still answer
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
	t.true(d.dev.log.some((l) => l.text === "ota: ota_1 marked invalid, rolling back to ota_0"));
	// with no other valid image there is nothing to roll back to
	t.is(await d.ask("R"), "err Error: rollback failed");
});

test("a corrupted or partial image fails the check and is never booted", async (t) => {
	const { bytes } = await packageOfFixture(t);
	const payload = Buffer.from(parsePackage(bytes).payload);
	payload[payload.length - 10] ^= 0x01;
	const d = await probeDevice(t);
	await d.ready();
	await d.install(payload);
	t.is(await d.ask("C"), "err Error: end failed");
	t.true(d.dev.log.some((l) => l.text === "ota: ota_1: image checksum (SHA-256) does not match"));
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
	// a partial one, abandoned with close()
	t.regex(await d.ask("B"), /^ok begin/);
	t.regex(await d.write(payload.subarray(0, CHUNK)), /^ok write/);
	t.is(await d.ask("X"), "ok close");
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.0 ota_0 false");
});

test("a power cut at any point of an update never boots a mixture", async (t) => {
	const { bytes } = await packageOfFixture(t);
	const { payload } = parsePackage(bytes);
	// in the middle of the appends (the 5th flash operation from now tears), while complete()
	// erases the otadata sector (0), while it programs the new entry (1), and just after (2)
	for (const [cutAfter, when] of [[4, "writes"], [0, "complete"], [1, "complete"], [2, "after"]]) {
		const d = await probeDevice(t);
		await d.ready();
		if (when === "writes") {
			t.regex(await d.ask("B"), /^ok begin/);
			await d.dev.powerCut({ afterFlashOps: cutAfter });
			let reply;
			for (let at = 0; at < payload.length && (reply = await d.write(payload.subarray(at, at + CHUNK))); at += CHUNK);
			t.is(reply, undefined, "the device stopped answering when its power went");
		} else {
			await d.install(payload);
			await d.dev.powerCut({ afterFlashOps: cutAfter });
			const reply = await d.ask("C");
			if (when === "after") t.regex(reply, /^ok complete/);
			else t.is(reply, undefined);
			if (when === "after") await d.dev.powerCut();
		}
		t.true(d.dev.poweredOff);
		t.true(d.dev.log.some((l) => /^power cut: /.test(l.text)));
		await d.dev.powerOn();
		if (when === "after") t.is(await d.ready(), "ready 1.0.1 ota_1 true", "otadata was written: the new image boots");
		else t.is(await d.ready(), `ready 1.0.0 ota_0 false`, `cut during ${when} (${cutAfter}): the old image boots`);
	}
});

test("build:image wraps an ESP-IDF app image for the esp32 and refuses what is not one", async (t) => {
	const dir = tempDir(t);
	const bin = path.join(dir, "xs_esp32.bin");
	fs.writeFileSync(bin, Buffer.concat([Buffer.from([0xe9, 0x05, 0x02, 0x20]), Buffer.alloc(2000, 7)]));
	const out = path.join(dir, "fw.ltfw");
	await run(process.execPath, [path.join(root, "host-sim", "fota", "image.js"), "--target", "esp32", "--payload", bin, "--version", "2.0.0", "--out", out]);
	const pkg = parsePackage(fs.readFileSync(out));
	t.like(pkg, { target: "esp32", version: "2.0.0", payloadLength: 2004, hashOk: true });
	t.deepEqual(Buffer.from(pkg.payload), fs.readFileSync(bin));
	fs.writeFileSync(bin, Buffer.from("not an image"));
	const e = await t.throwsAsync(run(process.execPath, [path.join(root, "host-sim", "fota", "image.js"), "--target", "esp32", "--payload", bin, "--version", "2.0.0", "--out", out]));
	t.is(e.code, 2);
	t.regex(e.stderr, /is not an ESP-IDF app image \(first byte 0x6e, not 0xe9\)/);
});

test("buildAppImage carries the version in the image's config", async (t) => {
	const image = verifyAppImage(await buildAppImage({ entry: fixture("ota-probe.ts"), version: "3.1.4" }));
	t.true(image.ok);
	t.is(image.program.config.firmwareVersion, "3.1.4");
});

test('mode "w": byteLength erased at open (45 ms a sector), writes at any offset, and the image completes', async (t) => {
	const { bytes } = await packageOfFixture(t);
	const { payload } = parsePackage(bytes);
	const d = await probeDevice(t);
	await d.ready();
	const begin = await d.ask(`Bw${payload.length}`);
	t.is(begin, `ok begin ${Math.ceil(payload.length / 4096) * FLASH_TIMING.eraseSectorMs}`);
	// back to front: the header last, as a device that fills in what it checked would
	const offsets = [];
	for (let at = 0; at < payload.length; at += CHUNK) offsets.push(at);
	for (const at of offsets.reverse()) t.regex(await d.ask(Buffer.concat([Buffer.from(`O${at}:`), payload.subarray(at, at + CHUNK)])), /^ok write [0-9]$/);
	t.regex(await d.ask("C"), /^ok complete/);
	await d.ask("T");
	t.is(await d.ready(), "ready 1.0.1 ota_1 true");
});
