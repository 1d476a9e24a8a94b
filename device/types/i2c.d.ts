// embedded:io/i2c as Moddable's ESP32 build implements it: the SDK's typings (8.2.1) lack
// close() and a named options type; mapped here ahead of them (manifests/typings.json).
declare module "embedded:io/i2c" {
	import type { PinSpecifier, PortSpecifier } from "embedded:io/_common";

	export interface I2COptions {
		data: PinSpecifier;
		clock: PinSpecifier;
		hz: number;
		address: number;
		port?: PortSpecifier;
		timeout?: number;
		format?: "buffer";
		target?: any;
	}

	class I2C {
		constructor(options: I2COptions);
		readonly resolution: number;
		/** Throws when the addressed device does not acknowledge. */
		write(buffer: ByteBuffer, stop?: boolean): void;
		read(byteLength: number, stop?: boolean): ArrayBuffer;
		read(buffer: ByteBuffer, stop?: boolean): number;
		close(): void;
		get format(): "buffer";
		set format(value: "buffer");
		target?: any;
	}
	export default I2C;
}
