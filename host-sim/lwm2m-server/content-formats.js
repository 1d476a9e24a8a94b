// The CoAP content formats an LwM2M 1.1 server meets, by number, by the names Leshan's
// REST API uses (?format=SENML_CBOR), and by the media type npm `coap` reports in
// message headers (it turns numbers it knows into strings).

export class FormatError extends Error {
	constructor(message, status = 400) {
		super(message);
		this.status = status;
	}
}

export const FORMATS = [
	{ id: 0, name: "TEXT", mime: "text/plain" },
	{ id: 40, name: "LINK", mime: "application/link-format" },
	{ id: 42, name: "OPAQUE", mime: "application/octet-stream" },
	{ id: 60, name: "CBOR", mime: "application/cbor" },
	{ id: 110, name: "SENML_JSON", mime: "application/senml+json" },
	{ id: 112, name: "SENML_CBOR", mime: "application/senml+cbor" },
	{ id: 11542, name: "TLV", mime: "application/vnd.oma.lwm2m+tlv" },
	{ id: 11543, name: "JSON", mime: "application/vnd.oma.lwm2m+json", unsupported: true },
	{ id: 11544, name: "LWM2M_CBOR", mime: "application/vnd.oma.lwm2m+cbor" },
];

const byId = new Map(FORMATS.map((f) => [f.id, f]));
const byMime = new Map(FORMATS.map((f) => [f.mime, f]));
const byName = new Map(FORMATS.map((f) => [f.name, f]));

export const TEXT = byId.get(0);
export const LINK = byId.get(40);
export const OPAQUE = byId.get(42);
export const CBOR = byId.get(60);
export const SENML_JSON = byId.get(110);
export const SENML_CBOR = byId.get(112);
export const TLV = byId.get(11542);
export const LWM2M_CBOR = byId.get(11544);

/**
 * A format from a user's spelling: a Leshan name (SENML_CBOR), kebab or lower case
 * (senml-cbor), a media type, or a number.
 */
export function formatByName(text) {
	if (text === undefined || text === null || text === "") return undefined;
	const s = String(text).trim();
	const format = /^\d+$/.test(s) ? byId.get(Number(s)) : byName.get(s.toUpperCase().replace(/-/g, "_")) ?? byMime.get(s.toLowerCase());
	if (!format) throw new FormatError(`unknown content format ${JSON.stringify(text)} (use one of ${FORMATS.filter((f) => !f.unsupported).map((f) => f.name).join(", ")})`);
	if (format.unsupported) throw new FormatError(`content format ${format.name} (${format.id}) is not supported by this server`);
	return format;
}

/** The format of a received message, from the header value npm `coap` gives. */
export function formatFromHeader(value) {
	if (value === undefined || value === null) return undefined;
	if (typeof value === "number") return byId.get(value) ?? { id: value, name: `${value}`, mime: `${value}`, unknown: true };
	const format = byMime.get(String(value));
	return format ?? { id: NaN, name: String(value), mime: String(value), unknown: true };
}
