// Node's side of host-sim's crypt, hmac and rng modules: the keys and cipher states a
// device holds, by id, and the computations, with Node's crypto.
import crypto from "node:crypto";

export class CryptHost {
	constructor(random) {
		this.random = random; // () -> [0, 1): the simulation's seeded source, for repeatable runs
		this.keys = new Map();
		this.modes = new Map();
		this.hashes = new Map(); // running digests by id (crypt.digestUpdate)
		this.nextId = 1;
	}
	handle(header, payload) {
		const data = Buffer.from(payload ?? []);
		switch (header.op) {
			case "crypt.digest": {
				// a digest written past 4 KB has a running hash here (crypt.digestUpdate)
				const running = header.id ? this.hashes.get(header.id) : undefined;
				if (header.id) this.hashes.delete(header.id);
				return { payload: (running ?? crypto.createHash(header.type.replace("SHA", "sha").replace("MD5", "md5"))).update(data).digest() };
			}
			case "crypt.digestUpdate": {
				const id = header.id || this.nextId++;
				let hash = this.hashes.get(id);
				if (!hash) this.hashes.set(id, (hash = crypto.createHash(header.type.replace("SHA", "sha").replace("MD5", "md5"))));
				hash.update(data);
				return { id };
			}
			case "crypt.digestDrop":
				this.hashes.delete(header.id);
				return {};
			case "crypt.key": {
				const id = this.nextId++;
				this.keys.set(id, data);
				return { id };
			}
			case "crypt.keySize":
				return { size: this.keys.get(header.id).length };
			case "crypt.block": {
				const key = this.#key(header.id);
				if (data.length !== 16) throw new Error("block size must be 16");
				const c = header.decrypt ? crypto.createDecipheriv(`aes-${key.length * 8}-ecb`, key, null) : crypto.createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
				c.setAutoPadding(false);
				return { payload: Buffer.concat([c.update(data), c.final()]) };
			}
			case "crypt.mode": {
				const id = this.nextId++;
				this.modes.set(id, { mode: header.mode, key: this.#key(header.key), iv: data.length ? data : Buffer.alloc(16), pad: header.pad, enc: undefined, dec: undefined });
				return { id };
			}
			case "crypt.setIV": {
				const m = this.modes.get(header.id);
				m.iv = data;
				m.enc = m.dec = undefined;
				return {};
			}
			case "crypt.run": {
				const m = this.modes.get(header.id);
				if (!m) throw new Error("invalid mode");
				const algo = `aes-${m.key.length * 8}-${m.mode.toLowerCase()}`;
				const iv = m.mode === "ECB" ? null : m.iv;
				// a mode continues where the last call left off (CBC chain, CTR keystream)
				const make = (decrypt) => {
					const made = decrypt ? crypto.createDecipheriv(algo, m.key, iv) : crypto.createCipheriv(algo, m.key, iv);
					if (m.mode !== "CTR") made.setAutoPadding(false);
					return made;
				};
				const c = header.decrypt ? (m.dec ??= make(true)) : (m.enc ??= make(false));
				if (m.mode === "CBC" && m.pad) {
					// one message with PKCS#7 padding: finish the cipher, start afresh next time
					const fresh = header.decrypt ? crypto.createDecipheriv(algo, m.key, iv) : crypto.createCipheriv(algo, m.key, iv);
					const out = Buffer.concat([fresh.update(data), fresh.final()]);
					return { payload: out };
				}
				if (m.mode !== "CTR" && data.length % 16) throw new Error("data must be a multiple of the block size");
				return { payload: c.update(data) };
			}
			case "rng.get": {
				const out = Buffer.alloc(header.n);
				for (let i = 0; i < out.length; i++) out[i] = Math.floor(this.random() * 256);
				return { payload: out };
			}
			default:
				return undefined;
		}
	}
	#key(id) {
		const k = this.keys.get(id);
		if (!k) throw new Error("invalid cipher");
		return k;
	}
}
