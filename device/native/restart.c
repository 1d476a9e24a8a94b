// The host function behind device/native/restart.js on the ESP32.
#include "xsmc.h"
#include "esp_system.h"

void xs_restart(xsMachine *the)
{
	esp_restart();
}
