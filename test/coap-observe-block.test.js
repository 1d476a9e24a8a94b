// Observe (RFC 7641) and Block-wise (RFC 7959) on the firmware's CoAP server, on XS in
// virtual time, driven byte by byte through the npm `coap-packet` codec.
import test from "ava";
import packet from "coap-packet";
import { simulation, fixture, HOUR } from "./helpers/sim.js";

const PORT = 5683;
const opt = (name, value) => ({ name, value: Buffer.isBuffer(value) ? value : typeof value === "number" ? uint(value) : Buffer.from(value) });
function uint(n) {
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
}
const num = (buffer) => [...(buffer ?? [])].reduce((a, b) => a * 256 + b, 0);
const option = (p, name) => p.options.find((o) => o.name === name)?.value;
const block = (value) => {
	const n = num(value);
	return { num: n >> 4, more: !!(n & 8), szx: n & 7, size: 16 << (n & 7) };
};

async function setup(t, config = {}) {
	const sim = simulation(t, { seed: 31, latencyMs: 1 });
	const dev = await sim.addDevice({ entry: fixture("coap-resources.ts"), config: { port: PORT, ...config } });
	const socket = sim.network.createSocket();
	socket.bind(42000, "127.0.0.2");
	const inbox = [];
	let ackConfirmable = true, rstNext = false;
	socket.on("message", (msg) => {
		const p = packet.parse(msg);
		inbox.push({ at: sim.now, p });
		// the observer: acknowledges CON notifications, unless told to stay silent or reject
		if (p.confirmable && ackConfirmable) send({ messageId: p.messageId, ack: true, code: "0.00" });
		if (rstNext && !p.ack && !p.reset) {
			rstNext = false;
			send({ messageId: p.messageId, reset: true, code: "0.00" });
		}
	});
	let mid = 100;
	const send = (fields) => socket.send(packet.generate({ token: Buffer.alloc(0), options: [], payload: Buffer.alloc(0), ...fields }), PORT, "127.0.0.1");
	/** a CON request; resolves with the piggybacked response */
	const request = async (code, options, payload, token = Buffer.from([9, ++mid & 0xff])) => {
		const messageId = ++mid;
		const from = inbox.length;
		send({ messageId, token, code, confirmable: true, options, payload: payload ?? Buffer.alloc(0) });
		await sim.run(50);
		const answer = inbox.slice(from).find((m) => m.p.messageId === messageId && m.p.ack);
		if (!answer) throw new Error(`no answer to ${code} ${JSON.stringify(options)}`);
		return answer.p;
	};
	const control = {
		silent: () => { ackConfirmable = false; },
		rejectNext: () => { rstNext = true; },
	};
	return { sim, dev, inbox, request, control };
}

const notificationsFor = (inbox, token) => inbox.filter((m) => m.p.token.equals(token) && !m.p.ack && option(m.p, "Observe") !== undefined);

test("Observe: a registration gets NON notifications with rising sequence numbers; RST ends it", async (t) => {
	const { sim, dev, inbox, request, control } = await setup(t, { notifyMs: 1000 });
	const token = Buffer.from("obs1");
	const first = await request("GET", [opt("Observe", 0), opt("Uri-Path", "counter")], undefined, token);
	t.is(first.code, "2.05");
	t.not(option(first, "Observe"), undefined, "the registration is confirmed with an Observe option");
	await sim.run(5_500);
	const notes = notificationsFor(inbox, token);
	t.true(notes.length >= 5, `${notes.length} notifications`);
	t.true(notes.every((m) => !m.p.confirmable), "NON between the daily CON");
	const seqs = notes.map((m) => num(option(m.p, "Observe")));
	for (let i = 1; i < seqs.length; i++) t.true(seqs[i] > seqs[i - 1], `sequence ${seqs}`);
	const values = notes.map((m) => Number(m.p.payload.toString()));
	for (let i = 1; i < values.length; i++) t.true(values[i] > values[i - 1]);

	// the observer answers the next notification with RST: the device forgets it
	control.rejectNext();
	await sim.run(1_500);
	const count = notificationsFor(inbox, token).length;
	await sim.run(10_000);
	t.is(notificationsFor(inbox, token).length, count, "no notification after the RST");
	t.true(dev.traces().includes("observation ended counter reset"));
});

test("Observe: a resource whose handler answers later still notifies, next to one that answers at once", async (t) => {
	const { sim, inbox, request } = await setup(t, { notifyMs: 1000 });
	const slow = Buffer.from("slow"), quick = Buffer.from("quick");
	const first = await request("GET", [opt("Observe", 0), opt("Uri-Path", "slow")], undefined, slow);
	t.is(first.code, "0.00", "a separate response: the ACK first");
	await request("GET", [opt("Observe", 0), opt("Uri-Path", "counter")], undefined, quick);
	await sim.run(5_500);
	const values = (token) => notificationsFor(inbox, token).map((m) => Number(m.p.payload.toString()));
	const s = values(slow), q = values(quick);
	t.true(s.length >= 5 && q.length >= 5, `${s.length} slow, ${q.length} quick`);
	for (let i = 1; i < s.length; i++) t.true(s[i] > s[i - 1], JSON.stringify(s));
	for (let i = 1; i < q.length; i++) t.true(q[i] > q[i - 1], JSON.stringify(q));
});

