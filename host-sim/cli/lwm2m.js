#!/usr/bin/env node
// npm run lwm2m -- <command>: the local LwM2M server (serve) and a command line over its
// REST API, for poking at a registered thermostat by hand or from scripts (--json).
import { sseFrames } from "../sse-frames.js";
import { parseArgsWithNegatives } from "./args.js";
import { specLookup, contentLines, clientLines, linkLines } from "../lwm2m-server/text-output.js";

const usage = `usage: npm run lwm2m -- <command> [arguments] [options]

  serve                                start the server (CoAP 5683, REST API 8080) until Ctrl-C
      [--coap-port N] [--http-port N] [--host 127.0.0.1] [--models DIR]... [--lifetime-grace S] [--quiet]
  clients                              list registered clients
  client <ep>                          one registration
  read <ep> <path> [<path>...]         read (several paths: Read-Composite)
  write <ep> <path> <value|json>       write a value, or a JSON node  [--partial]
  write <ep> <path>=<value> ...        Write-Composite
  exec <ep> <path> [args]              execute, e.g. exec dev /3/0/4  or  exec dev /5/0/2 "0='a',1"
  create <ep> <object> [<rid>=<value>...] | <json>   create an instance  [--id N]
  delete <ep> <path>                   delete an instance
  discover <ep> <path>                 list resources and attributes
  attributes <ep> <path> pmin=10 pmax=60 [gt=.. lt=.. st=.. epmin=.. epmax=..]   (name= unsets)
  observe <ep> <path> [<path>...]      print the value, then each notification, until Ctrl-C
                                       [--count N: stop after N reports, the first one included]
  update <ep> <package>                firmware update (object 5) with an LTFW package (npm run build:image):
                                       pushed in a Write of /5/0/0 (Block1), or with --pull served by the
                                       server over CoAP (Block2) at the URI it writes into /5/0/1; then
                                       Execute /5/0/2, the reboot, and the final State / Update Result
                                       [--pull] [--download-only: stop at Downloaded] [--force: not LTFW]
                                       [--timeout S: silence per step, default 60] [--update-timeout S: 900]

options: --api URL (default $LWM2M_API or http://127.0.0.1:8080), --json, --format F
         (TEXT, TLV, SENML_JSON, SENML_CBOR, LWM2M_CBOR, OPAQUE, CBOR; senml-cbor works too),
         --timeout S (seconds the server waits for the client)
Times shown are the server's (simulated time under npm start). Negative numbers are
values: write <ep> /32700/0/4 -0.5`;

class CliError extends Error {
	constructor(message, code = 1) {
		super(message);
		this.code = code;
	}
}

