// The simulation's clock and its queue of Node-side events (datagram deliveries,
// scheduled test actions). Two modes, chosen once:
//   virtual - time jumps from one due event to the next; hours pass in seconds. Only
//             in-process peers can join (the simulated network, models, test code),
//             since anything with its own wall-clock timers would see time stand still.
//   real    - simulated time follows the wall clock, optionally scaled by `speed`;
//             external peers on real sockets can join.
// Devices keep their own timer queues in XS; the clock asks each for its next due time.

export class EventQueue {
	constructor() {
		this.heap = [];
		this.seq = 0;
	}
	push(at, fn) {
		const item = { at, seq: this.seq++, fn };
		const h = this.heap;
		h.push(item);
		let i = h.length - 1;
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (earlier(h[p], item)) break;
			h[i] = h[p];
			i = p;
		}
		h[i] = item;
		return item;
	}
	peek() {
		return this.heap[0];
	}
	pop() {
		const h = this.heap;
		const top = h[0];
		const last = h.pop();
		if (h.length) {
			let i = 0;
			for (;;) {
				let c = 2 * i + 1;
				if (c >= h.length) break;
				if (c + 1 < h.length && earlier(h[c + 1], h[c])) c++;
				if (earlier(last, h[c])) break;
				h[i] = h[c];
				i = c;
			}
			h[i] = last;
		}
		return top;
	}
	get size() {
		return this.heap.length;
	}
}
function earlier(a, b) {
	return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export const DEFAULT_START = Date.UTC(2026, 0, 5, 0, 0, 0); // a Monday, midnight UTC

export class Clock {
	/** @param {{mode?: "virtual" | "real", speed?: number, start?: number}} options */
	constructor(options = {}) {
		const { mode = "virtual", speed = 1, start } = options;
		if (mode !== "virtual" && mode !== "real") throw new RangeError(`clock: mode must be "virtual" or "real", not ${JSON.stringify(mode)}`);
		if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`clock: speed must be a positive number, not ${speed}`);
		if (mode === "virtual" && options.speed !== undefined) throw new RangeError('clock: speed applies to the "real" mode; virtual time runs as fast as it can');
		this.mode = mode;
		this.speed = speed;
		this.start = start ?? (mode === "virtual" ? DEFAULT_START : Date.now());
		this.wallStart = performance.now();
		this.virtualNow = this.start;
		this.queue = new EventQueue();
		this.devices = new Set();
		this.running = false;
		this.timer = undefined;
		this.closed = false;
	}
	get virtual() {
		return this.mode === "virtual";
	}
	now() {
		return this.virtual ? this.virtualNow : this.start + (performance.now() - this.wallStart) * this.speed;
	}
	/** Run fn at simulated time `at` (or as soon as possible if that has passed). */
	at(at, fn) {
		const item = this.queue.push(Math.max(at, this.now()), fn);
		if (!this.virtual) this.#arm();
		return item;
	}
	after(ms, fn) {
		return this.at(this.now() + ms, fn);
	}
	cancel(item) {
		item.fn = undefined;
	}
	/**
	 * Let `ms` of simulated time pass. Virtual: run every event in order, as fast as
	 * possible. Real: wait for it (ms / speed of wall time) while events run by themselves.
	 */
	async run(ms) {
		if (!(ms >= 0)) throw new RangeError("clock: run() needs a duration >= 0 ms");
		const target = this.now() + ms;
		if (!this.virtual) {
			// timers may fire a little early against performance.now(): wait until it has passed
			while (!this.closed && this.now() < target) {
				await new Promise((resolve) => setTimeout(resolve, Math.max(1, (target - this.now()) / this.speed)));
			}
			return;
		}
		if (this.running) throw new Error("clock: run() is already in progress");
		this.running = true;
		try {
			await this.#runUntil(target);
		} finally {
			this.running = false;
		}
	}
	async #runUntil(target) {
		const q = this.queue;
		for (;;) {
			if (this.closed) return;
			const tq = q.size ? q.peek().at : Infinity;
			let first;
			for (const d of this.devices) if (d.next !== undefined && (!first || d.next < first.next)) first = d;
			if (first && first.next <= tq && first.next <= target) {
				// advance the earliest device as far as nothing else can affect it
				let bound = Math.min(tq, target);
				for (const d of this.devices) if (d !== first && d.next !== undefined) bound = Math.min(bound, d.next);
				this.virtualNow = Math.max(this.virtualNow, first.next);
				await first.advance(Math.max(bound, first.next));
				continue;
			}
			if (tq <= target) {
				const item = q.pop();
				this.virtualNow = Math.max(this.virtualNow, item.at);
				if (item.fn) await item.fn();
				continue;
			}
			break;
		}
		this.virtualNow = Math.max(this.virtualNow, target);
		for (const d of this.devices) await d.advance(target);
	}
	// ---- real mode: wall-clock timers drive the queue and the devices
	addDevice(device) {
		this.devices.add(device);
	}
	removeDevice(device) {
		this.devices.delete(device);
	}
	/** A device's next due time changed (real mode): wake it on time. */
	wake(device) {
		if (this.virtual || this.closed) return;
		clearTimeout(device.wakeTimer);
		if (device.next === undefined) return;
		const delay = Math.max(0, (device.next - this.now()) / this.speed);
		device.wakeTimer = setTimeout(() => device.advance(this.now()).catch((e) => device.fail(e)), Math.min(delay, 2 ** 31 - 1));
	}
	#arm() {
		if (this.closed) return;
		clearTimeout(this.timer);
		const head = this.queue.peek();
		if (!head) return;
		const delay = Math.max(0, (head.at - this.now()) / this.speed);
		this.timer = setTimeout(() => this.#drain(), Math.min(delay, 2 ** 31 - 1));
	}
	async #drain() {
		const now = this.now();
		while (this.queue.size && this.queue.peek().at <= now) {
			const item = this.queue.pop();
			try {
				if (item.fn) await item.fn();
			} catch (e) {
				console.error("host-sim: event failed:", e);
			}
		}
		this.#arm();
	}
	close() {
		this.closed = true;
		clearTimeout(this.timer);
		for (const d of this.devices) clearTimeout(d.wakeTimer);
	}
}
