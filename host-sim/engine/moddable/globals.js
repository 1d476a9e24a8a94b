// What xsnap's worker gives its programs and host-sim's host layer expects, on the XS of the
// Moddable SDK (which has TextEncoder/TextDecoder only as opt-in modules): UTF-8 through XS's
// own ArrayBuffer.fromString and String.fromArrayBuffer. issueCommand, gc and performance.now
// are host functions of main.c. Runs first, before host-sim/xs/host.js is loaded.

class TextEncoder {
	get encoding() { return "utf-8"; }
	encode(string = "") {
		return new Uint8Array(ArrayBuffer.fromString(String(string)));
	}
}

class TextDecoder {
	get encoding() { return "utf-8"; }
	decode(data) {
		if (data === undefined) return "";
		if (data instanceof ArrayBuffer) return String.fromArrayBuffer(data);
		const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
		return String.fromArrayBuffer(view.slice().buffer);
	}
}

if (!globalThis.TextEncoder) Object.defineProperty(globalThis, "TextEncoder", { value: TextEncoder, writable: true, configurable: true });
if (!globalThis.TextDecoder) Object.defineProperty(globalThis, "TextDecoder", { value: TextDecoder, writable: true, configurable: true });
