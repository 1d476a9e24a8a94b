// The firmware with the real Moddable SDK (MODDABLE; CI builds it with .ci/moddable-sdk.sh):
// mcconfig for esp32/nodemcu up to xsl's link of the preloaded program, and device/
// type-checked against the SDK's typings with the errors mcconfig's own tsc gives.
import test from "ava";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { root, tempDir } from "./helpers/sim.js";
import { generate } from "../host-sim/moddable/generate.js";
import { locateSdk, NOT_SET } from "../host-sim/moddable/sdk.js";
import { typecheck } from "../host-sim/moddable/typecheck.js";
import { readLinkedProgram } from "../host-sim/moddable/xs-link.js";

const run = promisify(execFile);
const manifest = (name) => JSON.parse(fs.readFileSync(path.join(root, "manifests", name), "utf8"));

/** The SDK, or null once the test has been settled: failed in CI, passed with a note elsewhere. */
function sdkFor(t) {
	if (process.env.MODDABLE) return locateSdk();
	if (process.env.CI) t.fail(NOT_SET);
	else t.log(`${NOT_SET} (not checked here: set MODDABLE to a built Moddable SDK 8.2.3 to run this test)`);
	t.pass();
	return null;
}

const node = (sdk, args, options = {}) => run(process.execPath, args, { cwd: root, env: sdk.env, maxBuffer: 64 << 20, ...options })
	.catch((error) => ({ failed: error.code, stdout: error.stdout ?? "", stderr: error.stderr ?? String(error) }));

test.serial("npm run build:esp32 links the preloaded XS program with the manifest's creation values and preloads what the manifests list", async (t) => {
	t.timeout(15 * 60_000, "mcconfig: tsc and xsc per module, then xsl");
	const sdk = sdkFor(t);
	if (!sdk) return;
	const out = tempDir(t);
	const result = await node(sdk, ["host-sim/moddable/build-esp32.js", "-o", out, "serverUri=coaps://192.0.2.10:5684", "pskIdentity=thermostat-01"]);
	t.falsy(result.failed, result.stdout.slice(-4000) + result.stderr);
	t.regex(result.stdout, /^build:esp32: xs link ok: /m);
	const boundary = result.stdout.split("\n").filter((l) => /ESP-IDF/.test(l));
	t.is(boundary.length, 1, "one line says what is left");
	t.regex(boundary[0], /IDF_PATH.*idf\.py/);

	const tmpDir = path.join(out, "tmp", "esp32", "nodemcu", "release", "manifests");
	const program = readLinkedProgram(path.join(tmpDir, "mc.xs.c"));
	const esp32 = manifest("esp32.json");
	const c = esp32.creation;
	t.deepEqual(program.creation, {
		"chunk.initial": c.chunk.initial, "chunk.incremental": c.chunk.incremental,
		"heap.initial": c.heap.initial, "heap.incremental": c.heap.incremental, stack: c.stack,
		"keys.initial": c.keys.initial, "keys.incremental": c.keys.incremental, "keys.name": c.keys.name, "keys.symbol": c.keys.symbol,
		"parser.buffer": c.parser.buffer, "parser.table": c.parser.table, static: c.static,
	});
	t.is(program.main, c.main);

	// Every firmware module is linked; preloaded exactly when thermostat.json says so.
	const firmware = manifest("thermostat.json");
	const preloaded = new Set(program.preloaded);
	const linked = new Set(program.scripts.map((s) => s.name));
	for (const name of Object.keys(firmware.modules)) {
		t.true(linked.has(name), `${name} is linked`);
		t.is(preloaded.has(name), firmware.preload.includes(name), `${name} preloaded as thermostat.json says`);
	}
	for (const name of esp32.preload) t.true(preloaded.has(name), `${name} (esp32.json) preloaded`);
	// And nothing else: the flattened manifest's preload, plus mc/config (mcconfig's own).
	const flat = JSON.parse(fs.readFileSync(path.join(tmpDir, "manifest_flat.json"), "utf8"));
	t.deepEqual([...preloaded].sort(), [...new Set([...flat.preload, "mc/config"])].sort());
	t.true(program.romBytes > 0);
	// The configuration given on the command line is what the firmware reads.
	t.regex(fs.readFileSync(path.join(tmpDir, "mc.config.js"), "utf8"), /"serverUri": "coaps:\/\/192\.0\.2\.10:5684"/);
});

test.serial("npm run typecheck checks device/ against the SDK's typings, strict, for both builds", async (t) => {
	t.timeout(5 * 60_000);
	const sdk = sdkFor(t);
	if (!sdk) return;
	const result = await node(sdk, ["host-sim/moddable/typecheck.js"]);
	t.falsy(result.failed, result.stdout + result.stderr);
	t.regex(result.stdout, new RegExp(`manifests/esp32\\.json -p esp32/nodemcu: \\d+ modules against ${sdk.moddable}/typings: ok`));
	t.regex(result.stdout, /manifests\/sim\.json -p lin: \d+ modules .*: ok/);
});

test.serial("a type error in a copy of device/ fails typecheck with the very error mcconfig's tsc gives", async (t) => {
	t.timeout(5 * 60_000);
	const sdk = sdkFor(t);
	if (!sdk) return;
	const copy = tempDir(t);
	fs.cpSync(path.join(root, "device"), path.join(copy, "device"), { recursive: true });
	fs.cpSync(path.join(root, "manifests"), path.join(copy, "manifests"), { recursive: true });
	const source = path.join(copy, "device", "coap", "transport.ts");
	const text = fs.readFileSync(source, "utf8");
	t.true(text.includes("this.#socket.close();"));
	fs.writeFileSync(source, text.replace("this.#socket.close();", "this.#socket.shutdown();"));

	const build = { manifest: path.join(copy, "manifests", "esp32.json"), platform: "esp32/nodemcu" };
	const checked = typecheck(sdk, build);
	t.false(checked.ok);
	// tsc names files relative to its working directory: compare them resolved.
	const errors = (output, cwd) => output.split("\n").filter((l) => l.includes("error TS"))
		.map((l) => l.replace(/^(.+?)(\(\d+,\d+\))/, (_, file, at) => path.resolve(cwd, file) + at)).sort();
	const ours = errors(checked.output, process.cwd());
	t.deepEqual(ours, [`${source}(36,16): error TS2339: Property 'shutdown' does not exist on type 'UDP'.`]);

	// mcconfig's own compile of that module: the generated makefile's rule for its .xsb.
	const out = path.join(copy, "out");
	const { makefile, tmpDir, modulesDir } = generate(sdk, { ...build, outDir: out });
	const make = await run("make", ["-f", makefile, "SDKCONFIG_H=", "IDF_PATH=/esp-idf-not-installed", "IDF_VERSION=none", path.join(modulesDir, "coap", "transport.xsb")], { cwd: tmpDir, env: sdk.env })
		.then(() => ({ failed: 0, stdout: "" }), (error) => ({ failed: error.code, stdout: error.stdout + error.stderr }));
	t.truthy(make.failed, "mcconfig's compile fails too");
	t.regex(make.stdout, /# typescript compile failure/);
	t.deepEqual(errors(make.stdout, tmpDir), ours);
});
