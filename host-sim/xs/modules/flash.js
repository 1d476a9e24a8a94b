// Moddable's "embedded:storage/flash" as its ESP32 build has it (modules/io/flash/esp32,
// SDK 8.2.3), on the simulated device's flash, which Node keeps in the device's flash file
// (host-sim/storage.js FlashFile): the partitions otadata, ota_0 and ota_1 of a two-OTA
// table. open({path}): "running" (the app slot that booted), "nextota" (the slot the next
// update goes to), or a data partition's label ("otadata"); mode "r" or "r+" (default).
// NOR flash: write() can only clear bits (erase sets a 4 KB block to 0xFF); status() has
// size, blockLength and blocks, as flash-esp32.c fills it. Erase, write and read take the
// time they take on the chip, on the device's clock (./blocking.js).
import { call, atBoot } from "../runtime.js";
import { toBytes } from "./i2c.js";
import { closedError } from "./closed.js";
import { block } from "./blocking.js";

let handles; // Flash -> {label, size, blockLength, readOnly}
atBoot.push(() => { handles = new WeakMap(); });

function record(flash) {
	const r = handles.get(flash);
	if (!r) throw closedError();
	return r;
}

const integer = (v) => Math.trunc(Number(v)) | 0; // xsmcToInteger

class Flash {
	constructor() { throw new TypeError(); }
	close() {
		handles.delete(this);
	}
	eraseBlock(start, end) {
		const r = record(this);
		if (r.readOnly) throw new Error("read-only");
		start = integer(start);
		const stop = end === undefined ? start + 1 : integer(end);
		const { header } = call({ op: "flash.erase", label: r.label, offset: start * r.blockLength, length: (stop - start) * r.blockLength });
		block(header.ms);
	}
	read(what, byteOffset) {
		const r = record(this);
		const offset = integer(byteOffset);
		let target, result;
		if (typeof what === "number") {
			result = new ArrayBuffer(integer(what));
			target = new Uint8Array(result);
		} else {
			target = toBytes(what);
			result = target.length;
		}
		const { header, payload } = call({ op: "flash.read", label: r.label, offset, length: target.length });
		if (payload) target.set(payload);
		block(header.ms);
		return result;
	}
	write(buffer, byteOffset) {
		const r = record(this);
		if (r.readOnly) throw new Error("read-only");
		const bytes = toBytes(buffer);
		const { header } = call({ op: "flash.write", label: r.label, offset: integer(byteOffset) }, bytes);
		block(header.ms);
	}
	status() {
		const r = record(this);
		return { size: r.size, blockLength: r.blockLength, blocks: r.size / r.blockLength };
	}
	get format() { return "buffer"; }
	set format(value) { if (value != "buffer") throw new RangeError("invalid"); }
}

/** For embedded:update: the partition behind a Flash instance and whether it may be written. */
export function partitionOf(flash) {
	if (typeof flash !== "object" || flash === null || !(Flash.prototype.isPrototypeOf(flash))) throw new SyntaxError("C: xsGetHostData: no host object");
	const r = record(flash);
	return { label: r.label, writable: !r.readOnly };
}

const FlashStorage = Object.freeze({
	open(options) {
		if (!options || !("path" in options)) throw new Error("no path");
		const path = String(options.path);
		let readOnly = false;
		if ("mode" in options) {
			const mode = String(options.mode);
			if (mode === "r") readOnly = true;
			else if (mode !== "r+") throw new Error("invalid mode");
		}
		if (options.format !== undefined && options.format !== "buffer") throw new RangeError("unsupported");
		const { header } = call({ op: "flash.open", path });
		const flash = Object.create(Flash.prototype);
		handles.set(flash, { label: header.label, size: header.size, blockLength: header.blockLength, readOnly });
		return flash;
	},
	[Symbol.iterator]() {
		const { header } = call({ op: "flash.partitions" });
		return header.labels[Symbol.iterator]();
	},
});

export default FlashStorage;
