// Moddable's "embedded:update" as its ESP32 build has it (modules/io/update/esp32, SDK 8.2.3:
// esp_ota_begin / esp_ota_write / esp_ota_end / esp_ota_set_boot_partition), on the
// simulated flash that Node keeps (host-sim/storage.js FlashFile), with the same errors:
//   open({partition, mode = "a" | "w", byteLength}): "begin failed" (the running slot, or
//     the running image still PENDING_VERIFY, as ESP-IDF with rollback refuses), "read-only
//     partition", RangeError "invalid mode" / "invalid byteLength". Mode "a": sequential
//     appends, each 4 KB sector erased when the writes reach it; mode "w": the first
//     byteLength bytes (or the whole slot) erased at open, writes at any offset.
//   write(bytes[, byteOffset]): "offset not allowed" (mode "a"), "write failed" (past the
//     slot's end, or a first block that is not an app image), "already complete".
//   complete(): verifies the image (host-sim's app image check, as esp_ota_end verifies an
//     ESP-IDF image): "end failed"; then sets the boot slot (otadata), as esp_ota_set_boot_partition.
//   close(): before complete(), aborts (esp_ota_abort): the partial image is never booted.
// The time flash work takes passes on the device's clock (./blocking.js).
import { call, atBoot } from "../runtime.js";
import { toBytes } from "./i2c.js";
import { closedError } from "./closed.js";
import { partitionOf } from "./flash.js";
import { block } from "./blocking.js";

let handles; // Updater -> {id, append, done}
atBoot.push(() => { handles = new WeakMap(); });

function record(updater) {
	const r = handles.get(updater);
	if (!r) throw closedError();
	return r;
}

class Updater {
	constructor() { throw new TypeError(); }
	close() {
		const r = handles.get(this);
		if (!r) return;
		handles.delete(this);
		if (!r.done) call({ op: "ota.abort", id: r.id });
	}
	complete() {
		const r = record(this);
		if (r.done) throw new Error("already complete");
		r.done = true; // as update-esp32.c: the handle is gone whether esp_ota_end succeeds or not
		const { header } = call({ op: "ota.end", id: r.id });
		block(header.ms);
		if (header.failed) throw new Error(header.failed);
	}
	write(buffer, byteOffset) {
		const r = record(this);
		if (r.done) throw new Error("already complete");
		let offset;
		if (r.append) {
			if (arguments.length > 1) throw new Error("offset not allowed");
		} else {
			offset = Number(byteOffset);
			if (!(offset >= 0 && offset <= 0xffffffff)) throw new RangeError("invalid offset");
			offset = Math.trunc(offset);
		}
		const bytes = toBytes(buffer);
		const { header } = call({ op: "ota.write", id: r.id, offset }, bytes);
		block(header.ms);
		if (header.failed) throw new Error(header.failed);
	}
	get format() { return "buffer"; }
	set format(value) { if (value != "buffer") throw new RangeError("invalid"); }
}

const Update = Object.freeze({
	open(options) {
		if (!options || !("partition" in options)) throw new Error("no partition");
		const { label, writable } = partitionOf(options.partition);
		if (!writable) throw new Error("read-only partition");
		let append = true;
		if ("mode" in options) {
			const mode = String(options.mode);
			if (mode === "w") append = false;
			else if (mode !== "a") throw new RangeError("invalid mode");
		}
		if (options.format !== undefined && options.format !== "buffer") throw new RangeError("unsupported");
		let byteLength;
		if ("byteLength" in options) {
			byteLength = Number(options.byteLength);
			if (!(byteLength >= 0 && byteLength <= 0xffffffff)) throw new RangeError("invalid byteLength");
		}
		const { header } = call({ op: "ota.begin", label, append, byteLength });
		block(header.ms);
		if (header.failed) throw new Error(header.failed);
		const updater = Object.create(Updater.prototype);
		handles.set(updater, { id: header.id, append, done: false });
		return updater;
	},
});

export default Update;
