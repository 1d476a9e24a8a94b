// The dashboard page: history first (/sim/history), then the live stream (/sim/events),
// the LwM2M REST API (/api, passed through to the embedded server) for reads and writes,
// and the simulation's own controls (/sim/devices/{name}/fault|room).
import { drawPlot, clockText } from "./plot.js";

const $ = (id) => document.getElementById(id);
const KEEP_SAMPLES = 6000, KEEP_REPORTED = 4000, KEEP_MESSAGES = 200, KEEP_LOG = 300;
const SENSOR_STATES = ["ok", "not answering", "out of range", "stuck"];
const TUNING = [
	{ id: 0, name: "Hysteresis", unit: "°C", step: 0.1 },
	{ id: 1, name: "Minimum on time", unit: "s", step: 1 },
	{ id: 2, name: "Minimum off time", unit: "s", step: 1 },
	{ id: 3, name: "Mode", options: [[0, "0 · off"], [1, "1 · auto"], [2, "2 · manual"]] },
	{ id: 4, name: "Sensor offset", unit: "°C", step: 0.1 },
	{ id: 5, name: "Control period", unit: "s", step: 1 },
	{ id: 6, name: "Set point minimum", unit: "°C", step: 0.5 },
	{ id: 7, name: "Set point maximum", unit: "°C", step: 0.5 },
];

const state = {
	info: undefined,
	devices: new Map(),
	selected: undefined,
	windowMs: 0,
	lastSeq: 0,
	messages: [],
	log: [],
	clients: [],
	firmware: new Map(), // endpoint -> {version (/3/0/3), registrationId it was read in, job (the server's firmware update)}
	clock: { sim: 0, wall: 0 },
	lwm2m: false,
};

function device(name) {
	let d = state.devices.get(name);
	if (!d) {
		d = { name, samples: [], relay: [], reported: new Map(), injected: "none", tuning: {}, loaded: false };
		state.devices.set(name, d);
	}
	return d;
}
const series = (d, path) => {
	let s = d.reported.get(path);
	if (!s) d.reported.set(path, (s = []));
	return s;
};
const latest = (list) => list[list.length - 1];
const trim = (list, keep) => {
	if (list.length > keep * 1.2) list.splice(0, list.length - keep);
};
const fmt = (v, digits = 2) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "—");
const simNow = () => state.clock.sim + (performance.now() - state.clock.wall) * (state.info?.speed ?? 0);
const dayTime = (ms) => {
	const d = new Date(ms);
	return `${d.toISOString().slice(0, 10)} ${clockText(ms, true)}`;
};

// ---------------------------------------------------------------- events
function apply(e) {
	if (e.seq <= state.lastSeq) return;
	state.lastSeq = e.seq;
	if (e.t > state.clock.sim) state.clock = { sim: e.t, wall: performance.now() };
	switch (e.type) {
		case "sample": {
			const d = device(e.device);
			d.samples.push(e);
			trim(d.samples, KEEP_SAMPLES);
			break;
		}
		case "relay": {
			const d = device(e.device);
			d.relay.push({ t: e.t, on: e.on });
			trim(d.relay, KEEP_REPORTED);
			break;
		}
		case "reported": {
			const d = device(e.device);
			const s = series(d, e.path);
			s.push({ t: e.t, value: e.value });
			trim(s, KEEP_REPORTED);
			break;
		}
		case "registration":
			scheduleClients();
			if (e.kind === "registered" && e.device === state.selected) setTimeout(() => loadDeviceValues(e.device), 300);
			break;
		case "message":
			state.messages.push(e);
			trim(state.messages, KEEP_MESSAGES);
			break;
		case "fault":
			device(e.device).injected = e.kind;
			break;
		case "log":
			state.log.push(e);
			trim(state.log, KEEP_LOG);
			break;
	}
	scheduleRender();
}

