// embedded:io/smbus as Moddable's ESP32 build implements it: the SDK's typings (8.2.1) type
// its options as I2C's constructor-parameter tuple, so no options object type-checks; mapped
// here ahead of them (manifests/typings.json).
declare module "embedded:io/smbus" {
	import I2C, { type I2COptions } from "embedded:io/i2c";

	class SMBus extends I2C {
		constructor(options: I2COptions & { stop?: boolean });
		readUint8(register: number): number;
		writeUint8(register: number, value: number): void;
		/** Little-endian unless bigEndian is true. */
		readUint16(register: number, bigEndian?: boolean): number;
		writeUint16(register: number, value: number, bigEndian?: boolean): void;
		readBuffer(register: number, byteLength: number): ArrayBuffer;
		readBuffer(register: number, buffer: ByteBuffer): void;
		writeBuffer(register: number, buffer: ByteBuffer): void;
		readQuick(): void;
		writeQuick(): void;
		receiveByte(): number;
		sendByte(command: number): void;
	}
	export default SMBus;
}
