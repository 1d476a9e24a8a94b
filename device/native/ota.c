// The host functions behind device/native/ota.js on the ESP32 (ESP-IDF app rollback).
#include "xsmc.h"
#include "esp_ota_ops.h"

void xs_ota_pending_verify(xsMachine *the)
{
	esp_ota_img_states_t state;
	const esp_partition_t *running = esp_ota_get_running_partition();
	xsmcSetBoolean(xsResult, running && esp_ota_get_state_partition(running, &state) == ESP_OK && state == ESP_OTA_IMG_PENDING_VERIFY);
}

void xs_ota_mark_valid(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
	if (err != ESP_OK) xsUnknownError("mark valid failed");
}

void xs_ota_rollback(xsMachine *the)
{
	esp_ota_mark_app_invalid_rollback_and_reboot();
	// returns only when there is no previous image to go back to
	xsUnknownError("rollback failed");
}

void xs_ota_running_slot(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	xsmcSetString(xsResult, running ? (char *)running->label : "");
}
