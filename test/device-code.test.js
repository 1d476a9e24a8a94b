// Device code is Moddable code: it imports nothing but ECMAScript, relative modules and
// Moddable modules, and it type-checks strictly against @moddable/typings.
import test from "ava";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { buildDevice } from "../host-sim/build.js";
import { root, tempDir } from "./helpers/sim.js";

// sim/board: the desktop simulator's stand-ins import it by its manifest name (sim.json)
const MODDABLE = /^(embedded:|sim\/board$|timer$|time$|preference$|mc\/|instrumentation$|net$|restart$|wifi$|debug$|flash$|ota$|crypt$|hmac$|rng$|text\/)/;

function sources(dir) {
	return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
		.filter((e) => e.isFile() && e.name.endsWith(".ts"))
		.map((e) => path.join(e.parentPath ?? e.path, e.name));
}

function importsOf(file) {
	const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
	return info.importedFiles.map((f) => f.fileName);
}

test("device/ imports only relative paths and Moddable modules", (t) => {
	const bad = [];
	for (const file of sources(path.join(root, "device"))) {
		for (const spec of importsOf(file)) if (!spec.startsWith(".") && !MODDABLE.test(spec)) bad.push(`${path.relative(root, file)}: ${spec}`);
	}
	t.deepEqual(bad, []);
	t.true(sources(path.join(root, "device")).length >= 2);
});

test("the import check catches a Node or npm import", (t) => {
	const dir = tempDir(t);
	const file = path.join(dir, "bad.ts");
	fs.writeFileSync(file, 'import fs from "node:fs";\nimport cbor from "cbor-x";\nexport default fs;\n');
	t.deepEqual(importsOf(file).filter((s) => !s.startsWith(".") && !MODDABLE.test(s)), ["node:fs", "cbor-x"]);
});

function typecheck(project) {
	const config = ts.getParsedCommandLineOfConfigFile(project, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
	const program = ts.createProgram(config.fileNames, config.options);
	return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

test.serial("device code type-checks, strict, against @moddable/typings", (t) => {
	const project = path.join(root, "device", "tsconfig.json");
	const config = ts.getParsedCommandLineOfConfigFile(project, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
	t.true(config.options.strict);
	t.is(config.options.module, ts.ModuleKind.Preserve);
	t.is(config.options.target, ts.ScriptTarget.ES2025);
	t.true(config.fileNames.some((f) => f.includes("@moddable/typings")));
	t.deepEqual(typecheck(project), []);
	t.deepEqual(typecheck(path.join(root, "test", "fixtures", "tsconfig.json")), []);
});

test.serial("the type check rejects a misuse of a Moddable API", (t) => {
	const file = path.join(root, "device", `__misuse_${process.pid}.ts`);
	fs.writeFileSync(file, 'import UDP from "embedded:io/socket/udp";\nnew UDP({}).write("text", 5683, "127.0.0.1");\n');
	t.teardown(() => fs.rmSync(file, { force: true }));
	const errors = typecheck(path.join(root, "device", "tsconfig.json"));
	t.true(errors.some((e) => /not assignable/.test(e)), errors.join("\n"));
});

test("building device code that imports a non-Moddable module fails, naming file and specifier", async (t) => {
	const dir = tempDir(t);
	const file = path.join(dir, "main.ts");
	fs.writeFileSync(file, 'import fs from "node:fs";\ntrace(String(fs));\n');
	const error = await t.throwsAsync(buildDevice(file));
	t.regex(error.message, /main\.ts.*"node:fs" is not a Moddable module/s);
});

test("building device code that imports a Moddable module host-sim lacks says so", async (t) => {
	const dir = tempDir(t);
	const file = path.join(dir, "main.ts");
	fs.writeFileSync(file, 'import SPI from "embedded:io/spi";\ntrace(String(SPI));\n');
	const error = await t.throwsAsync(buildDevice(file));
	t.regex(error.message, /host-sim does not provide the Moddable module "embedded:io\/spi"/);
});

test("the TypeScript compiler is pinned to 6.x, as mcconfig's settings need", (t) => {
	const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
	t.regex(pkg.dependencies.typescript, /^6\.\d+\.\d+$/);
	t.regex(ts.version, /^6\./);
});
