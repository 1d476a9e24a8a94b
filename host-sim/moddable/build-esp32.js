// npm run build:esp32 -- [mcconfig arguments: config keys such as ssid=... serverUri=..., -d, -o dir, -p esp32/<target>]
//
// mcconfig for the ESP32 (esp32/nodemcu unless -p says otherwise): manifest resolution, every
// module through tsc and xsc, and xsl linking the preloaded program with the manifest's
// creation values. That far needs only the SDK's host tools; the C compile, the image and
// flashing need ESP-IDF. Without it this stops after the link and says so in one line.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./generate.js";
import { locateSdk, root } from "./sdk.js";
import { readLinkedProgram } from "./xs-link.js";

const onPath = (command, env) => spawnSync("sh", ["-c", `command -v ${command}`], { env }).status === 0;

function options(argv, sdk) {
	const args = [...argv];
	let platform = "esp32/nodemcu";
	let outDir = path.join(sdk.moddable, "build"); // where mcconfig puts builds by default
	for (const flag of ["-p", "-o"]) {
		const at = args.indexOf(flag);
		if (at < 0) continue;
		const value = args[at + 1];
		if (!value) throw new Error(`${flag} needs a value`);
		if (flag === "-p") platform = value;
		else outDir = path.resolve(value);
		args.splice(at, 2);
	}
	if (!platform.startsWith("esp32")) throw new Error(`-p ${platform}: this script builds for esp32/<target>`);
	return { platform, outDir, args };
}

/** Generates and links; runs the ESP-IDF part too when ESP-IDF is set up. */
export function buildEsp32(sdk, { platform = "esp32/nodemcu", outDir, args = [], manifest = path.join(root, "manifests", "esp32.json"), stdio = "inherit" }) {
	const build = generate(sdk, { manifest, platform, outDir, args });
	const idf = Boolean(sdk.env.IDF_PATH) && onPath("idf.py", sdk.env);
	const linked = path.join(build.tmpDir, "mc.xs.c");
	// The `build` target, never the default one (that one also pkills and launches xsbug).
	// Without ESP-IDF, make only the linked program: its rule waits on sdkconfig.h, which
	// ESP-IDF generates, so that dependency is emptied, and the IDF checks get placeholders.
	const target = idf ? ["build"] : ["SDKCONFIG_H=", `IDF_PATH=${sdk.env.IDF_PATH || "/esp-idf-not-installed"}`, "IDF_VERSION=none", linked];
	const make = spawnSync("make", ["-f", build.makefile, ...target], { cwd: build.tmpDir, env: sdk.env, stdio, encoding: "utf8", maxBuffer: 64 << 20 });
	if (make.error) throw make.error;
	return { ...build, idf, linked, status: make.status, output: stdio === "pipe" ? make.stdout + make.stderr : "" };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	try {
		const sdk = locateSdk();
		const opts = options(process.argv.slice(2), sdk);
		const result = buildEsp32(sdk, opts);
		if (result.status !== 0) {
			console.error(`build:esp32: ${result.idf ? "the build" : "the XS link"} failed (make exited ${result.status}): see above`);
			process.exit(1);
		}
		const program = readLinkedProgram(result.linked);
		console.log(`build:esp32: xs link ok: ${program.scripts.length} modules, ${program.preloaded.length} preloaded, ~${program.romBytes} bytes read-only, main "${program.main}" -> ${result.linked}`);
		if (result.idf) console.log(`build:esp32: built files at ${result.binDir}; to flash: mcconfig -m -p ${opts.platform} manifests/esp32.json with the same arguments`);
		else console.log(`build:esp32: stopped after the XS link, no image built: the C compile, image and flashing need ESP-IDF v6.0 (IDF_PATH set to it, idf.py on PATH: source $IDF_PATH/export.sh), then run this again with the same arguments.`);
	} catch (error) {
		console.error(`build:esp32: ${error.message}`);
		process.exit(1);
	}
}
