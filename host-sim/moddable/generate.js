// Runs mcconfig WITHOUT -m: it resolves the manifest and writes the makefile, the
// per-module tsconfigs and mc/config, and builds nothing. The generated makefile's default
// target must never run here: it pkills mcsim/serial2xsbug and launches xsbug.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** mcconfig's output folder for a build: { tmpDir, makefile, modulesDir, binDir }. */
export function generate(sdk, { manifest, platform, outDir, args = [] }) {
	fs.mkdirSync(outDir, { recursive: true });
	const run = spawnSync("mcconfig", ["-p", platform, "-o", outDir, ...args, manifest], { env: sdk.env, encoding: "utf8" });
	if (run.status !== 0) throw new Error(`mcconfig -p ${platform} ${path.relative(process.cwd(), manifest)} failed (${run.status}):\n${run.stdout}${run.stderr}`);
	const name = path.basename(path.dirname(path.resolve(manifest)));
	const variant = args.includes("-d") ? "debug" : args.includes("-i") ? "instrument" : "release";
	// tmp/<platform>/<subplatform, e.g. nodemcu, or lin's default "mc">/<variant>/<name>/
	const base = platform.split("/")[0];
	const found = fs.readdirSync(path.join(outDir, "tmp", base), { recursive: true })
		.map(String).filter((f) => f.endsWith(path.join(variant, name, "makefile")));
	if (found.length !== 1) throw new Error(`mcconfig -p ${platform}: expected one makefile for ${variant}/${name} under ${outDir}/tmp, found ${found.length}`);
	const relative = path.dirname(found[0]);
	const tmpDir = path.join(outDir, "tmp", base, relative);
	return { tmpDir, makefile: path.join(tmpDir, "makefile"), modulesDir: path.join(tmpDir, "modules"), binDir: path.join(outDir, "bin", base, relative), log: run.stdout + run.stderr };
}
