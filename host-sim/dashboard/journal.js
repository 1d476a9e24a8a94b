// What the main job saw, kept for the dashboard: a numbered stream of events (samples of
// the simulated rooms, relay switching, values the devices reported over LwM2M,
// registrations, CoAP messages, log lines) with bounded history per kind, so a page opened
// at any time gets the recent past first and then the live stream without a gap
// (events carry increasing `seq` numbers: the SSE `id`).
//
// Event shapes (all with seq, type, t = simulated ms since the epoch):
//   sample       {device, room, outside, heater, fault}     the simulation's true state
//   relay        {device, on}                               the relay pin switched
//   reported     {device, path, value}                      what the device said over LwM2M
//   registration {device, kind, registration}               registered|updated|deregistered|expired
//   message      {device?, entry}                           one CoAP message at the server
//   fault        {device, kind}                             sensor fault injected (none: cleared)
//   room         {device, outside}                          outside temperature changed
//   log          {device?, source, text}                    a console line
import { EventEmitter } from "node:events";

const KEEP = {
	sample: 5000, // per device
	reported: 3000, // per device and path
	relay: 2000, // per device
	registration: 200,
	message: 300,
	fault: 200,
	room: 200,
	log: 500,
};

export class Journal extends EventEmitter {
	constructor() {
		super();
		this.setMaxListeners(0);
		this.seq = 0;
		this.lists = new Map(); // key -> array of events
	}

	#key(event) {
		switch (event.type) {
			case "sample":
			case "relay":
				return `${event.type}:${event.device}`;
			case "reported":
				return `reported:${event.device}:${event.path}`;
			default:
				return event.type;
		}
	}

	add(type, fields) {
		const event = { seq: ++this.seq, type, ...fields };
		const key = this.#key(event);
		let list = this.lists.get(key);
		if (!list) this.lists.set(key, (list = []));
		list.push(event);
		const keep = KEEP[type] ?? 500;
		if (list.length > keep * 1.25) list.splice(0, list.length - keep);
		this.emit("event", event);
		return event;
	}

	/** Retained events with seq > since, in order. */
	since(since = 0) {
		const out = [];
		for (const list of this.lists.values()) {
			// lists are in seq order: skip the old part quickly
			let lo = 0, hi = list.length;
			while (lo < hi) {
				const mid = (lo + hi) >> 1;
				if (list[mid].seq <= since) lo = mid + 1;
				else hi = mid;
			}
			for (let i = lo; i < list.length; i++) out.push(list[i]);
		}
		return out.sort((a, b) => a.seq - b.seq);
	}

	/** The latest retained event of a kind (optionally of one device and path). */
	latest(type, device, path) {
		const list = this.lists.get(path !== undefined ? `${type}:${device}:${path}` : device !== undefined ? `${type}:${device}` : type);
		return list?.[list.length - 1];
	}

	count(type, device) {
		return this.lists.get(device !== undefined ? `${type}:${device}` : type)?.length ?? 0;
	}
}
