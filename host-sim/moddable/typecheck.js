// Type-checks device/ as mcconfig does: mcconfig (without -m) writes one tsconfig per .ts
// module, all extending its tsconfig-base.json (the SDK's typings, the manifests' paths
// and compiler options); here one tsc program takes the union of their files, which reports
// the errors the per-module compiles would, in their format, at a fraction of the time.
// Without MODDABLE: the older check against npm @moddable/typings (device/tsconfig.json).
//
// node host-sim/moddable/typecheck.js [manifest -p platform]...   (default: both builds)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./generate.js";
import { locateSdk, root, NOT_SET } from "./sdk.js";

export const BUILDS = [
	{ manifest: path.join(root, "manifests", "esp32.json"), platform: "esp32/nodemcu" },
	{ manifest: path.join(root, "manifests", "sim.json"), platform: "lin" },
];

function perModuleFiles(modulesDir) {
	const files = [];
	for (const entry of fs.readdirSync(modulesDir, { recursive: true })) {
		if (!String(entry).endsWith("-tsconfig.json")) continue;
		files.push(...JSON.parse(fs.readFileSync(path.join(modulesDir, entry), "utf8")).files);
	}
	return files.sort();
}

/** { ok, output, modules } for one manifest and platform, in a scratch folder it removes. */
export function typecheck(sdk, { manifest, platform }) {
	const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "thermostat-typecheck-"));
	try {
		const { modulesDir, tmpDir } = generate(sdk, { manifest, platform, outDir });
		const files = perModuleFiles(modulesDir);
		const project = path.join(tmpDir, "typecheck.tsconfig.json");
		fs.writeFileSync(project, JSON.stringify({ extends: path.join(modulesDir, "tsconfig-base.json"), compilerOptions: { noEmit: true }, files }, null, "\t"));
		const run = spawnSync("tsc", ["-p", project], { env: sdk.env, encoding: "utf8" });
		if (run.error) throw run.error;
		return { ok: run.status === 0, output: run.stdout + run.stderr, modules: files.length };
	} finally {
		fs.rmSync(outDir, { recursive: true, force: true });
	}
}

function parseArgs(argv) {
	const builds = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === "-p") {
			if (!builds.length || !argv[i + 1]) throw new Error("usage: typecheck.js [manifest -p platform]...");
			builds.at(-1).platform = argv[++i];
		} else builds.push({ manifest: path.resolve(argv[i]), platform: "esp32/nodemcu" });
	}
	return builds.length ? builds : BUILDS;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	if (!process.env.MODDABLE) {
		console.log(`typecheck: ${NOT_SET} to check against the SDK's typings as mcconfig does; checking against npm @moddable/typings`);
		const run = spawnSync("tsc", ["-p", path.join(root, "device", "tsconfig.json")], { stdio: "inherit", env: locateEnvPath() });
		process.exit(run.status ?? 1);
	}
	let failed = false;
	try {
		const sdk = locateSdk();
		for (const build of parseArgs(process.argv.slice(2))) {
			const result = typecheck(sdk, build);
			process.stdout.write(result.output);
			console.log(`typecheck: ${path.relative(root, build.manifest)} -p ${build.platform}: ${result.modules} modules against ${path.join(sdk.moddable, "typings")}: ${result.ok ? "ok" : "FAILED"}`);
			failed ||= !result.ok;
		}
	} catch (error) {
		console.error(`typecheck: ${error.message}`);
		failed = true;
	}
	process.exit(failed ? 1 : 0);
}

function locateEnvPath() {
	return { ...process.env, PATH: [path.join(root, "node_modules", ".bin"), process.env.PATH].join(path.delimiter) };
}
