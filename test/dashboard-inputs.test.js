// The dashboard's input fields and log in a real browser (Debian's chromium, headless,
// driven by playwright-core) against `npm start` in a child process: any set point the
// device takes goes through and its answer replaces the previous one, an empty field says
// so, the outside field shows the room model's outside temperature, and a reboot the
// server asked for is neither counted as a reset nor shown in red.
import test from "ava";
import fs from "node:fs";
import { chromium } from "playwright-core";
import { tempDir } from "./helpers/sim.js";
import { startMain, text, waitText } from "./helpers/main-process.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const EP = "thermostat-1";

test("set point, outside and log: the device's answer decides, empty fields say so, a requested reboot is not a reset", async (t) => {
	if (!fs.existsSync(CHROMIUM)) return t.fail(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM to a Chromium binary)`);
	const flash = tempDir(t);
	const main = await startMain(t, ["--speed", "600", "--coap-port", "0", "--http-port", "0", "--dashboard-port", "0", "--flash", flash, "--seed", "5", "--outside", "12", "--every", "1"]);
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
	t.teardown(() => browser.close());
	const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
	const pageErrors = [];
	page.on("pageerror", (e) => pageErrors.push(e.message));
	await page.goto(main.dashboard);
	await waitText(page, "#conn-text", /^live$/);
	await waitText(page, "#reported-setpoint", /^21\.0 °C$/);

	// the outside field shows the model's outside temperature (12 ± 5 °C over the day), as the tile does
	await page.waitForFunction(() => /°C$/.test(document.getElementById("outside-temp").textContent), null, { timeout: 30_000 });
	const outside = await page.evaluate(() => ({ tile: document.getElementById("outside-temp").textContent, field: document.getElementById("outside-input").value }));
	t.is(`${outside.field} °C`, outside.tile);
	t.true(Number(outside.field) >= 7 && Number(outside.field) <= 17, `outside field ${outside.field}`);

	// a refusal, then a value off the 0.5 grid the device accepts: its answer replaces the refusal
	await page.fill("#setpoint-input", "99");
	await page.click("#setpoint-write");
	await waitText(page, "#setpoint-answer", /4\.00 BAD_REQUEST — \/3308\/0\/5900: set point 99 is outside 5\.\.30 °C/);
	await page.fill("#setpoint-input", "22.3");
	await page.click("#setpoint-write");
	await waitText(page, "#setpoint-answer", /^2\.04 CHANGED · the device reports 22\.3 °C$/);
	await waitText(page, "#reported-setpoint", /^22\.3 °C$/);
	t.is((await (await fetch(`${main.api}/clients/${EP}/3308/0/5900`)).json()).content.value, 22.3);

	// empty fields say so instead of doing nothing
	await page.fill("#setpoint-input", "");
	await page.click("#setpoint-write");
	await waitText(page, "#setpoint-answer", /^set point: the field is empty, give a number$/);
	t.true(await page.$eval("#setpoint-answer", (e) => e.classList.contains("err")));
	await page.fill("#tune-0", "");
	await page.click('[data-write="0"]');
	await waitText(page, "#tune-ans-0", /^Hysteresis: the field is empty, give a number$/);
	await page.fill("#outside-input", "");
	await page.click("#outside-form button");
	await waitText(page, "#sim-answer", /^outside temperature: the field is empty, give a number$/);
	// and a value off the field's step goes through
	await page.fill("#outside-input", "-4.3");
	await page.click("#outside-form button");
	await waitText(page, "#sim-answer", /^outside temperature now -4\.3 °C$/);
	await waitText(page, "#outside-temp", /^-4\.3 °C$/);
	t.is(await page.$eval("#outside-input", (e) => e.value), "-4.3");
	if (process.env.SCREENSHOT_TO) await page.screenshot({ path: process.env.SCREENSHOT_TO, fullPage: true });

	// the server asks for a reboot: the device restarts and registers again; that is no reset
	const rebooted = await (await fetch(`${main.api}/clients/${EP}/3/0/4`, { method: "POST" })).json();
	t.true(rebooted.success, JSON.stringify(rebooted));
	await waitText(page, "#log", /reboots 1 \(asked by the server\)/);
	const lines = await page.$$eval("#log > div", (divs) => divs.map((d) => ({ text: d.textContent, warn: d.classList.contains("warn") })));
	const status = lines.filter((l) => /room [\d.]+ °C, set point .* sensor ok, registered/.test(l.text));
	t.true(status.length > 0, JSON.stringify(lines.slice(-10)));
	for (const l of status) {
		t.false(l.warn, `a routine status line in red: ${l.text}`);
		t.notRegex(l.text, /resets \d/);
	}
	const restartLine = lines.find((l) => /reset #1: restart\(\) called by the firmware/.test(l.text));
	t.truthy(restartLine, "the host's line about the restart is in the log");
	t.false(restartLine.warn, "a reboot the server asked for is not shown in red");
	const devices = await (await fetch(new URL("/sim/devices", main.dashboard))).json();
	t.like(devices[0], { resets: 0, reboots: 1 });
	t.deepEqual(pageErrors, []);

	main.child.kill("SIGINT");
	t.is((await main.exited).code, 0, main.stderr);
	t.notRegex(main.stdout, /resets \d/, "the console's status lines count no reset either");
});