async function connect() {
	const info = await (await fetch("/sim/info")).json();
	state.info = info;
	state.lwm2m = !!info.server.api;
	state.clock = { sim: info.now, wall: performance.now() };
	for (const d of info.devices) device(d.name);
	state.selected ??= info.devices[0]?.name;
	setupStatic();
	const history = await (await fetch("/sim/history")).json();
	for (const e of history.events) apply(e);
	state.lastSeq = Math.max(state.lastSeq, history.seq);
	const events = new EventSource(`/sim/events?since=${history.seq}`);
	for (const type of ["sample", "relay", "reported", "registration", "message", "fault", "room", "log"]) {
		events.addEventListener(type, (m) => apply(JSON.parse(m.data)));
	}
	events.onopen = () => setConn("live", "live");
	events.onerror = () => setConn("down", "reconnecting…");
	scheduleClients();
	if (state.lwm2m) {
		loadDeviceValues(state.selected);
		// firmware updates (object 5) the LwM2M server runs: their progress, live
		const fw = new EventSource("/api/event?types=FIRMWARE");
		fw.addEventListener("FIRMWARE", (m) => {
			const job = JSON.parse(m.data);
			const f = firmwareOf(job.ep);
			f.job = job;
			if (job.final || job.phase === "rebooted") f.registrationId = undefined; // read /3/0/3 again
			if (job.final || job.phase === "rebooted") scheduleClients();
			renderClients();
		});
	}
	render();
	setInterval(() => ($("sim-clock").textContent = dayTime(simNow())), 250);
	setInterval(scheduleClients, 5000);
}

function setConn(cls, text) {
	$("conn").querySelector(".dot").className = `dot ${cls}`;
	$("conn-text").textContent = text;
}

// ---------------------------------------------------------------- rendering
let renderPending = false, lastRender = 0;
function scheduleRender() {
	if (renderPending) return;
	renderPending = true;
	const wait = Math.max(0, 250 - (performance.now() - lastRender));
	setTimeout(() => requestAnimationFrame(() => {
		renderPending = false;
		lastRender = performance.now();
		render();
	}), wait);
}

function setupStatic() {
	const info = state.info;
	document.title = `${info.devices.length > 1 ? `${info.devices.length} thermostats` : info.devices[0]?.name ?? "thermostat"} — host-sim`;
	$("sim-speed").textContent = info.virtual ? "virtual" : `×${info.speed}`;
	$("server-uri").textContent = info.server.embedded ? info.server.uri : `${info.server.uri} (external)`;
	if (!info.server.embedded) {
		const note = $("external-note");
		note.hidden = false;
		note.textContent = info.server.note;
		$("lwm2m-controls").disabled = true;
		$("read-all").disabled = true;
		$("clients").innerHTML = "";
		$("clients").append(Object.assign(document.createElement("div"), { className: "muted", textContent: "No embedded server: registrations live in the external server." }));
	}
	// device tabs
	const tabs = $("device-tabs");
	tabs.hidden = info.devices.length < 2;
	tabs.replaceChildren(
		...info.devices.map((d) => {
			const b = document.createElement("button");
			b.dataset.device = d.name;
			b.innerHTML = `<span class="pill"></span>`;
			b.append(d.name);
			b.onclick = () => select(d.name);
			return b;
		}),
	);
	// tuning rows
	const body = $("tuning").tBodies[0];
	body.replaceChildren(
		...TUNING.map((r) => {
			const tr = document.createElement("tr");
			tr.dataset.id = r.id;
			const input = r.options
				? `<select id="tune-${r.id}">${r.options.map(([v, label]) => `<option value="${v}">${label}</option>`).join("")}</select>`
				: `<input id="tune-${r.id}" type="number" step="${r.step}">`;
			tr.innerHTML = `<td class="name">${r.name}${r.unit ? ` <span class="muted" style="display:inline">${r.unit}</span>` : ""}<span class="muted">/32700/0/${r.id}</span></td>` +
				`<td class="cur" id="tune-cur-${r.id}">—</td><td>${input}</td><td><button type="button" data-write="${r.id}">Write</button></td>`;
			const ans = document.createElement("tr");
			ans.innerHTML = `<td colspan="4" class="ans" id="tune-ans-${r.id}"></td>`;
			const frag = document.createDocumentFragment();
			frag.append(tr, ans);
			return frag;
		}),
	);
	body.addEventListener("click", (ev) => {
		const id = ev.target?.dataset?.write;
		if (id !== undefined) writeTuning(Number(id));
	});
}

