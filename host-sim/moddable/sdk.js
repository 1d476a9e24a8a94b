// Locates the user's Moddable SDK (MODDABLE, as Moddable's docs have users set it) and the
// environment its tools run in. mcconfig's makefiles call tsc by name: the project's
// TypeScript (node_modules/.bin, 6.x: the SDK typings need >= 6) must come first on PATH.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The SDK release the firmware is built and tested with. */
export const SUPPORTED_SDK = "8.2.3";
export const NOT_SET = "MODDABLE is not set: run bash .ci/moddable-sdk.sh";

/** { moddable, bin, env } or throws an Error saying what to do. */
export function locateSdk(environment = process.env) {
	const moddable = environment.MODDABLE;
	if (!moddable) throw new Error(NOT_SET);
	const bin = path.join(moddable, "build", "bin", "lin", "release");
	if (!fs.existsSync(path.join(bin, "mcconfig")))
		throw new Error(`MODDABLE=${moddable} has no ${path.join(bin, "mcconfig")}: build the SDK's tools (cd $MODDABLE/build/makefiles/lin && make, with $MODDABLE/build/bin/lin/release on PATH) or run bash .ci/moddable-sdk.sh`);
	const env = {
		...environment,
		MODDABLE: moddable,
		PATH: [path.join(root, "node_modules", ".bin"), environment.PATH ?? "", bin].filter(Boolean).join(path.delimiter),
	};
	return { moddable, bin, env };
}
