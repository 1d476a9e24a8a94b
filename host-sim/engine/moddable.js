// host-sim's "moddable" engine, Node side: builds the x-cli-lin program of the Moddable SDK
// ($MODDABLE) that runs the firmware and host-sim's XS-side host layer on the SDK's XS,
// compiled by mcconfig (tsc, xsc, xsl) and linked with the C host in moddable/main.c.
//
// One program holds every device program host-sim may be asked to run (device/main.ts and
// test/fixtures/*.ts by default, plus the entry asked for), each module named by its path in
// the repository (device/coap/block, test/fixtures/echo), so that relative imports resolve as
// in the sources; the Moddable specifiers (timer, embedded:io/socket/udp...) are generated
// re-exports of host-sim/xs/modules/*. Builds are cached outside the repository, keyed by a
// hash of every source that goes in, the SDK path and the build recipe.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { locateSdk, root } from "../moddable/sdk.js";
import { MODDABLE_MODULES, NAMED_EXPORTS } from "../build.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const ENGINE_DIR = path.join(here, "moddable");
const ENGINE_MANIFEST = path.join(ENGINE_DIR, "manifest.json");
const RECIPE = 3; // bump when the way the program is built changes
const NAME = "hostsim"; // mcconfig names the program after its manifest's folder
const HOST_ENTRY_FILE = path.join(ENGINE_DIR, "host-entry.js");
export const HOST_ENTRY = moduleName(HOST_ENTRY_FILE);


export function cacheRoot(env = process.env) {
	if (env.HOST_SIM_ENGINE_CACHE) return path.resolve(env.HOST_SIM_ENGINE_CACHE);
	const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
	return path.join(base, "lwm2m-thermostat", "host-sim-moddable");
}

/** The module name of a source file: its path in the repository, without extension. */
export function moduleName(file) {
	const rel = path.relative(root, path.resolve(file));
	if (rel.startsWith("..") || path.isAbsolute(rel)) throw new Error(`host-sim engine: ${file} is outside the repository: the moddable engine names modules by their path in it`);
	return rel.split(path.sep).join("/").replace(/\.(ts|js)$/, "");
}

function resolveImport(from, specifier) {
	const base = path.resolve(path.dirname(from), specifier.replace(/\.js$/, ""));
	for (const candidate of [`${base}.ts`, `${base}.js`, path.join(base, "index.ts")]) if (fs.existsSync(candidate)) return candidate;
	throw new Error(`host-sim engine: ${path.relative(root, from)} imports "${specifier}", which resolves to no .ts or .js file`);
}

/** Every source file `entry` reaches through relative imports, in an order where each comes after what it imports. */
export function moduleGraph(entry) {
	const order = [];
	const seen = new Set();
	const visit = (file) => {
		if (seen.has(file)) return;
		seen.add(file);
		const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
		for (const { fileName } of info.importedFiles) if (fileName.startsWith(".")) visit(resolveImport(file, fileName));
		order.push(file);
	};
	visit(path.resolve(entry));
	return order;
}

export function defaultEntries() {
	const fixtures = path.join(root, "test", "fixtures");
	return [path.join(root, "device", "main.ts"), ...fs.readdirSync(fixtures).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(fixtures, f))];
}

/** What Node asks the program to import for `entry`: the modules it reaches (what xsnap's preload bundle holds), then itself. */
export function loadOrder(entry) {
	const files = moduleGraph(entry);
	return { preload: files.slice(0, -1).map(moduleName), main: moduleName(files.at(-1)) };
}

function hashSources(files, sdk) {
	const hash = crypto.createHash("sha256");
	hash.update(`recipe ${RECIPE}\n${sdk.moddable}\n`);
	for (const file of files) {
		hash.update(`${path.relative(root, file)}\n`);
		hash.update(fs.readFileSync(file));
	}
	return hash.digest("hex").slice(0, 16);
}

function engineSources() {
	const list = [];
	const walk = (dir) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, entry.name);
			if (entry.isDirectory()) walk(p);
			else if (/\.(js|c|json)$/.test(entry.name)) list.push(p);
		}
	};
	walk(ENGINE_DIR);
	list.push(fileURLToPath(import.meta.url), path.join(root, "manifests", "typings.json"));
	for (const d of fs.readdirSync(path.join(root, "device", "types"), { recursive: true })) if (String(d).endsWith(".d.ts")) list.push(path.join(root, "device", "types", String(d)));
	return list.sort();
}

