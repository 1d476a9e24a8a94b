// Malformed and unusual CoAP messages against the firmware's endpoint on XS, in virtual
// time: a hand-written corpus with the answer RFC 7252 prescribes for each, then random
// mutations of valid messages. Messages are built byte by byte or with the npm
// `coap-packet` package, and every answer must parse with it.
import test from "ava";
import packet from "coap-packet";
import { simulation, fixture } from "./helpers/sim.js";
import { Random } from "../host-sim/models/random.js";

const PORT = 5683;
const CON = 0, NON = 1, ACK = 2, RST = 3;
const header = (type, tkl, code, mid) => [0x40 | (type << 4) | tkl, code, mid >> 8, mid & 0xff];
const code = (cls, detail) => (cls << 5) | detail;
const GET = 1, PUT = 3;
const ascii = (s) => [...Buffer.from(s)];
// option bytes for a delta/length that fit in 4 bits each
const opt = (delta, value) => [(delta << 4) | value.length, ...value];
const uriHello = opt(11, ascii("hello"));

async function setup(t) {
	const sim = simulation(t, { seed: 99, latencyMs: 1 });
	const dev = await sim.addDevice({ entry: fixture("coap-resources.ts"), config: { port: PORT } });
	const socket = sim.network.createSocket();
	socket.bind(41000, "127.0.0.2");
	const inbox = [];
	socket.on("message", (msg) => inbox.push(Buffer.from(msg)));
	/** send one datagram and collect what the device answers within 100 ms */
	const exchange = async (bytes) => {
		inbox.length = 0;
		socket.send(Buffer.from(bytes), PORT, "127.0.0.1");
		await sim.run(100);
		return inbox.splice(0);
	};
	return { sim, dev, exchange };
}

