// The frame both sides of the XS <-> Node bridge speak: a JSON header and optional raw
// bytes, so datagrams and I2C data cross without base64. Environment-neutral (XS and Node).
//   [u32 header length, big-endian][header as UTF-8 JSON][payload bytes]

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @returns {Uint8Array} */
export function pack(header, payload) {
	const json = encoder.encode(JSON.stringify(header));
	const body = payload === undefined ? undefined : toBytes(payload);
	const out = new Uint8Array(4 + json.length + (body ? body.length : 0));
	out[0] = json.length >>> 24; out[1] = (json.length >>> 16) & 0xff; out[2] = (json.length >>> 8) & 0xff; out[3] = json.length & 0xff;
	out.set(json, 4);
	if (body) out.set(body, 4 + json.length);
	return out;
}

/** @returns {{header: any, payload: Uint8Array | undefined}} */
export function unpack(data) {
	const bytes = toBytes(data);
	if (bytes.length < 4) throw new Error("frame: shorter than its length prefix");
	const length = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
	if (4 + length > bytes.length) throw new Error("frame: header runs past the end");
	const header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)));
	const payload = bytes.length > 4 + length ? bytes.subarray(4 + length) : undefined;
	return { header, payload };
}

export function toBytes(data) {
	if (data instanceof Uint8Array) return data;
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	throw new TypeError("frame: payload must be an ArrayBuffer or a view");
}
