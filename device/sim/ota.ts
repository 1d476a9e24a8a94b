// "ota" for the desktop simulator: it runs one image, never on trial; a rollback can only
// restart (and the simulator cannot even do that: device/sim/restart says so).
import restart from "restart";

export function pendingVerify(): boolean {
	return false;
}
export function markValid() {}
export function rollback() {
	restart();
}
export function runningSlot(): string {
	return "mcsim";
}
