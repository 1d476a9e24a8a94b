// Anti-replay sliding window (RFC 6347 §4.1.2.6, the algorithm of RFC 4303 §3.4.3): per
// epoch, the highest sequence number accepted so far and a bitmap of the 64 below it.
// check() before the MAC is verified; accept() only once the record has authenticated,
// so a forged record cannot move the window.
export class ReplayWindow {
	constructor(size = 64) {
		this.size = size;
		this.mask = (1n << BigInt(size)) - 1n;
		this.top = -1; // highest accepted sequence number
		this.bits = 0n; // bit i set: top - i was received
	}
	/** false: a duplicate, or too old to tell */
	check(seq) {
		if (seq > this.top) return true;
		const behind = this.top - seq;
		if (behind >= this.size) return false;
		return ((this.bits >> BigInt(behind)) & 1n) === 0n;
	}
	accept(seq) {
		if (seq > this.top) {
			const shift = seq - this.top;
			this.bits = shift >= this.size ? 1n : ((this.bits << BigInt(shift)) | 1n) & this.mask;
			this.top = seq;
		} else {
			this.bits |= 1n << BigInt(this.top - seq);
		}
	}
}
