// Firmware Update (object 5) on XS in virtual time, its flash side a slot in RAM
// (test/fixtures/fota-client.ts): the state machine, the Update Results and the Block1
// push of /5/0/0 as a server sees them on the wire (npm coap-packet), packages built here
// from the format of issue 13 with Node's crypto.
import test from "ava";
import crypto from "node:crypto";
import { simulation, fixture } from "./helpers/sim.js";
import { fileServer } from "./helpers/coap-file-server.js";
import { RawServer, num, option } from "./helpers/raw-lwm2m.js";

const OPAQUE = 42, TEXT = 0;

/** An LTFW package: 160-byte header (little-endian), then the payload. */
function makePackage(payload, { target = "host-sim", version = "1.0.1", magic = "LTFW", length = payload.length, hash, algorithm = 0 } = {}) {
	const h = Buffer.alloc(160);
	h.write(magic, 0, "latin1");
	h.writeUInt16LE(1, 4);
	h.writeUInt16LE(160, 6);
	h.write(target, 8, "latin1");
	h.write(version, 24, "latin1");
	h.writeUInt32LE(length, 40);
	(hash ?? crypto.createHash("sha256").update(payload).digest()).copy(h, 44);
	h.writeUInt16LE(algorithm, 76);
	return Buffer.concat([h, payload]);
}
const payloadOf = (n, seed = 1) => {
	const b = Buffer.alloc(n);
	let x = seed;
	for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) & 0x7fffffff) >> 16;
	return b;
};
const adler = (buf) => {
	let a = 1, b = 0;
	for (const byte of buf) { a = (a + byte) % 65521; b = (b + a) % 65521; }
	return (b * 65536 + a) >>> 0;
};
const block1 = (n, more, szx) => {
	const v = (n << 4) | (more ? 8 : 0) | szx;
	return v < 256 ? Buffer.from([v]) : v < 65536 ? Buffer.from([v >> 8, v & 255]) : Buffer.from([v >> 16, (v >> 8) & 255, v & 255]);
};

