// Moddable's modules/crypt/etc/rng (host functions), which the SDK's typings lack.
declare module "rng" {
	const RNG: { get(n: number): ArrayBuffer };
	export default RNG;
}
