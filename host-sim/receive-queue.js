// The receive queue of one device socket, as lwIP keeps it on the ESP32: datagrams that
// arrived and that the application task has not finished with yet. lwIP drops what
// arrives while it is full; it never makes the sender wait. host-sim runs device code
// in zero simulated time, so the application's share is modelled: each datagram keeps
// the task busy for SERVICE_MS of simulated time, and one counts as queued until that
// time has passed AND Node has handed it to the worker. The second condition bounds the
// backlog in Node in real time, when the worker is slower than the modelled chip: what
// the worker cannot take is dropped on arrival, as the chip would, never delayed.
// Pure JavaScript: the XS host layer imports the queue length too.

/** packets a socket holds for read(): past this lwIP runs out of pbufs and drops */
export const RECEIVE_QUEUE_PACKETS = 16;
/**
 * Simulated time the application takes per datagram (decode, answer): about what XS on a
 * 240 MHz ESP32 needs for a CoAP message and its reply; a flood above ~1,000 datagrams a
 * second fills the queue.
 */
export const SERVICE_MS = 1;

export class ReceiveQueue {
	constructor({ capacity = RECEIVE_QUEUE_PACKETS, serviceMs = SERVICE_MS } = {}) {
		this.capacity = capacity;
		this.serviceMs = serviceMs;
		this.held = []; // {until, done}, in arrival order (both fields grow along it)
		this.busyUntil = -Infinity;
	}
	/**
	 * A datagram arrives at simulated time `now`: undefined when the queue is full (dropped),
	 * else {at, entry}: when the application task takes it; call done(entry) once delivered.
	 */
	offer(now) {
		const held = this.held;
		while (held.length && held[0].done && held[0].until <= now) held.shift();
		if (held.length >= this.capacity) return undefined;
		const at = Math.max(now, this.busyUntil);
		const entry = { until: at + this.serviceMs, done: false };
		this.busyUntil = entry.until;
		held.push(entry);
		return { at, entry };
	}
	done(entry) {
		entry.done = true;
	}
	get length() {
		return this.held.length;
	}
}

/**
 * Counts of one recurring condition, reported once per period instead of once per event:
 * the first event of a quiet period gets its own line, the rest a summary at its end.
 */
export class PeriodicTally {
	/**
	 * @param clock the simulation's clock (now(), at())
	 * @param log (text) => void
	 * @param describe (count, periodMs, last) => text of the summary line
	 */
	constructor(clock, log, describe, periodMs = 10_000) {
		this.clock = clock;
		this.log = log;
		this.describe = describe;
		this.periodMs = periodMs;
		this.open = false;
		this.count = 0;
		this.total = 0;
		this.last = undefined;
	}
	/** One event; `first()` gives the line for an event that opens a period. */
	note(detail, first) {
		this.total++;
		if (!this.open) {
			this.open = true;
			this.log(first());
			this.clock.at(this.clock.now() + this.periodMs, () => this.flush());
			return;
		}
		this.count++;
		this.last = detail;
	}
	flush() {
		if (!this.open) return;
		this.open = false;
		if (this.count) this.log(this.describe(this.count, this.periodMs, this.last));
		this.count = 0;
		this.last = undefined;
	}
}
