// host-sim's app image: what an OTA slot of a simulated device holds, as an ESP-IDF app image
// is what a slot of the ESP32 holds. A header with a checksum, then the program:
//   0..3  magic "HSAP"; 4..5 u16 format = 1; 6..7 u16 header length = 48 (little-endian)
//   8..11 u32 program length; 12..43 SHA-256 of the program; 44..47 reserved, zero
//   48..  the program: UTF-8 JSON, either {"format":1,"config":{...},"preload":"...","main":"..."}
//         (the device bundle of host-sim/build.js, and the mc/config keys the build set) or
//         {"format":1,"entry":true}: the program the simulator was started with (what a fresh
//         device has in ota_0, as a chip has the image flashed over USB).
// verifyAppImage() is host-sim's esp_image_verify: esp_ota_end and the bootloader run it.
import crypto from "node:crypto";

export const APP_MAGIC = Buffer.from("HSAP", "latin1");
export const APP_HEADER_LENGTH = 48;

/** @param {object} program {config, preload, main} or {entry: true} */
export function appImage(program) {
	const body = Buffer.from(JSON.stringify({ format: 1, ...program }), "utf8");
	const header = Buffer.alloc(APP_HEADER_LENGTH);
	APP_MAGIC.copy(header, 0);
	header.writeUInt16LE(1, 4);
	header.writeUInt16LE(APP_HEADER_LENGTH, 6);
	header.writeUInt32LE(body.length, 8);
	crypto.createHash("sha256").update(body).digest().copy(header, 12);
	return Buffer.concat([header, body]);
}

/**
 * Check the image at the start of `bytes` (a slot's contents).
 * @returns {{ok: true, length: number, program: object} | {ok: false, why: string, length: number}}
 * length: the bytes the check read (what it costs in flash reads)
 */
export function verifyAppImage(bytes) {
	if (bytes.length < APP_HEADER_LENGTH || !bytes.subarray(0, 4).equals(APP_MAGIC)) return { ok: false, why: "no app image (bad magic)", length: Math.min(bytes.length, APP_HEADER_LENGTH) };
	if (bytes.readUInt16LE(4) !== 1 || bytes.readUInt16LE(6) !== APP_HEADER_LENGTH) return { ok: false, why: "unknown app image format", length: APP_HEADER_LENGTH };
	const length = bytes.readUInt32LE(8);
	if (APP_HEADER_LENGTH + length > bytes.length) return { ok: false, why: `image length ${length} runs past the slot`, length: APP_HEADER_LENGTH };
	const body = bytes.subarray(APP_HEADER_LENGTH, APP_HEADER_LENGTH + length);
	const read = APP_HEADER_LENGTH + length;
	if (!crypto.createHash("sha256").update(body).digest().equals(bytes.subarray(12, 44))) return { ok: false, why: "image checksum (SHA-256) does not match", length: read };
	let program;
	try {
		program = JSON.parse(body.toString("utf8"));
	} catch {
		return { ok: false, why: "image program is not valid", length: read };
	}
	if (program?.format !== 1 || !(program.entry === true || (typeof program.preload === "string" && typeof program.main === "string"))) return { ok: false, why: "image program is not valid", length: read };
	return { ok: true, length: read, program };
}