function run(command, args, options) {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		child.stdout.on("data", (d) => { output += d; });
		child.stderr.on("data", (d) => { output += d; });
		child.on("error", reject);
		child.on("close", (code) => {
			if (code === 0) resolve(output);
			else {
				const lines = output.split("\n").filter((l) => /error|Error|not found|cannot|failed/.test(l)).slice(0, 20).join("\n");
				reject(new Error(`${path.basename(command)} ${args.slice(0, 4).join(" ")}... exited with ${code}:\n${lines || output.slice(-4000)}`));
			}
		});
	});
}

// The host layer's module behind each Moddable specifier (host-sim/xs/host.js's table)
const HOST_MODULES = {
	timer: "timer", time: "time", preference: "preference", restart: "restart", instrumentation: "instrumentation",
	net: "net", wifi: "wifi", crypt: "crypt", hmac: "hmac", rng: "rng", ota: "ota",
	"embedded:io/socket/udp": "udp", "embedded:io/digital": "digital", "embedded:io/i2c": "i2c", "embedded:io/smbus": "smbus",
	"embedded:storage/flash": "flash", "embedded:update": "update",
};

// A Moddable specifier the firmware imports: a re-export of the host layer's module, which
// preloaded firmware modules can import at link time; mc/config and the device object
// (embedded:provider/builtin) are made at boot, so those hand out what host-sim/xs/host.js
// made then, as the xsnap engine's bundles link them (and no preloaded module imports them)
function shimSource(specifier) {
	const names = NAMED_EXPORTS[specifier] ?? [];
	if (HOST_MODULES[specifier]) {
		const from = JSON.stringify(`host-sim/xs/modules/${HOST_MODULES[specifier]}`);
		return [`export { default${names.map((n) => `, ${n}`).join("")} } from ${from};`, ""].join("\n");
	}
	return [`const m = globalThis.__hostModules[${JSON.stringify(specifier)}];`, "export default m;", ...names.map((n) => `export const ${n} = m.${n};`), ""].join("\n");
}

// What xsl preloads (runs at link time, into the archive: flash on the ESP32): the host layer,
// and the firmware modules that the ESP32 build preloads (manifests/thermostat.json), here
// under their repository paths
export function preloadList(files) {
	const esp32 = JSON.parse(fs.readFileSync(path.join(root, "manifests", "thermostat.json"), "utf8")).preload ?? [];
	const names = new Set(files.map(moduleName));
	const host = moduleGraph(HOST_ENTRY_FILE).map(moduleName);
	const shims = MODDABLE_MODULES.filter((s) => HOST_MODULES[s]);
	const device = esp32.map((n) => `device/${n}`).filter((n) => names.has(n));
	return [...host, ...shims, ...device];
}

async function build(dir, entries, files, sdk) {
	fs.mkdirSync(path.join(dir, NAME, "shims"), { recursive: true });
	const modules = {};
	for (const file of files) modules[moduleName(file)] = file.replace(/\.(ts|js)$/, "");
	for (const specifier of MODDABLE_MODULES) {
		const file = path.join(dir, NAME, "shims", specifier.replace(/[^A-Za-z0-9]+/g, "-"));
		fs.writeFileSync(`${file}.js`, shimSource(specifier));
		modules[specifier] = file;
	}
	const manifest = path.join(dir, NAME, "manifest.json");
	fs.writeFileSync(manifest, JSON.stringify({
		"//": `generated by host-sim/engine/moddable.js for ${entries.map((e) => path.relative(root, e)).join(", ")}`,
		include: [ENGINE_MANIFEST],
		modules,
		preload: preloadList(files),
	}, null, "\t"));
	const out = path.join(dir, "out");
	fs.mkdirSync(out, { recursive: true });
	await run(path.join(sdk.bin, "mcconfig"), ["-p", "x-cli-lin", "-o", out, manifest], { env: sdk.env, cwd: path.dirname(manifest) });
	const makefile = path.join(out, "tmp", "lin", "release", NAME, "makefile");
	if (!fs.existsSync(makefile)) throw new Error(`host-sim engine: mcconfig wrote no makefile at ${makefile}`);
	// XS itself (its ~40 C files) compiles the same for every build of one SDK: one copy,
	// shared (builds take one lock, so never two compiles into it at once)
	const lib = path.join(out, "tmp", "lin", "release", "lib");
	const shared = path.join(path.dirname(dir), `xs-lib-${crypto.createHash("sha256").update(`${RECIPE} ${sdk.moddable}`).digest("hex").slice(0, 12)}`);
	fs.mkdirSync(shared, { recursive: true });
	fs.rmSync(lib, { recursive: true, force: true });
	fs.symlinkSync(shared, lib);
	// the makefile's C_DEFINES, with mxMetering: the watchdog (main.c); a command-line
	// variable replaces the makefile's own, so all of them are given here
	const version = fs.readFileSync(path.join(sdk.moddable, "tools", "VERSION"), "utf8").trim();
	const defines = ["-DXS_ARCHIVE=1", "-DINCLUDE_XSPLATFORM=1", '-DXSPLATFORM=\\"lin_xs.h\\"', "-DmxStringInfoCacheLength=4",
		`-DkModdableToolsVersion=\\"${version}\\"`, "-DmxMetering=1", "-Wno-misleading-indentation", "-Wno-implicit-fallthrough", "-Wno-empty-body"];
	await run("make", ["-f", makefile, "build", `C_DEFINES=${defines.join(" ")}`], { env: sdk.env, cwd: path.dirname(manifest) });
	const program = path.join(out, "bin", "lin", "release", NAME);
	if (!fs.existsSync(program)) throw new Error(`host-sim engine: the build made no ${program}`);
	return program;
}

