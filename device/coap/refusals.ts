// What the endpoint refuses (malformed datagrams, unknown critical options, peers it does
// not serve), logged so that a flood cannot flood the serial console too: on the chip a
// trace line costs more time than refusing the datagram did. In each period the first
// refusal of each kind is logged in full; the rest are counted, and one line at the end
// of the period gives the counts by kind. No allocation per refusal but the peer's key.

import { Alarm } from "../alarm";

export const Refusal = { Malformed: 0, Ignored: 1, CriticalOption: 2, NotServed: 3 } as const;
const NAMES = ["malformed", "not CoAP", "with an unrecognized critical option", "from a peer we do not serve"];

export class Refusals {
	readonly periodMs: number;
	/** refusals by kind since start, for tests and instrumentation */
	readonly totals = [0, 0, 0, 0];
	#counts = [0, 0, 0, 0];
	#logged = [false, false, false, false];
	#open = false;
	#last = "";
	#alarm: Alarm;
	#log: (text: string) => void;

	constructor(log: (text: string) => void, periodMs = 10_000) {
		this.#log = log;
		this.periodMs = periodMs;
		this.#alarm = new Alarm(() => this.#flush());
	}

	/** One refused datagram: `detail` is its size (Malformed, Ignored) or the option number. */
	note(kind: number, address: string, port: number, detail: number) {
		this.totals[kind]++;
		if (this.#logged[kind]) {
			this.#counts[kind]++;
			this.#last = address + ":" + port;
			return;
		}
		this.#logged[kind] = true;
		if (!this.#open) {
			this.#open = true;
			this.#alarm.after(this.periodMs);
		}
		const from = address + ":" + port;
		if (kind === Refusal.Malformed || kind === Refusal.Ignored) this.#log(`coap: ${kind === Refusal.Malformed ? "malformed" : "ignored"} datagram (${detail} bytes) from ${from}`);
		else if (kind === Refusal.CriticalOption) this.#log(`coap: rejected a message with unrecognized critical option ${detail} from ${from}`);
		else this.#log(`coap: refused a request from ${from}: not our server (4.01)`);
	}

	#flush() {
		this.#open = false;
		this.#logged[0] = this.#logged[1] = this.#logged[2] = this.#logged[3] = false;
		const c = this.#counts;
		const total = c[0] + c[1] + c[2] + c[3];
		if (!total) return;
		let text = "";
		for (let k = 0; k < c.length; k++) {
			if (!c[k]) continue;
			text += (text ? ", " : "") + c[k] + " " + NAMES[k];
			c[k] = 0;
		}
		this.#log(`coap: refused ${total} more datagram${total === 1 ? "" : "s"} in ${this.periodMs / 1000} s: ${text}; last from ${this.#last}`);
	}

	close() {
		this.#alarm.close();
	}
}
