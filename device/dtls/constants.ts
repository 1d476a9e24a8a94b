// DTLS 1.2 numbers (RFC 6347, RFC 5246) and the PSK suites this client offers.

export const ContentType = { ChangeCipherSpec: 20, Alert: 21, Handshake: 22, ApplicationData: 23 } as const;

export const HandshakeType = {
	HelloRequest: 0,
	ClientHello: 1,
	ServerHello: 2,
	HelloVerifyRequest: 3,
	ServerKeyExchange: 12,
	ServerHelloDone: 14,
	ClientKeyExchange: 16,
	Finished: 20,
} as const;

/** DTLS 1.2 is {254, 253} on the wire (the ones' complement of 1.2) */
export const VERSION_MAJOR = 254;
export const VERSION_MINOR = 253;
/** a HelloVerifyRequest may say DTLS 1.0 {254, 255} (RFC 6347 §4.2.1) */
export const VERSION_MINOR_10 = 255;

export const Suite = {
	/** TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655): the LwM2M mandatory suite */
	PSK_AES128_CCM8: 0xc0a8,
	/** TLS_PSK_WITH_AES_128_CBC_SHA256 (RFC 5487) */
	PSK_AES128_CBC_SHA256: 0x00ae,
} as const;

export const AlertLevel = { Warning: 1, Fatal: 2 } as const;
export const AlertDescription = {
	CloseNotify: 0,
	UnexpectedMessage: 10,
	BadRecordMac: 20,
	HandshakeFailure: 40,
	IllegalParameter: 47,
	DecodeError: 50,
	DecryptError: 51,
	ProtocolVersion: 70,
	InternalError: 80,
	UnknownPskIdentity: 115,
} as const;

export const RECORD_HEADER = 13; // type, version (2), epoch (2), sequence (6), length (2)
export const HANDSHAKE_HEADER = 12; // type, length (3), message_seq (2), fragment_offset (3), fragment_length (3)

export function alertName(code: number): string {
	for (const name in AlertDescription) if ((AlertDescription as Record<string, number>)[name] === code) return name;
	return `alert ${code}`;
}
