// OMA TLV (content format 11542, LwM2M Core TS 1.1 §7.4.3): a type byte, an 8 or
// 16-bit identifier, a 0/8/16/24-bit length, then the value or nested TLVs. TLV carries
// no value types, so values stay raw bytes here and are typed by the object model later.
import { CodecError } from "./codec-error.js";
import { wholeNumber } from "../values.js";

const KINDS = ["instance", "resourceInstance", "multipleResource", "resource"];

/** Bytes -> [{kind, id, value?: Buffer, children?: [...]}] */
export function parseTlv(buffer) {
	const buf = Buffer.from(buffer);
	const out = [];
	let pos = 0;
	const need = (n, what) => {
		if (pos + n > buf.length) throw new CodecError(`TLV truncated at byte ${pos}: ${what} needs ${n} more byte(s)`);
	};
	while (pos < buf.length) {
		const start = pos;
		const type = buf[pos++];
		const kind = KINDS[type >> 6];
		const idBytes = type & 0x20 ? 2 : 1;
		need(idBytes, "identifier");
		const id = idBytes === 2 ? buf.readUInt16BE(pos) : buf[pos];
		pos += idBytes;
		const lengthType = (type >> 3) & 0x03;
		let length = type & 0x07;
		if (lengthType > 0) {
			need(lengthType, "length");
			length = buf.readUIntBE(pos, lengthType);
			pos += lengthType;
		}
		need(length, `the value of TLV ${kind} ${id} at byte ${start}`);
		const value = buf.subarray(pos, pos + length);
		pos += length;
		if (kind === "instance" || kind === "multipleResource") {
			const children = parseTlv(value);
			const allowed = kind === "instance" ? ["resource", "multipleResource"] : ["resourceInstance"];
			const stray = children.find((c) => !allowed.includes(c.kind));
			if (stray) throw new CodecError(`TLV ${kind} ${id} contains a ${stray.kind}`);
			out.push({ kind, id, children });
		} else out.push({ kind, id, value: Buffer.from(value) });
	}
	return out;
}

/** [{kind, id, value|children}] -> bytes */
export function serializeTlv(tlvs) {
	return Buffer.concat(
		tlvs.map(({ kind, id, value, children }) => {
			const body = children ? serializeTlv(children) : Buffer.from(value ?? []);
			if (body.length > 0xffffff) throw new CodecError("TLV value longer than 16 MiB");
			let type = KINDS.indexOf(kind) << 6;
			if (type < 0) throw new CodecError(`unknown TLV kind ${kind}`);
			const idBytes = id > 0xff ? 2 : 1;
			if (idBytes === 2) type |= 0x20;
			const lengthBytes = body.length < 8 ? 0 : body.length <= 0xff ? 1 : body.length <= 0xffff ? 2 : 3;
			type |= lengthBytes ? lengthBytes << 3 : body.length;
			const head = Buffer.alloc(1 + idBytes + lengthBytes);
			head[0] = type;
			head.writeUIntBE(id, 1, idBytes);
			if (lengthBytes) head.writeUIntBE(body.length, 1 + idBytes, lengthBytes);
			return Buffer.concat([head, body]);
		}),
	);
}

// ------------------------------------------------------------------ values

function signedBytes(big) {
	for (const n of [1, 2, 4, 8]) {
		const limit = 1n << BigInt(8 * n - 1);
		if (big >= -limit && big < limit) {
			const b = Buffer.alloc(n);
			if (n === 8) b.writeBigInt64BE(big);
			else b.writeIntBE(Number(big), 0, n);
			return b;
		}
	}
	throw new CodecError(`integer ${big} does not fit 64 bits`);
}

function unsignedBytes(big) {
	for (const n of [1, 2, 4, 8]) {
		if (big >= 0n && big < 1n << BigInt(8 * n)) {
			const b = Buffer.alloc(n);
			if (n === 8) b.writeBigUInt64BE(big);
			else b.writeUIntBE(Number(big), 0, n);
			return b;
		}
	}
	throw new CodecError(`unsigned integer ${big} does not fit 64 bits`);
}

export function encodeTlvValue(type, value) {
	switch (type) {
		case "INTEGER":
		case "TIME":
			return signedBytes(BigInt(value));
		case "UNSIGNED_INTEGER":
			return unsignedBytes(BigInt(value));
		case "FLOAT": {
			// 4 bytes when the value survives single precision, as the spec allows either
			if (Math.fround(value) === value) {
				const b = Buffer.alloc(4);
				b.writeFloatBE(value);
				return b;
			}
			const b = Buffer.alloc(8);
			b.writeDoubleBE(value);
			return b;
		}
		case "BOOLEAN":
			return Buffer.from([value ? 1 : 0]);
		case "OBJLNK": {
			const [o, i] = String(value).split(":").map(Number);
			const b = Buffer.alloc(4);
			b.writeUInt16BE(o);
			b.writeUInt16BE(i, 2);
			return b;
		}
		case "OPAQUE":
			return Buffer.from(value);
		default:
			return Buffer.from(String(value), "utf8");
	}
}

