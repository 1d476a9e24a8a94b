// The firmware's native "ota" (device/native/ota.c: ESP-IDF's app rollback); host-sim and
// device/sim provide the same module name.
declare module "ota" {
	/** the running image booted for the first time and is not confirmed yet */
	export function pendingVerify(): boolean;
	/** confirm the running image (esp_ota_mark_app_valid_cancel_rollback) */
	export function markValid(): void;
	/** mark the running image invalid and reboot into the previous one; does not return */
	export function rollback(): void;
	/** the running app partition's label: "ota_0", "ota_1" */
	export function runningSlot(): string;
}
