// Flight retransmission (RFC 6347 §4.2.4): a flight that expects an answer is sent again
// when the timer expires - 1 s at first, doubling on every retransmission, at most 60 s -
// and immediately when the peer retransmits its previous flight. After maxRetransmissions
// the handshake is given up. The timer runs on an injected clock {now(), after(ms, fn),
// cancel(item)}, so the same code works in virtual time.
export class FlightTimer {
	/**
	 * @param options.send () -> void, transmits the flight (fresh record sequence numbers)
	 * @param options.onGiveUp () -> void
	 */
	constructor({ clock, send, onGiveUp, initialMs = 1000, maxMs = 60_000, maxRetransmissions = 7 }) {
		this.clock = clock;
		this.send = send;
		this.onGiveUp = onGiveUp;
		this.initialMs = initialMs;
		this.maxMs = maxMs;
		this.maxRetransmissions = maxRetransmissions;
		this.timeoutMs = initialMs;
		this.retransmissions = 0;
		this.timer = undefined;
	}
	/** First transmission; arms the timer. */
	start() {
		this.send(false);
		this.#arm();
	}
	#arm() {
		this.timer = this.clock.after(this.timeoutMs, () => {
			this.timer = undefined;
			if (this.retransmissions >= this.maxRetransmissions) {
				this.onGiveUp();
				return;
			}
			this.timeoutMs = Math.min(this.timeoutMs * 2, this.maxMs);
			this.retransmit();
			this.#arm();
		});
	}
	/** Send again now (timer expiry, or the peer repeated its flight); the timer stays as it is. */
	retransmit() {
		this.retransmissions++;
		this.send(true);
	}
	stop() {
		if (this.timer) this.clock.cancel(this.timer);
		this.timer = undefined;
	}
}
