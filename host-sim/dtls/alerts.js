// Alert protocol (RFC 5246 §7.2, RFC 4279 §2 for unknown_psk_identity).
export const AlertLevel = Object.freeze({ warning: 1, fatal: 2 });
export const AlertDescription = Object.freeze({
	close_notify: 0, unexpected_message: 10, bad_record_mac: 20, record_overflow: 22,
	handshake_failure: 40, illegal_parameter: 47, decode_error: 50, decrypt_error: 51,
	protocol_version: 70, insufficient_security: 71, internal_error: 80,
	no_renegotiation: 100, unsupported_extension: 110, unknown_psk_identity: 115,
});
const NAMES = new Map(Object.entries(AlertDescription).map(([name, code]) => [code, name]));

export function alertName(description) {
	return NAMES.get(description) ?? `alert ${description}`;
}

export function encodeAlert(level, description) {
	return Buffer.from([level, description]);
}

/** @returns {{level, description, name} | undefined} */
export function parseAlert(data) {
	if (data.length !== 2) return undefined;
	return { level: data[0], description: data[1], name: alertName(data[1]) };
}
