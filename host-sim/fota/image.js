// Firmware update packages (issue 13, design in the LwM2M Firmware Update object's package
// format): a 160-byte "LTFW" header, then the payload the device writes into its next app slot.
//   0..3 "LTFW"; 4..5 u16 header format = 1; 6..7 u16 header length = 160 (little-endian)
//   8..23 target, ASCII NUL-padded ("esp32" | "host-sim"); 24..39 version, ASCII NUL-padded
//   40..43 u32 payload length; 44..75 SHA-256 of the payload
//   76..77 u16 signature algorithm (0 none); 78..79 u16 signature length; 80..143 signature; 144..159 reserved
// Payload for host-sim: a host-sim app image (./app-image.js) of the device program built
// with mc/config's firmwareVersion set; for the ESP32: the ESP-IDF app image mcconfig built.
//
//   npm run build:image -- --version 1.0.1 [--out file] [--entry device/main.ts] [--config key=value]...
//   npm run build:image -- --target esp32 --payload build/bin/esp32/.../xs_esp32.bin --version 1.0.1 [--out file]
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildDevice, root } from "../build.js";
import { appImage, verifyAppImage } from "./app-image.js";

export const PACKAGE_MAGIC = "LTFW";
export const PACKAGE_HEADER_LENGTH = 160;
export const TARGETS = Object.freeze(["host-sim", "esp32"]);
const ESP_IMAGE_MAGIC = 0xe9;

function ascii(buffer, at, length, text, what) {
	const bytes = Buffer.from(String(text), "latin1");
	if (!/^[\x20-\x7e]*$/.test(text) || !bytes.length || bytes.length > length) throw new RangeError(`fota: ${what} ${JSON.stringify(text)} must be 1-${length} printable ASCII characters`);
	bytes.copy(buffer, at);
}

/** The LTFW package: header + payload. */
export function wrapPackage({ target, version, payload }) {
	if (!TARGETS.includes(target)) throw new RangeError(`fota: unknown target "${target}" (known: ${TARGETS.join(", ")})`);
	payload = Buffer.from(payload);
	const header = Buffer.alloc(PACKAGE_HEADER_LENGTH);
	header.write(PACKAGE_MAGIC, 0, "latin1");
	header.writeUInt16LE(1, 4);
	header.writeUInt16LE(PACKAGE_HEADER_LENGTH, 6);
	ascii(header, 8, 16, target, "target");
	ascii(header, 24, 16, version, "version");
	header.writeUInt32LE(payload.length, 40);
	crypto.createHash("sha256").update(payload).digest().copy(header, 44);
	// 76..159: no signature (algorithm 0, length 0, zeros), reserved zero
	return Buffer.concat([header, payload]);
}

const cstring = (b) => { const end = b.indexOf(0); return b.subarray(0, end < 0 ? b.length : end).toString("latin1"); };

/** Read a package's header (for the server, the CLI and tests); checks the hash when the payload is all there. */
export function parsePackage(bytes) {
	bytes = Buffer.from(bytes);
	if (bytes.length < PACKAGE_HEADER_LENGTH || bytes.toString("latin1", 0, 4) !== PACKAGE_MAGIC) throw new Error("fota: not an LTFW package (bad magic)");
	const header = {
		format: bytes.readUInt16LE(4),
		headerLength: bytes.readUInt16LE(6),
		target: cstring(bytes.subarray(8, 24)),
		version: cstring(bytes.subarray(24, 40)),
		payloadLength: bytes.readUInt32LE(40),
		sha256: bytes.subarray(44, 76).toString("hex"),
		signatureAlgorithm: bytes.readUInt16LE(76),
		signatureLength: bytes.readUInt16LE(78),
	};
	const payload = bytes.subarray(header.headerLength, header.headerLength + header.payloadLength);
	const complete = payload.length === header.payloadLength && bytes.length === header.headerLength + header.payloadLength;
	const hashOk = complete && crypto.createHash("sha256").update(payload).digest("hex") === header.sha256;
	return { ...header, payload, complete, hashOk };
}

