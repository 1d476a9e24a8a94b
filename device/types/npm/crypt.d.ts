// Moddable's crypt, hmac and rng modules (modules/crypt), which @moddable/typings lacks.
// Only what the firmware uses, with the ESP32 build's behaviour.
declare module "crypt" {
	type Data = ArrayBuffer | ArrayBufferView | string;
	export class Digest {
		constructor(type: "MD5" | "SHA1" | "SHA224" | "SHA256" | "SHA384" | "SHA512");
		readonly blockSize: number;
		readonly outputSize: number;
		write(data: Data): void;
		update(data: Data): void;
		close(): ArrayBuffer;
		reset(): void;
		process(...data: Data[]): ArrayBuffer;
	}
	export class BlockCipher {
		constructor(cipher: "AES", key: ArrayBuffer | ArrayBufferView);
		readonly blockSize: number;
		readonly keySize: number;
		encrypt(data: ArrayBuffer | ArrayBufferView, result?: ArrayBuffer | ArrayBufferView): ArrayBuffer;
		decrypt(data: ArrayBuffer | ArrayBufferView, result?: ArrayBuffer | ArrayBufferView): ArrayBuffer;
	}
	export class Mode {
		constructor(mode: "CBC" | "CTR" | "ECB", cipher: BlockCipher, iv?: ArrayBuffer | ArrayBufferView, pad?: boolean);
		encrypt(data: ArrayBuffer | ArrayBufferView, result?: ArrayBuffer | ArrayBufferView, count?: number): ArrayBuffer;
		decrypt(data: ArrayBuffer | ArrayBufferView, result?: ArrayBuffer | ArrayBufferView, count?: number): ArrayBuffer;
		setIV(iv: ArrayBuffer | ArrayBufferView): void;
	}
	const crypt: { Digest: typeof Digest; BlockCipher: typeof BlockCipher; Mode: typeof Mode };
	export default crypt;
}

declare module "hmac" {
	import type { Digest } from "crypt";
	export default class HMAC {
		constructor(digest: Digest, key: ArrayBuffer | ArrayBufferView, bits?: number);
		update(...data: (ArrayBuffer | ArrayBufferView)[]): void;
		close(): ArrayBuffer;
		reset(): void;
		process(...data: (ArrayBuffer | ArrayBufferView)[]): ArrayBuffer;
	}
}

declare module "rng" {
	const RNG: { get(n: number): ArrayBuffer };
	export default RNG;
}