function select(name) {
	state.selected = name;
	const d = device(name);
	if (state.lwm2m && !d.loaded) loadDeviceValues(name);
	fillInputs(d, true);
	render();
}

function render() {
	const d = state.selected && device(state.selected);
	if (!d) return;
	for (const b of $("device-tabs").children) {
		b.classList.toggle("on", b.dataset.device === state.selected);
		const o = device(b.dataset.device);
		b.querySelector(".pill").classList.toggle("heat", !!relayNow(o));
	}
	$("plot-device").textContent = `· ${d.name}`;
	const s = latest(d.samples);
	const reportedT = latest(series(d, "/3303/0/5700"))?.value;
	const reportedSp = latest(series(d, "/3308/0/5900"))?.value;
	const reportedSensor = latest(series(d, "/32700/0/9"))?.value;
	$("room-temp").textContent = s ? `${fmt(s.room)} °C` : "—";
	$("reported-temp").textContent = reportedT !== undefined ? `${fmt(reportedT)} °C` : state.lwm2m ? "—" : "n/a";
	$("reported-setpoint").textContent = reportedSp !== undefined ? `${fmt(reportedSp, 1)} °C` : state.lwm2m ? "—" : "n/a";
	const relay = relayNow(d);
	const relayEl = $("relay-state");
	relayEl.textContent = relay === undefined ? "—" : relay ? "ON" : "off";
	relayEl.className = `big ${relay ? "on" : "off"}`;
	$("outside-temp").textContent = s ? `${fmt(s.outside, 1)} °C` : "—";
	// the sensor as the device reports it (32700/0/9), and what the simulation injected
	const injected = s?.fault ?? d.injected;
	const sensorText = reportedSensor !== undefined ? SENSOR_STATES[reportedSensor] ?? `state ${reportedSensor}` : injected !== "none" ? `fault: ${injected}` : s ? "ok" : "—";
	const bad = (reportedSensor !== undefined && reportedSensor !== 0) || (reportedSensor === undefined && injected !== "none");
	const sensorEl = $("sensor-state");
	sensorEl.textContent = sensorText;
	$("sensor-note").textContent = injected && injected !== "none" ? `simulation: ${{ absent: "unplugged", stuck: "stuck", range: "out of range", noise: "noisy" }[injected] ?? injected}` : "";
	sensorEl.className = `big ${bad ? "bad" : "good"}`;
	sensorEl.parentElement.classList.toggle("fault", bad);
	fillInputs(d, false);
	drawPlot($("plot"), { samples: d.samples, reported: series(d, "/3303/0/5700"), setpoint: series(d, "/3308/0/5900"), relay: d.relay }, state.windowMs);
	renderMessages();
	renderLog();
}

function relayNow(d) {
	const r = latest(d.relay), s = latest(d.samples);
	if (r && (!s || r.t >= s.t)) return r.on;
	return s?.heater;
}

function fillInputs(d, force) {
	const sp = latest(series(d, "/3308/0/5900"))?.value;
	const input = $("setpoint-input");
	if (sp !== undefined && (force || (!input.dataset.dirty && document.activeElement !== input))) input.value = sp;
	// the outside temperature the room model has now (it varies over the day), unless being edited
	const outside = latest(d.samples)?.outside;
	const out = $("outside-input");
	if (typeof outside === "number" && (force || (!out.dataset.dirty && document.activeElement !== out))) out.value = outside.toFixed(1);
}

/** A number field's value, or why there is none (the browser gives "" for text it cannot read). */
function numberIn(input, what) {
	if (input.validity?.badInput) return { error: `${what}: not a number` };
	const text = input.value.trim();
	if (text === "") return { error: `${what}: the field is empty, give a number` };
	const value = Number(text);
	return Number.isFinite(value) ? { value } : { error: `${what}: ${JSON.stringify(text)} is not a number` };
}

