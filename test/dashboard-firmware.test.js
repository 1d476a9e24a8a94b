// The dashboard's registered-devices card shows each device's firmware version (/3/0/3)
// and a firmware update the LwM2M server runs (its FIRMWARE events): in progress, then
// its outcome and the new version. In a real browser (Debian's chromium through
// playwright-core) against the dashboard's HTTP server and the LwM2M server in this
// process, with a fake client (npm `coap`) instead of a simulated thermostat.
import test from "ava";
import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { DashboardServer } from "../host-sim/dashboard/server.js";
import { Journal } from "../host-sim/dashboard/journal.js";
import { TestClient } from "./helpers/lwm2m-client.js";
import { ltfw, fakeFirmware } from "./helpers/fota.js";
import { waitText } from "./helpers/main-process.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT_MS = 30_000;

test("the dashboard shows the firmware version and an update in progress, then its outcome", async (t) => {
	if (!fs.existsSync(CHROMIUM)) return t.fail(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM to a Chromium binary)`);
	const server = new Lwm2mServer({ coapPort: 0, httpPort: 0, requestTimeout: 5 });
	const { coapPort, httpPort } = await server.start();
	const client = await new TestClient({ serverPort: coapPort, endpoint: "thermo-1" }).start();
	const dev = fakeFirmware(client, { version: "1.0.0", holdDownload: true });
	const now = Date.now();
	const job = {
		options: { speed: 1 },
		virtual: false,
		sim: { clock: { start: now }, now },
		sampleWallMs: 1000,
		embedded: true,
		serverUri: `coap://127.0.0.1:${coapPort}`,
		apiUrl: `http://127.0.0.1:${httpPort}/api`,
		devices: [{ name: "thermo-1", resets: [] }],
		registered: new Map(),
		stats: new Map(),
	};
	const dashboard = new DashboardServer({ port: 0, journal: new Journal(), job, api: { host: "127.0.0.1", port: httpPort } });
	const port = await dashboard.start();
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
	t.teardown(async () => {
		await browser.close();
		await dashboard.close();
		await client.stop();
		await server.stop();
	});
	await client.register();
	const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
	const pageErrors = [];
	page.on("pageerror", (e) => pageErrors.push(e.message));
	await page.goto(`http://127.0.0.1:${port}/`);

	await waitText(page, "#clients", /thermo-1[\s\S]*firmware\s*1\.0\.0/, WAIT_MS);
	t.is(await page.$$eval("#clients .fw-update", (l) => l.length), 0, "no update row before an update");

	// a pull the client holds at Downloading: the page shows it in progress
	const started = await fetch(`http://127.0.0.1:${httpPort}/api/clients/thermo-1/firmware?mode=pull`, { method: "POST", body: ltfw({ version: "1.0.1", payload: randomBytes(4000) }) });
	t.is(started.status, 202);
	await waitText(page, "#clients .fw-update", /^pull 1\.0\.1 · downloading$/, WAIT_MS);
	t.is(await page.$eval("#clients .fw-update", (e) => e.className), "fw-update busy");

	// the client downloads, the server executes Update, the client reboots into 1.0.1
	dev.download();
	await waitText(page, "#clients .fw-update", /^pull 1\.0\.1 · done — Update Result 1 \(firmware updated successfully\), State 0 \(Idle\), firmware version 1\.0\.1$/, WAIT_MS);
	t.is(await page.$eval("#clients .fw-update", (e) => e.className), "fw-update ok");
	await waitText(page, "#clients .fw-version", /^1\.0\.1$/, WAIT_MS);
	t.deepEqual(pageErrors, []);
});
