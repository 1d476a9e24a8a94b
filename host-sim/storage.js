// The simulated device's flash: its preferences (NVS) in one JSON file (PreferenceFile), and
// the OTA partitions (otadata and two app slots) in a binary flash file beside it (FlashFile).
// Preferences are written through
// on every change (atomically: write a temporary file, then rename) so that a crash of
// the simulator, like a power cut, never leaves half a file.

import fs from "node:fs";
import path from "node:path";
import { appImage, verifyAppImage, APP_MAGIC } from "./fota/app-image.js";

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

// ---------------------------------------------------------------- the OTA partitions
// The partitions of the device's flash that firmware update uses, as a two-OTA ESP32
// partition table lays them out (no factory app: a fresh chip boots ota_0, where the USB
// flash put the app). ESP32 addresses for reference; the flash file holds them one after
// the other. nvs (the preferences) stays in the JSON file above.
export const PARTITIONS = Object.freeze([
	{ label: "otadata", type: "data", subtype: "ota", address: 0xd000, size: 0x2000 },
	{ label: "ota_0", type: "app", subtype: "ota_0", address: 0x10000, size: 0x180000 },
	{ label: "ota_1", type: "app", subtype: "ota_1", address: 0x190000, size: 0x180000 },
]);
const SLOTS = ["ota_0", "ota_1"];
export const SECTOR = 4096; // erase unit of the ESP32's SPI NOR flash

// What flash work costs on an ESP32-WROOM's SPI NOR flash (Winbond W25Q32-class, the
// datasheet's typical figures): a 4 KB sector erase 45 ms (tSE); a page program 0.4 ms per
// 256 bytes (tPP), which ESP-IDF issues in 64-byte pieces on the ESP32 (its SPI buffer), so
// 0.1 ms per started 64 bytes; reads at about 10 MB/s (40 MHz, dual I/O, through the cache).
export const FLASH_TIMING = Object.freeze({ eraseSectorMs: 45, programChunkMs: 0.1, programChunk: 64, readMsPerByte: 1 / 10_000 });
const eraseMs = (bytes) => Math.ceil(bytes / SECTOR) * FLASH_TIMING.eraseSectorMs;
const programMs = (bytes) => Math.ceil(bytes / FLASH_TIMING.programChunk) * FLASH_TIMING.programChunkMs;
const readMs = (bytes) => bytes * FLASH_TIMING.readMsPerByte;

// otadata: two 4 KB sectors, each one esp_ota_select_entry_t: u32 ota_seq, u8 seq_label[20],
// u32 ota_state, u32 crc (esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4)). The bootloader uses the
// valid entry with the highest seq; slot index = (seq - 1) % 2.
export const OTA_STATE = Object.freeze({ NEW: 0, PENDING_VERIFY: 1, VALID: 2, INVALID: 3, ABORTED: 4, UNDEFINED: 0xffffffff });
const STATE_NAMES = { 0: "new", 1: "pending", 2: "valid", 3: "invalid", 4: "aborted", 0xffffffff: "undefined" };
const ENTRY_BYTES = 32;

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();
/** ESP32 ROM crc32_le(crc, buf, len) */
function crc32le(crc, bytes) {
	let c = ~crc >>> 0;
	for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
	return ~c >>> 0;
}
function seqCrc(seq) {
	const b = Buffer.alloc(4);
	b.writeUInt32LE(seq >>> 0);
	return crc32le(0xffffffff, b);
}

/** A power cut armed by a test: the flash operation it tears is applied only in part. */
export class PowerLost extends Error {
	constructor() { super("power lost"); this.name = "PowerLost"; }
}

/**
 * The device's flash file: otadata and the two app slots, written through to disk on every
 * erase and program (a crash of the simulator, like a power cut, keeps what was written);
 * the open updates (esp_ota handles); and the bootloader's choice of slot at each boot, with
 * ESP-IDF's app rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE).
 */
export class FlashFile {
	/** @param {string | undefined} file the flash file; undefined keeps it in memory */
	constructor(file) {
		this.file = file;
		this.bytes = undefined; // made at first use: a fresh device is otadata erased, ota_0 = the USB-flashed app, ota_1 erased
		this.running = undefined; // label of the slot that booted
		this.handles = new Map(); // esp_ota handle -> {label, append, erased, wrote}
		this.handleIds = 0;
		this.cutAfter = undefined; // flash operations left before an armed power cut
		this.powerLost = false;
		this.log = () => {};
	}

