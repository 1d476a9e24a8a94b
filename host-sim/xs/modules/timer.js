// Moddable's "timer" module on the simulated clock, with its ESP32 semantics: the
// callback runs with `this` = globalThis and the timer as argument; repeats do not
// drift; a one-shot is freed once its callback has returned. As modTimer.c (SDK 8.2) does,
// clearing a freed timer does nothing, and scheduling one throws (its host data is gone).
import { host, schedule, unschedule, invoke, atBoot } from "../runtime.js";
import { closedError } from "./closed.js";

class HostTimer {
	constructor(callback, token) {
		this.callback = callback;
		this.token = token;
		this.repeat = 0; // ms; 0 = one-shot; -1 = unscheduled but kept
		this.due = 0;
		this.seq = 0;
		this.slot = -1;
		this.freed = false;
	}
	fire() {
		if (this.repeat > 0) schedule(this, this.due + this.repeat);
		invoke(this.callback, globalThis, this.token);
		if (this.repeat === 0 && !this.freed && !this.scheduled()) this.free();
	}
	scheduled() {
		return this.slot >= 0;
	}
	free() {
		this.freed = true;
		unschedule(this);
		entries.delete(this.token);
	}
}

let entries; // the device holds an opaque Timer, as on Moddable
atBoot.push(() => { entries = new WeakMap(); });

function ms(value) {
	const n = Math.trunc(Number(value)) || 0;
	return n < 0 ? 0 : n;
}

class Timer {
	static set(callback, interval, repeat) {
		if (typeof callback !== "function") throw new TypeError("callback is not a function");
		const token = Object.create(Timer.prototype);
		const entry = new HostTimer(callback, token);
		entries.set(token, entry);
		entry.repeat = ms(repeat);
		schedule(entry, host.now + ms(interval));
		return token;
	}
	static repeat(callback, interval) {
		return Timer.set(callback, interval, interval);
	}
	static schedule(timer, interval, repeat) {
		const entry = lookup(timer);
		if (interval === undefined) { // unschedule; the timer stays valid for a later schedule()
			entry.repeat = -1;
			unschedule(entry);
			return;
		}
		entry.repeat = ms(repeat);
		schedule(entry, host.now + ms(interval));
	}
	static clear(timer) {
		if (typeof timer !== "object" || timer === null) return;
		entries.get(timer)?.free();
	}
	static delay(milliseconds) {
		host.now += ms(milliseconds); // blocks on the device: no timer fires meanwhile
	}
}

function lookup(timer) {
	if (typeof timer !== "object" || timer === null) throw new SyntaxError("C: xsGetHostData: no host object");
	const entry = entries.get(timer);
	if (!entry) throw closedError();
	return entry;
}

export default Timer;
