// Moddable's crypt module (modules/crypt) as the firmware uses it: the SDK's typings
// (8.2.1) declare only part of Digest. manifests/typings.json maps "crypt" here ahead of
// the SDK's typings, so this is the one declaration mcconfig's tsc sees.
declare module "crypt" {
	type Data = ByteBuffer | string;
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
		constructor(cipher: "AES", key: ByteBuffer);
		readonly blockSize: number;
		readonly keySize: number;
		encrypt(data: ByteBuffer, result?: ByteBuffer): ArrayBuffer;
		decrypt(data: ByteBuffer, result?: ByteBuffer): ArrayBuffer;
	}
	export class Mode {
		constructor(mode: "CBC" | "CTR" | "ECB", cipher: BlockCipher, iv?: ByteBuffer, pad?: boolean);
		encrypt(data: ByteBuffer, result?: ByteBuffer, count?: number): ArrayBuffer;
		decrypt(data: ByteBuffer, result?: ByteBuffer, count?: number): ArrayBuffer;
		setIV(iv: ByteBuffer): void;
	}
	const crypt: { Digest: typeof Digest; BlockCipher: typeof BlockCipher; Mode: typeof Mode };
	export default crypt;
}
