// "embedded:update" for the desktop simulator: no OTA slot to write into (the firmware
// update's flash side reports "begin failed").
const Update = {
	open(_options: { partition: unknown; mode?: "a" | "w"; byteLength?: number }): { close(): void; complete(): void; write(bytes: ArrayBufferLike | ArrayBufferView): void } {
		throw new Error("begin failed");
	},
};
export default Update;
