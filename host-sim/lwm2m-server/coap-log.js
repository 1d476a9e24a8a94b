// One CoAP message as the COAPLOG event shows it (after Leshan's CoapMessage): readable
// enough to follow an exchange in a terminal, with the payload as text when it is text.
const TYPES = ["CON", "NON", "ACK", "RST"];
const METHODS = { "0.01": "GET", "0.02": "POST", "0.03": "PUT", "0.04": "DELETE", "0.05": "FETCH", "0.06": "PATCH", "0.07": "iPATCH", "0.00": "EMPTY" };
const UINT_OPTIONS = new Set(["Observe", "Content-Format", "Accept", "Max-Age", "Size1", "Size2", "Uri-Port"]);
const MAX_PAYLOAD = 256;

function optionText({ name, value }) {
	const bytes = Buffer.from(value ?? []);
	if (UINT_OPTIONS.has(name)) return `${name}: ${bytes.length ? bytes.readUIntBE(0, Math.min(bytes.length, 6)) : 0}`;
	if (/^(Uri|Location)-(Path|Query)$|^Uri-Host$|^Proxy/.test(name)) return `${name}: ${bytes.toString("utf8")}`;
	return `${name}: 0x${bytes.toString("hex")}`;
}

function payloadText(payload) {
	const bytes = Buffer.from(payload ?? []);
	if (bytes.length === 0) return undefined;
	const text = bytes.toString("utf8");
	const printable = !/[\x00-\x08\x0e-\x1f\x7f\ufffd]/.test(text);
	const shown = printable ? text : "0x" + bytes.toString("hex");
	return shown.length > MAX_PAYLOAD ? `${shown.slice(0, MAX_PAYLOAD)}... (${bytes.length} bytes)` : shown;
}

export function coapLogEntry({ incoming, packet, rinfo }, { now, endpoint }) {
	const type = TYPES[packet.confirmable ? 0 : packet.ack ? 2 : packet.reset ? 3 : 1];
	return {
		ep: endpoint,
		incoming,
		timestamp: now,
		address: `${rinfo.address}:${rinfo.port}`,
		type,
		code: METHODS[packet.code] ?? packet.code,
		mId: packet.messageId,
		token: packet.token.toString("hex"),
		options: packet.options.map(optionText).join(", "),
		payload: payloadText(packet.payload),
	};
}

/** A single line for logs and the CLI. */
export function coapLogLine(entry) {
	return `${entry.incoming ? "<-" : "->"} ${entry.address} ${entry.type} ${entry.code} mid=${entry.mId}${entry.token ? ` token=${entry.token}` : ""}${entry.options ? ` [${entry.options}]` : ""}${entry.payload ? ` ${entry.payload}` : ""}`;
}