/** The hand-written corpus: [name, bytes, expected answer] */
function corpus() {
	const cases = [];
	const add = (name, bytes, expect) => cases.push({ name, bytes, expect });
	let mid = 0x2000;
	const next = () => ++mid;
	// --- ignored without an answer: no Message ID to answer, or another version
	for (let n = 0; n < 4; n++) add(`${n}-byte datagram`, [0x40, 0x01, 0x12].slice(0, n).concat(n === 3 ? [] : []), { none: true });
	add("1 byte 0xff", [0xff], { none: true });
	for (const version of [0, 2, 3]) for (const type of [CON, NON]) {
		const m = next();
		add(`version ${version} type ${type}`, [(version << 6) | (type << 4), GET, m >> 8, m & 0xff, ...uriHello], { none: true });
	}
	// --- message format errors in a CON: RST (§4.2, §3)
	for (let tkl = 9; tkl <= 15; tkl++) {
		const m = next();
		add(`token length ${tkl}`, [...header(CON, tkl, GET, m), ...new Array(tkl).fill(7)], { rst: m });
	}
	for (const [tkl, extra] of [[1, [9]], [0, [0x11, 0x61]], [0, [0xff, 1]]]) {
		const m = next();
		add(`empty CON with ${tkl ? "a token" : "bytes after the header"} ${extra}`, [...header(CON, tkl, 0, m), ...extra], { rst: m });
	}
	for (const cls of [1, 6, 7]) for (const detail of [0, 1, 31]) {
		const m = next();
		add(`reserved code class ${cls}.${detail}`, [...header(CON, 0, code(cls, detail), m), ...uriHello], { rst: m });
	}
	for (const first of [0xf0, 0xf1, 0xfe, 0x0f, 0x1f, 0xbf, 0xdf, 0xef]) {
		const m = next();
		add(`reserved nibble 15 in option byte 0x${first.toString(16)}`, [...header(CON, 0, GET, m), first, 0, 0, 0], { rst: m });
	}
	for (const tail of [[0xff], [...uriHello, 0xff]]) {
		const m = next();
		add(`payload marker with no payload (${tail.length} bytes)`, [...header(CON, 0, GET, m), ...tail], { rst: m });
	}
	const truncated = [
		[0xd0], // extended delta byte missing
		[0xe0, 0x01], // 2-byte extended delta short
		[0x1d], // extended length byte missing
		[0x1e, 0x00], // 2-byte extended length short
		[0xb5, ...ascii("hel")], // value runs past the end
		[0xbd, 20, ...ascii("hello")], // 33-byte value, 5 present
		[0x1e, 0x10, 0x00, 1, 2, 3], // 4365-byte value
	];
	for (const bytes of truncated) {
		const m = next();
		add(`truncated option ${Buffer.from(bytes).toString("hex")}`, [...header(CON, 0, GET, m), ...bytes], { rst: m });
	}
	for (const tkl of [1, 4, 8]) {
		const m = next();
		add(`token of ${tkl} announced, ${tkl - 1} present`, [...header(CON, tkl, GET, m), ...new Array(tkl - 1).fill(1)], { rst: m });
	}
	{
		const m = next();
		// Uri-Path (11) then delta 14 with 0xffff: option number 11 + 65804 > 65535
		add("option number above 65535", [...header(CON, 0, GET, m), ...uriHello, 0xe0, 0xff, 0xff], { rst: m });
	}
	for (let i = 0; i < 5; i++) {
		const m = next();
		add(`too many options (${70 + i * 10} Uri-Query)`, [...header(CON, 0, GET, m), ...uriHello, ...opt(4, ascii("q")), ...new Array(69 + i * 10).fill(0).flatMap(() => opt(0, ascii("q")))], { rst: m });
	}
	// --- well-formed but not acceptable
	const critical = [9, 13, 19, 21, 25, 29, 31, 33, 37, 41, 43, 45, 57, 61, 63, 99, 2049, 65001];
	for (const number of critical) {
		const m = next();
		const extended = number - 11 - 269; // after Uri-Path: delta 14 form when large
		const option = number - 11 < 13 ? [((number - 11) << 4) | 1, 0x41] : number - 11 < 269 ? [0xd1, number - 11 - 13, 0x41] : [0xe1, extended >> 8, extended & 0xff, 0x41];
		const bytes = number < 11 ? [...header(CON, 2, GET, m), 1, 2, (number << 4) | 1, 0x41, ((11 - number) << 4) | 5, ...ascii("hello")] : [...header(CON, 2, GET, m), 1, 2, ...uriHello, ...option];
		add(`unrecognized critical option ${number} in a CON request`, bytes, { code: "4.02", type: ACK, mid: m });
		const n = next();
		const non = [...bytes];
		non[0] = 0x40 | (NON << 4) | 2;
		non[2] = n >> 8;
		non[3] = n & 0xff;
		add(`unrecognized critical option ${number} in a NON request`, non, { rst: n });
	}
	const badLength = [
		["Uri-Port (7) of 3 bytes", [...header(CON, 0, GET, 0), 0x73, 1, 2, 3, 0x45, ...ascii("hello")]],
		["Accept (17) of 3 bytes", [...header(CON, 0, GET, 0), ...uriHello, 0x63, 1, 2, 3]],
		["Block2 (23) of 4 bytes", [...header(CON, 0, GET, 0), ...uriHello, 0xc4, 1, 2, 3, 4]],
		["If-None-Match (5) twice", [...header(CON, 0, GET, 0), 0x50, 0x00, 0x65, ...ascii("hello")]],
		["Uri-Host (3) of 300 bytes", [...header(CON, 0, GET, 0), 0x3e, 0x00, 300 - 269, ...new Array(300).fill(0x61), 0x85, ...ascii("hello")]],
		["Observe (6) of 4 bytes, elective but Block1 (27) of 5 critical", [...header(CON, 0, PUT, 0), 0x64, 0, 0, 0, 1, 0x55, ...ascii("store"), 0xd5, 27 - 11 - 13, 1, 2, 3, 4, 5]],
	];
	for (const [what, bytes] of badLength) {
		const m = next();
		bytes[2] = m >> 8;
		bytes[3] = m & 0xff;
		add(`critical option out of spec: ${what}`, bytes, { code: "4.02", type: ACK, mid: m });
	}
	// elective options the device does not know are skipped (§5.4.1)
	for (const number of [2, 10, 16, 18, 22, 100, 1000, 2048, 65000]) {
		const m = next();
		const delta = number - 11;
		const bytes = number < 11
			? [...header(CON, 0, GET, m), (number << 4) | 1, 9, ((11 - number) << 4) | 5, ...ascii("hello")]
			: [...header(CON, 0, GET, m), ...uriHello, ...(delta < 13 ? [(delta << 4) | 1, 9] : delta < 269 ? [0xd1, delta - 13, 9] : [0xe1, (delta - 269) >> 8, (delta - 269) & 0xff, 9])];
		add(`unknown elective option ${number}`, bytes, { code: "2.05", type: ACK, mid: m, payload: "hello from XS" });
	}
	// Content-Format (elective) of 3 bytes: out of spec, so ignored
	{
		const m = next();
		add("Content-Format of 3 bytes ignored", [...header(CON, 0, GET, m), ...uriHello, 0x13, 1, 2, 3], { code: "2.05", type: ACK, mid: m });
	}
	// request codes with no method: 4.05 (§5.8)
	for (let detail = 8; detail <= 31; detail++) {
		const m = next();
		add(`method code 0.${String(detail).padStart(2, "0")}`, [...header(CON, 1, code(0, detail), m), 5, ...uriHello], { code: "4.05", type: ACK, mid: m });
	}
	// messages that are not requests
	{
		let m = next();
		add("CoAP ping (empty CON)", header(CON, 0, 0, m), { rst: m });
		m = next();
		add("CON 2.05 nobody asked for", [...header(CON, 2, code(2, 5), m), 9, 9, 0xff, 1], { rst: m });
		m = next();
		add("NON 2.05 nobody asked for", [...header(NON, 2, code(2, 5), m), 9, 9], { rst: m });
		m = next();
		add("CON 4.04 with an unknown token", [...header(CON, 8, code(4, 4), m), 1, 2, 3, 4, 5, 6, 7, 8], { rst: m });
		m = next();
		add("ACK for a message never sent", header(ACK, 0, 0, m), { none: true });
		m = next();
		add("piggybacked 2.05 for a message never sent", [...header(ACK, 1, code(2, 5), m), 3, 0xff, 0x41], { none: true });
		m = next();
		add("RST for a message never sent", header(RST, 0, 0, m), { none: true });
		m = next();
		add("empty NON", header(NON, 0, 0, m), { none: true });
		m = next();
		add("ACK with an unrecognized critical option", [...header(ACK, 1, code(2, 5), m), 3, 0x91, 1], { none: true });
	}
	return cases;
}

