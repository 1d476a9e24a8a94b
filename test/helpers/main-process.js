// `npm start` (host-sim/cli/start.js) in a child process for browser tests, and waiting on
// what a page shows. The main job runs in its own process: host-sim hardens the JavaScript
// intrinsics (SES, for xsnap), and playwright's async hooks cannot live in such a process.
import path from "node:path";
import { spawn } from "node:child_process";
import { root } from "./sim.js";

const START = path.join(root, "host-sim", "cli", "start.js");

/** npm start with `args`; resolves when it printed its dashboard and REST API URLs. */
export function startMain(t, args, { timeout = 60_000 } = {}) {
	const child = spawn(process.execPath, [START, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
	const run = { child, stdout: "", stderr: "" };
	run.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
	child.stdout.on("data", (d) => (run.stdout += d));
	child.stderr.on("data", (d) => (run.stderr += d));
	t.teardown(() => {
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	});
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${run.stdout}\n${run.stderr}`)), timeout);
		const look = () => {
			const dashboard = /dashboard (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout)?.[1];
			const api = /REST API (http:\/\/127\.0\.0\.1:\d+\/api)/.exec(run.stdout)?.[1];
			if (dashboard && api) {
				clearTimeout(timer);
				child.stdout.off("data", look);
				Object.assign(run, { dashboard, api });
				resolve(run);
			}
		};
		child.stdout.on("data", look);
		run.exited.then(({ code }) => reject(new Error(`npm start exited (${code}):\n${run.stdout}\n${run.stderr}`)));
	});
}

export const text = (page, selector) => page.$eval(selector, (e) => e.textContent.trim());

/** Wait until `selector`'s text matches `pattern`; the error says what it showed instead. */
export async function waitText(page, selector, pattern, timeout = 30_000) {
	try {
		await page.waitForFunction(([s, source]) => new RegExp(source).test(document.querySelector(s)?.textContent ?? ""), [selector, pattern.source], { timeout });
	} catch (e) {
		throw new Error(`${selector} did not show ${pattern} within ${timeout} ms; it shows ${JSON.stringify(await text(page, selector).catch(() => undefined))}`);
	}
}
