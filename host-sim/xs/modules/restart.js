// Moddable's "restart" module (modules/base/restart): esp_restart() on the ESP32. It does
// not return there; here the firmware's current callback finishes, no timer fires after
// it, and Node reboots the worker with flash intact, as a reset does.
import { host, emit } from "../runtime.js";

export default function restart() {
	if (host.restarting) return;
	host.restarting = true;
	host.yielded = true;
	emit({ ev: "restart" });
}