function describe(bytes) {
	if (bytes.length === 4 && (bytes[0] & 0x0f) === 0 && bytes[1] === 0) return { rst: ((bytes[0] >> 4) & 3) === RST, mid: (bytes[2] << 8) | bytes[3] };
	return undefined;
}

test("a corpus of malformed and unusual messages gets exactly the RFC 7252 answers, without a reset", async (t) => {
	const { dev, exchange } = await setup(t);
	const cases = corpus();
	t.true(cases.length >= 120, `${cases.length} hand-written cases`);
	t.log(`${cases.length} hand-written cases`);
	const wrong = [];
	for (const c of cases) {
		const answers = await exchange(c.bytes);
		const e = c.expect;
		let ok;
		if (e.none) ok = answers.length === 0;
		else if (e.rst !== undefined) {
			const d = answers.length === 1 && describe(answers[0]);
			ok = d && d.rst && d.mid === e.rst;
		} else {
			ok = answers.length === 1;
			if (ok) {
				const p = packet.parse(answers[0]);
				ok = p.code === e.code && p.ack && p.messageId === e.mid && (e.payload === undefined || p.payload.toString() === e.payload);
			}
		}
		if (!ok) wrong.push(`${c.name}: expected ${JSON.stringify(e)}, got ${answers.map((a) => a.toString("hex")).join(" | ") || "nothing"}`);
	}
	t.deepEqual(wrong, []);
	t.is(dev.resets.length, 0);
	t.true(dev.traces().some((l) => l.startsWith("coap: malformed datagram")), "malformed input is logged");
});

