// The simulated device's flash: its preferences (NVS) in one JSON file, written through
// on every change (atomically: write a temporary file, then rename) so that a crash of
// the simulator, like a power cut, never leaves half a file.

import fs from "node:fs";
import path from "node:path";

export class PreferenceFile {
	/** @param {string | undefined} file where to keep them; undefined keeps them in memory */
	constructor(file) {
		this.file = file;
		this.store = {};
		if (file && fs.existsSync(file)) {
			try {
				this.store = JSON.parse(fs.readFileSync(file, "utf8"));
			} catch (e) {
				throw new Error(`host-sim: preference file ${file} is not valid JSON (${e.message}); move it away to start with empty flash`);
			}
		}
	}
	set(domain, key, stored) {
		(this.store[domain] ??= {})[key] = stored;
		this.#save();
	}
	delete(domain, key) {
		if (!this.store[domain]) return;
		delete this.store[domain][key];
		if (!Object.keys(this.store[domain]).length) delete this.store[domain];
		this.#save();
	}
	/** What the device would read back, decoded (for tests and tools). */
	get(domain, key) {
		const stored = this.store[domain]?.[key];
		if (!stored) return undefined;
		return stored.type === "buffer" ? Buffer.from(stored.value, "hex") : stored.value;
	}
	#save() {
		if (!this.file) return;
		fs.mkdirSync(path.dirname(this.file), { recursive: true });
		const temporary = `${this.file}.${process.pid}.tmp`;
		fs.writeFileSync(temporary, JSON.stringify(this.store, null, "\t"));
		fs.renameSync(temporary, this.file);
	}
}
