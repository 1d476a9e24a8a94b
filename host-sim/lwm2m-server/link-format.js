// CoRE Link Format (RFC 6690, content format 40): the payload of Register/Update and of
// Discover responses. The parser follows the RFC grammar, and tolerates whitespace
// between links only because the LwM2M specification's own examples contain it.

export class LinkFormatError extends Error {
	constructor(message) {
		super(message);
		this.status = 400;
	}
}

const PARMNAME = /[A-Za-z0-9!#$&+\-.^_`|~*]/;
const PTOKEN = /[!#$%&'()*+\-./0-9:<=>?@A-Za-z[\]^_`{|}~]/;

/**
 * @returns {{url: string, attributes: Record<string, string|null>}[]}
 *   a parameter without a value (e.g. "obs") has the value null
 */
export function parseLinkFormat(text) {
	const src = typeof text === "string" ? text : Buffer.from(text ?? "").toString("utf8");
	const links = [];
	let pos = 0;
	const fail = (message) => {
		throw new LinkFormatError(`link-format at offset ${pos}: ${message}`);
	};
	const skipSpace = () => {
		while (pos < src.length && /\s/.test(src[pos])) pos++;
	};
	skipSpace();
	if (pos === src.length) return links;
	for (;;) {
		skipSpace();
		if (src[pos] !== "<") fail(`expected "<" to open a link, found ${JSON.stringify(src[pos] ?? "end of input")}`);
		const close = src.indexOf(">", pos + 1);
		if (close < 0) fail('unterminated "<" (no ">")');
		const url = src.slice(pos + 1, close);
		if (/[<\s]/.test(url)) fail(`bad URI reference ${JSON.stringify(url)}`);
		pos = close + 1;
		const attributes = {};
		for (;;) {
			skipSpace();
			if (src[pos] !== ";") break;
			pos++;
			skipSpace();
			const nameStart = pos;
			while (pos < src.length && PARMNAME.test(src[pos])) pos++;
			const name = src.slice(nameStart, pos);
			if (!name) fail("empty parameter name");
			let value = null;
			if (src[pos] === "=") {
				pos++;
				if (src[pos] === '"') {
					pos++;
					value = "";
					for (;;) {
						if (pos >= src.length) fail(`unterminated quoted value of ${name}`);
						const c = src[pos++];
						if (c === '"') break;
						if (c === "\\") {
							if (pos >= src.length) fail(`unterminated escape in ${name}`);
							value += src[pos++];
						} else value += c;
					}
				} else {
					const valueStart = pos;
					while (pos < src.length && PTOKEN.test(src[pos])) pos++;
					value = src.slice(valueStart, pos);
					if (!value) fail(`parameter ${name} has an empty value`);
				}
			}
			if (!(name in attributes)) attributes[name] = value;
		}
		links.push({ url, attributes });
		skipSpace();
		if (pos === src.length) return links;
		if (src[pos] !== ",") fail(`expected "," or ";" after <${url}>, found ${JSON.stringify(src[pos])}`);
		pos++;
	}
}

function formatValue(value) {
	if (value === null || value === undefined) return "";
	const text = String(value);
	return text !== "" && [...text].every((c) => PTOKEN.test(c)) ? `=${text}` : `="${text.replace(/(["\\])/g, "\\$1")}"`;
}

export function serializeLinkFormat(links) {
	return links
		.map(({ url, attributes = {} }) => `<${url}>` + Object.entries(attributes).map(([k, v]) => `;${k}${formatValue(v)}`).join(""))
		.join(",");
}
