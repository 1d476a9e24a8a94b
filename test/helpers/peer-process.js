// Peers we did not write (Eclipse Wakaama's lwm2mserver and clients, libcoap's tools) as child
// processes: started and killed by PID, their stdout as lines to wait on, stderr kept.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { decode as cborDecode } from "cbor-x";

/** Starts `file`; `waitLine` bounds its waits in wall time only against a hang. */
export function peerProcess(t, file, args, { waitMs = 60_000 } = {}) {
	if (!fs.existsSync(file)) throw new Error(`${file} not found`);
	const name = path.basename(file);
	const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
	t.teardown(() => {
		if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
	});
	const p = { child, out: [], err: "", waiters: [] };
	let partial = "";
	const check = () => {
		p.waiters = p.waiters.filter((w) => {
			const at = p.out.findIndex((l, i) => i >= w.from && w.predicate(l));
			if (at < 0) return true;
			w.resolve({ line: p.out[at], index: at });
			return false;
		});
	};
	child.stdout.on("data", (d) => {
		partial += d;
		const lines = partial.split(/\r?\n/);
		partial = lines.pop();
		for (const l of lines) p.out.push(l.replace(/^(> )+/, ""));
		check();
	});
	child.stderr.on("data", (d) => {
		p.err += d;
		if (p.err.length > 4_000_000) p.err = p.err.slice(-2_000_000);
	});
	/** The first line from index `from` on that matches. */
	p.waitLine = (match, { from = 0, ms = waitMs } = {}) => {
		const predicate = typeof match === "string" ? (l) => l.includes(match) : (l) => match.test(l);
		return new Promise((resolve, reject) => {
			const w = { predicate, from, resolve: (r) => (clearTimeout(w.timer), resolve(r)) };
			w.timer = setTimeout(() => {
				p.waiters = p.waiters.filter((x) => x !== w);
				reject(new Error(`${name}: no line ${match} within ${ms / 1000} s; its output:\n${p.out.slice(-60).join("\n")}`));
			}, ms);
			p.waiters.push(w);
			check();
		});
	};
	p.send = (command) => child.stdin.write(command + "\n");
	child.on("exit", (code, signal) => {
		for (const w of p.waiters) w.resolve({ line: undefined, index: -1, exited: code ?? signal });
		p.waiters = [];
	});
	return p;
}

/**
 * The SenML CBOR payload of the last datagram Wakaama's lwm2mserver dumped on stderr (from
 * character `from` on; with `token`, of the response carrying it): its example build prints
 * "Unsupported." for SenML CBOR on stdout, but dumps every datagram it receives, as a
 * "<n> bytes received from ..." line and then hex lines. Undefined when there is none yet.
 */
export function lwm2mserverCborAnswer(server, { from = 0, token } = {}) {
	const dumps = server.err.slice(from).split(/\n(?=\d+ bytes received from)/).filter((d) => /^\d+ bytes received from/.test(d));
	for (let i = dumps.length - 1; i >= 0; i--) {
		// the hex lines under the "<n> bytes received" line (whose <n> would read as a byte)
		const body = dumps[i].slice(dumps[i].indexOf("\n") + 1);
		const hex = [...body.matchAll(/^((?:[0-9A-F]{2}[ ]{1,2}){1,16})/gm)].map((m) => m[1].replace(/\s+/g, "")).join("");
		const bytes = Buffer.from(hex, "hex");
		if (bytes.length < 4) continue;
		if (token && !bytes.subarray(4, 4 + (bytes[0] & 15)).equals(token)) continue;
		const marker = bytes.indexOf(0xff, 4 + (bytes[0] & 15));
		if (marker < 0) continue;
		try {
			return cborDecode(bytes.subarray(marker + 1));
		} catch {
			// not SenML CBOR (a link-format payload): an earlier dump
		}
	}
	return undefined;
}
