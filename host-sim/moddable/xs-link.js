// Reads the program xsl linked (mc.xs.c): which modules it preloaded (their bodies ran at
// link time, so the script table keeps no byte code for them), the creation values it was
// linked with, and an estimate of its read-only size on the ESP32.
import fs from "node:fs";

const CREATION_FIELDS = ["chunk.initial", "chunk.incremental", "heap.initial", "heap.incremental", "stack",
	"keys.initial", "keys.incremental", "keys.name", "keys.symbol", "parser.buffer", "parser.table", "static"];

// txSlot is four 32-bit words on the ESP32 (Xtensa, 32-bit pointers).
const SLOT_BYTES = 16;
const POINTER_BYTES = 4;

const cStringBytes = (literal) => literal.replace(/\\(x[0-9a-fA-F]+|[0-7]{1,3}|.)/g, "_").length + 1;

export function readLinkedProgram(file) {
	const c = fs.readFileSync(file, "utf8");
	const scripts = [];
	for (const m of c.matchAll(/^\t\{ [^,]+, NULL, 0, (NULL|\(txS1\*\)gxCode\d+), (\d+), NULL, 0, "([^"]+)", \{ XS_MAJOR_VERSION/gm))
		scripts.push({ name: m[3], preloaded: m[1] === "NULL", codeBytes: Number(m[2]) });
	const define = (name) => {
		const m = c.match(new RegExp(`^#define ${name} (\\d+)$`, "m"));
		return m ? Number(m[1]) : 0;
	};
	const prep = c.match(/static const txPreparation gxPreparation = \{[\s\S]*?\n\t\{ ([\d, ]+)\},\n\t"([^"]*)"/);
	if (!prep || !scripts.length) throw new Error(`${file}: not a program linked by xsl (no preparation or script table)`);
	const values = prep[1].split(",").map((v) => Number(v.trim()));
	const creation = Object.fromEntries(CREATION_FIELDS.map((k, i) => [k, values[i]]));
	let strings = 0;
	for (const m of c.matchAll(/\.(?:string|key = \{) "((?:[^"\\]|\\.)*)"/g)) strings += cStringBytes(m[1]);
	let code = 0;
	for (const m of c.matchAll(/^static const txU1 gxCode\d+\[(\d+)\] = \{/gm)) code += Number(m[1]);
	const romBytes = (define("mxHeapCount") + define("mxStackCount")) * SLOT_BYTES
		+ (define("mxKeysCount") + define("mxNamesCount") + define("mxSymbolsCount")) * POINTER_BYTES
		+ define("mxRegExpCount") * 4 + code + strings;
	return { scripts, preloaded: scripts.filter((s) => s.preloaded).map((s) => s.name), creation, main: prep[2], romBytes };
}
