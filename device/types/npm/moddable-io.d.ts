// Declarations of three ECMA-419 modules as Moddable's ESP32 build implements them.
//
// @moddable/typings 5.6 declares them with gaps: no close() on UDP and I2C, read() of
// UDP never undefined, and an SMBus constructor typed as a tuple (it accepts no options
// object at all). Merging cannot patch them: each class there is module-local behind
// `export default`, which an augmentation cannot reach. So device/tsconfig.json leaves
// those three typings files out and these stand in, no looser than the originals.

declare module "embedded:io/socket/udp" {
	import type { Buffer } from "embedded:io/_common";

	type Datagram = ArrayBuffer & { address: string; port: number };

	class UDP {
		constructor(options: {
			port?: number;
			address?: string;
			onReadable?: (this: UDP, packets: number) => void;
			onError?: (this: UDP) => void;
			format?: "buffer";
			target?: any;
		});
		/** Sends one datagram; address must be an IP literal. */
		write(buffer: Buffer, address: string, port: number): void;
		/** One whole datagram, or undefined when none is pending. */
		read(): Datagram | undefined;
		close(): void;
		get format(): "buffer";
		set format(value: "buffer");
		target?: any;
	}
	export default UDP;
}

declare module "embedded:io/i2c" {
	import type { Buffer, PinSpecifier, PortSpecifier } from "embedded:io/_common";

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
		/** Throws when the addressed device does not acknowledge. */
		write(buffer: Buffer, stop?: boolean): void;
		read(byteLength: number, stop?: boolean): ArrayBuffer;
		read(buffer: Buffer, stop?: boolean): void;
		close(): void;
		get format(): "buffer";
		set format(value: "buffer");
		target?: any;
	}
	export default I2C;
}

declare module "embedded:io/smbus" {
	import I2C, { type I2COptions } from "embedded:io/i2c";
	import type { Buffer } from "embedded:io/_common";

	class SMBus extends I2C {
		constructor(options: I2COptions & { stop?: boolean });
		readUint8(register: number): number;
		writeUint8(register: number, value: number): void;
		/** Little-endian unless bigEndian is true. */
		readUint16(register: number, bigEndian?: boolean): number;
		writeUint16(register: number, value: number, bigEndian?: boolean): void;
		readBuffer(register: number, byteLength: number): ArrayBuffer;
		readBuffer(register: number, buffer: Buffer): void;
		writeBuffer(register: number, buffer: Buffer): void;
		readQuick(): void;
		writeQuick(): void;
		receiveByte(): number;
		sendByte(command: number): void;
	}
	export default SMBus;
}
