// node:util parseArgs with negative numbers as values. parseArgs reads "-0.5" as an
// option ("Unknown option '-0.5'") and refuses "--outside -5" as ambiguous, yet a
// thermostat's values are often below zero (an offset, an outside temperature). Here a
// negative number is a value: of the option before it when that option takes one, else
// a positional. Anything after "--" is left to parseArgs as it is.
import { parseArgs } from "node:util";

const NEGATIVE = /^-(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const PLACEHOLDER = "\u0000negative:";

/** parseArgs(config), but "-5", "-0.5", "-1e3" are values, never options. */
export function parseArgsWithNegatives(config) {
	const { args, options = {} } = config;
	const shorts = new Map(Object.entries(options).filter(([, o]) => o.short).map(([name, o]) => [o.short, name]));
	const takesValue = (token) => {
		if (token.startsWith("--")) return !token.includes("=") && options[token.slice(2)]?.type === "string";
		if (token.length === 2 && token[0] === "-") return options[shorts.get(token[1])]?.type === "string";
		return false;
	};
	const out = [];
	const negatives = [];
	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		if (a === "--") {
			out.push(...args.slice(i));
			break;
		}
		if (takesValue(a) && i + 1 < args.length && NEGATIVE.test(args[i + 1])) {
			const name = a.startsWith("--") ? a.slice(2) : shorts.get(a[1]);
			out.push(`--${name}=${args[++i]}`);
		} else if (takesValue(a) && i + 1 < args.length) {
			out.push(a, args[++i]); // its value, whatever it looks like, as parseArgs would take it
		} else if (NEGATIVE.test(a)) {
			out.push(`${PLACEHOLDER}${negatives.length}`);
			negatives.push(a);
		} else out.push(a);
	}
	const restore = (text) => (typeof text === "string" && text.startsWith(PLACEHOLDER) ? negatives[Number(text.slice(PLACEHOLDER.length))] : text);
	let parsed;
	try {
		parsed = parseArgs({ ...config, args: out });
	} catch (e) {
		e.message = e.message.replace(new RegExp(`${PLACEHOLDER}(\\d+)`, "g"), (_, n) => negatives[Number(n)]);
		throw e;
	}
	return { ...parsed, positionals: parsed.positionals.map(restore) };
}
