// Execute arguments (LwM2M Core TS 1.1 §5.4.5): a comma-separated list of single-digit
// argument numbers, each optionally with a quoted value, e.g. 0='a',1,2='45'.
//   arglist = arg *( "," arg ); arg = DIGIT [ "=" "'" *CHAR "'" ]
// CHAR is printable ASCII except the quote and backslash; the space is let through,
// as values such as URLs with spaces are what people type.
import { ValueError } from "./values.js";

const ARG = /^([0-9])(?:='([\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]*)')?$/;

/** "0='a',1" -> [{id: 0, value: "a"}, {id: 1}]; "" -> []. Throws ValueError. */
export function parseExecuteArgs(text) {
	if (text === undefined || text === null || text === "") return [];
	if (typeof text !== "string") throw new ValueError("execute arguments must be text");
	const args = [];
	// split on commas outside quotes
	let current = "";
	let quoted = false;
	for (const c of text) {
		if (c === "'") quoted = !quoted;
		if (c === "," && !quoted) {
			args.push(current);
			current = "";
		} else current += c;
	}
	if (quoted) throw new ValueError(`execute arguments ${JSON.stringify(text)}: unterminated quote`);
	args.push(current);
	return args.map((arg) => {
		const m = ARG.exec(arg);
		if (!m) throw new ValueError(`execute arguments ${JSON.stringify(text)}: ${JSON.stringify(arg)} is not digit or digit='value' (e.g. 0='a',1)`);
		return m[2] === undefined ? { id: Number(m[1]) } : { id: Number(m[1]), value: m[2] };
	});
}
