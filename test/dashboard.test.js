// The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core)
// against `npm start` (host-sim/cli/start.js) in a child process: the live plot, a set
// point written through the page (a real LwM2M write), the device's answers, and an
// unplugged sensor. With UPDATE_SCREENSHOT=1 it saves test/screenshots/dashboard.png (the
// README's); otherwise the screenshot goes to a temporary file, keeping the checkout clean.
//
// The main job runs in its own process: host-sim hardens the JavaScript intrinsics (SES,
// for xsnap), and playwright's async hooks cannot live in such a process.
import test from "ava";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { root, tempDir } from "./helpers/sim.js";
import { startMain, text, waitText } from "./helpers/main-process.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = process.env.UPDATE_SCREENSHOT ? path.join(root, "test", "screenshots", "dashboard.png") : path.join(os.tmpdir(), `dashboard-${process.pid}.png`);
const EP = "thermostat-1";

// Every wait below is on what the page shows, bounded in wall time only against a hang
// (generous: two busy CPU loops may run beside the test); nothing measures speed.
const WAIT_MS = 60_000;

test("the dashboard: live plot, a set point written through the page, tuning answers, an unplugged sensor", async (t) => {
	if (!fs.existsSync(CHROMIUM)) return t.fail(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM to a Chromium binary)`);
	const flash = tempDir(t);
	const main = await startMain(t, ["--speed", "600", "--coap-port", "0", "--http-port", "0", "--dashboard-port", "0", "--flash", flash, "--seed", "11"]);
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
	t.teardown(() => browser.close());
	const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
	const pageErrors = [];
	page.on("pageerror", (e) => pageErrors.push(e.message));
	await page.goto(main.dashboard);

	// history, then the live stream: the plot grows
	await waitText(page, "#conn-text", /^live$/);
	const points = () => page.$eval("#plot", (e) => Number(e.dataset.points));
	await page.waitForFunction(() => Number(document.querySelector("#plot").dataset.points) >= 2, null, { timeout: WAIT_MS });
	const before = await points();
	await page.waitForFunction((n) => Number(document.querySelector("#plot").dataset.points) > n, before, { timeout: WAIT_MS });
	const after = await points();
	t.true(after > before, `plotted points ${before} -> ${after}`);
	t.regex(await text(page, "#room-temp"), /^\d+\.\d\d °C$/);

	// registered: the reported set point and the registration are shown
	await waitText(page, "#reported-setpoint", /^21\.0 °C$/, WAIT_MS);
	await waitText(page, "#clients", /thermostat-1[\s\S]*300 s · LwM2M 1\.1/);
	await waitText(page, "#reported-temp", /^\d+\.\d\d °C$/);

	// write the set point through the page's control: the device applies and reports it
	await page.fill("#setpoint-input", "22.5");
	await page.click("#setpoint-write");
	await waitText(page, "#setpoint-answer", /2\.04 CHANGED · the device reports 22\.5 °C/);
	await waitText(page, "#reported-setpoint", /^22\.5 °C$/);
	const read = await (await fetch(`${main.api}/clients/${EP}/3308/0/5900`)).json();
	t.is(read.content.value, 22.5, "the REST API reads the new set point from the device");
	// out of range: the device's answer, with its reason
	await page.fill("#setpoint-input", "40");
	await page.click("#setpoint-write");
	await waitText(page, "#setpoint-answer", /4\.00 BAD_REQUEST — \/3308\/0\/5900: set point 40 is outside 5\.\.30 °C/);
	t.is(await text(page, "#reported-setpoint"), "22.5 °C");
	// tuning: a write the device takes, and one the server refuses by the model (0.1..5)
	await page.waitForFunction(() => document.getElementById("tune-cur-0").textContent === "0.5", null, { timeout: WAIT_MS });
	await page.fill("#tune-0", "0.8");
	await page.click('[data-write="0"]');
	await waitText(page, "#tune-ans-0", /2\.04 CHANGED · the device reports 0\.8/);
	t.is(await text(page, "#tune-cur-0"), "0.8");
	await page.fill("#tune-5", "0");
	await page.click('[data-write="5"]');
	await waitText(page, "#tune-ans-5", /HTTP 400 — refused by the server, not sent: \/32700\/0\/5: 0 is outside 1\.\.600/);
	// a relation only the device knows: a set point minimum above the set point, refused with its reason
	await page.fill("#tune-6", "25");
	await page.click('[data-write="6"]');
	await waitText(page, "#tune-ans-6", /4\.00 BAD_REQUEST — \/32700\/0\/6: minimum 25 is above the set point 22\.5/);
	await page.waitForFunction(() => document.querySelectorAll("#messages tbody tr").length >= 10, null, { timeout: WAIT_MS });
	t.regex(await text(page, "#messages tbody"), /thermostat-1/);

	// let the plot show some heating cycles, then the screenshot for the README
	await page.waitForFunction(() => {
		const svg = document.querySelector("#plot");
		return Number(svg.dataset.to) - Number(svg.dataset.from) >= 120 * 60_000;
	}, null, { timeout: WAIT_MS });
	fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
	await page.screenshot({ path: SCREENSHOT, fullPage: true });

	// unplug the sensor: the device reports it (32700/0/9) and switches the heating off
	await page.click("#fault-absent");
	await waitText(page, "#sim-answer", /sensor fault injected: absent/);
	await waitText(page, "#sensor-state", /^not answering$/);
	await waitText(page, "#sensor-note", /unplugged/);
	await waitText(page, "#relay-state", /^off$/);
	t.true(await page.$eval(".t-sensor", (e) => e.classList.contains("fault")));
	// and back
	await page.click("#fault-none");
	await waitText(page, "#sensor-state", /^ok$/);
	t.deepEqual(pageErrors, []);

	// Ctrl-C: de-registers and exits 0
	main.child.kill("SIGINT");
	const exit = await main.exited;
	t.is(exit.code, 0, main.stderr);
	t.regex(main.stdout, /server: deregistered thermostat-1/);
});
