// DTLS record framing (RFC 6347 §4.1): a datagram carries one or more records, each
//   type(1) version(2) epoch(2) sequence_number(6) length(2) fragment(length)
export const ContentType = Object.freeze({ changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 });
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;
export const HEADER_LENGTH = 13;
export const MAX_SEQUENCE = 2 ** 48 - 1;
const MAX_FRAGMENT = 2 ** 14 + 2048; // TLSCiphertext limit (RFC 5246 §6.2.3)

/**
 * All records of a datagram. A record that does not parse ends the datagram: what follows
 * cannot be framed (RFC 6347 §4.1.2.7 - invalid records are discarded).
 * @returns {{records: Array<{type, version, epoch, seq, fragment}>, malformed: boolean}}
 */
export function parseRecords(datagram) {
	const records = [];
	let at = 0;
	while (at < datagram.length) {
		if (datagram.length - at < HEADER_LENGTH) return { records, malformed: true };
		const type = datagram[at];
		const version = datagram.readUInt16BE(at + 1);
		const length = datagram.readUInt16BE(at + 11);
		const known = type >= ContentType.changeCipherSpec && type <= ContentType.applicationData;
		if (!known || datagram[at + 1] !== 0xfe || length > MAX_FRAGMENT || at + HEADER_LENGTH + length > datagram.length) {
			return { records, malformed: true };
		}
		records.push({
			type,
			version,
			epoch: datagram.readUInt16BE(at + 3),
			seq: datagram.readUIntBE(at + 5, 6),
			fragment: datagram.subarray(at + HEADER_LENGTH, at + HEADER_LENGTH + length),
		});
		at += HEADER_LENGTH + length;
	}
	return { records, malformed: false };
}

export function encodeRecord({ type, version = DTLS_1_2, epoch, seq, fragment }) {
	const out = Buffer.alloc(HEADER_LENGTH + fragment.length);
	out[0] = type;
	out.writeUInt16BE(version, 1);
	out.writeUInt16BE(epoch, 3);
	out.writeUIntBE(seq, 5, 6);
	out.writeUInt16BE(fragment.length, 11);
	fragment.copy(out, HEADER_LENGTH);
	return out;
}
