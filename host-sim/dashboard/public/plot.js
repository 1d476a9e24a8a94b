// The temperature plot, drawn as SVG by hand: the simulated room temperature (line), the
// temperature the device reported over LwM2M (dots), its set point (dashed steps), the
// relay (shaded where on, and a lane under the plot), sensor faults (amber).
const NS = "http://www.w3.org/2000/svg";
const MIN = 60_000, HOUR = 3_600_000;
const X_STEPS = [MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR];
const Y_STEPS = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10];

function el(name, attrs = {}, text) {
	const e = document.createElementNS(NS, name);
	for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
	if (text !== undefined) e.textContent = text;
	return e;
}

const pad2 = (n) => String(n).padStart(2, "0");
export function clockText(ms, seconds = false) {
	const d = new Date(ms);
	return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}${seconds ? `:${pad2(d.getUTCSeconds())}` : ""}`;
}

/** Intervals [a, b] where `on(t)` holds, from a sorted list of {t, on} changes. */
function intervals(changes, initial, from, to) {
	const out = [];
	let state = initial, since = from;
	for (const c of changes) {
		if (c.t <= from) {
			state = c.on;
			continue;
		}
		if (c.t > to) break;
		if (c.on !== state) {
			if (state) out.push([since, c.t]);
			state = c.on;
			since = c.t;
		}
	}
	if (state) out.push([since, to]);
	return out;
}

/**
 * @param svg      the <svg> element (sized by CSS)
 * @param data     {samples: [{t, room, heater, fault}], reported: [{t, value}], setpoint: [{t, value}], relay: [{t, on}]}
 * @param windowMs 0: everything
 */
export function drawPlot(svg, data, windowMs) {
	const W = Math.max(320, svg.clientWidth || 800), H = Math.max(200, svg.clientHeight || 340);
	svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
	svg.replaceChildren();
	const samples = data.samples;
	if (!samples.length) {
		svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "waiting for the first samples…"));
		svg.dataset.points = "0";
		return;
	}
	const to = Math.max(samples[samples.length - 1].t, samples[0].t + MIN);
	const from = windowMs ? Math.max(to - windowMs, samples[0].t) : samples[0].t;
	const inWindow = (list) => list.filter((p) => p.t >= from && p.t <= to);
	const room = inWindow(samples);
	const reported = inWindow(data.reported);
	const setpointBefore = data.setpoint.filter((p) => p.t < from).at(-1);
	const setpoint = [...(setpointBefore ? [{ t: from, value: setpointBefore.value }] : []), ...inWindow(data.setpoint)];

	// ---- scales
	const values = [...room.map((p) => p.room), ...reported.map((p) => p.value), ...setpoint.map((p) => p.value)].filter(Number.isFinite);
	let lo = Math.min(...values), hi = Math.max(...values);
	if (!Number.isFinite(lo)) [lo, hi] = [15, 25];
	const span = Math.max(3, hi - lo);
	const mid = (hi + lo) / 2;
	lo = mid - span / 2 - span * 0.08;
	hi = mid + span / 2 + span * 0.08;
	const m = { l: 46, r: 14, t: 10, b: 54 };
	const plotBottom = H - m.b;
	const laneTop = plotBottom + 8, laneH = 12;
	const x = (t) => m.l + ((t - from) / Math.max(1, to - from)) * (W - m.l - m.r);
	const y = (v) => m.t + (1 - (v - lo) / (hi - lo)) * (plotBottom - m.t);

	// ---- grid and axes
	const yStep = Y_STEPS.find((s) => (hi - lo) / s <= 8) ?? 20;
	const grid = el("g");
	for (let v = Math.ceil(lo / yStep) * yStep; v <= hi; v += yStep) {
		grid.append(el("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: "grid-line" }));
		grid.append(el("text", { x: m.l - 8, y: y(v) + 4, "text-anchor": "end", class: "axis-text" }, `${+v.toFixed(2)}°`));
	}
	const xStep = X_STEPS.find((s) => (to - from) / s <= 8) ?? 96 * HOUR;
	for (let t = Math.ceil(from / xStep) * xStep; t <= to; t += xStep) {
		grid.append(el("line", { x1: x(t), x2: x(t), y1: m.t, y2: plotBottom, class: "grid-line" }));
		grid.append(el("text", { x: x(t), y: H - 14, "text-anchor": "middle", class: "axis-text" }, clockText(t)));
	}
	grid.append(el("text", { x: W - m.r, y: H - 1, "text-anchor": "end", class: "axis-text" }, "simulated time, UTC"));
	svg.append(grid);

	// ---- relay and faults
	const firstHeater = samples.filter((s) => s.t <= from).at(-1)?.heater ?? room[0]?.heater ?? false;
	const relayChanges = data.relay.length ? data.relay : samples.map((s) => ({ t: s.t, on: s.heater }));
	const relayOn = intervals(relayChanges, data.relay.length ? (data.relay.filter((c) => c.t <= from).at(-1)?.on ?? firstHeater) : firstHeater, from, to);
	const faults = intervals(samples.map((s) => ({ t: s.t, on: s.fault !== "none" })), false, from, to);
	const bands = el("g");
	bands.append(el("rect", { x: m.l, y: laneTop, width: W - m.l - m.r, height: laneH, class: "lane-bg" }));
	for (const [a, b] of faults) bands.append(el("rect", { x: x(a), y: m.t, width: Math.max(1, x(b) - x(a)), height: plotBottom - m.t, class: "fault-band" }));
	for (const [a, b] of relayOn) {
		bands.append(el("rect", { x: x(a), y: m.t, width: Math.max(1, x(b) - x(a)), height: plotBottom - m.t, class: "relay-band" }));
		bands.append(el("rect", { x: x(a), y: laneTop, width: Math.max(1, x(b) - x(a)), height: laneH, class: "relay-lane" }));
	}
	bands.append(el("text", { x: m.l - 8, y: laneTop + laneH - 2, "text-anchor": "end", class: "axis-text" }, "relay"));
	svg.append(bands);

	// ---- series
	if (setpoint.length) {
		let d = "";
		setpoint.forEach((p, i) => {
			d += i === 0 ? `M${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}` : `H${x(p.t).toFixed(1)}V${y(p.value).toFixed(1)}`;
		});
		d += `H${x(to).toFixed(1)}`;
		svg.append(el("path", { d, class: "setpoint" }));
	}
	const line = room.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.room).toFixed(2)}`).join("");
	svg.append(el("path", { d: line, class: "room", id: "room-line" }));
	// reported values as markers over the simulated line, one per few pixels at most
	const dots = el("g");
	let lastX = -Infinity;
	for (const p of reported) {
		const px = x(p.t);
		if (px - lastX < 7 && p !== reported[reported.length - 1]) continue;
		lastX = px;
		dots.append(el("circle", { cx: px.toFixed(1), cy: y(p.value).toFixed(1), r: 2.6, class: "reported" }));
	}
	svg.append(dots);
	svg.dataset.points = String(room.length);
	svg.dataset.reported = String(reported.length);
	svg.dataset.from = String(from);
	svg.dataset.to = String(to);
}
