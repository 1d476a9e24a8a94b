// Starts mcsim with the built mc.so and the thermostat device (simulators/), and, when
// asked, a private X display (Xvfb) for it; every process is ours, known and stopped by
// its PID. mcsim keeps a copy of the app and its preferences under XDG_CONFIG_HOME and
// registers a single-instance GApplication on the session bus: each run gets its own
// config folder and no bus, so it never meets another mcsim on the machine.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { SIMULATORS } from "./build.js";

const lines = (stream, each) => {
	let rest = "";
	stream.setEncoding("utf8");
	stream.on("data", (chunk) => {
		rest += chunk;
		let at;
		while ((at = rest.indexOf("\n")) >= 0) {
			each(rest.slice(0, at));
			rest = rest.slice(at + 1);
		}
	});
	stream.on("end", () => rest && each(rest));
};

function stopChild(child, signal = "SIGTERM", graceMs = 3000) {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => {
		const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
		child.once("exit", () => {
			clearTimeout(timer);
			resolve();
		});
		child.kill(signal);
	});
}

/** An X display of our own: Xvfb on the first free :N from `from`. Resolves { display, stop() }. */
export async function startXvfb({ from = 90, size = "1280x800x24" } = {}) {
	for (let n = from; n < from + 60; n++) {
		if (fs.existsSync(`/tmp/.X${n}-lock`) || fs.existsSync(`/tmp/.X11-unix/X${n}`)) continue;
		const child = spawn("Xvfb", [`:${n}`, "-screen", "0", size, "-nolisten", "tcp"], { stdio: ["ignore", "ignore", "pipe"] });
		let errors = "";
		child.stderr.on("data", (d) => (errors += d));
		const ready = await new Promise((resolve) => {
			child.once("error", () => resolve(false));
			child.once("exit", () => resolve(false));
			const poll = setInterval(() => {
				// ready when its socket takes connections
				const socket = net.connect(`/tmp/.X11-unix/X${n}`);
				socket.once("connect", () => {
					socket.destroy();
					clearInterval(poll);
					resolve(true);
				});
				socket.once("error", () => socket.destroy());
			}, 100);
			child.once("exit", () => clearInterval(poll));
		});
		if (ready) return { display: `:${n}`, pid: child.pid, stop: () => stopChild(child) };
		if (!/already active|Server is already/.test(errors)) throw new Error(`Xvfb :${n} did not start: ${errors.trim().split("\n").pop() ?? "no output"}`);
	}
	throw new Error("no free X display number for Xvfb");
}

/**
 * Run mcsim on `display` with `library` (mc.so). Options: sdk ({bin}), onTrace(line) for
 * the firmware's trace() output, onExit(code, signal). Resolves { pid, child, stop() }.
 */
export function startMcsim({ sdk, library, display, onTrace = () => {}, onExit = () => {} }) {
	const config = fs.mkdtempSync(path.join(os.tmpdir(), "mcsim-config-"));
	// release traces are block-buffered: line buffering shows each as it is written
	const child = spawn("stdbuf", ["-oL", "-eL", path.join(sdk.bin, "mcsim"), SIMULATORS, library], {
		env: { ...process.env, DISPLAY: display, XDG_CONFIG_HOME: config, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent", NO_AT_BRIDGE: "1" },
		stdio: ["ignore", "pipe", "pipe"],
	});
	lines(child.stdout, onTrace);
	lines(child.stderr, (line) => onTrace(line));
	const exited = new Promise((resolve) =>
		child.once("exit", (code, signal) => {
			fs.rmSync(config, { recursive: true, force: true });
			onExit(code, signal);
			resolve();
		}),
	);
	return {
		pid: child.pid,
		child,
		exited,
		stop: async () => {
			await stopChild(child);
			await exited;
		},
	};
}