const builds = new Map(); // key -> Promise<{program, seconds, cached}>

/**
 * The program for `entry` (built if needed): { program, seconds, cached, key }.
 * Other processes building the same key at once wait for the first (a lock folder).
 */
export function moddableProgram({ entry, env = process.env } = {}) {
	// a program built before, for work on the engine itself (it must hold the entry's modules)
	if (env.HOST_SIM_ENGINE_PROGRAM) return Promise.resolve({ program: path.resolve(env.HOST_SIM_ENGINE_PROGRAM), seconds: 0, cached: true, key: "given" });
	const sdk = locateSdk(env);
	const entries = defaultEntries();
	if (entry && !entries.includes(path.resolve(entry))) entries.push(path.resolve(entry));
	const files = [...new Set([HOST_ENTRY_FILE, ...entries].flatMap(moduleGraph))];
	const key = hashSources([...engineSources(), ...files], sdk);
	let pending = builds.get(key);
	if (!pending) {
		pending = buildOnce(key, entries, files, sdk, env);
		builds.set(key, pending);
		pending.catch(() => builds.delete(key));
	}
	return pending;
}

function lockHolderAlive(lock) {
	let pid;
	try {
		pid = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
	} catch {
		// just made, pid not written yet; or left without one: give it a minute
		try { return Date.now() - fs.statSync(lock).mtimeMs < 60_000; } catch { return false; }
	}
	try {
		process.kill(pid, 0); // signal 0: only asks whether the process exists
		return true;
	} catch (e) {
		return e.code === "EPERM";
	}
}

async function buildOnce(key, entries, files, sdk, env) {
	const cache = cacheRoot(env);
	const final = path.join(cache, key);
	const program = path.join(final, "out", "bin", "lin", "release", NAME);
	if (fs.existsSync(program)) return { program, seconds: 0, cached: true, key };
	fs.mkdirSync(cache, { recursive: true });
	const lock = path.join(cache, "build.lock"); // one build at a time: each takes every core it can
	const started = Date.now();
	for (;;) {
		try {
			fs.mkdirSync(lock);
			fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
			break;
		} catch (e) {
			if (e.code !== "EEXIST") throw e;
			if (fs.existsSync(program)) return { program, seconds: (Date.now() - started) / 1000, cached: true, key };
			// a build whose process is gone leaves its lock: take it over
			if (!lockHolderAlive(lock)) fs.rmSync(lock, { recursive: true, force: true });
			else await new Promise((r) => setTimeout(r, 500));
		}
	}
	try {
		if (fs.existsSync(program)) return { program, seconds: 0, cached: true, key };
		fs.rmSync(final, { recursive: true, force: true });
		await build(final, entries, files, sdk);
		return { program, seconds: (Date.now() - started) / 1000, cached: false, key };
	} finally {
		fs.rmSync(lock, { recursive: true, force: true });
	}
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	try {
		const { program, seconds, cached } = await moddableProgram({ entry: process.argv[2] });
		console.log(`host-sim engine: ${program} (${cached ? "cached" : `built in ${seconds.toFixed(1)} s`})`);
	} catch (error) {
		console.error(error.message);
		process.exit(1);
	}
}
