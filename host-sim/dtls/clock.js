// The default clock when none is injected: wall time and Node timers behind the
// {now(), after(ms, fn), cancel(item)} interface of host-sim's Clock. Timers are unref'd:
// the socket, not a pending retransmission or expiry, keeps a process alive.
export const wallClock = {
	now: () => Date.now(),
	after(ms, fn) {
		const timer = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
		timer.unref?.();
		return timer;
	},
	cancel(item) {
		clearTimeout(item);
	},
};
