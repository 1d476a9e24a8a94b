// The XS side of host-sim: the simulated clock and timer queue, the bridge to Node, and
// the dispatch of what Node delivers (datagrams, pin levels, model faults). It runs
// in the same xsnap worker as the device program, below the Moddable-shaped modules.
//
// Time is owned here, not by Node: device code reads one clock (Date, timer, Time.ticks)
// and Node only says "advance until t" or "deliver this at t". Everything a callback
// prints or changes is batched into the reply of the command that ran it.

import { pack, unpack } from "../frame.js";

// The engine's host functions, looked up at the first command rather than at load time: on
// the moddable engine this module is preloaded (run by xsl at link time, where neither
// exists); the first command is "boot", which removes `performance` after this has run.
let issue, perfNow;
function bindHost() {
	host.outbox = []; // not the one made at load: XS's JSON.stringify cannot walk an array of the archive ("read only value")
	issue = globalThis.issueCommand;
	perfNow = globalThis.performance.now.bind(globalThis.performance);
}
function realNow() { return perfNow(); } // wall clock, only to bound a crank

// How long one crank may run device callbacks before it hands control back to Node,
// well inside xsnap's metering limit (which plays the part of the ESP32 task watchdog).
const CRANK_BUDGET_MS = 40;

// Per-boot state of the host layer's modules (their Maps, Sets, buffers), made by the "boot"
// command: on the moddable engine these modules are preloaded, and what a module body made
// at link time lives in the archive, where a Map, a Set or a buffer is read-only.
export const atBoot = [];

export const host = {
	now: 0, // simulated wall-clock time, ms since the epoch
	bootAt: 0, // `now` at boot, for Time.ticks
	horizon: Infinity, // Node has an event due at this time: stop advancing there
	yielded: false, // a callback produced traffic Node must route before time moves on
	outbox: [],
	fatal: undefined,
	networkUp: undefined, // false while a firmware that uses Wi-Fi has no IP: UDP fails
	restarting: false, // restart() was called: no more timers until Node reboots the worker
	handlers: new Map(), // op -> function(header, payload) for commands from Node
	config: undefined,
};

/**
 * Synchronous request to Node (a UDP send, a preference write). Events queued so far go
 * with it, so that Node sees them in the order the device made them: a trace before the
 * datagram sent after it, as on the chip's serial console.
 */
export function call(header, payload) {
	if (host.outbox.length) {
		header.events = host.outbox;
		host.outbox = [];
	}
	const reply = unpack(issue(pack(header, payload).buffer));
	if (reply.header.horizon !== undefined) host.horizon = Math.min(host.horizon, reply.header.horizon);
	if (reply.header.error) throw new Error(reply.header.error);
	return reply;
}

/** Queue an event for Node; it leaves with the next call or the reply of the current command. */
export function emit(event) {
	event.at = host.now;
	host.outbox.push(event);
}

/** Run a device callback. An exception out of it is what resets an ESP32. */
export function invoke(callback, thisArg, arg) {
	if (host.fatal) return;
	try {
		callback.call(thisArg, arg);
	} catch (e) {
		host.fatal = { message: String(e?.message ?? e), name: e?.name, stack: e?.stack };
	}
}

// ---- timer queue: a binary heap ordered by due time, then by creation order
let sequence = 0;
const heap = [];

function before(a, b) {
	return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
function siftUp(i) {
	const item = heap[i];
	while (i > 0) {
		const parent = (i - 1) >> 1;
		if (!before(item, heap[parent])) break;
		heap[i] = heap[parent]; heap[i].slot = i;
		i = parent;
	}
	heap[i] = item; item.slot = i;
}
function siftDown(i) {
	const item = heap[i], n = heap.length;
	for (;;) {
		let child = 2 * i + 1;
		if (child >= n) break;
		if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
		if (!before(heap[child], item)) break;
		heap[i] = heap[child]; heap[i].slot = i;
		i = child;
	}
	heap[i] = item; item.slot = i;
}

export function schedule(entry, due) {
	if (entry.slot >= 0) unschedule(entry);
	entry.due = due;
	entry.seq = sequence++;
	heap.push(entry);
	siftUp(heap.length - 1);
}
export function unschedule(entry) {
	const i = entry.slot;
	if (!(i >= 0)) return;
	entry.slot = -1;
	const last = heap.pop();
	if (i < heap.length) {
		heap[i] = last; last.slot = i;
		siftDown(i);
		siftUp(last.slot);
	}
}
/** A timer of the host layer itself (not the device's): fn runs `ms` from now. */
export function after(ms, fn) {
	const entry = { due: 0, seq: 0, slot: -1, fire: fn };
	schedule(entry, host.now + ms);
	return entry;
}

export function nextDue() {
	return heap.length ? heap[0].due : undefined;
}

// Device code runs in zero simulated time. A timer that keeps rescheduling itself at the
// same instant would then stop the clock for good; on the chip its callbacks take time.
// So after this many firings at one instant, time moves on by a millisecond.
const FIRINGS_PER_INSTANT = 1000;
let instant = -1, firings = 0;

/** Fire due timers in order up to `until`; stop early for traffic, a fatal error or the crank budget. */
export function advance(until) {
	const started = realNow();
	host.yielded = false;
	if (host.restarting) return;
	for (;;) {
		if (host.now === instant) {
			if (++firings > FIRINGS_PER_INSTANT) { host.now += 1; firings = 0; }
		} else { instant = host.now; firings = 0; }
		const limit = Math.min(until, host.horizon);
		if (!heap.length || heap[0].due > limit) {
			if (limit > host.now) host.now = limit;
			return;
		}
		const entry = heap[0];
		if (entry.due > host.now) host.now = entry.due;
		unschedule(entry);
		entry.fire();
		if (host.fatal || host.restarting || host.yielded || realNow() - started > CRANK_BUDGET_MS) return;
	}
}

/** Node asked to move time; nothing due before `to` may be skipped. */
export function setTime(to) {
	if (to > host.now) host.now = to;
}

// ---- commands from Node
globalThis.handleCommand = function (buffer) {
	if (!issue) bindHost();
	const { header, payload } = unpack(buffer);
	host.horizon = header.horizon ?? Infinity;
	let result;
	const handler = host.handlers.get(header.op);
	if (!handler) result = { error: `host-sim: unknown command "${header.op}"` };
	else {
		try {
			// Node has already advanced us to `at` (it knows our next due time from every reply)
			if (header.at !== undefined) setTime(header.at);
			result = handler(header, payload) ?? {};
		} catch (e) {
			result = { error: String(e?.message ?? e) };
		}
	}
	result.now = host.now;
	result.next = nextDue();
	if (host.outbox.length) { result.events = host.outbox; host.outbox = []; }
	if (host.fatal) result.fatal = host.fatal;
	return pack(result).buffer;
};

host.handlers.set("advance", (header) => {
	advance(header.until);
	return {};
});
host.handlers.set("ping", () => ({}));
host.handlers.set("gc", () => { gc(); return {}; });