async function setup(t, config = {}) {
	const sim = simulation(t, { seed: 5, latencyMs: 1 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({ entry: fixture("fota-client.ts"), config: { serverUri: "coap://127.0.0.1:5683", lifetime: 600, ...config } });
	await sim.run(500);
	const read = async (path) => (await server.request("GET", path, { accept: TEXT })).text;
	/** PUT the package to /5/0/0 in blocks of 16 << szx bytes; blocks `from`..`to` (exclusive) */
	const push = async (pkg, { szx = 6, from = 0, to, token } = {}) => {
		const size = 16 << szx;
		const count = Math.ceil(pkg.length / size);
		const answers = [];
		for (let n = from; n < (to ?? count); n++) {
			const more = n < count - 1;
			answers.push(await server.request("PUT", "/5/0/0", { contentFormat: OPAQUE, block1: block1(n, more, szx), payload: pkg.subarray(n * size, (n + 1) * size), token: token?.(n) }));
		}
		return answers;
	};
	const traces = () => dev.traces();
	return { sim, server, dev, read, push, traces };
}

test("Register announces </5>;ver=1.2; the object's resources read back Idle", async (t) => {
	const { server, read } = await setup(t);
	const links = server.registrations()[0].p.payload.toString();
	t.true(links.includes("</5>;ver=1.2"), links);
	t.true(links.includes("</5/0>"), links);
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "0");
	t.is(await read("/5/0/9"), "2");
	t.is((await server.request("GET", "/5/0/8", { accept: 110 })).text, JSON.stringify([{ bn: "/5/0/8/", n: "0", v: 0 }, { n: "1", v: 1 }]));
});

test("push: 2.31 for each block, 2.04 for the last; Downloaded with the package's version; the slot got the payload once; Update restarts into it", async (t) => {
	const { sim, server, read, push, traces } = await setup(t);
	const payload = payloadOf(20_000);
	const pkg = makePackage(payload, { version: "1.0.1" });
	const answers = await push(pkg, { szx: 6 });
	t.deepEqual([...new Set(answers.slice(0, -1).map((a) => a.code))], ["2.31"]);
	t.is(answers.at(-1).code, "2.04", answers.at(-1).text);
	t.is(num(option(answers[3], "Block1")) >> 4, 3, "each 2.31 names its block");
	t.is(await read("/5/0/3"), "2");
	t.is(await read("/5/0/5"), "0");
	t.is(await read("/5/0/7"), "1.0.1");
	t.is(await read("/5/0/6"), "thermostat");
	const update = await server.request("POST", "/5/0/2");
	t.is(update.code, "2.04");
	t.is(await read("/5/0/3"), "3");
	await sim.run(1_000);
	t.true(traces().includes(`slot bytes ${payload.length} sum ${adler(payload)}`), traces().filter((l) => l.startsWith("slot")).join("\n"));
	t.true(traces().includes("slot complete"));
	t.true(traces().includes("restart requested"));
});

test("push: a server that starts over from block 0 gets a new transfer; a block sent again (new MID, new token) is not written twice", async (t) => {
	const { sim, server, read, push, traces } = await setup(t);
	const payload = payloadOf(12_000, 3);
	const pkg = makePackage(payload);
	await push(pkg, { szx: 5, to: 10 });
	// blocks 6..8 again, each with a new Message ID and a new token: answered 2.31, not written
	const again = await push(pkg, { szx: 5, from: 6, to: 9, token: (n) => Buffer.from([0xee, n]) });
	t.deepEqual(again.map((a) => a.code), ["2.31", "2.31", "2.31"]);
	// then it starts over from block 0 with new tokens all the way
	const answers = await push(pkg, { szx: 5, token: (n) => Buffer.from([0xab, n & 255, n >> 8]) });
	t.is(answers.at(-1).code, "2.04", answers.at(-1).text);
	t.is(await read("/5/0/3"), "2");
	t.is(await read("/5/0/5"), "0");
	t.is((await server.request("POST", "/5/0/2")).code, "2.04");
	await sim.run(1_000);
	const slots = traces().filter((l) => l.startsWith("slot open"));
	t.is(slots.length, 2, "block 0 again opened a new slot");
	t.true(traces().includes(`slot closed after ${10 * 512 - 160} bytes`), "the first, partial one was dropped");
	t.true(traces().includes(`slot bytes ${payload.length} sum ${adler(payload)}`));
});

test("push: a block past the bytes received is 4.08 and the transfer goes on from where it was", async (t) => {
	const { server, read, push } = await setup(t);
	const pkg = makePackage(payloadOf(3_000));
	await push(pkg, { szx: 4, to: 3 });
	const gap = await server.request("PUT", "/5/0/0", { contentFormat: OPAQUE, block1: block1(5, true, 4), payload: pkg.subarray(5 * 256, 6 * 256) });
	t.is(gap.code, "4.08");
	t.regex(gap.text, /out of sequence/);
	const rest = await push(pkg, { szx: 4, from: 3 });
	t.is(rest.at(-1).code, "2.04");
	t.is(await read("/5/0/3"), "2");
});

test("integrity: a wrong SHA-256 is 4.00 with the reason, State Idle, Result 5, and Update is refused 4.05", async (t) => {
	const { server, read, push, traces } = await setup(t);
	const payload = payloadOf(5_000);
	const answers = await push(makePackage(payload, { hash: Buffer.alloc(32, 7) }), { szx: 6 });
	t.is(answers.at(-1).code, "4.00");
	t.regex(answers.at(-1).text, /SHA-256/);
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "5");
	const update = await server.request("POST", "/5/0/2");
	t.is(update.code, "4.05");
	t.regex(update.text, /Downloaded/);
	t.true(traces().includes(`slot closed after ${payload.length} bytes`), "the image was dropped");
	// a length that is not the header's
	const short = await push(makePackage(payload, { length: payload.length + 10 }), { szx: 6 });
	t.is(short.at(-1).code, "4.00");
	t.regex(short.at(-1).text, /header says/);
	t.is(await read("/5/0/5"), "5");
});

test("unsupported package: another target, no LTFW magic or a signature algorithm answer at once and set Result 6 or 5", async (t) => {
	const { server, read, push } = await setup(t);
	const payload = payloadOf(4_000);
	let answers = await push(makePackage(payload, { target: "esp32" }), { szx: 6, to: 2 });
	t.is(answers[0].code, "2.31", "block 0 is acknowledged before it is looked at");
	t.is(answers[1].code, "4.00");
	t.regex(answers[1].text, /"esp32", this device is "host-sim"/);
	t.is(await read("/5/0/5"), "6");
	t.is(await read("/5/0/3"), "0");
	// a single-message write (no Block1)
	const whole = await server.request("PUT", "/5/0/0", { contentFormat: OPAQUE, payload: Buffer.from("hello, this is not a firmware package at all") });
	t.is(whole.code, "4.00");
	t.is(await read("/5/0/5"), "6");
	answers = await push(makePackage(payload, { magic: "ELF\x7f" }), { szx: 6, to: 2 });
	t.regex(answers[1].text, /no LTFW header/);
	answers = await push(makePackage(payload, { algorithm: 1 }), { szx: 6, to: 2 });
	t.regex(answers[1].text, /signature algorithm 1/);
	t.is(await read("/5/0/5"), "5");
	const wrongFormat = await server.request("PUT", "/5/0/0", { contentFormat: 110, payload: "[]" });
	t.is(wrongFormat.code, "4.15");
});