function renderMessages() {
	const rows = state.messages.slice(-60).reverse();
	const body = $("messages").tBodies[0];
	body.replaceChildren(
		...rows.map((m) => {
			const e = m.entry;
			const tr = document.createElement("tr");
			const err = /^[45]\./.test(e.code);
			tr.innerHTML = `<td class="mono"></td><td class="${e.incoming ? "in" : "out"}">${e.incoming ? "◀ in" : "▶ out"}</td><td></td><td></td><td class="${err ? "code-err" : /^2\./.test(e.code) ? "code-ok" : ""}"></td><td class="mono"></td><td class="opt"></td>`;
			const c = tr.children;
			c[0].textContent = clockText(m.t, true);
			c[2].textContent = e.ep ?? e.address;
			c[3].textContent = e.type;
			c[4].textContent = e.code;
			c[5].textContent = e.mId;
			c[6].textContent = [e.options, e.payload].filter(Boolean).join(" · ");
			return tr;
		}),
	);
	$("msg-count").textContent = state.lwm2m ? `${state.messages.length} kept` : "no embedded server";
}

function renderLog() {
	const lines = state.log.filter((l) => !l.device || l.device === state.selected || l.device === "server").slice(-120);
	const box = $("log");
	const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
	box.replaceChildren(
		...lines.map((l) => {
			const div = document.createElement("div");
			// the main job says which lines report a problem; older journals only have the words
			if (l.warn ?? /fault|not answering|refused|reset|expired|failed|halted/i.test(l.text)) div.className = "warn";
			const t = document.createElement("span");
			t.className = "t";
			t.textContent = clockText(l.t, true);
			div.append(t, `${l.device && state.info.devices.length > 1 ? `${l.device}: ` : l.device === "server" ? "server: " : ""}${l.text}`);
			return div;
		}),
	);
	if (atBottom) box.scrollTop = box.scrollHeight;
}

// ---------------------------------------------------------------- registrations
let clientsPending = false;
function scheduleClients() {
	if (!state.lwm2m || clientsPending) return;
	clientsPending = true;
	setTimeout(async () => {
		clientsPending = false;
		try {
			const r = await fetch("/api/clients");
			state.clients = r.ok ? (await r.json()).sort((a, b) => a.endpoint.localeCompare(b.endpoint)) : [];
			const updates = await fetch("/api/firmware");
			if (updates.ok) {
				for (const job of (await updates.json()).updates) {
					const f = firmwareOf(job.ep);
					if (!f.job || job.timestamp >= f.job.timestamp) f.job = job;
				}
			}
		} catch {
			return;
		}
		renderClients();
		// the firmware version, read once per registration (a reboot into new firmware registers anew)
		for (const c of state.clients) {
			const f = firmwareOf(c.endpoint);
			if (f.registrationId === c.registrationId || f.reading) continue;
			f.reading = true;
			fetch(`/api/clients/${encodeURIComponent(c.endpoint)}/3/0/3`)
				.then((r) => r.json())
				.then((r) => {
					if (r.success) {
						f.version = r.content.value;
						f.registrationId = c.registrationId;
					}
				})
				.catch(() => {})
				.finally(() => {
					f.reading = false;
					renderClients();
				});
		}
	}, 200);
}

function firmwareOf(ep) {
	let f = state.firmware.get(ep);
	if (!f) state.firmware.set(ep, (f = { version: undefined, registrationId: undefined, job: undefined }));
	return f;
}

/** A firmware update in words: "push · downloading 45 % (4608/10240 B)", "pull · done — Update Result 1 (...)". */
function updateText(job) {
	if (!job) return "";
	const what = job.phase === "downloading" && job.total && job.sent > 0 ? `downloading ${Math.floor((job.sent * 100) / job.total)} % (${job.sent}/${job.total} B)` : job.phase;
	const version = job.package?.version ? ` ${job.package.version}` : "";
	return `${job.mode}${version} · ${what}${job.final && job.message ? ` — ${job.message}` : ""}`;
}

