// @endo/bundle-source imports this by name; only its .mts/.cts parsers call it, and
// nothing in this project bundles TypeScript through bundle-source (esbuild does).
export function transformSync() {
	throw new Error("amaro is not installed (host-sim/vendor/amaro-absent): @endo/bundle-source cannot strip TypeScript here");
}