test("not enough flash: a payload larger than the slot is Result 2", async (t) => {
	const { read, push } = await setup(t, { capacity: 2_000 });
	const answers = await push(makePackage(payloadOf(3_000)), { szx: 6, to: 2 });
	t.is(answers[1].code, "4.13");
	t.regex(answers[1].text, /slot holds 2000/);
	t.is(await read("/5/0/5"), "2");
	t.is(await read("/5/0/3"), "0");
});

test("cancel: an empty Package resets to Idle with Result 0; Cancel /5/0/10 is Result 10 in Downloading and Downloaded, 4.05 in Idle", async (t) => {
	const { server, read, push, traces } = await setup(t);
	const pkg = makePackage(payloadOf(6_000));
	await push(pkg, { szx: 6, to: 3 });
	t.is(await read("/5/0/3"), "1");
	const empty = await server.request("PUT", "/5/0/0", { contentFormat: OPAQUE, payload: Buffer.alloc(0) });
	t.is(empty.code, "2.04");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "0");
	t.true(traces().some((l) => /^slot closed after \d+ bytes$/.test(l)));
	// the rest of the old transfer is out of sequence now
	t.is((await push(pkg, { szx: 6, from: 3, to: 4 }))[0].code, "4.08");
	// Cancel while Downloading
	await push(pkg, { szx: 6, to: 2 });
	t.is((await server.request("POST", "/5/0/10")).code, "2.04");
	t.is(await read("/5/0/5"), "10");
	t.is(await read("/5/0/3"), "0");
	// Cancel when Downloaded
	t.is((await push(pkg, { szx: 6 })).at(-1).code, "2.04");
	t.is(await read("/5/0/3"), "2");
	t.is(await read("/5/0/5"), "0", "a new download resets the Result");
	t.is((await server.request("POST", "/5/0/10")).code, "2.04");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "10");
	const idle = await server.request("POST", "/5/0/10");
	t.is(idle.code, "4.05");
	t.regex(idle.text, /no download to cancel/);
	// a NUL Package (5.xml's "NULL ('\0')") resets as well
	await push(pkg, { szx: 6, to: 2 });
	t.is((await server.request("PUT", "/5/0/0", { contentFormat: OPAQUE, payload: Buffer.from([0]) })).code, "2.04");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "0");
});

test("Update: refused 4.05 unless Downloaded; an image the slot cannot verify is Result 8 and the running firmware stays", async (t) => {
	const { sim, server, read, push, traces } = await setup(t, { failComplete: true });
	const idle = await server.request("POST", "/5/0/2");
	t.is(idle.code, "4.05");
	t.regex(idle.text, /State 2 \(Downloaded\), and the State is 0 \(Idle\)/);
	await push(makePackage(payloadOf(2_000)), { szx: 6 });
	t.is((await server.request("POST", "/5/0/2")).code, "2.04");
	await sim.run(1_000);
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "8");
	t.false(traces().includes("restart requested"));
});

test("Package URI: a scheme the device cannot fetch is Result 9, a malformed URI Result 7", async (t) => {
	const { server, read } = await setup(t);
	const write = (uri) => server.request("PUT", "/5/0/1", { contentFormat: TEXT, payload: uri });
	t.is((await write("https://example.com/fw.bin")).code, "2.04");
	t.is(await read("/5/0/5"), "9");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/1"), "https://example.com/fw.bin");
	t.is((await write("not a uri")).code, "2.04");
	t.is(await read("/5/0/5"), "7");
	t.is((await write("")).code, "2.04");
	t.is(await read("/5/0/1"), "");
});