function renderClients() {
	const box = $("clients");
	if (!state.clients.length) {
		box.innerHTML = `<div class="muted">no device registered</div>`;
		return;
	}
	box.replaceChildren(
		...state.clients.map((c) => {
			const div = document.createElement("div");
			div.className = "client";
			const kv = [
				["registration", `/rd/${c.registrationId}`],
				["address", c.address],
				["registered", dayTime(Date.parse(c.registrationDate))],
				["last update", dayTime(Date.parse(c.lastUpdate))],
				["lifetime", `${c.lifetime} s · LwM2M ${c.lwM2mVersion} · ${c.bindingMode}`],
				["expires", dayTime(Date.parse(c.expiresAt))],
			];
			const f = firmwareOf(c.endpoint);
			kv.push(["firmware", f.version === undefined ? "—" : String(f.version)]);
			if (f.job) kv.push(["update", updateText(f.job)]);
			div.innerHTML = `<b></b><div class="kv"></div>`;
			div.dataset.endpoint = c.endpoint;
			div.querySelector("b").textContent = c.endpoint;
			div.querySelector(".kv").append(...kv.flatMap(([k, v]) => [Object.assign(document.createElement("span"), { textContent: k }), Object.assign(document.createElement("span"), { textContent: v, className: k === "firmware" ? "fw-version" : k === "update" ? `fw-update ${f.job.final ? (f.job.success ? "ok" : "err") : "busy"}` : "" })]));
			return div;
		}),
	);
}

