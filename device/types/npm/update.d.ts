// ECMA-419 embedded:storage/flash and embedded:update as Moddable SDK 8.2's typings declare
// them (typings/embedded/storage/flash.d.ts, typings/embedded/update.d.ts): @moddable/typings
// 5.6 has neither.

declare module "embedded:storage/flash" {
	export interface FlashOpenOptions {
		path: string;
		mode?: "r" | "r+";
	}
	export interface FlashStatus {
		size: number;
		blockLength: number;
		blocks: number;
		writeAlign: number;
		eraseValue: number;
	}
	export class Flash {
		close(): void;
		eraseBlock(start: number, end?: number): void;
		read(byteLength: number, byteOffset: number): ArrayBuffer;
		read(buffer: ArrayBufferLike | ArrayBufferView, byteOffset: number): number;
		write(buffer: ArrayBufferLike | ArrayBufferView, byteOffset: number): void;
		status(): FlashStatus;
		format: "buffer";
	}
	const FlashStorage: {
		open(options: FlashOpenOptions): Flash;
		[Symbol.iterator](): IterableIterator<string>;
	};
	export default FlashStorage;
}

declare module "embedded:update" {
	import type { Flash } from "embedded:storage/flash";
	export interface UpdateOpenOptions {
		partition: Flash;
		mode?: "a" | "w";
		byteLength?: number;
	}
	export interface Updater {
		close(): void;
		complete(): void;
		write(bytes: ArrayBufferLike | ArrayBufferView): void;
		write(bytes: ArrayBufferLike | ArrayBufferView, byteOffset: number): void;
		format: "buffer";
	}
	const Update: {
		open(options: UpdateOpenOptions): Updater;
	};
	export default Update;
}
