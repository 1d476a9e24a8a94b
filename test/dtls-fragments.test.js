// The firmware's DTLS client reassembles handshake messages that arrive in fragments and
// out of order (RFC 6347 §4.2.3): a relay on the simulated network cuts every plaintext
// handshake record from the server (host-sim's DTLS server) into three fragments and
// sends them last first. Virtual time.
import test from "ava";
import packet from "coap-packet";
import { simulation, fixture } from "./helpers/sim.js";
import { DtlsServer } from "../host-sim/dtls/index.js";

const KEY = "000102030405060708090a0b0c0d0e0f";

function records(buf) {
	const out = [];
	for (let at = 0; at + 13 <= buf.length;) {
		const length = buf.readUInt16BE(at + 11);
		out.push(buf.subarray(at, at + 13 + length));
		at += 13 + length;
	}
	return out;
}

// one handshake record (epoch 0) -> three records carrying a third of the body each
function fragment(record, nextSeq) {
	const body = record.subarray(13);
	const length = body.readUIntBE(1, 3);
	const payload = body.subarray(12);
	const cuts = [0, Math.floor(payload.length / 3), Math.floor((2 * payload.length) / 3), payload.length];
	const out = [];
	for (let k = 0; k < 3; k++) {
		const part = payload.subarray(cuts[k], cuts[k + 1]);
		const hs = Buffer.alloc(12 + part.length);
		body.copy(hs, 0, 0, 6); // type, length, message_seq
		hs.writeUIntBE(cuts[k], 6, 3);
		hs.writeUIntBE(part.length, 9, 3);
		part.copy(hs, 12);
		const rec = Buffer.alloc(13 + hs.length);
		record.copy(rec, 0, 0, 5); // type, version, epoch
		rec.writeUIntBE(nextSeq(), 5, 6);
		rec.writeUInt16BE(hs.length, 11);
		hs.copy(rec, 13);
		out.push(rec);
	}
	void length;
	return out;
}

test("fragmented, reordered handshake messages from the server are put back together", async (t) => {
	const sim = simulation(t, { seed: 3 });
	const dtls = new DtlsServer({ socket: sim.network.createSocket(), clock: sim.clock, psk: () => Buffer.from(KEY, "hex") });
	await new Promise((r) => dtls.socket.bind(5685, "127.0.0.1", r));
	dtls.socket.on("message", (msg, rinfo) => {
		const p = packet.parse(msg);
		dtls.socket.send(packet.generate({ messageId: p.messageId, token: p.token, ack: true, code: "2.05", options: [], payload: Buffer.from("through") }), rinfo.port, rinfo.address);
	});
	// the relay: the device talks to 5684, the server listens on 5685
	const relay = sim.network.createSocket();
	relay.bind(5684, "127.0.0.1");
	let device;
	let seq = 1000;
	let cut = 0;
	relay.on("message", (msg, rinfo) => {
		if (rinfo.port !== 5685) {
			device = rinfo;
			relay.send(msg, 5685, "127.0.0.1");
			return;
		}
		const out = [];
		for (const r of records(Buffer.from(msg))) {
			// plaintext handshake records (epoch 0, type 22) but HelloVerifyRequest (type 3)
			if (r[0] === 22 && r.readUInt16BE(3) === 0 && r[13] !== 3) {
				out.push(...fragment(r, () => seq++).reverse());
				cut++;
			} else out.push(r);
		}
		for (const r of out) relay.send(r, device.port, device.address);
	});
	const dev = await sim.addDevice({ entry: fixture("dtls-client.ts"), config: { mode: "coap", identity: "frag", key: KEY, address: "127.0.0.1", port: 5684, path: "x" } });
	await sim.run(10_000);
	t.true(cut >= 2, `${cut} handshake messages cut into fragments`);
	t.true(dev.traces().includes("established 49320"), dev.traces().join("\n"));
	t.true(dev.traces().includes("response 2.05 through"));
	t.is(dev.resets.length, 0);
});
