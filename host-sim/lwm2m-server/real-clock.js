// The default clock: wall time and Node timers, with the interface of host-sim's virtual
// Clock ({now(), after(ms, fn), cancel(item)}) so the server runs on either. Timers are
// unref'd (the socket keeps a running server alive) and long ones are chained, because
// setTimeout fires at once past 2^31-1 ms and an LwM2M lifetime may be far longer.
const MAX_TIMEOUT = 2 ** 31 - 1;

export const realClock = {
	now: () => Date.now(),
	after(ms, fn) {
		const item = { timer: undefined, due: Date.now() + ms };
		const arm = () => {
			const left = item.due - Date.now();
			item.timer = setTimeout(left > MAX_TIMEOUT ? arm : fn, Math.max(0, Math.min(left, MAX_TIMEOUT)));
			item.timer.unref?.();
		};
		arm();
		return item;
	},
	cancel(item) {
		if (item) clearTimeout(item.timer);
	},
};
