// Moddable's modules/crypt/etc/hmac, which the SDK's typings lack.
declare module "hmac" {
	import type { Digest } from "crypt";
	export default class HMAC {
		constructor(digest: Digest, key: ByteBuffer, bits?: number);
		update(...data: ByteBuffer[]): void;
		close(): ArrayBuffer;
		reset(): void;
		process(...data: ByteBuffer[]): ArrayBuffer;
	}
}
