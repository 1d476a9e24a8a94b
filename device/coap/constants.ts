// CoAP numbers (RFC 7252, 7641, 7959, 8132) and the transmission parameters of §4.8.

export const VERSION = 1;

export const Type = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;

/** class << 5 | detail, e.g. 2.05 = 0x45 */
export const code = (cls: number, detail: number) => (cls << 5) | detail;

/** "2.05" for 0x45: how a code is written in logs and error texts */
export const codeText = (c: number) => `${c >> 5}.${String(c & 31).padStart(2, "0")}`;

export const Method = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, iPATCH: 7 } as const;

export const Code = {
	Empty: 0,
	Created: code(2, 1),
	Deleted: code(2, 2),
	Valid: code(2, 3),
	Changed: code(2, 4),
	Content: code(2, 5),
	Continue: code(2, 31),
	BadRequest: code(4, 0),
	Unauthorized: code(4, 1),
	BadOption: code(4, 2),
	Forbidden: code(4, 3),
	NotFound: code(4, 4),
	MethodNotAllowed: code(4, 5),
	NotAcceptable: code(4, 6),
	RequestEntityIncomplete: code(4, 8),
	PreconditionFailed: code(4, 12),
	RequestEntityTooLarge: code(4, 13),
	UnsupportedContentFormat: code(4, 15),
	InternalServerError: code(5, 0),
	NotImplemented: code(5, 1),
	ServiceUnavailable: code(5, 3),
} as const;

export const Option = {
	IfMatch: 1,
	UriHost: 3,
	ETag: 4,
	IfNoneMatch: 5,
	Observe: 6,
	UriPort: 7,
	LocationPath: 8,
	UriPath: 11,
	ContentFormat: 12,
	MaxAge: 14,
	UriQuery: 15,
	Accept: 17,
	LocationQuery: 20,
	Block2: 23,
	Block1: 27,
	Size2: 28,
	ProxyUri: 35,
	ProxyScheme: 39,
	Size1: 60,
	NoResponse: 258,
} as const;

export const ContentFormat = {
	TextPlain: 0,
	LinkFormat: 40,
	OctetStream: 42,
	Json: 50,
	Cbor: 60,
	SenmlJson: 110,
	SenmlCbor: 112,
	LwM2MTlv: 11542,
	LwM2MJson: 11543,
	LwM2MCbor: 11544,
} as const;

// §4.8 transmission parameters and the derived times of §4.8.2 (ms)
export const ACK_TIMEOUT = 2000;
export const ACK_RANDOM_FACTOR = 1.5;
export const MAX_RETRANSMIT = 4;
export const NSTART = 1;
export const MAX_TRANSMIT_SPAN = 45_000;
export const MAX_TRANSMIT_WAIT = 93_000;
export const EXCHANGE_LIFETIME = 247_000;
export const NON_LIFETIME = 145_000;

/** Largest block (SZX 6) plus room for the header, token and options. */
export const MAX_MESSAGE = 1152;