let args;
try {
	args = parseArgsWithNegatives({
		args: process.argv.slice(2),
		allowPositionals: true,
		options: {
			api: { type: "string" },
			json: { type: "boolean" },
			format: { type: "string" },
			timeout: { type: "string" },
			count: { type: "string" },
			partial: { type: "boolean" },
			id: { type: "string" },
			"coap-port": { type: "string" },
			"http-port": { type: "string" },
			host: { type: "string" },
			models: { type: "string", multiple: true },
			"lifetime-grace": { type: "string" },
			quiet: { type: "boolean" },
			pull: { type: "boolean" },
			"download-only": { type: "boolean" },
			force: { type: "boolean" },
			"update-timeout": { type: "string" },
			help: { type: "boolean", short: "h" },
		},
	});
} catch (e) {
	console.error(`${e.message}\n\n${usage}`);
	process.exit(2);
}
const { values: opts, positionals } = args;
const [command, ...rest] = positionals;
const api = (opts.api ?? process.env.LWM2M_API ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const print = (lines) => console.log([].concat(lines).join("\n"));

function need(n, what) {
	if (rest.length < n) throw new CliError(`${command}: missing ${what}\n\n${usage}`, 2);
}

function query(extra = {}) {
	const q = new URLSearchParams();
	if (opts.format) q.set("format", opts.format);
	if (opts.timeout) q.set("timeout", opts.timeout);
	for (const [k, v] of Object.entries(extra)) if (v !== undefined) q.set(k, v);
	const s = q.toString();
	return s ? `?${s}` : "";
}

const enc = (ep) => encodeURIComponent(ep);
const lwm2mPath = (p) => {
	if (!/^\/?\d+(\/\d+){0,3}\/?$/.test(p)) throw new CliError(`${JSON.stringify(p)} is not an LwM2M path such as /3303/0/5700`, 2);
	return "/" + p.replace(/^\/|\/$/g, "");
};

const unreachable = (e) =>
	new CliError(`cannot reach the LwM2M server's REST API at ${api} (${e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.message}); start it with: npm run lwm2m -- serve`);

/** body: {json: value} or {text: string} */
async function call(method, url, body = {}) {
	let res;
	try {
		res = await fetch(`${api}${url}`, {
			method,
			body: "json" in body ? JSON.stringify(body.json) : body.text,
			headers: "json" in body ? { "Content-Type": "application/json" } : undefined,
		});
	} catch (e) {
		throw unreachable(e);
	}
	const text = await res.text();
	let json;
	try {
		json = JSON.parse(text);
	} catch {
		throw new CliError(`${method} ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
	}
	if (!res.ok) throw new CliError(`${method} ${url}: ${json.error ?? text} (HTTP ${res.status})`);
	return json;
}

let specs;
async function models() {
	specs ??= specLookup(await call("GET", "/api/objectspecs").catch(() => []));
	return specs;
}

/** A DM response: JSON as is, or one line of status plus the content. */
async function report(response, describe) {
	if (opts.json) print(JSON.stringify(response, null, 2));
	else if (!response.success) print(`${response.status} (${response.code})${response.errormessage ? `: ${response.errormessage}` : ""}`);
	else print(await describe());
	if (!response.success) process.exitCode = 1;
}

function parseValue(text) {
	const t = text.trim();
	if (t.startsWith("{") || t.startsWith("[")) {
		try {
			return JSON.parse(t);
		} catch (e) {
			throw new CliError(`the value looks like JSON but is not: ${e.message}`, 2);
		}
	}
	return text; // the server reads it as the resource's type
}

function keyValues(list, what) {
	const out = {};
	for (const item of list) {
		const eq = item.indexOf("=");
		if (eq < 1) throw new CliError(`${JSON.stringify(item)} is not ${what}=value`, 2);
		out[item.slice(0, eq)] = item.slice(eq + 1);
	}
	return out;
}

async function serve() {
	// loaded here only: the other commands are HTTP clients and start faster without it
	const { Lwm2mServer } = await import("../lwm2m-server/server.js");
	const number = (name, fallback) => {
		if (opts[name] === undefined) return fallback;
		const n = Number(opts[name]);
		if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--${name} must be a port number 0..65535`, 2);
		return n;
	};
	const server = new Lwm2mServer({
		host: opts.host ?? "127.0.0.1",
		coapPort: number("coap-port", 5683),
		httpPort: number("http-port", 8080),
		modelsDirs: opts.models ?? [],
		lifetimeGrace: opts["lifetime-grace"] === undefined ? 0 : Number(opts["lifetime-grace"]),
		logger: opts.quiet ? undefined : (line) => console.log(`${new Date().toISOString()} ${line}`),
	});
	const { coapPort, httpPort, host } = await server.start();
	if (opts.quiet) console.log(`LwM2M server: coap://${host}:${coapPort}, REST API http://${host}:${httpPort}/api`);
	const stop = async () => {
		await server.stop();
		process.exit(0);
	};
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
}

/** The server's time now: simulated time under npm start, as the notifications are stamped. */
async function serverNow() {
	const info = await call("GET", "/api/server").catch(() => ({}));
	return typeof info.now === "number" ? info.now : Date.now();
}

async function observe(ep, paths) {
	// --count N: N reports, the current value (the Observe's answer) and N-1 notifications
	const count = opts.count === undefined ? Infinity : Number(opts.count);
	if (!Number.isInteger(count) && count !== Infinity) throw new CliError("--count must be a whole number of reports, 1 or more", 2);
	if (!(count > 0)) throw new CliError("--count must be a whole number of reports, 1 or more", 2);
	const composite = paths.length > 1;
	const target = composite ? paths.join(",") : paths[0];
	const cancelUrl = composite ? `/api/clients/${enc(ep)}/composite/observe${query({ paths: target })}` : `/api/clients/${enc(ep)}${paths[0]}/observe`;
	const controller = new AbortController();
	let events;
	try {
		events = await fetch(`${api}/api/event?ep=${enc(ep)}`, { signal: controller.signal });
	} catch (e) {
		throw unreachable(e);
	}
	const spec = await models();
	const response = composite
		? await call("POST", `/api/clients/${enc(ep)}/composite/observe${query({ paths: target })}`)
		: await call("POST", `/api/clients/${enc(ep)}${paths[0]}/observe${query()}`);
	if (!response.success) {
		controller.abort();
		await report(response);
		return;
	}
	const show = (content, when) => {
		if (opts.json) return print(JSON.stringify({ ep, res: target, val: content, timestamp: Math.round(when) }));
		const stamp = new Date(when).toISOString().slice(11, 19);
		print(contentLines(composite ? undefined : target, content, spec).map((l) => `${stamp} ${l}`));
	};
	show(response.content, await serverNow());
	let seen = 1;
	let finished = false;
	const finish = async () => {
		if (finished) return;
		finished = true;
		controller.abort();
		// only this command's observation: the dashboard's (or another observer's) of the same path lives on
		const id = response.observation?.id;
		await call("DELETE", id ? `${cancelUrl}${cancelUrl.includes("?") ? "&" : "?"}id=${encodeURIComponent(id)}` : cancelUrl).catch(() => {});
	};
	process.once("SIGINT", () => finish().then(() => process.exit(0)));
	if (seen >= count) return await finish();
	try {
		for await (const { event, data: payload } of sseFrames(events.body)) {
			if (event === "NOTIFICATION" && payload.res === target) {
				show(payload.val, payload.timestamp ?? Date.now());
				if (++seen >= count) return await finish();
			} else if (event === "DEREGISTRATION") {
				await finish();
				throw new CliError(`${ep} ${payload.expired ? "expired" : "deregistered"}; observation over`);
			}
		}
	} catch (e) {
		if (finished) return;
		throw e;
	}
	throw new CliError("the server closed the event stream");
}

const STATE_NAMES = ["Idle", "Downloading", "Downloaded", "Updating"];

/** One line of a firmware job's step (the server's FIRMWARE event). */
function firmwareLine(job) {
	if (job.phase === "downloading" && job.total && job.sent > 0) {
		const percent = Math.floor((job.sent * 100) / job.total);
		return `${job.mode === "pull" ? "downloaded by the client" : "pushed"} ${String(percent).padStart(3)}% (${job.sent}/${job.total} bytes)`;
	}
	return `${job.phase}${job.message ? `: ${job.message}` : ""}`;
}

async function update(ep, file) {
	const fs = await import("node:fs");
	let bytes;
	try {
		bytes = fs.readFileSync(file);
	} catch (e) {
		throw new CliError(`cannot read the package ${JSON.stringify(file)}: ${e.code ?? e.message}`, 2);
	}
	const controller = new AbortController();
	let events;
	try {
		events = await fetch(`${api}/api/event?ep=${enc(ep)}&types=FIRMWARE`, { signal: controller.signal });
	} catch (e) {
		throw unreachable(e);
	}
	const q = new URLSearchParams();
	if (opts.pull) q.set("mode", "pull");
	if (opts["download-only"]) q.set("execute", "false");
	if (opts.force) q.set("force", "true");
	if (opts.timeout) q.set("timeout", opts.timeout);
	if (opts["update-timeout"]) q.set("updateTimeout", opts["update-timeout"]);
	q.set("name", (file.split(/[\\/]/).pop() ?? "package").replace(/\.[^.]*$/, ""));
	// the events of this job, from the stream opened before it started
	const seen = [];
	let wake = () => {};
	const pump = (async () => {
		try {
			for await (const { event, data } of sseFrames(events.body)) {
				if (event === "FIRMWARE") seen.push(data);
				wake();
			}
		} catch {}
		seen.push(null); // the stream ended
		wake();
	})();
	let res;
	try {
		res = await fetch(`${api}/api/clients/${enc(ep)}/firmware?${q}`, { method: "POST", body: bytes, headers: { "Content-Type": "application/octet-stream" } });
	} catch (e) {
		controller.abort();
		throw unreachable(e);
	}
	const started = await res.json().catch(() => ({}));
	if (res.status !== 202) {
		controller.abort();
		throw new CliError(`update ${ep}: ${started.error ?? `HTTP ${res.status}`} (HTTP ${res.status})`);
	}
	process.once("SIGINT", () => {
		// Ctrl-C cancels the update: the client gets an empty Package / Package URI
		fetch(`${api}/api/clients/${enc(ep)}/firmware`, { method: "DELETE" })
			.catch(() => {})
			.finally(() => process.exit(130));
	});
	const tty = process.stdout.isTTY && !opts.json;
	let lastPhase;
	let lastDecile = -1;
	let final;
	for (let i = 0; !final; ) {
		if (i >= seen.length) {
			await new Promise((resolve) => (wake = resolve));
			continue;
		}
		const job = seen[i++];
		if (job === null) break;
		if (job.id !== started.id) continue;
		if (job.final) final = job;
		if (opts.json) continue;
		if (job.phase === "downloading" && job.total && job.sent > 0) {
			const line = firmwareLine(job);
			if (tty) process.stdout.write(`\r${line}`);
			else {
				// without a terminal: a line every 10 %
				const decile = Math.floor((job.sent * 10) / job.total);
				if (decile !== lastDecile) print(line);
				lastDecile = decile;
			}
			lastPhase = "progress";
			continue;
		}
		if (job.phase === lastPhase && !job.final) continue; // a state change inside a step
		if (tty && lastPhase === "progress") process.stdout.write("\n");
		lastPhase = job.phase;
		if (!job.final) print(firmwareLine(job));
	}
	controller.abort();
	await pump;
	if (!final) throw new CliError(`update ${ep}: the server closed the event stream before the update ended`);
	if (opts.json) print(JSON.stringify(final, null, 2));
	else {
		print(`${final.phase}: ${final.message ?? ""}`.trim());
		const st = final.state === undefined ? "?" : `${final.state} (${final.stateText ?? STATE_NAMES[final.state] ?? "?"})`;
		const rs = final.result === undefined ? "?" : `${final.result} (${final.resultText ?? "?"})`;
		print(`State ${st}, Update Result ${rs}${final.firmwareVersion !== undefined ? `, firmware version ${final.firmwareVersion}` : ""}`);
	}
	if (!final.success) process.exitCode = 1;
}

async function main() {
	if (opts.help || !command) {
		print(usage);
		if (!command && !opts.help) process.exitCode = 2;
		return;
	}
	const [ep] = rest;
	switch (command) {
		case "serve":
			return serve();
		case "clients": {
			const clients = await call("GET", "/api/clients");
			return print(opts.json ? JSON.stringify(clients, null, 2) : clientLines(clients));
		}
		case "client": {
			need(1, "<ep>");
			const c = await call("GET", `/api/clients/${enc(ep)}`);
			return print(opts.json ? JSON.stringify(c, null, 2) : [...clientLines([c]), ...linkLines(c.objectLinks).map((l) => `  ${l}`)]);
		}
		case "read": {
			need(2, "<ep> <path>");
			const paths = rest.slice(1).map(lwm2mPath);
			if (paths.length > 1) {
				const r = await call("GET", `/api/clients/${enc(ep)}/composite${query({ paths: paths.join(",") })}`);
				return report(r, async () => contentLines(undefined, r.content, await models()));
			}
			const r = await call("GET", `/api/clients/${enc(ep)}${paths[0]}${query()}`);
			return report(r, async () => contentLines(paths[0], r.content, await models()));
		}
		case "write": {
			need(2, "<ep> <path> <value>");
			if (rest[1].includes("=")) {
				const values = {};
				for (const [p, v] of Object.entries(keyValues(rest.slice(1), "<path>"))) values[lwm2mPath(p)] = parseValue(v);
				const r = await call("PUT", `/api/clients/${enc(ep)}/composite${query()}`, { json: values });
				return report(r, () => r.status);
			}
			need(3, "<value>");
			const path = lwm2mPath(rest[1]);
			const r = await call("PUT", `/api/clients/${enc(ep)}${path}${query({ replace: opts.partial ? "false" : undefined })}`, { json: parseValue(rest.slice(2).join(" ")) });
			return report(r, () => r.status);
		}
		case "exec":
		case "execute": {
			need(2, "<ep> <path>");
			const r = await call("POST", `/api/clients/${enc(ep)}${lwm2mPath(rest[1])}${query()}`, { text: rest.slice(2).join(",") });
			return report(r, () => r.status);
		}
		case "create": {
			need(2, "<ep> <object>");
			const path = lwm2mPath(rest[1]);
			const more = rest.slice(2);
			let instance;
			if (more.length === 1 && more[0].trim().startsWith("{")) instance = parseValue(more[0]);
			else instance = { resources: Object.entries(keyValues(more, "<resourceId>")).map(([id, value]) => ({ id: Number(id), value: parseValue(value) })) };
			if (opts.id !== undefined) instance.id = Number(opts.id);
			const r = await call("POST", `/api/clients/${enc(ep)}${path}${query()}`, { json: instance });
			return report(r, () => `${r.status} ${r.location ?? ""}`.trim());
		}
		case "delete": {
			need(2, "<ep> <path>");
			const r = await call("DELETE", `/api/clients/${enc(ep)}${lwm2mPath(rest[1])}${query()}`);
			return report(r, () => r.status);
		}
		case "discover": {
			need(2, "<ep> <path>");
			const r = await call("GET", `/api/clients/${enc(ep)}${lwm2mPath(rest[1])}/discover${query()}`);
			return report(r, () => linkLines(r.objectLinks));
		}
		case "attributes": {
			need(3, "<ep> <path> name=value");
			const path = lwm2mPath(rest[1]);
			const q = new URLSearchParams(keyValues(rest.slice(2), "<attribute>"));
			if (opts.timeout) q.set("timeout", opts.timeout);
			const r = await call("PUT", `/api/clients/${enc(ep)}${path}/attributes?${q}`);
			return report(r, () => r.status);
		}
		case "observe": {
			need(2, "<ep> <path>");
			return observe(ep, rest.slice(1).map(lwm2mPath));
		}
		case "update": {
			need(2, "<ep> <package file>");
			return update(ep, rest[1]);
		}
		default:
			throw new CliError(`unknown command ${JSON.stringify(command)}\n\n${usage}`, 2);
	}
}

main().catch((e) => {
	console.error(e instanceof CliError ? e.message : e.stack);
	process.exit(e instanceof CliError ? e.code : 1);
});