test("observers of State and Update Result hear every change of a push", async (t) => {
	const { server, push, sim } = await setup(t);
	const sToken = Buffer.from("st"), rToken = Buffer.from("rs");
	// pmin 0: each change goes out at once (the default pmin of 1 s would merge them)
	for (const p of ["/5/0/3", "/5/0/5"]) t.is((await server.request("PUT", p, { query: ["pmin=0"] })).code, "2.04");
	await server.request("GET", "/5/0/3", { observe: 0, token: sToken, accept: TEXT });
	await server.request("GET", "/5/0/5", { observe: 0, token: rToken, accept: TEXT });
	await push(makePackage(payloadOf(3_000)), { szx: 6 });
	await push(makePackage(payloadOf(3_000), { hash: Buffer.alloc(32) }), { szx: 6 });
	await sim.run(2_000);
	const values = (token) => server.notifications(token).filter((r) => !r.p.ack).map((r) => r.p.payload.toString());
	t.deepEqual(values(sToken), ["1", "2", "1", "0"]);
	t.deepEqual(values(rToken), ["5"]);
});

test("pull: coap:// Package URI fetched block by block (Block2) into the slot, Downloaded; exchanges lost on the way are tried again from the block they were at", async (t) => {
	const { sim, server, read, traces } = await setup(t);
	const payload = payloadOf(30_000, 9);
	const served = fileServer(sim, { files: { "fw/thermostat-1.0.2.ltfw": makePackage(payload, { version: "1.0.2" }) }, maxSzx: 5, drop: (n) => n === 7 || n === 20 || n === 21 });
	t.is((await server.request("PUT", "/5/0/1", { contentFormat: TEXT, payload: "coap://127.0.0.3:5683/fw/thermostat-1.0.2.ltfw" })).code, "2.04");
	t.is(await read("/5/0/3"), "1");
	for (let i = 0; i < 400 && (await read("/5/0/3")) === "1"; i++) await sim.run(1_000);
	t.is(await read("/5/0/3"), "2", traces().filter((l) => l.startsWith("firmware")).join("\n"));
	t.is(await read("/5/0/5"), "0");
	t.is(await read("/5/0/7"), "1.0.2");
	const blocks = Math.ceil((payload.length + 160) / 512);
	t.deepEqual([...new Set(served.blocks)].sort((a, b) => a - b), [...Array(blocks).keys()], "every 512-byte block (the server's size), in order");
	t.is((await server.request("POST", "/5/0/2")).code, "2.04");
	await sim.run(1_000);
	t.true(traces().includes(`slot bytes ${payload.length} sum ${adler(payload)}`), "each byte written once, in order");
});

test("pull: a server that never answers is Result 4 after the bounded retries; 4.04 is Result 7; coaps:// without a PSK and other schemes Result 9", async (t) => {
	const { sim, server, read } = await setup(t);
	fileServer(sim, { files: {} });
	const write = (uri) => server.request("PUT", "/5/0/1", { contentFormat: TEXT, payload: uri });
	await write("coap://127.0.0.3:5683/fw/missing.ltfw");
	await sim.run(5_000);
	t.is(await read("/5/0/5"), "7");
	t.is(await read("/5/0/3"), "0");
	await write("coap://127.0.0.9:5683/fw/a.ltfw"); // nobody there
	t.is(await read("/5/0/3"), "1");
	for (let i = 0; i < 80 && (await read("/5/0/3")) === "1"; i++) await sim.run(15_000);
	t.is(await read("/5/0/5"), "4");
	t.is(await read("/5/0/3"), "0");
	await write("coaps://127.0.0.3:5684/fw/a.ltfw");
	t.is(await read("/5/0/5"), "9");
	await write("ftp://127.0.0.3/fw/a.ltfw");
	t.is(await read("/5/0/5"), "9");
	await write("coap://thermostat-updates.example/fw/a.ltfw");
	t.is(await read("/5/0/5"), "7", "a host name: this device has no DNS");
	await write("coap://127.0.0.3:5683");
	t.is(await read("/5/0/5"), "7", "no resource path");
});

test("pull: cancelled by an empty Package URI while downloading: Idle, Result 0, no further requests", async (t) => {
	const { sim, server, read, traces } = await setup(t);
	const served = fileServer(sim, { files: { "fw/a.ltfw": makePackage(payloadOf(60_000)) }, maxSzx: 4, drop: (n) => n >= 10 });
	await server.request("PUT", "/5/0/1", { contentFormat: TEXT, payload: "coap://127.0.0.3:5683/fw/a.ltfw" });
	await sim.run(3_000);
	t.is(await read("/5/0/3"), "1");
	t.is((await server.request("PUT", "/5/0/1", { contentFormat: TEXT, payload: "" })).code, "2.04");
	t.is(await read("/5/0/3"), "0");
	t.is(await read("/5/0/5"), "0");
	const count = served.requests;
	await sim.run(200_000);
	t.is(served.requests, count, "the download stopped");
	t.true(traces().some((l) => /^slot closed after \d+ bytes$/.test(l)));
});
