// A deliberately small XML parser: enough for OMA DDF files (elements, attributes,
// text, CDATA, comments, the XML declaration and the five predefined entities plus
// numeric character references). No DTDs, namespaces are kept as part of the name.
// It exists so the server needs no npm XML package; errors carry a line number
// because a broken DDF file is something a person has to go and fix.

export class XmlError extends Error {}

const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;

export function decodeEntities(text, lineOf = () => 0) {
	return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|&/g, (whole, ref, offset) => {
		if (ref === undefined) throw new XmlError(`line ${lineOf(offset)}: a bare "&" must be written &amp;`);
		if (ref[0] === "#") {
			const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
			if (!(code >= 0 && code <= 0x10ffff)) throw new XmlError(`line ${lineOf(offset)}: bad character reference &${ref};`);
			return String.fromCodePoint(code);
		}
		if (!(ref in ENTITIES)) throw new XmlError(`line ${lineOf(offset)}: unknown entity &${ref};`);
		return ENTITIES[ref];
	});
}

/**
 * Parse a document into its root element.
 * @returns {{name: string, attributes: Record<string,string>, children: Array, text: string}}
 *   `children` holds elements only; `text` is the concatenated character data of the
 *   element itself (not of its descendants).
 */
export function parseXml(source) {
	const src = String(source).replace(/^\uFEFF/, "");
	let pos = 0;
	const lineOf = (at = pos) => src.slice(0, at).split("\n").length;
	const fail = (message, at = pos) => {
		throw new XmlError(`line ${lineOf(at)}: ${message}`);
	};
	const skipSpace = () => {
		while (pos < src.length && /\s/.test(src[pos])) pos++;
	};
	const readName = () => {
		NAME.lastIndex = pos;
		const m = NAME.exec(src);
		if (!m) fail("expected a name");
		pos += m[0].length;
		return m[0];
	};
	const skipUntil = (terminator, what) => {
		const end = src.indexOf(terminator, pos);
		if (end < 0) fail(`unterminated ${what}`);
		const body = src.slice(pos, end);
		pos = end + terminator.length;
		return body;
	};
	// comments, processing instructions and a DOCTYPE may stand outside the root
	const skipMisc = () => {
		for (;;) {
			skipSpace();
			if (src.startsWith("<!--", pos)) {
				pos += 4;
				skipUntil("-->", "comment");
			} else if (src.startsWith("<?", pos)) {
				pos += 2;
				skipUntil("?>", "processing instruction");
			} else if (src.startsWith("<!DOCTYPE", pos)) {
				if (src.indexOf("[", pos) >= 0 && src.indexOf("[", pos) < src.indexOf(">", pos)) fail("DOCTYPE with an internal subset is not supported");
				skipUntil(">", "DOCTYPE");
			} else return;
		}
	};

	const parseElement = () => {
		const start = pos;
		if (src[pos] !== "<") fail("expected an element");
		pos++;
		const name = readName();
		const attributes = {};
		for (;;) {
			skipSpace();
			if (src.startsWith("/>", pos)) {
				pos += 2;
				return { name, attributes, children: [], text: "" };
			}
			if (src[pos] === ">") {
				pos++;
				break;
			}
			if (pos >= src.length) fail(`unterminated start tag <${name}>`, start);
			const attr = readName();
			skipSpace();
			if (src[pos] !== "=") fail(`attribute ${attr} of <${name}> has no value`);
			pos++;
			skipSpace();
			const quote = src[pos];
			if (quote !== '"' && quote !== "'") fail(`attribute ${attr} of <${name}> must be quoted`);
			pos++;
			const valueStart = pos;
			const raw = skipUntil(quote, `attribute ${attr}`);
			if (raw.includes("<")) fail(`"<" in attribute ${attr}`, valueStart);
			if (attr in attributes) fail(`duplicate attribute ${attr} on <${name}>`);
			attributes[attr] = decodeEntities(raw, (o) => lineOf(valueStart + o));
		}
		const children = [];
		let text = "";
		for (;;) {
			if (pos >= src.length) fail(`<${name}> is never closed`, start);
			if (src.startsWith("</", pos)) {
				pos += 2;
				const closing = readName();
				if (closing !== name) fail(`</${closing}> closes <${name}>`);
				skipSpace();
				if (src[pos] !== ">") fail(`malformed end tag </${closing}>`);
				pos++;
				return { name, attributes, children, text };
			}
			if (src.startsWith("<!--", pos)) {
				pos += 4;
				skipUntil("-->", "comment");
			} else if (src.startsWith("<![CDATA[", pos)) {
				pos += 9;
				text += skipUntil("]]>", "CDATA section");
			} else if (src.startsWith("<?", pos)) {
				pos += 2;
				skipUntil("?>", "processing instruction");
			} else if (src[pos] === "<") {
				children.push(parseElement());
			} else {
				const textStart = pos;
				const next = src.indexOf("<", pos);
				pos = next < 0 ? src.length : next;
				text += decodeEntities(src.slice(textStart, pos), (o) => lineOf(textStart + o));
			}
		}
	};

	skipMisc();
	if (pos >= src.length) fail("no root element");
	const root = parseElement();
	skipMisc();
	if (pos < src.length) fail("content after the root element");
	return root;
}

/** First child element with that name, or undefined. */
export function child(element, name) {
	return element.children.find((c) => c.name === name);
}

/** Trimmed text of the named child element, or undefined when it is absent. */
export function childText(element, name) {
	const c = child(element, name);
	return c === undefined ? undefined : c.text.trim();
}