export function decodeTlvValue(type, bytes, where = "TLV value") {
	const len = bytes.length;
	const sizes = (allowed) => {
		if (!allowed.includes(len)) throw new CodecError(`${where}: a ${type} must be ${allowed.join(", ")} bytes long, not ${len}`);
	};
	switch (type) {
		case "INTEGER":
		case "TIME":
			sizes([1, 2, 4, 8]);
			return len === 8 ? wholeNumber(bytes.readBigInt64BE()) : bytes.readIntBE(0, len);
		case "UNSIGNED_INTEGER":
			sizes([1, 2, 4, 8]);
			return len === 8 ? wholeNumber(bytes.readBigUInt64BE()) : bytes.readUIntBE(0, len);
		case "FLOAT":
			sizes([4, 8]);
			return len === 4 ? bytes.readFloatBE() : bytes.readDoubleBE();
		case "BOOLEAN":
			sizes([1]);
			if (bytes[0] > 1) throw new CodecError(`${where}: boolean byte must be 0 or 1, not ${bytes[0]}`);
			return bytes[0] === 1;
		case "OBJLNK":
			sizes([4]);
			return `${bytes.readUInt16BE(0)}:${bytes.readUInt16BE(2)}`;
		case "OPAQUE":
		case "NONE":
			return Buffer.from(bytes);
		default:
			return bytes.toString("utf8");
	}
}

// ------------------------------------------------------------------ paths

/**
 * TLVs of a response to a request on `basePath` -> entries {path, value: Buffer, from: "tlv"}.
 * Which level the top TLVs stand for depends on the request: an object read returns
 * object instance TLVs, an instance read resource TLVs (or, as in the spec's example
 * §7.4.3.2 A, a single wrapping instance TLV).
 */
export function tlvToEntries(tlvs, basePath) {
	const entries = [];
	const depth = basePath.length;
	if (depth === 0) throw new CodecError("TLV cannot carry a whole client (root path); use SenML or LwM2M CBOR");
	const [objectId] = basePath;
	const addResource = (instanceId, tlv) => {
		const path = [objectId, instanceId, tlv.id];
		if (depth >= 3 && tlv.id !== basePath[2]) throw new CodecError(`TLV resource ${tlv.id} does not match the requested ${basePath.join("/")}`);
		if (tlv.kind === "resource") entries.push({ path, value: tlv.value, from: "tlv" });
		else if (tlv.children.length === 0) entries.push({ path, from: "tlv", multiple: true, empty: true });
		else for (const ri of tlv.children) addResourceInstance(path, ri);
	};
	const addResourceInstance = (resourcePath, tlv) => {
		if (depth === 4 && tlv.id !== basePath[3]) throw new CodecError(`TLV resource instance ${tlv.id} does not match the requested ${basePath.join("/")}`);
		entries.push({ path: [...resourcePath, tlv.id], value: tlv.value, from: "tlv" });
	};
	for (const tlv of tlvs) {
		if (tlv.kind === "instance") {
			if (depth > 2) throw new CodecError(`an object instance TLV in the answer to a request on /${basePath.join("/")}`);
			if (depth === 2 && tlv.id !== basePath[1]) throw new CodecError(`TLV instance ${tlv.id} does not match the requested /${basePath.join("/")}`);
			if (tlv.children.length === 0) entries.push({ path: [objectId, tlv.id], from: "tlv", emptyInstance: true });
			for (const r of tlv.children) addResource(tlv.id, r);
		} else if (tlv.kind === "resource" || tlv.kind === "multipleResource") {
			if (depth === 4) throw new CodecError(`a resource TLV in the answer to a request on /${basePath.join("/")}`);
			// a resource list answering an object read stands for instance 0 (as Leshan reads it)
			addResource(depth === 1 ? 0 : basePath[1], tlv);
		} else {
			if (depth < 3) throw new CodecError(`a bare resource instance TLV in the answer to a request on /${basePath.join("/")}`);
			addResourceInstance(basePath.slice(0, 3), tlv);
		}
	}
	return entries;
}

/**
 * Typed entries {path, type, value} for a request on `basePath` -> TLV bytes. An
 * object-level payload (Create with a chosen id) wraps resources in instance TLVs; an
 * instance-level Write sends bare resource TLVs.
 */
export function entriesToTlv(entries, basePath) {
	const depth = basePath.length;
	const resources = new Map(); // "o/i/r" -> {id, instanceId, single?, instances: []}
	const instances = new Map(); // instanceId -> [resource keys]
	for (const e of entries) {
		const [, instanceId, resourceId, riid] = e.path;
		if (!instances.has(instanceId)) instances.set(instanceId, []);
		if (resourceId === undefined) continue;
		const key = `${instanceId}/${resourceId}`;
		if (!resources.has(key)) {
			resources.set(key, { id: resourceId, instances: [], single: undefined, multiple: false });
			instances.get(instanceId).push(key);
		}
		const r = resources.get(key);
		if (riid === undefined && !e.multiple) r.single = encodeTlvValue(e.type, e.value);
		else if (riid === undefined) r.multiple = true;
		else r.instances.push({ kind: "resourceInstance", id: riid, value: encodeTlvValue(e.type, e.value) });
	}
	const resourceTlv = (key) => {
		const r = resources.get(key);
		return r.single !== undefined && !r.multiple && r.instances.length === 0
			? { kind: "resource", id: r.id, value: r.single }
			: { kind: "multipleResource", id: r.id, children: r.instances };
	};
	if (depth === 4) return serializeTlv(resources.size ? resources.values().next().value.instances : []);
	if (depth === 3) return serializeTlv([...resources.keys()].map(resourceTlv));
	if (depth === 2) return serializeTlv([...resources.keys()].map(resourceTlv));
	return serializeTlv([...instances].map(([id, keys]) => ({ kind: "instance", id, children: keys.map(resourceTlv) })));
}