// ---------------------------------------------------------------- LwM2M through the REST API
async function rest(method, path, body) {
	const ep = encodeURIComponent(state.selected);
	const res = await fetch(`/api/clients/${ep}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { "content-type": "application/json" } });
	let json;
	try {
		json = await res.json();
	} catch {
		json = {};
	}
	return { status: res.status, body: json };
}

/** A Write's body: a Leshan resource node (a bare 0 would read as "no value" to the server). */
const node = (path, value) => ({ id: Number(path.split("/").pop()), kind: "singleResource", value });

/** The device's (or the server's) answer, in words. */
function describe(r) {
	if (r.status !== 200) return { ok: false, text: `HTTP ${r.status}${r.status === 400 ? " — refused by the server, not sent" : r.status === 404 ? " — not registered" : r.status === 504 ? " — no answer from the device" : ""}: ${r.body.error ?? ""}` };
	if (r.body.success) return { ok: true, text: `${r.body.code} ${r.body.status}` };
	return { ok: false, text: `${r.body.code} ${r.body.status}${r.body.errormessage ? ` — ${r.body.errormessage}` : ""}` };
}

function show(el, answer) {
	el.textContent = answer.text;
	el.className = `${el.className.replace(/\b(ok|err)\b/g, "").trim()} ${answer.ok ? "ok" : "err"}`;
}

async function loadDeviceValues(name) {
	if (!state.lwm2m || !name) return;
	const d = device(name);
	try {
		const [sp, tuning] = await Promise.all([rest("GET", "/3308/0/5900"), rest("GET", "/32700/0")]);
		if (name !== state.selected) return;
		if (sp.body.success) {
			series(d, "/3308/0/5900").push({ t: simNow(), value: sp.body.content.value });
			// not forced: these reads may come back after the user started typing a set point
			fillInputs(d, false);
		}
		if (tuning.body.success) {
			for (const r of tuning.body.content.resources) d.tuning[r.id] = r.value;
			d.loaded = true;
			showTuning(d, true);
		}
		render();
	} catch {}
}

function showTuning(d, fill) {
	for (const r of TUNING) {
		const v = d.tuning[r.id];
		$(`tune-cur-${r.id}`).textContent = v === undefined ? "—" : r.options ? ["off", "auto", "manual"][v] ?? v : String(v);
		const input = $(`tune-${r.id}`);
		if (fill && v !== undefined && document.activeElement !== input) input.value = v;
	}
}

$("setpoint-form").addEventListener("submit", async (ev) => {
	ev.preventDefault();
	const input = $("setpoint-input");
	const answer = $("setpoint-answer");
	// any number goes to the device: its answer (2.04, or 4.00 with the reason) decides
	const { value, error } = numberIn(input, "set point");
	if (error) return show(answer, { ok: false, text: error });
	answer.textContent = `writing ${value} °C…`;
	answer.className = "answer";
	try {
		const w = await rest("PUT", "/3308/0/5900", node("/3308/0/5900", value));
		const a = describe(w);
		if (w.body.success) {
			const r = await rest("GET", "/3308/0/5900");
			if (r.body.success) {
				a.text += ` · the device reports ${r.body.content.value} °C`;
				series(device(state.selected), "/3308/0/5900").push({ t: simNow(), value: r.body.content.value });
			}
		}
		delete input.dataset.dirty;
		show(answer, a);
		render();
	} catch (e) {
		show(answer, { ok: false, text: e.message });
	}
});
$("setpoint-input").addEventListener("input", (ev) => (ev.target.dataset.dirty = "1"));

async function writeTuning(id) {
	const input = $(`tune-${id}`);
	const answer = $(`tune-ans-${id}`);
	const { value, error } = input.tagName === "SELECT" ? { value: Number(input.value) } : numberIn(input, TUNING.find((r) => r.id === id).name);
	if (error) return show(answer, { ok: false, text: error });
	answer.textContent = `writing ${value}…`;
	answer.className = "ans";
	try {
		const w = await rest("PUT", `/32700/0/${id}`, node(`/32700/0/${id}`, value));
		const a = describe(w);
		const d = device(state.selected);
		const r = await rest("GET", "/32700/0");
		if (r.body.success) {
			for (const x of r.body.content.resources) d.tuning[x.id] = x.value;
			showTuning(d, false);
			if (w.body.success) a.text += ` · the device reports ${d.tuning[id]}`;
		}
		show(answer, a);
	} catch (e) {
		show(answer, { ok: false, text: e.message });
	}
}

$("read-all").addEventListener("click", () => loadDeviceValues(state.selected));

for (const b of document.querySelectorAll("[data-relay]")) {
	b.addEventListener("click", async () => {
		const answer = $("relay-answer");
		try {
			show(answer, describe(await rest("PUT", "/3306/0/5850", node("/3306/0/5850", b.dataset.relay === "true"))));
		} catch (e) {
			show(answer, { ok: false, text: e.message });
		}
	});
}

// ---------------------------------------------------------------- simulation controls
async function sim(what, body) {
	const answer = $("sim-answer");
	try {
		const res = await fetch(`/sim/devices/${encodeURIComponent(state.selected)}/${what}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
		const json = await res.json();
		show(answer, res.ok ? { ok: true, text: what === "fault" ? (json.fault === "none" ? "sensor plugged back in" : `sensor fault injected: ${json.fault}`) : `outside temperature now ${json.outside} °C` } : { ok: false, text: json.error });
	} catch (e) {
		show(answer, { ok: false, text: e.message });
	}
}
$("fault-absent").addEventListener("click", () => sim("fault", { kind: "absent" }));
$("fault-none").addEventListener("click", () => sim("fault", { kind: "none" }));
$("fault-inject").addEventListener("click", () => sim("fault", { kind: $("fault-kind").value, value: Number($("fault-value").value) }));
$("outside-form").addEventListener("submit", async (ev) => {
	ev.preventDefault();
	const input = $("outside-input");
	const { value, error } = numberIn(input, "outside temperature");
	if (error) return show($("sim-answer"), { ok: false, text: error });
	await sim("room", { outside: value });
	delete input.dataset.dirty;
});
$("outside-input").addEventListener("input", (ev) => (ev.target.dataset.dirty = "1"));

for (const b of $("window-buttons").children) {
	b.addEventListener("click", () => {
		state.windowMs = Number(b.dataset.window);
		for (const x of $("window-buttons").children) x.classList.toggle("on", x === b);
		render();
	});
}
window.addEventListener("resize", scheduleRender);

connect().catch((e) => {
	setConn("down", "failed");
	console.error(e);
});
