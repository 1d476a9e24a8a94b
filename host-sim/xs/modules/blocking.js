// Time a blocking host call takes on the chip (a flash erase, a page program, a read), passed
// on the device's clock as Timer.delay does: the application task waits, no timer fires
// meanwhile, datagrams queue in lwIP. Fractions of a millisecond add up across calls.
import { host } from "../runtime.js";

let owed = 0; // ms not yet passed on (the clock moves in whole milliseconds)

export function block(ms) {
	if (!(ms > 0)) return;
	owed += ms;
	const whole = Math.floor(owed);
	owed -= whole;
	host.now += whole;
}
