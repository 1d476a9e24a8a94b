// The firmware on Moddable's own desktop simulator, as `npm run sim` runs it: built from
// manifests/sim.json with the SDK in $MODDABLE (mcconfig, tsc, xsc, xsl, cc), run by mcsim
// on a private X display with the thermostat pane, registered with the local LwM2M server.
// The server reads the room model's temperature, writes the set point and reads it back,
// observes the temperature, and sees the registration go when mcsim is closed.
// mcsim runs in real time: every wait below is generous, none measures speed.
// With UPDATE_SCREENSHOT=1 the mcsim window goes to test/screenshots/mcsim.png (the
// README's); otherwise to a temporary file, keeping the checkout clean.
import test from "ava";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { startMcsimJob } from "../host-sim/mcsim/job.js";
import { root } from "./helpers/sim.js";

const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? path.join(root, "test", "screenshots", "mcsim.png") : path.join(os.tmpdir(), `mcsim-${process.pid}.png`);
const LIFETIME = 30; // s: short, so that an mcsim closed without de-registering is seen to expire soon
const MINUTE = 60_000;

/** The next `event` of `server` for `endpoint` (or one already there: `already()`), within `ms`. */
function nextEvent(server, events, endpoint, ms, why, already = () => undefined) {
	return new Promise((resolve, reject) => {
		const handlers = [];
		const done = (error, value) => {
			clearTimeout(timer);
			for (const [event, handler] of handlers) server.off(event, handler);
			if (error) reject(error);
			else resolve(value);
		};
		const timer = setTimeout(() => done(new Error(`no ${events.join(" or ")} of ${endpoint} within ${ms / 1000} s: ${why()}`)), ms);
		for (const event of events) {
			const handler = (reg) => reg.endpoint === endpoint && done(null, { event, reg });
			handlers.push([event, handler]);
			server.on(event, handler);
		}
		const now = already();
		if (now) done(null, now);
	});
}

function onPath(command) {
	return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
		try {
			fs.accessSync(path.join(dir, command), fs.constants.X_OK);
			return true;
		} catch {
			return false;
		}
	});
}

function pngSize(file) {
	const b = fs.readFileSync(file);
	if (b.toString("latin1", 1, 4) !== "PNG") throw new Error(`${file} is not a PNG`);
	return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bytes: b.length };
}

// without the SDK: skipped with the reason in its title (ava lists it as skipped), except in CI
const TITLE = "the firmware on mcsim registers, is read, written and observed, and its registration goes when mcsim closes";
const mcsimTest = process.env.MODDABLE || process.env.CI === "true" ? test.serial : (title, fn) => test.skip(`${title}: MODDABLE is not set (export MODDABLE=$(bash .ci/moddable-sdk.sh) to run it)`, fn);

mcsimTest(TITLE, async (t) => {
	if (!process.env.MODDABLE) return t.fail("MODDABLE is not set: run `export MODDABLE=$(bash .ci/moddable-sdk.sh)` (CI must build the Moddable SDK)");
	// checked before minutes of building: without it the screenshot at the end cannot be taken
	if (!onPath("import")) return t.fail("ImageMagick's `import` is not on PATH: the mcsim screenshot needs it (apt-get install imagemagick; .ci/run installs it)");
	t.timeout(25 * MINUTE, "mcsim test: build and run"); // a clean build takes minutes on a busy 2-core machine
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "mcsim-test-"));
	const endpoint = `mcsim-test-${process.pid}`;
	const trace = [];
	const tail = () => trace.slice(-15).join("\n");
	let job;
	try {
		job = await startMcsimJob({
			coapPort: 0,
			httpPort: null,
			endpoint,
			lifetime: LIFETIME,
			out: path.join(work, "build"),
			flash: path.join(work, "flash"), // a first boot: the server and endpoint come from this build's config
			xvfb: true,
			xvfbSize: "640x480x24", // mcsim's window: the screenshot is the window
			log: (line, source) => source !== "build" && trace.push(`${source}: ${line}`),
		});
		t.log(`built mc.so in ${job.buildSeconds.toFixed(1)} s; mcsim pid ${job.mcsim.pid} on ${job.display}`);
		const { server } = job;

		await nextEvent(server, ["registered"], endpoint, 3 * MINUTE, tail, () => (server.client(endpoint) ? { event: "registered" } : undefined));
		const reg = server.client(endpoint);
		t.truthy(reg, "registered");
		t.is(reg.lifetime, LIFETIME, "the lifetime from this build's config");

		// the TMP117 stand-in reads the room model: 18 °C at boot, warming or cooling by well under a degree in minutes
		const temperature = await server.read(endpoint, "/3303/0/5700", { timeout: 30 });
		t.true(temperature.success, JSON.stringify(temperature));
		const celsius = temperature.content.value;
		t.true(celsius >= 15 && celsius <= 25, `room temperature ${celsius} °C`);
		t.not(celsius, 0, "a reading, not the value before the first conversion");

		const before = (await server.read(endpoint, "/3308/0/5900", { timeout: 30 })).content.value;
		const setpoint = before === 22.5 ? 19.5 : 22.5;
		const written = await server.write(endpoint, "/3308/0/5900", setpoint, { timeout: 30 });
		t.true(written.success, JSON.stringify(written));
		const back = await server.read(endpoint, "/3308/0/5900", { timeout: 30 });
		t.is(back.content.value, setpoint, "the set point reads back as written");

		// observe: the first answer, then notifications as the room's temperature moves
		const values = [];
		let gotTwo;
		const two = new Promise((resolve) => (gotTwo = resolve));
		const observed = await server.observe(endpoint, "/3303/0/5700", (n) => {
			values.push(n.content?.value);
			if (values.length >= 2) gotTwo();
		}, { timeout: 30 });
		t.true(observed.success, JSON.stringify(observed));
		await Promise.race([two, new Promise((_, reject) => setTimeout(() => reject(new Error(`fewer than 2 notifications of /3303/0/5700 within 4 min (${values.length}): ${tail()}`)), 4 * MINUTE))]);
		t.true(values.slice(0, 2).every((v) => typeof v === "number" && v >= 15 && v <= 25), `notified ${values}`);

		try {
			execFileSync("import", ["-display", job.display, "-window", "root", SCREENSHOT]);
		} catch (e) {
			throw new Error(`the screenshot needs ImageMagick's import (apt-get install imagemagick): ${e.message}`);
		}
		const shot = pngSize(SCREENSHOT);
		t.log(`screenshot ${SCREENSHOT}: ${shot.width}x${shot.height}, ${shot.bytes} bytes`);
		t.deepEqual([shot.width, shot.height], [640, 480]);

		// closing mcsim: a de-registration, or the registration expires with its lifetime
		const gone = nextEvent(server, ["deregistered", "expired"], endpoint, LIFETIME * 1000 + 3 * MINUTE, tail);
		await job.mcsim.stop();
		const { event } = await gone;
		t.log(`after mcsim closed: ${event}`);
		t.falsy(server.client(endpoint), "no registration left");
	} finally {
		await job?.stop();
		fs.rmSync(work, { recursive: true, force: true });
	}
});
