import { sseFrames } from "../../host-sim/sse-frames.js";

// Reads a Server-Sent Events stream (the LwM2M server's /api/event) into an array the
// test can wait on. close() aborts the request so no socket outlives the test.
export async function openEvents(url) {
	const controller = new AbortController();
	const res = await fetch(url, { signal: controller.signal });
	const events = [];
	const waiters = [];
	const pump = (async () => {
		try {
			for await (const { event, data } of sseFrames(res.body)) {
				if (event) events.push({ event, data });
				for (const w of [...waiters]) w();
			}
		} catch {}
	})();
	return {
		res,
		events,
		/** Resolves with the first event matching, waiting up to `ms`. */
		next(predicate, ms = 3000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = events.find(predicate);
					if (!found) return false;
					waiters.splice(waiters.indexOf(check), 1);
					clearTimeout(timer);
					resolve(found);
					return true;
				};
				const timer = setTimeout(() => {
					waiters.splice(waiters.indexOf(check), 1);
					reject(new Error(`no matching event within ${ms} ms; got ${events.map((e) => e.event).join(", ")}`));
				}, ms);
				waiters.push(check);
				check();
			});
		},
		async close() {
			controller.abort();
			await pump;
		},
	};
}
