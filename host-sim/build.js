// Builds what runs in the xsnap worker:
//  - the host bundle (host-sim/xs): clock, Moddable-shaped modules, peripheral models;
//  - the device bundle: device/ compiled from the same TypeScript sources with the
//    compiler settings mcconfig uses (module preserve, target es2025, per-module
//    transpile by `typescript`), then linked by esbuild. Moddable module specifiers
//    link to the host bundle's modules; anything else is refused with the file named.

import * as esbuild from "esbuild";
import ts from "typescript";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..");

/** Moddable module specifiers that host-sim provides, as the ESP32 build has them. */
export const MODDABLE_MODULES = Object.freeze([
	"timer", "time", "preference", "mc/config", "restart", "instrumentation", "net",
	"embedded:io/socket/udp", "embedded:io/digital", "embedded:io/i2c", "embedded:io/smbus", "embedded:provider/builtin",
]);
/** Specifiers that exist in Moddable but are not (yet) simulated: a clear error, not a silent stub. */
const MODDABLE_NOT_SIMULATED = /^(embedded:|crypt$|hmac$|rng$|flash$|ota$|debug$|text\/|mc\/)/;

const compilerOptions = (() => {
	const file = path.join(root, "tsconfig.json");
	const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(file, ts.sys.readFile).config, ts.sys, root);
	return { ...parsed.options, noEmit: false, sourceMap: false, inlineSourceMap: false };
})();

function transpilePlugin() {
	return {
		name: "mcconfig-tsc",
		setup(build) {
			build.onLoad({ filter: /\.ts$/ }, async (args) => {
				const source = await fs.promises.readFile(args.path, "utf8");
				const out = ts.transpileModule(source, { compilerOptions, fileName: args.path, reportDiagnostics: true });
				const errors = (out.diagnostics ?? []).map((d) => ({ text: ts.flattenDiagnosticMessageText(d.messageText, "\n") }));
				return { contents: out.outputText, loader: "js", errors };
			});
		},
	};
}

function moddablePlugin() {
	return {
		name: "moddable-modules",
		setup(build) {
			build.onResolve({ filter: /^[^./]/ }, (args) => {
				if (MODDABLE_MODULES.includes(args.path)) return { path: args.path, namespace: "moddable" };
				const where = path.relative(root, args.importer) || args.importer;
				const why = MODDABLE_NOT_SIMULATED.test(args.path)
					? `host-sim does not provide the Moddable module "${args.path}" (it has: ${MODDABLE_MODULES.join(", ")})`
					: `"${args.path}" is not a Moddable module: device code may import only ECMAScript, relative paths and Moddable modules`;
				return { errors: [{ text: `${where}: ${why}` }] };
			});
			build.onLoad({ filter: /.*/, namespace: "moddable" }, (args) => ({
				contents: `const m = globalThis.__hostModules[${JSON.stringify(args.path)}];\nexport default m;`,
				loader: "js",
			}));
		},
	};
}

const BANNER = '"use strict";'; // modules are strict on the device; the IIFE must be too

async function bundle(options) {
	const result = await esbuild.build({
		bundle: true,
		write: false,
		format: "iife",
		platform: "neutral",
		target: "es2022",
		banner: { js: BANNER },
		logLevel: "silent",
		...options,
	});
	return result.outputFiles[0].text;
}

let hostBundle;
/** The host bundle never changes within a process: build it once. */
export async function buildHost() {
	hostBundle ??= bundle({ entryPoints: [path.join(here, "xs", "host.js")] });
	return hostBundle;
}

const deviceBundles = new Map();
/**
 * @param {string} entry path of the device program's main module (default device/main.ts)
 * @returns {Promise<string>}
 */
export async function buildDevice(entry = path.join(root, "device", "main.ts")) {
	const file = path.resolve(entry);
	if (!fs.existsSync(file)) throw new Error(`host-sim: device entry ${entry} does not exist`);
	const key = file;
	let cached = deviceBundles.get(key);
	const stamp = newestSource(path.dirname(file));
	if (!cached || cached.stamp !== stamp) {
		cached = { stamp, code: bundle({ entryPoints: [file], plugins: [moddablePlugin(), transpilePlugin()], resolveExtensions: [".ts", ".js"] }).catch((e) => { throw friendly(e); }) };
		deviceBundles.set(key, cached);
	}
	return cached.code;
}

function friendly(error) {
	if (!error.errors) return error;
	const lines = error.errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ` : "") + e.text);
	const err = new Error(`host-sim: cannot build the device program:\n  ${lines.join("\n  ")}`);
	err.code = "DEVICE_BUILD";
	return err;
}

function newestSource(dir) {
	let newest = 0;
	const walk = (d) => {
		for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, entry.name);
			if (entry.isDirectory()) walk(p);
			else if (/\.(ts|js)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
		}
	};
	walk(dir);
	walk(path.join(root, "device"));
	return newest;
}
