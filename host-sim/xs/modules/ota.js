// The firmware's native "ota" module (device/native/ota.c on the ESP32: ESP-IDF's app
// rollback, CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), on the simulated flash (host-sim/storage.js):
//   pendingVerify(): the running image booted for the first time after an update and has not
//     confirmed itself (esp_ota_get_state_partition(running) == ESP_OTA_IMG_PENDING_VERIFY);
//   markValid(): confirm it (esp_ota_mark_app_valid_cancel_rollback): it stays the boot image;
//   rollback(): mark it invalid and reset into the previous image
//     (esp_ota_mark_app_invalid_rollback_and_reboot); it does not return, unless there is no
//     valid image to go back to: then it throws "rollback failed" (ESP_ERR_OTA_ROLLBACK_FAILED);
//   runningSlot(): the label of the running app slot, "ota_0" or "ota_1".
// A reset before markValid() boots the previous image (the bootloader marks the pending one aborted).
import { call, host } from "../runtime.js";
import { block } from "./blocking.js";
import restart from "./restart.js";

export function pendingVerify() {
	return call({ op: "ota.state" }).header.state === "pending";
}

export function markValid() {
	const { header } = call({ op: "ota.markValid" });
	block(header.ms);
}

export function rollback() {
	if (host.restarting) return;
	const { header } = call({ op: "ota.rollback" });
	block(header.ms);
	if (header.failed) throw new Error(header.failed);
	restart();
}

export function runningSlot() {
	return call({ op: "ota.state" }).header.running;
}

export default Object.freeze({ pendingVerify, markValid, rollback, runningSlot });
