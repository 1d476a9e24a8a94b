// "embedded:storage/flash" for the desktop simulator: mcsim has no flash partitions, so
// opening one fails as it does on a device without that partition (a firmware update gets
// Result 2, not enough flash).
class Flash {
	close() {}
	eraseBlock(_start: number, _end?: number) {
		throw new Error("can't find partition");
	}
	read(byteLength: number, byteOffset: number): ArrayBuffer;
	read(buffer: ArrayBufferLike | ArrayBufferView, byteOffset: number): number;
	read(_buffer: number | ArrayBufferLike | ArrayBufferView, _offset: number): ArrayBuffer | number {
		throw new Error("can't find partition");
	}
	write(_buffer: ArrayBufferLike | ArrayBufferView, _offset: number) {
		throw new Error("can't find partition");
	}
	status(): { size: number; blockLength: number; blocks: number; writeAlign: number; eraseValue: number } {
		throw new Error("can't find partition");
	}
}

const FlashStorage = {
	open(_options: { path: string; mode?: "r" | "r+" }): Flash {
		throw new Error("can't find partition");
	},
	*[Symbol.iterator]() {},
};

export default FlashStorage;
export type { Flash };
