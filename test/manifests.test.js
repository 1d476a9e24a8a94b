// The Moddable manifests users build with mcconfig: every module path they name exists,
// the shared manifest's modules are exactly the firmware sources (nothing from host-sim),
// each under the specifier its relative imports resolve to, and every config key the
// firmware reads has a default.
import test from "ava";
import fs from "node:fs";
import path from "node:path";
import { root } from "./helpers/sim.js";

const manifests = path.join(root, "manifests");
const read = (name) => JSON.parse(fs.readFileSync(path.join(manifests, name), "utf8"));
const sources = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\\/g, "/"));

function localPaths(manifest) {
	const out = [];
	for (const [key, value] of Object.entries(manifest.modules ?? {})) {
		for (const p of [value].flat()) if (!p.startsWith("$(")) out.push({ key, p });
	}
	return out;
}

test("every local module path in every manifest exists, and all lie in device/", (t) => {
	for (const name of fs.readdirSync(manifests).filter((f) => f.endsWith(".json"))) {
		const m = read(name);
		for (const { key, p } of localPaths(m)) {
			const file = path.resolve(manifests, p);
			t.true(file.startsWith(path.join(root, "device") + path.sep), `${name}: ${key} -> ${p} is outside device/`);
			t.true([".ts", ".js", ".d.ts"].some((ext) => fs.existsSync(file + ext)), `${name}: ${key} -> ${p} does not exist`);
		}
		for (const inc of [m.include ?? []].flat()) if (!inc.startsWith("$(")) t.true(fs.existsSync(path.resolve(manifests, inc)), `${name}: include ${inc}`);
	}
});

test("the shared manifest's modules are exactly the firmware sources, under their paths, all but main preloaded", (t) => {
	const m = read("thermostat.json");
	const device = path.join(root, "device");
	const expected = sources(device).filter((f) => !f.startsWith("types/") && !f.startsWith("sim/")).map((f) => f.slice(0, -3)).sort();
	t.deepEqual(Object.keys(m.modules).sort(), expected);
	for (const [key, p] of Object.entries(m.modules)) t.is(p, `../device/${key}`, "the specifier is the path under device/, so relative imports resolve");
	t.deepEqual([...m.preload].sort(), expected.filter((k) => k !== "main"));
});

test("the ESP32 manifest has fixed XS sizes and the native restart; the simulator manifest maps the IO it lacks to device/sim", (t) => {
	const esp = read("esp32.json");
	t.true(esp.include.includes("./thermostat.json"));
	t.true(esp.creation.static > 0 && esp.creation.static === esp.config.xsHeapBytes, "heap size known to the firmware (Memory Free)");
	t.deepEqual(esp.modules.restart, ["../device/native/restart"]);
	t.true(fs.existsSync(path.join(root, "device/native/restart.c")));
	const sim = read("sim.json");
	for (const spec of ["embedded:io/digital", "embedded:io/smbus", "embedded:provider/builtin", "restart", "sim/board", "sim/room"]) t.regex(sim.modules[spec], /^\.\.\/device\/sim\//, spec);
	t.false("wifi" in sim.modules, "Wi-Fi is the SDK's simulator module (a second one collides with it)");
	t.true(sim.include.includes("$(MODDABLE)/modules/io/manifest.json"), "ECMA-419 io (embedded:io/socket/udp) for lin");
	// the stand-ins are device code: no Node, no npm (the import check covers device/)
	t.deepEqual(sources(path.join(root, "device/sim")).sort(), ["board.ts", "digital.ts", "flash.ts", "ota.ts", "provider.ts", "restart.ts", "room.ts", "smbus.ts", "update.ts"]);
	// firmware update: the native ota beside restart, Moddable's embedded:update, a table with two OTA slots
	t.deepEqual(esp.modules.ota, ["../device/native/ota"]);
	t.true(fs.existsSync(path.join(root, "device/native/ota.c")));
	t.true(esp.include.includes("$(MODDABLE)/modules/io/update/manifest.json"));
	const table = fs.readFileSync(path.resolve(manifests, esp.build.PARTITIONS_FILE), "utf8");
	t.regex(table, /^ota_0,\s*app,\s*ota_0,/m);
	t.regex(table, /^ota_1,\s*app,\s*ota_1,/m);
	t.regex(table, /^otadata,\s*data,\s*ota,/m);
	t.regex(fs.readFileSync(path.resolve(manifests, esp.build.SDKCONFIGPATH, "sdkconfig.defaults"), "utf8"), /^CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y$/m);
	for (const spec of ["embedded:storage/flash", "embedded:update", "ota"]) t.regex(sim.modules[spec], /^\.\.\/device\/sim\//, spec);
});

test("every config key the firmware reads has a default in the shared manifest", (t) => {
	const config = read("thermostat.json").config;
	const used = new Set();
	for (const f of sources(path.join(root, "device"))) {
		for (const m of fs.readFileSync(path.join(root, "device", f), "utf8").matchAll(/\bconfig\.(\w+)/g)) used.add(m[1]);
	}
	const missing = [...used].filter((k) => !(k in config));
	t.deepEqual(missing, [], "config keys read by device/ but not in manifests/thermostat.json");
	t.true(used.size >= 15);
});

test("the local LwM2M server knows the thermostat's custom object: its DDF copy is the firmware's", (t) => {
	const firmware = fs.readFileSync(path.join(root, "device/thermostat/ddf/32700.xml"), "utf8");
	const server = fs.readFileSync(path.join(root, "host-sim/lwm2m-server/models/32700.xml"), "utf8");
	t.is(server, firmware, "copy device/thermostat/ddf/32700.xml to host-sim/lwm2m-server/models/ after changing it");
});
