// "restart" for the desktop simulator: a simulator cannot reboot itself; it says so.
export default function restart() {
	trace("restart requested: restart the simulator to reboot\n");
}
