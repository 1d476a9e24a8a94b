// "restart" on the ESP32: esp_restart(), which does not return. A host function, because
// Moddable has no JavaScript module for it; host-sim provides the same module name.
export default function restart() @ "xs_restart";