test("Observe: a GET with Observe=1 deregisters", async (t) => {
	const { sim, dev, inbox, request } = await setup(t, { notifyMs: 1000 });
	const token = Buffer.from("obs2");
	await request("GET", [opt("Observe", 0), opt("Uri-Path", "counter")], undefined, token);
	await sim.run(2_500);
	const off = await request("GET", [opt("Observe", 1), opt("Uri-Path", "counter")], undefined, token);
	t.is(off.code, "2.05");
	t.is(option(off, "Observe"), undefined, "the answer to a deregistration carries no Observe");
	const count = notificationsFor(inbox, token).length;
	await sim.run(5_000);
	t.is(notificationsFor(inbox, token).length, count);
	t.true(dev.traces().includes("observation ended counter deregistered"));
});

test("Observe: a CON notification at least every 24 hours, NON in between", async (t) => {
	const { sim, inbox, request } = await setup(t, { notifyMs: 15 * 60_000 });
	const token = Buffer.from("day");
	await request("GET", [opt("Observe", 0), opt("Uri-Path", "counter")], undefined, token);
	await sim.run(50 * HOUR);
	const notes = notificationsFor(inbox, token);
	t.true(notes.length >= 190, `${notes.length} notifications in 50 h`);
	const con = notes.filter((m) => m.p.confirmable);
	t.true(con.length >= 2 && con.length <= 3, `${con.length} CON notifications in 50 h`);
	for (let i = 1; i < con.length; i++) t.true(con[i].at - con[i - 1].at <= 24 * HOUR + 15 * 60_000);
});

test("Observe: a confirmable notification nobody acknowledges ends the observation after the retransmissions", async (t) => {
	const { sim, dev, inbox, request, control } = await setup(t, { notifyMs: 10_000, confirmableNotifications: true });
	const token = Buffer.from("gone");
	await request("GET", [opt("Observe", 0), opt("Uri-Path", "counter")], undefined, token);
	control.silent(); // the observer has gone away
	await sim.run(10 * 60_000);
	const notes = notificationsFor(inbox, token);
	// the first notification and its 4 retransmissions (same Message ID), then nothing
	t.is(new Set(notes.map((m) => m.p.messageId)).size, 1, "one notification, retransmitted");
	t.is(notes.length, 5);
	t.true(dev.traces().includes("observation ended counter timeout"));
});

test("Block2: the client picks a smaller block size; Size2, ETag and the end of the representation", async (t) => {
	const { request } = await setup(t);
	const whole = [];
	let etag, size2;
	for (let n = 0; ; n++) {
		const p = await request("GET", [opt("Uri-Path", "large"), opt("Block2", (n << 4) | 2)]); // SZX 2: 64 bytes
		t.is(p.code, "2.05");
		const b = block(option(p, "Block2"));
		t.is(b.num, n);
		t.is(b.size, 64);
		if (n === 0) size2 = num(option(p, "Size2"));
		etag ??= option(p, "ETag");
		t.deepEqual(option(p, "ETag"), etag, "one ETag across the blocks");
		whole.push(p.payload);
		if (!b.more) break;
	}
	t.is(size2, 3000);
	t.is(Buffer.concat(whole).length, 3000);
	t.is(whole.length, Math.ceil(3000 / 64));
	const past = await request("GET", [opt("Uri-Path", "large"), opt("Block2", (100 << 4) | 2)]);
	t.is(past.code, "4.02", "a block past the end");
	// without Block2 the device sends the first block of its own size (SZX 6: 1024)
	const plain = await request("GET", [opt("Uri-Path", "large")]);
	t.deepEqual(block(option(plain, "Block2")), { num: 0, more: true, szx: 6, size: 1024 });
});

test("Block1: 2.31 per block, 4.08 for a gap, 4.13 with Size1 above the limit, 2.04 at the end", async (t) => {
	const { request, dev } = await setup(t, { maxBody: 1024 });
	const body = Buffer.alloc(700, 0x41);
	const put = (n, more, payload, extra = []) => request("PUT", [opt("Uri-Path", "store"), opt("Block1", (n << 4) | (more ? 8 : 0) | 4), ...extra], payload);
	// too large, announced by Size1
	const big = await put(0, true, body.subarray(0, 256), [opt("Size1", 5000)]);
	t.is(big.code, "4.13");
	t.is(num(option(big, "Size1")), 1024, "4.13 says the largest body accepted");
	// a gap in the sequence
	t.is((await put(0, true, body.subarray(0, 256))).code, "2.31");
	t.is((await put(2, true, Buffer.alloc(256, 0x43))).code, "4.08");
	t.is((await put(1, true, Buffer.alloc(100, 0x43))).code, "4.00", "a block that is not the last must fill its size");
	// the whole body in order
	const codes = [];
	for (let n = 0; n * 256 < body.length; n++) {
		const more = (n + 1) * 256 < body.length;
		const p = await put(n, more, body.subarray(n * 256, (n + 1) * 256));
		codes.push(p.code);
		t.is(block(option(p, "Block1")).num, n, "the response echoes the block number");
	}
	t.deepEqual(codes, ["2.31", "2.31", "2.04"]);
	t.true(dev.traces().includes("stored 700 bytes"));
	// growing past the limit block by block
	const growing = [];
	for (let n = 0; n < 6; n++) growing.push((await put(n, true, Buffer.alloc(256, 0x42))).code);
	// the block that would pass 1024 bytes is refused, and the transfer is gone after it
	t.deepEqual(growing, ["2.31", "2.31", "2.31", "2.31", "4.13", "4.08"]);
	t.is(dev.resets.length, 0);
});
