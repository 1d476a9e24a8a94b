// The simulation's clock and its queue of Node-side events (datagram deliveries,
// scheduled test actions). Two modes, chosen once:
//   virtual - time jumps from one due event to the next; hours pass in seconds. Only
//             in-process peers can join (the simulated network, models, test code),
//             since anything with its own wall-clock timers would see time stand still.
//   real    - simulated time follows the wall clock, optionally scaled by `speed`;
//             external peers on real sockets can join.
// Devices keep their own timer queues in XS; the clock asks each for its next due time.
//
// Real time is paced, not read off the wall: at x600 a CoAP timeout of 2 s is 3 ms of
// wall time, less than a busy machine may leave Node between two turns of its event
// loop. Were simulated time wall x speed, a device would fire that timeout while the
// in-process server's answer still sat in a socket buffer. So time moves past a due
// event (a device timer, a queued event) only after Node has polled its I/O a few turns,
// and at most STEP_MS past the earliest one at a time; what arrives in between is
// delivered before it. When Node cannot keep up, the simulation runs slower than
// wall x speed instead of skipping ahead; a lag beyond MAX_LAG_WALL_MS is given up for
// good (the run slips) rather than raced through afterwards, and `lag` reports it.

/** Simulated ms time may move past the earliest due event before Node's I/O runs again. */
export const STEP_MS = 50;
/** Event-loop turns (each polls sockets) before time passes a due event; more while deliveries go on. */
const IO_TURNS = 2;
const MAX_IO_TURNS = 12;
/** Wall ms the simulation may trail wall x speed and catch up; beyond it, it slips. */
export const MAX_LAG_WALL_MS = 250;
const MAX_TIMEOUT = 2 ** 31 - 1;

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
		this.virtualNow = this.start; // real mode: everything due up to here has run
		this.queue = new EventQueue();
		this.devices = new Set();
		this.booting = new Set(); // real mode: devices starting up, which time does not wait for
		this.running = false;
		this.closed = false;
		// real mode: wall ms given up when the simulation fell too far behind; the run's lag
		this.slippedWall = 0;
		this.stats = { slips: 0, slippedMs: 0, maxBehindMs: 0 };
		/** (stats) after the simulation slipped: it could not keep up with wall x speed */
		this.onSlip = undefined;
		this.hold = Infinity; // real mode, while the pacer runs a step: time stays within it
		this.activity = 0; // deliveries and commands seen: the pacer polls I/O while they go on
		this.timer = undefined;
		this.wakeUp = undefined;
		if (!this.virtual) this.pacing = this.#pace();
	}
	get virtual() {
		return this.mode === "virtual";
	}
	now() {
		if (this.virtual) return this.virtualNow;
		// up to the wall's time, but never onto or past a due event the pacer has not run:
		// nothing happens in between, so a datagram arriving now is stamped before it
		const t = Math.min(this.#wallTime(), this.#firstDue() - 1, this.hold);
		if (t > this.virtualNow) this.virtualNow = t;
		return this.virtualNow;
	}
	/** Real mode: how far the simulation trails wall x speed now, and over the run (simulated ms). */
	get lag() {
		if (this.virtual) return { behindMs: 0, ...this.stats };
		return { behindMs: Math.max(0, this.#wallTime() - this.now()), ...this.stats };
	}
	#wallTime() {
		return this.start + (performance.now() - this.wallStart - this.slippedWall) * this.speed;
	}
	#firstDue() {
		let due = this.queue.size ? this.queue.peek().at : Infinity;
		for (const d of this.devices) if (d.next !== undefined && d.next < due && !this.booting.has(d)) due = d.next;
		return due;
	}
	/** Run fn at simulated time `at` (or as soon as possible if that has passed). */
	at(at, fn) {
		const item = this.queue.push(Math.max(at, this.now()), fn);
		if (!this.virtual) this.#poke();
		return item;
	}
	after(ms, fn) {
		return this.at(this.now() + ms, fn);
	}
	/**
	 * Real mode: fn once `ms` of simulated time AND at least `wallMs` of wall time have
	 * passed: for a peer whose partners answer in wall time (a request timeout) that must
	 * still not expire early when the simulation runs slower than wall x speed.
	 */
	afterAtLeast(ms, wallMs, fn) {
		const due = this.now() + ms;
		const item = { at: due, fn, wallTimer: undefined, queued: undefined };
		item.wallTimer = setTimeout(() => {
			item.wallTimer = undefined;
			if (item.fn) item.queued = this.at(due, () => item.fn?.());
		}, Math.min(Math.max(0, wallMs), MAX_TIMEOUT));
		item.wallTimer.unref?.();
		return item;
	}
	cancel(item) {
		if (!item) return;
		item.fn = undefined;
		if (item.wallTimer !== undefined) clearTimeout(item.wallTimer);
		if (item.queued) item.queued.fn = undefined;
	}
	/**
	 * Let `ms` of simulated time pass. Virtual: run every event in order, as fast as
	 * possible. Real: wait for it (ms / speed of wall time, longer when Node lags) while
	 * events run by themselves.
	 */
	async run(ms) {
		if (!(ms >= 0)) throw new RangeError("clock: run() needs a duration >= 0 ms");
		const target = this.now() + ms;
		if (!this.virtual) {
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
	addDevice(device) {
		this.devices.add(device);
		if (this.virtual || typeof device.on !== "function") return;
		// while a device boots (a worker starting: wall time, no simulated time) the others go on
		this.booting.add(device);
		device.on("reset", () => this.booting.add(device));
		device.on("started", () => { this.booting.delete(device); this.#poke(); });
		device.on("halted", () => this.booting.delete(device));
		this.#poke();
	}
	removeDevice(device) {
		this.devices.delete(device);
		this.booting.delete(device);
	}
	/** A device's next due time changed (real mode): the pacer looks again. */
	wake(device) {
		if (this.virtual || this.closed) return;
		this.#poke();
	}
	// ---- real mode: the pacer
	#poke() {
		this.activity++;
		const wakeUp = this.wakeUp;
		if (wakeUp) {
			this.wakeUp = undefined;
			wakeUp();
		}
	}
	/** Sleep `ms` of wall time, or until something is scheduled or a device's next due time changes. */
	#sleep(ms) {
		return new Promise((resolve) => {
			this.wakeUp = resolve;
			if (ms !== undefined) this.timer = setTimeout(resolve, Math.min(Math.max(0, ms), MAX_TIMEOUT));
		}).then(() => {
			clearTimeout(this.timer);
			this.wakeUp = undefined;
		});
	}
	/** Let Node poll its sockets: at least IO_TURNS turns, more while datagrams keep coming in. */
	async #ioTurns() {
		for (let turn = 0; turn < MAX_IO_TURNS; turn++) {
			const seen = this.activity;
			await new Promise((resolve) => setImmediate(resolve));
			if (turn + 1 >= IO_TURNS && this.activity === seen) return;
		}
	}
	async #pace() {
		while (!this.closed) {
			try {
				await this.#ioTurns();
				if (this.closed) return;
				let wall = this.#wallTime();
				const due = this.#firstDue();
				// nothing is due before `due`: the simulation could be there at once; what the
				// wall is further ahead is lag, caught up to a bound and given up beyond it
				if (due <= wall) wall = this.#noteLag(wall, due);
				if (due > wall) {
					// nothing due yet: time follows the wall; wake at the due event's wall time
					if (wall > this.virtualNow) this.virtualNow = wall;
					await this.#sleep(due === Infinity ? undefined : (due - wall) / this.speed);
					continue;
				}
				// at most STEP_MS past the earliest due event, and nobody left behind by more
				await this.#step(Math.min(wall, due + STEP_MS));
			} catch (e) {
				console.error("host-sim: clock failed:", e);
			}
		}
	}
	async #step(target) {
		const q = this.queue;
		try {
			while (!this.closed && q.size && q.peek().at <= target) {
				const item = q.pop();
				if (item.at > this.virtualNow) this.virtualNow = item.at;
				// an event sees its own time, as in virtual time
				this.hold = item.at;
				try {
					if (item.fn) await item.fn();
				} catch (e) {
					console.error("host-sim: event failed:", e);
				}
			}
			this.hold = target;
			const due = [];
			for (const d of this.devices) if (d.next !== undefined && d.next <= target && !this.booting.has(d)) due.push(d);
			// devices are separate workers: they run their timers side by side
			await Promise.all(due.map((d) => d.advance(target).catch((e) => d.fail?.(e))));
			if (target > this.virtualNow) this.virtualNow = target;
		} finally {
			this.hold = Infinity;
		}
	}
	/** The wall's simulated time, after giving up what lies beyond the bound of lag. */
	#noteLag(wall, due) {
		const behind = wall - Math.max(due, this.virtualNow);
		if (behind > this.stats.maxBehindMs) this.stats.maxBehindMs = behind;
		const allowed = MAX_LAG_WALL_MS * this.speed;
		if (behind <= allowed) return wall;
		// give the excess up: the run goes on from here, slower than wall x speed, not skipping
		const slip = behind - allowed;
		this.slippedWall += slip / this.speed;
		this.stats.slips++;
		this.stats.slippedMs += slip;
		this.onSlip?.({ ...this.stats });
		return wall - slip;
	}
	close() {
		this.closed = true;
		clearTimeout(this.timer);
		this.#poke();
		for (const d of this.devices) clearTimeout(d.wakeTimer);
	}
}
