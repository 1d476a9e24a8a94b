// "ota" on the ESP32: ESP-IDF's app rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), which
// Moddable has no JavaScript for. A new image boots PENDING_VERIFY; markValid() confirms
// it, rollback() marks it invalid and reboots into the previous one (it does not return).
// Host functions in ota.c; host-sim provides the same module name.
export function pendingVerify() @ "xs_ota_pending_verify";
export function markValid() @ "xs_ota_mark_valid";
export function rollback() @ "xs_ota_rollback";
export function runningSlot() @ "xs_ota_running_slot";
