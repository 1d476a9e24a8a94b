// Reading the XS heap of a worker from an xsnap snapshot: a snapshot is a tree of atoms
// (u32 big-endian size including the 8-byte header, 4-character tag); BLOC holds the
// live chunks (bytes) and HEAP the live slots (32 bytes each on a 64-bit host; the
// ESP32's XS has 16-byte slots, so slot counts, not slot bytes, carry over).

export const SLOT_BYTES_HOST = 32;
export const SLOT_BYTES_ESP32 = 16;

export function parseSnapshot(bytes) {
	const atoms = {};
	const walk = (start, end) => {
		let o = start;
		while (o + 8 <= end) {
			const size = bytes.readUInt32BE(o);
			const tag = bytes.toString("latin1", o + 4, o + 8);
			if (size < 8) break;
			if (tag === "XS_M") walk(o + 8, Math.min(end, o + size));
			else atoms[tag] = size - 8;
			o += size;
		}
	};
	walk(0, bytes.length);
	if (atoms.HEAP === undefined || atoms.BLOC === undefined) throw new Error("heap: snapshot has no HEAP/BLOC atoms");
	return { slots: atoms.HEAP / SLOT_BYTES_HOST, chunkBytes: atoms.BLOC };
}

export async function measureWorker(worker) {
	const parts = [];
	for await (const chunk of worker.makeSnapshotStream("heap")) parts.push(chunk);
	return parseSnapshot(Buffer.concat(parts));
}
