// The manifest's config section (mc/config), read from the same file mcconfig builds
// the ESP32 firmware from, so host-sim and hardware start from one set of defaults.
import fs from "node:fs";
import path from "node:path";
import { root } from "./build.js";

let config;
export function manifestConfig() {
	config ??= JSON.parse(fs.readFileSync(path.join(root, "manifests", "thermostat.json"), "utf8")).config;
	return { ...config };
}