/**
 * The host-sim app image of a device program: built as host-sim builds it to run, with the
 * mc/config keys `config` (firmwareVersion at least) that the image's boots use.
 */
export async function buildAppImage({ entry = path.join(root, "device", "main.ts"), version, config = {} } = {}) {
	const { preload, main } = await buildDevice(entry);
	return appImage({ config: { ...config, ...(version !== undefined ? { firmwareVersion: version } : {}) }, preload, main });
}

/**
 * A firmware package. target "host-sim" (default): builds `entry` (default device/main.ts)
 * with firmwareVersion = version; target "esp32": wraps `payload` (the ESP-IDF app image,
 * bytes or a file path), which must start with the ESP image magic 0xE9.
 * @returns {Promise<Buffer>}
 */
export async function buildPackage({ target = "host-sim", version, entry, config, payload } = {}) {
	if (!version) throw new RangeError("fota: a version is required (--version 1.0.1)");
	if (target === "host-sim") {
		if (payload !== undefined) throw new RangeError("fota: --payload is for --target esp32; host-sim images are built from --entry");
		return wrapPackage({ target, version, payload: await buildAppImage({ entry, version, config }) });
	}
	if (target === "esp32") {
		if (payload === undefined) throw new RangeError("fota: --target esp32 needs --payload <xs_esp32.bin> (the app image mcconfig built)");
		const bytes = typeof payload === "string" ? fs.readFileSync(payload) : Buffer.from(payload);
		if (bytes[0] !== ESP_IMAGE_MAGIC) throw new RangeError(`fota: ${typeof payload === "string" ? payload : "the payload"} is not an ESP-IDF app image (first byte 0x${(bytes[0] ?? 0).toString(16)}, not 0xe9)`);
		return wrapPackage({ target, version, payload: bytes });
	}
	throw new RangeError(`fota: unknown target "${target}" (known: ${TARGETS.join(", ")})`);
}

export { appImage, verifyAppImage };

// ---------------------------------------------------------------- command line
const USAGE = `usage: npm run build:image -- --version <x.y.z> [--out <file>] [--entry <device program .ts>] [--config key=value]...
       npm run build:image -- --target esp32 --payload <xs_esp32.bin> --version <x.y.z> [--out <file>]`;

export function parseArgs(argv) {
	const o = { config: {} };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const value = () => {
			if (i + 1 >= argv.length) throw new RangeError(`${a} needs a value\n${USAGE}`);
			return argv[++i];
		};
		if (a === "--version") o.version = value();
		else if (a === "--out") o.out = value();
		else if (a === "--target") o.target = value();
		else if (a === "--payload") o.payload = value();
		else if (a === "--entry") o.entry = value();
		else if (a === "--config") {
			const [key, ...rest] = value().split("=");
			const text = rest.join("=");
			let v = text;
			try { v = JSON.parse(text); } catch { /* a string */ }
			o.config[key] = v;
		} else if (a === "--help" || a === "-h") o.help = true;
		else throw new RangeError(`unknown argument ${a}\n${USAGE}`);
	}
	return o;
}

async function cli(argv) {
	let o;
	try {
		o = parseArgs(argv);
		if (o.help) { console.log(USAGE); return 0; }
		const target = o.target ?? "host-sim";
		const bytes = await buildPackage({ target, version: o.version, entry: o.entry, config: o.config, payload: o.payload });
		const out = path.resolve(o.out ?? path.join(root, ".host-sim", "fota", `thermostat-${o.version}-${target}.ltfw`));
		fs.mkdirSync(path.dirname(out), { recursive: true });
		fs.writeFileSync(out, bytes);
		const p = parsePackage(bytes);
		console.log(`${path.relative(process.cwd(), out) || out}: ${target} ${p.version}, ${bytes.length} bytes (payload ${p.payloadLength}, sha256 ${p.sha256})`);
		return 0;
	} catch (e) {
		console.error(e.message);
		return 2;
	}
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
