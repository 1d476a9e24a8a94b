// Moddable's modules/base/restart (esp_restart() on the ESP32), which @moddable/typings lacks.
declare module "restart" {
	export default function restart(): void;
}
