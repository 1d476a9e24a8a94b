// Moddable's "time" module: ticks since boot and the RTC offset that Date reads.
import { host } from "../runtime.js";

const Time = {
	get ticks() { return host.now - host.bootAt; },
	set(seconds) {
		if (typeof seconds !== "number" || !Number.isFinite(seconds)) throw new RangeError("invalid time");
		host.rtcOffset = seconds * 1000 - host.now;
	},
	timezone: 0,
	dst: 0,
	delta(start, end) { return (end ?? Time.ticks) - start; },
	get microseconds() { return Math.round((host.now - host.bootAt) * 1000); },
};

export default Time;
