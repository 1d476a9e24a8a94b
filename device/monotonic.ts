// The clock every interval in the firmware runs on: milliseconds since boot, never set,
// never wrapped. The wall clock (Date) is the RTC a server may write (Device /3/0/13) or
// SNTP may step; a minimum relay time, a retransmission or a registration lifetime
// measured on it would stretch or vanish with the write. Date stays only for what a
// server reads as time (Current Time, timestamps in reports).
//
// Moddable's Time.ticks on the ESP32 is the FreeRTOS tick count in ms as a uint32
// stored in an int32 (xs_time_ticks: xsmcSetInteger(modMilliseconds())): negative after
// 24.8 days, back to 0 after 49.7. Here each reading's difference from the last is taken
// modulo 2^32 and added up, so the result keeps counting; that holds while readings come
// less than 49.7 days apart, which every periodic task in the firmware guarantees.

import Time from "time";

const WRAP = 4294967296;

// read at the first call, not in the module body: a preloaded body runs at build time
let last = NaN;
let elapsed = 0;

/** Milliseconds since boot on the monotonic clock. */
export function monotonic(): number {
	const t = Time.ticks;
	if (last !== last) last = t - (t >= 0 ? t : t + WRAP); // the first reading counts from boot
	let d = t - last;
	if (d < 0) d += WRAP; // the tick counter went past 2^31 (int32) or 2^32 (uint32)
	last = t;
	elapsed += d;
	return elapsed;
}