function mutate(random, bytes) {
	const b = [...bytes];
	const pick = (n) => Math.floor(random.next() * n);
	switch (pick(6)) {
		case 0: { // flip a bit
			const i = pick(b.length);
			b[i] ^= 1 << pick(8);
			break;
		}
		case 1: // truncate
			b.length = pick(b.length);
			break;
		case 2: // insert a byte of special meaning
			b.splice(pick(b.length + 1), 0, [0xff, 0x0d, 0x0e, 0xf0, 0xd0, 0xe0, 0x00, 0x0f][pick(8)]);
			break;
		case 3: // overwrite a byte at random
			b[pick(b.length)] = pick(256);
			break;
		case 4: { // repeat a slice
			const i = pick(b.length), n = 1 + pick(8);
			b.splice(i, 0, ...b.slice(i, i + n));
			break;
		}
		default: // several flips
			for (let k = 0; k < 4; k++) b[pick(b.length)] ^= 1 << pick(8);
	}
	return b;
}

test("300 mutations of valid messages: no reset, every answer well-formed, heap back to baseline", async (t) => {
	const { sim, dev, exchange } = await setup(t);
	const random = new Random(4242);
	let mid = 0x5000;
	const valid = () => {
		const m = ++mid & 0xffff;
		const token = Buffer.from([m & 0xff, 7]);
		const kinds = [
			{ code: "GET", options: [{ name: "Uri-Path", value: Buffer.from("hello") }] },
			{ code: "GET", options: [{ name: "Uri-Path", value: Buffer.from("large") }, { name: "Block2", value: Buffer.from([0x12]) }] },
			{ code: "PUT", options: [{ name: "Uri-Path", value: Buffer.from("store") }, { name: "Content-Format", value: Buffer.from([0]) }], payload: Buffer.from("twenty-one and a half") },
			{ code: "PUT", options: [{ name: "Uri-Path", value: Buffer.from("store") }, { name: "Block1", value: Buffer.from([0x0a]) }], payload: Buffer.alloc(64, 0x33) },
			{ code: "POST", options: [{ name: "Uri-Path", value: Buffer.from("count") }, { name: "Uri-Query", value: Buffer.from("a=1") }], payload: Buffer.from("m") },
		];
		const k = kinds[m % kinds.length];
		return packet.generate({ messageId: m, token, confirmable: true, payload: k.payload ?? Buffer.alloc(0), code: k.code, options: k.options });
	};
	// warm up: every path the device takes once, then the baseline
	for (let i = 0; i < 5; i++) await exchange(valid());
	await sim.run(300_000);
	const before = await dev.heap();

	let answered = 0;
	const bad = [];
	for (let i = 0; i < 300; i++) {
		const bytes = mutate(random, valid());
		for (const answer of await exchange(bytes)) {
			answered++;
			try {
				const p = packet.parse(answer);
				if (p.code === "0.00" && !p.ack && !p.reset) bad.push(`empty CON/NON from the device to ${Buffer.from(bytes).toString("hex")}`);
			} catch (e) {
				bad.push(`unparsable answer ${answer.toString("hex")} to ${Buffer.from(bytes).toString("hex")}: ${e.message}`);
			}
		}
	}
	t.deepEqual(bad, []);
	t.true(answered > 150, `${answered} answers`);
	t.is(dev.resets.length, 0);
	// still serving normally
	const ok = packet.parse((await exchange(packet.generate({ messageId: 1, token: Buffer.from([1]), code: "GET", options: [{ name: "Uri-Path", value: Buffer.from("hello") }] })))[0]);
	t.is(ok.payload.toString(), "hello from XS");

	// after EXCHANGE_LIFETIME (247 s) the endpoint forgets every exchange
	await sim.run(300_000);
	const after = await dev.heap();
	t.log(`device heap before ${before.deviceSlots} slots / ${before.deviceChunkBytes} B, after ${after.deviceSlots} slots / ${after.deviceChunkBytes} B`);
	t.true(after.deviceSlots <= before.deviceSlots + 16, `slots ${before.deviceSlots} -> ${after.deviceSlots}`);
	t.true(after.deviceChunkBytes <= before.deviceChunkBytes + 256, `chunk bytes ${before.deviceChunkBytes} -> ${after.deviceChunkBytes}`);
});
