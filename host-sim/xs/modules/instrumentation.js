// Moddable's "instrumentation" module, with the XS figures the ESP32 build reports, in
// bytes as on the chip: slots are 16 bytes on the 32-bit ESP32 (32 here), so the slot
// heap is the device's slot count times 16. Chunk bytes come from the last snapshot
// measurement Node made (at boot, or a later heap()), which a crank cannot redo.
import { call } from "../runtime.js";

const NAMES = [
	"Pixels Drawn", "Frames Drawn", "Network Bytes Read", "Network Bytes Written", "Network Sockets", "Timers", "Files",
	"Poco Display List Used", "Piu Command List Used", "Turns", "CPU 0", "CPU 1", "System Free Memory",
	"XS Slot Heap Used", "XS Chunk Heap Used", "XS Keys Used", "XS Garbage Collection Count", "XS Modules Loaded",
	"XS Stack Used", "XS Promises Settled",
];

const Instrumentation = Object.freeze({
	map(name) {
		const i = NAMES.indexOf(name);
		return i < 0 ? undefined : i + 1;
	},
	name(what) {
		return NAMES[what - 1];
	},
	get(what) {
		const name = NAMES[what - 1];
		if (name === undefined) return undefined;
		const figures = call({ op: "instrumentation" }).header;
		return figures[name];
	},
});

export default Instrumentation;