	static fileFor(storage) {
		if (!storage) return undefined;
		return storage.endsWith(".json") ? `${storage.slice(0, -5)}.flash` : `${storage}.flash`;
	}

	#partition(label) {
		let offset = 0;
		for (const p of PARTITIONS) {
			if (p.label === label) return { ...p, offset };
			offset += p.size;
		}
		return undefined;
	}

	#load() {
		if (this.bytes) return this.bytes;
		const total = PARTITIONS.reduce((n, p) => n + p.size, 0);
		if (this.file && fs.existsSync(this.file)) {
			const bytes = fs.readFileSync(this.file);
			if (bytes.length !== total) throw new Error(`host-sim: flash file ${this.file} has ${bytes.length} bytes, not ${total} (otadata + two 1.5 MB slots); move it away to start with fresh flash`);
			this.bytes = bytes;
			return bytes;
		}
		this.bytes = Buffer.alloc(total, 0xff);
		const factory = appImage({ entry: true });
		factory.copy(this.bytes, this.#partition("ota_0").offset);
		if (this.file) {
			fs.mkdirSync(path.dirname(this.file), { recursive: true });
			const temporary = `${this.file}.${process.pid}.tmp`;
			fs.writeFileSync(temporary, this.bytes);
			fs.renameSync(temporary, this.file);
		}
		return this.bytes;
	}

	#persist(start, length) {
		if (!this.file || !length) return;
		const fd = fs.openSync(this.file, "r+");
		try {
			fs.writeSync(fd, this.bytes, start, length, start);
		} finally {
			fs.closeSync(fd);
		}
	}

	// one flash operation: an armed power cut tears it (the first half happens) and then
	// nothing more reaches the flash
	#tear(length) {
		if (this.powerLost) throw new PowerLost();
		if (this.cutAfter === undefined) return length;
		if (this.cutAfter-- > 0) return length;
		this.cutAfter = undefined;
		this.powerLost = true;
		return Math.floor(length / 2);
	}

	/** NOR program: bits can only go from 1 to 0. offset within the partition. */
	#program(p, offset, data) {
		const bytes = this.#load();
		const n = this.#tear(data.length);
		const base = p.offset + offset;
		for (let i = 0; i < n; i++) bytes[base + i] &= data[i];
		this.#persist(base, n);
		if (n < data.length) throw new PowerLost();
		return programMs(data.length);
	}

	#erase(p, offset, length) {
		const bytes = this.#load();
		const n = this.#tear(length);
		bytes.fill(0xff, p.offset + offset, p.offset + offset + n);
		this.#persist(p.offset + offset, n);
		if (n < length) throw new PowerLost();
		return eraseMs(length);
	}

	#slot(label) {
		const p = this.#partition(label);
		return this.#load().subarray(p.offset, p.offset + p.size);
	}

	// ---- otadata
	#entries() {
		const p = this.#partition("otadata");
		const bytes = this.#load();
		return [0, 1].map((sector) => {
			const at = p.offset + sector * SECTOR;
			const seq = bytes.readUInt32LE(at);
			const state = bytes.readUInt32LE(at + 24);
			const crc = bytes.readUInt32LE(at + 28);
			return { sector, seq, state, valid: seq !== 0xffffffff && crc === seqCrc(seq) };
		});
	}

	#writeEntry(sector, seq, state) {
		const p = this.#partition("otadata");
		const entry = Buffer.alloc(ENTRY_BYTES, 0xff);
		entry.writeUInt32LE(seq >>> 0, 0);
		entry.writeUInt32LE(state >>> 0, 24);
		entry.writeUInt32LE(seqCrc(seq), 28);
		// erase the sector, then program the entry: a cut between them leaves it erased (invalid)
		return this.#erase(p, sector * SECTOR, SECTOR) + this.#program(p, sector * SECTOR, entry);
	}

	/** bootloader_common_get_active_otadata: the selectable entry with the highest seq */
	#active(entries = this.#entries()) {
		const usable = entries.filter((e) => e.valid && e.state !== OTA_STATE.INVALID && e.state !== OTA_STATE.ABORTED);
		if (!usable.length) return undefined;
		return usable.reduce((a, b) => (b.seq > a.seq ? b : a));
	}

	#entryOf(label, entries = this.#entries()) {
		const index = SLOTS.indexOf(label);
		const active = this.#active(entries);
		if (active && (active.seq - 1) % SLOTS.length === index) return active;
		return undefined;
	}

	#verify(label) {
		return verifyAppImage(this.#slot(label));
	}

	/**
	 * The bootloader at reset: otadata's choice, with rollback (a PENDING_VERIFY image that
	 * resets unconfirmed is ABORTED and the previous one boots; a NEW one becomes
	 * PENDING_VERIFY), then the image check: a slot that fails it is skipped for the next.
	 * @returns {{slot: string, state: string, program: object, notes: string[]} | {slot: undefined, notes: string[]}}
	 */
	boot() {
		this.handles.clear();
		this.powerLost = false;
		this.cutAfter = undefined;
		const notes = [];
		const fresh = !this.bytes && !(this.file && fs.existsSync(this.file));
		if (fresh) {
			this.running = "ota_0";
			return { slot: "ota_0", state: "undefined", program: { entry: true }, notes };
		}
		let entries = this.#entries();
		for (const e of entries) {
			if (e.valid && e.state === OTA_STATE.PENDING_VERIFY) {
				notes.push(`bootloader: ${SLOTS[(e.seq - 1) % SLOTS.length]} was not confirmed: marked aborted, rolling back`);
				this.#writeEntry(e.sector, e.seq, OTA_STATE.ABORTED);
			}
		}
		entries = this.#entries();
		const active = this.#active(entries);
		let start = 0;
		if (active) {
			start = (active.seq - 1) % SLOTS.length;
			if (active.state === OTA_STATE.NEW) this.#writeEntry(active.sector, active.seq, OTA_STATE.PENDING_VERIFY);
		}
		// bootloader_utility_load_boot_image: the chosen slot, then the others
		const order = [start, ...[0, 1].filter((i) => i !== start)];
		for (const i of order) {
			const label = SLOTS[i];
			const check = this.#verify(label);
			if (!check.ok) {
				notes.push(`bootloader: ${label}: ${check.why}; not booted`);
				continue;
			}
			this.running = label;
			return { slot: label, state: this.state().state, program: check.program, notes };
		}
		this.running = undefined;
		notes.push("bootloader: no bootable app image");
		return { slot: undefined, notes };
	}

	/** esp_ota_get_state_partition(running) and the running slot */
	state() {
		const entry = this.running && this.bytes ? this.#entryOf(this.running) : undefined;
		return { running: this.running, state: entry ? STATE_NAMES[entry.state] ?? "undefined" : "undefined" };
	}

	#nextSlot() {
		const i = SLOTS.indexOf(this.running);
		return SLOTS[(i + 1) % SLOTS.length];
	}

	#openPartition(path) {
		if (path === "running") return this.running;
		if (path === "nextota") return this.#nextSlot();
		const p = this.#partition(path);
		return p && p.type === "data" ? p.label : undefined; // esp_partition_find_first(DATA, ANY, label)
	}

	/** One operation of the XS modules flash.js, update.js, ota.js. */
	handle(header, payload) {
		if (this.powerLost) throw new PowerLost();
		switch (header.op) {
			case "flash.partitions":
				return { labels: PARTITIONS.map((p) => p.label) };
			case "flash.open": {
				const label = this.#openPartition(header.path);
				if (!label) return { error: "can't find partition" };
				const p = this.#partition(label);
				return { label, size: p.size, blockLength: SECTOR };
			}
			case "flash.read": {
				const p = this.#partition(header.label);
				if (header.offset < 0 || header.length < 0 || header.offset + header.length > p.size) return { error: "read failed" };
				const data = Buffer.from(this.#slot(header.label).subarray(header.offset, header.offset + header.length));
				return { ms: readMs(header.length), payload: data };
			}
			case "flash.write": {
				const p = this.#partition(header.label);
				const data = payload ?? new Uint8Array(0);
				if (header.offset < 0 || header.offset + data.length > p.size) return { error: "write failed" };
				return { ms: this.#program(p, header.offset, data) };
			}
			case "flash.erase": {
				const p = this.#partition(header.label);
				if (header.offset < 0 || header.length < 0 || header.offset + header.length > p.size) return { error: "erase failed" };
				return { ms: this.#erase(p, header.offset, header.length) };
			}
			case "ota.begin":
				return this.#begin(header);
			case "ota.write":
				return this.#write(header, payload ?? new Uint8Array(0));
			case "ota.end":
				return this.#end(header);
			case "ota.abort":
				this.handles.delete(header.id);
				return {};
			case "ota.state":
				return this.state();
			case "ota.markValid": {
				const entry = this.#entryOf(this.running);
				if (!entry || entry.state === OTA_STATE.VALID) return { ms: 0 };
				this.log(`ota: ${this.running} confirmed (valid)`);
				return { ms: this.#writeEntry(entry.sector, entry.seq, OTA_STATE.VALID) };
			}
			case "ota.rollback": {
				const entry = this.#entryOf(this.running);
				const other = this.#nextSlot();
				const otherEntry = this.#entries().find((e) => e.valid && (e.seq - 1) % SLOTS.length === SLOTS.indexOf(other));
				const possible = this.#verify(other).ok && !(otherEntry && (otherEntry.state === OTA_STATE.INVALID || otherEntry.state === OTA_STATE.ABORTED));
				if (!entry || !possible) return { failed: "rollback failed" };
				this.log(`ota: ${this.running} marked invalid, rolling back to ${other}`);
				return { ms: this.#writeEntry(entry.sector, entry.seq, OTA_STATE.INVALID) };
			}
			default:
				return undefined;
		}
	}

	// esp_ota_begin
	#begin({ label, append, byteLength }) {
		const p = this.#partition(label);
		if (!p || p.type !== "app") return { failed: "begin failed" }; // ESP_ERR_INVALID_ARG
		if (label === this.running) return { failed: "begin failed" }; // ESP_ERR_OTA_PARTITION_CONFLICT
		if (this.state().state === "pending") return { failed: "begin failed" }; // ESP_ERR_OTA_ROLLBACK_INVALID_STATE
		if (byteLength !== undefined && byteLength > p.size) return { failed: "begin failed" }; // ESP_ERR_INVALID_SIZE
		let ms = 0;
		let erased = 0;
		if (!append) {
			// OTA_SIZE_UNKNOWN erases the whole slot; a known size, that many bytes rounded up to sectors
			erased = byteLength === undefined ? p.size : Math.ceil(byteLength / SECTOR) * SECTOR;
			if (erased) ms = this.#erase(p, 0, erased);
		}
		const id = ++this.handleIds;
		this.handles.set(id, { label, append, erased, wrote: 0 });
		return { id, ms };
	}

	// esp_ota_write / esp_ota_write_with_offset
	#write({ id, offset }, data) {
		const h = this.handles.get(id);
		if (!h) return { failed: "write failed" };
		const p = this.#partition(h.label);
		const at = h.append ? h.wrote : offset;
		if (at + data.length > p.size) return { failed: "write failed" }; // ESP_ERR_INVALID_SIZE
		// the first bytes of an image must be an app image's magic (ESP-IDF: 0xE9)
		if (at === 0 && data.length && !Buffer.from(data.subarray(0, 4)).equals(APP_MAGIC.subarray(0, Math.min(4, data.length)))) return { failed: "write failed" };
		let ms = 0;
		if (h.append && at + data.length > h.erased) {
			// OTA_WITH_SEQUENTIAL_WRITES: each sector erased as the writes reach it
			const end = Math.ceil((at + data.length) / SECTOR) * SECTOR;
			ms += this.#erase(p, h.erased, end - h.erased);
			h.erased = end;
		}
		if (data.length) ms += this.#program(p, at, data);
		h.wrote += data.length; // esp_ota: bytes written (the append position in mode "a")
		return { ms };
	}

	// esp_ota_end (the image check), then esp_ota_set_boot_partition
	#end({ id }) {
		const h = this.handles.get(id);
		this.handles.delete(id);
		if (!h || !h.wrote) return { failed: "end failed" };
		const check = this.#verify(h.label);
		let ms = readMs(check.length);
		if (!check.ok) {
			this.log(`ota: ${h.label}: ${check.why}`);
			return { failed: "end failed", ms };
		}
		ms += this.#setBoot(h.label);
		this.log(`ota: ${h.label} set as boot slot`);
		return { ms };
	}

	// esp_rewrite_ota_data: the next seq for the slot, in the sector that does not hold the active entry
	#setBoot(label) {
		const index = SLOTS.indexOf(label);
		const entries = this.#entries();
		const active = this.#active(entries);
		let seq = active ? active.seq + 1 : 1;
		while ((seq - 1) % SLOTS.length !== index) seq++;
		const sector = active ? 1 - active.sector : 0;
		return this.#writeEntry(sector, seq, OTA_STATE.NEW);
	}

	/** For tests and tools: otadata as the bootloader reads it. */
	otadata() {
		return this.#entries().map((e) => ({ ...e, slot: e.valid ? SLOTS[(e.seq - 1) % SLOTS.length] : undefined, state: STATE_NAMES[e.state] ?? e.state }));
	}
}
