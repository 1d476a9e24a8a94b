// UTF-8 without TextEncoder/TextDecoder: Moddable has them only as opt-in modules, and
// these work in place on the message buffers instead of allocating intermediate arrays.

/** Bytes `text` takes in UTF-8 (a lone surrogate is written as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
	let n = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c < 0x80) n += 1;
		else if (c < 0x800) n += 2;
		else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			n += 4;
			i++;
		} else n += 3;
	}
	return n;
}

/**
 * Writes `text` at `offset`; returns the offset after it. The caller checks the room
 * (utf8Length). A lone surrogate becomes U+FFFD, so the output is always valid UTF-8.
 */
export function utf8Write(text: string, into: Uint8Array, offset: number): number {
	for (let i = 0; i < text.length; i++) {
		let c = text.charCodeAt(i);
		if (c < 0x80) into[offset++] = c;
		else if (c < 0x800) {
			into[offset++] = 0xc0 | (c >> 6);
			into[offset++] = 0x80 | (c & 0x3f);
		} else {
			if (c >= 0xd800 && c <= 0xdfff) {
				const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
				if (c <= 0xdbff && (low & 0xfc00) === 0xdc00) {
					c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
					i++;
					into[offset++] = 0xf0 | (c >> 18);
					into[offset++] = 0x80 | ((c >> 12) & 0x3f);
					into[offset++] = 0x80 | ((c >> 6) & 0x3f);
					into[offset++] = 0x80 | (c & 0x3f);
					continue;
				}
				c = 0xfffd;
			}
			into[offset++] = 0xe0 | (c >> 12);
			into[offset++] = 0x80 | ((c >> 6) & 0x3f);
			into[offset++] = 0x80 | (c & 0x3f);
		}
	}
	return offset;
}

/** `text` as a new UTF-8 byte array. */
export function utf8Encode(text: string): Uint8Array {
	const out = new Uint8Array(utf8Length(text));
	utf8Write(text, out, 0);
	return out;
}

/** Decodes bytes[start, end); invalid sequences become U+FFFD. */
export function utf8Read(bytes: Uint8Array, start = 0, end = bytes.length): string {
	let out = "";
	let i = start;
	while (i < end) {
		const b = bytes[i++];
		if (b < 0x80) {
			out += String.fromCharCode(b);
			continue;
		}
		let need = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
		if (need < 0 || i + need > end) {
			out += "\ufffd";
			continue;
		}
		let c = b & (need === 3 ? 0x07 : need === 2 ? 0x0f : 0x1f);
		let ok = true;
		for (let k = 0; k < need; k++) {
			const n = bytes[i + k];
			if ((n & 0xc0) !== 0x80) { ok = false; break; }
			c = (c << 6) | (n & 0x3f);
		}
		if (!ok || (need === 2 && c < 0x800) || (need === 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff)) {
			out += "\ufffd";
			continue;
		}
		i += need;
		out += String.fromCodePoint(c);
	}
	return out;
}

/** Compares bytes[start, end) with an ASCII/UTF-8 string without decoding it. */
export function utf8Equals(bytes: Uint8Array, start: number, end: number, text: string): boolean {
	if (end - start !== text.length) return utf8Read(bytes, start, end) === text;
	for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
	return true;
}
