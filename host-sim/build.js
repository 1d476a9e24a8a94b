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
	"timer", "time", "preference", "mc/config", "restart", "instrumentation", "net", "wifi", "crypt", "hmac", "rng",
	"embedded:io/socket/udp", "embedded:io/digital", "embedded:io/i2c", "embedded:io/smbus", "embedded:provider/builtin",
	"embedded:storage/flash", "embedded:update", "ota",
]);
/** Named exports of Moddable modules that have them besides their default. */
export const NAMED_EXPORTS = { crypt: ["Digest", "BlockCipher", "Mode"], ota: ["pendingVerify", "markValid", "rollback", "runningSlot"] };
/** Specifiers that exist in Moddable but are not (yet) simulated: a clear error, not a silent stub. */
const MODDABLE_NOT_SIMULATED = /^(embedded:|flash$|ota$|debug$|text\/|mc\/)/;

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
			build.onLoad({ filter: /.*/, namespace: "moddable" }, (args) => {
				const names = NAMED_EXPORTS[args.path] ?? [];
				return {
					contents: `const m = globalThis.__hostModules[${JSON.stringify(args.path)}];\nexport default m;\n${names.map((n) => `export const ${n} = m.${n};`).join("\n")}`,
					loader: "js",
				};
			});
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
 * The device program in two scripts, as an ESP32 build lays it out: `preload`, every module
 * main imports (directly or not), which mcconfig preloads into flash; and `main`, the entry
 * module, run at boot, whose imports are the preloaded modules. host-sim evaluates them in
 * turn, so that what main allocates (the ESP32's RAM) can be told from what the modules
 * built while loading (its flash).
 * @param {string} entry path of the device program's main module (default device/main.ts)
 * @returns {Promise<{preload: string, main: string}>}
 */
export async function buildDevice(entry = path.join(root, "device", "main.ts")) {
	const file = path.resolve(entry);
	if (!fs.existsSync(file)) throw new Error(`host-sim: device entry ${entry} does not exist`);
	const key = file;
	let cached = deviceBundles.get(key);
	const stamp = newestSource(path.dirname(file));
	if (!cached || cached.stamp !== stamp) {
		cached = { stamp, code: buildParts(file).catch((e) => { throw friendly(e); }) };
		deviceBundles.set(key, cached);
	}
	return cached.code;
}

async function buildParts(file) {
	const common = { plugins: [moddablePlugin(), transpilePlugin()], resolveExtensions: [".ts", ".js"] };
	// the module graph: every source file main reaches
	const probe = await esbuild.build({ entryPoints: [file], bundle: true, write: false, metafile: true, format: "iife", platform: "neutral", target: "es2022", logLevel: "silent", absWorkingDir: root, ...common });
	const modules = Object.keys(probe.metafile.inputs)
		.filter((input) => !input.includes(":"))
		.map((input) => path.resolve(root, input))
		.filter((input) => input !== file);
	const preloadSource = [
		"const preloaded = Object.create(null);",
		...modules.map((m, i) => `import * as m${i} from ${JSON.stringify(m)};\npreloaded[${JSON.stringify(m)}] = Object.assign({ __esModule: true }, m${i});`),
		'Object.defineProperty(globalThis, "__preloaded", { value: preloaded, configurable: true });',
	].join("\n");
	const preload = await bundle({ stdin: { contents: preloadSource, resolveDir: root, loader: "js", sourcefile: "preload.js" }, ...common });
	const preloadedSet = new Set(modules);
	const main = await bundle({
		entryPoints: [file],
		...common,
		plugins: [preloadedPlugin(preloadedSet), ...common.plugins],
	});
	return { preload, main };
}

/** The value exports of a TypeScript module (types are erased, so they are left out). */
function exportNames(file, source) {
	const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
	const names = [];
	let hasDefault = false;
	const exported = (node) => node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
	const isDefault = (node) => node.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
	for (const st of sf.statements) {
		if (ts.isExportAssignment(st)) hasDefault = true;
		else if (ts.isExportDeclaration(st)) {
			if (st.isTypeOnly || !st.exportClause || !ts.isNamedExports(st.exportClause)) continue;
			for (const el of st.exportClause.elements) if (!el.isTypeOnly) (el.name.text === "default" ? (hasDefault = true) : names.push(el.name.text));
		} else if (exported(st)) {
			if (isDefault(st)) hasDefault = true;
			else if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) { if (ts.isIdentifier(d.name)) names.push(d.name.text); }
			else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) names.push(st.name.text);
		}
	}
	return { names, hasDefault };
}

// main's imports of preloaded modules link to what the preload script left in __preloaded
function preloadedPlugin(preloaded) {
	return {
		name: "preloaded-modules",
		setup(build) {
			build.onResolve({ filter: /^\./ }, async (args) => {
				if (args.pluginData?.inner) return undefined;
				const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { inner: true } });
				if (resolved.errors.length || !preloaded.has(resolved.path)) return undefined;
				return { path: resolved.path, namespace: "preloaded" };
			});
			build.onLoad({ filter: /.*/, namespace: "preloaded" }, async (args) => {
				const { names, hasDefault } = exportNames(args.path, await fs.promises.readFile(args.path, "utf8"));
				const ns = `globalThis.__preloaded[${JSON.stringify(args.path)}]`;
				const lines = [`const ns = ${ns};`];
				if (hasDefault) lines.push("export default ns.default;");
				if (names.length) lines.push(`export const ${names.map((n) => `${n} = ns.${n}`).join(", ")};`);
				return { contents: lines.join("\n"), loader: "js" };
			});
		},
	};
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
