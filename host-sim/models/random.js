// A small seedable PRNG (xoshiro128**) shared by the models and the XS host layer.
// XS's own Math.random is an unseeded rand(): every worker would see the same sequence,
// so the simulator seeds this one per device instead (from Node's crypto, or a test's seed).

export class Random {
	constructor(seed = 1) {
		this.s = new Uint32Array(4);
		this.seed(seed);
	}
	seed(seed) {
		// splitmix32 expands one 32-bit seed into the 128-bit state
		let x = seed >>> 0;
		for (let i = 0; i < 4; i++) {
			x = (x + 0x9e3779b9) >>> 0;
			let z = x;
			z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
			z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
			this.s[i] = (z ^ (z >>> 16)) >>> 0;
		}
		if (!(this.s[0] | this.s[1] | this.s[2] | this.s[3])) this.s[0] = 1;
	}
	nextUint32() {
		const s = this.s;
		const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
		const t = (s[1] << 9) >>> 0;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 11);
		return result;
	}
	/** uniform in [0, 1) with 53 bits, like Math.random */
	next() {
		const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
		return (hi * 67108864 + lo) / 9007199254740992;
	}
	/** standard normal deviate (Box-Muller) */
	gaussian() {
		let u = 0;
		while (u === 0) u = this.next();
		return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
	}
}

function rotl(x, k) {
	return ((x << k) | (x >>> (32 - k))) >>> 0;
}
