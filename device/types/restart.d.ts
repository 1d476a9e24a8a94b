// The firmware's native "restart" (device/native/restart.c: esp_restart(), which does not
// return); host-sim and device/sim provide the same module name.
declare module "restart" {
	export default function restart(): void;
}
