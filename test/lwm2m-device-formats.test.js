// The device's LwM2M content-format codecs (device/lwm2m/formats), running on XS in the
// simulator behind test/fixtures/formats-probe.ts, checked against code the device did not
// write: cbor-x, Node's JSON.parse and Buffer, and the TLV examples of OMA LwM2M Core TS.
import test from "ava";
import { Decoder, Encoder, Tag } from "cbor-x";
import { simulation, fixture } from "./helpers/sim.js";
import { Random } from "../host-sim/models/random.js";

const PORT = 5700;
const CF = { text: 0, link: 40, opaque: 42, senmlJson: 110, senmlCbor: 112, tlv: 11542, lwm2mCbor: 11544 };
const T = { None: 0, String: 1, Integer: 2, Unsigned: 3, Float: 4, Boolean: 5, Opaque: 6, Time: 7, Objlnk: 8, Corelnk: 9 };
const cborDecoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const cborEncoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
const hex = (s) => Buffer.from(s.replace(/[^0-9a-f]/gi, ""), "hex");

/** One simulated device running the probe, and ask(header, payload) -> its reply. */
async function probe(t) {
	const sim = simulation(t, { seed: 11, latencyMs: 0 });
	const dev = await sim.addDevice({ entry: fixture("formats-probe.ts"), config: { port: PORT } });
	const socket = sim.network.createSocket();
	socket.bind(40000, "127.0.0.2");
	const pending = new Map();
	let next = 1;
	socket.on("message", (msg) => {
		const nl = msg.indexOf(10);
		const head = JSON.parse(msg.subarray(0, nl).toString());
		const resolve = pending.get(head.id);
		pending.delete(head.id);
		resolve?.({ ...head, bytes: Buffer.from(msg.subarray(nl + 1)) });
	});
	await sim.run(400); // boot
	/** Several cases in flight at once (the device queues up to 16 datagrams). */
	async function askAll(cases) {
		const replies = [];
		for (let k = 0; k < cases.length; k += 8) {
			const batch = cases.slice(k, k + 8).map(([header, payload = Buffer.alloc(0)]) => {
				const id = next++;
				const reply = new Promise((resolve) => pending.set(id, resolve));
				socket.send(Buffer.concat([Buffer.from(JSON.stringify({ id, ...header }) + "\n"), Buffer.from(payload)]), PORT, "127.0.0.1");
				return { id, reply };
			});
			for (let spins = 0; batch.some((b) => pending.has(b.id)); spins++) {
				if (spins > 1000) throw new Error(`no answer to ${JSON.stringify(cases[k][0])}`);
				await sim.run(1);
			}
			for (const b of batch) replies.push(await b.reply);
		}
		return replies;
	}
	const ask = async (header, payload) => (await askAll([[header, payload]]))[0];
	return { sim, dev, ask, askAll };
}

const decode = (ask, cf, path, payload) => ask({ op: "decode", cf, path }, payload);
const encode = (ask, cf, path, entries, extra = {}) => ask({ op: "encode", cf, path, entries, ...extra });
const ok = (t, r) => {
	t.true(r.ok, r.ok ? "" : `${r.error}: ${r.message}`);
	return r;
};
const formatError = (t, r, what) => t.is(r.error, "FormatError", `${what}: ${JSON.stringify(r)}`);

// ---------------------------------------------------------------- TLV: the spec's examples

// OMA-TS-LightweightM2M_Core-V1_1 (and 1.0 §6.4.3), TLV examples: the Device object instance
const DEVICE_TLV = hex(`
	c8 00 14 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69 61 6e 63 65
	c8 01 16 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74
	c8 02 09 33 34 35 30 30 30 31 32 33
	c3 03 31 2e 30
	86 06 41 00 01 41 01 05
	88 07 08 42 00 0e d8 42 01 13 88
	87 08 41 00 7d 42 01 03 84
	c1 09 64
	c1 0a 0f
	83 0b 41 00 00
	c4 0d 51 82 42 8f
	c6 0e 2b 30 32 3a 30 30
	c1 10 55`);
const DEVICE_ENTRIES = [
	[3, 0, 0, -1, T.String, "Open Mobile Alliance"],
	[3, 0, 1, -1, T.String, "Lightweight M2M Client"],
	[3, 0, 2, -1, T.String, "345000123"],
	[3, 0, 3, -1, T.String, "1.0"],
	[3, 0, 6, 0, T.Integer, 1], [3, 0, 6, 1, T.Integer, 5],
	[3, 0, 7, 0, T.Integer, 3800], [3, 0, 7, 1, T.Integer, 5000],
	[3, 0, 8, 0, T.Integer, 125], [3, 0, 8, 1, T.Integer, 900],
	[3, 0, 9, -1, T.Integer, 100],
	[3, 0, 10, -1, T.Integer, 15],
	[3, 0, 11, 0, T.Integer, 0],
	[3, 0, 13, -1, T.Time, 1367491215],
	[3, 0, 14, -1, T.String, "+02:00"],
	[3, 0, 16, -1, T.String, "U"],
];
// Multiple Object Instance examples: Access Control /2 (instances 0 and 2), Server /1
const ACL_TLV = hex(`08 00 0e c1 00 01 c1 01 00 83 02 41 7f 07 c1 03 7f
	08 02 12 c1 00 03 c1 01 00 87 02 41 7f 07 61 01 36 01 c1 03 7f`);
const ACL_ENTRIES = [
	[2, 0, 0, -1, T.Integer, 1], [2, 0, 1, -1, T.Integer, 0], [2, 0, 2, 127, T.Integer, 7], [2, 0, 3, -1, T.Integer, 127],
	[2, 2, 0, -1, T.Integer, 3], [2, 2, 1, -1, T.Integer, 0], [2, 2, 2, 127, T.Integer, 7], [2, 2, 2, 310, T.Integer, 1], [2, 2, 3, -1, T.Integer, 127],
];
const SERVER_TLV = hex("08 00 0f c1 00 01 c4 01 00 01 51 80 c1 06 01 c1 07 55");
const SERVER_ENTRIES = [[1, 0, 0, -1, T.Integer, 1], [1, 0, 1, -1, T.Integer, 86400], [1, 0, 6, -1, T.Boolean, true], [1, 0, 7, -1, T.String, "U"]];
// Object Link examples: /65/0 (a multiple objlnk resource), and /66 with two instances
const LINK1_TLV = hex(`88 00 0c 44 00 00 42 00 00 44 01 00 42 00 01
	c8 01 0d 38 36 31 33 38 30 30 37 35 35 35 30 30
	c4 02 12 34 56 78`);
const LINK1_ENTRIES = [[65, 0, 0, 0, T.Objlnk, "66:0"], [65, 0, 0, 1, T.Objlnk, "66:1"], [65, 0, 1, -1, T.String, "8613800755500"], [65, 0, 2, -1, T.Integer, 0x12345678]];
const LINK2_TLV = hex(`08 00 26 c8 00 0b 6d 79 53 65 72 76 69 63 65 20 31
	c8 01 0f 49 6e 74 65 72 6e 65 74 2e 31 35 2e 32 33 34 c4 02 00 43 00 00
	08 01 26 c8 00 0b 6d 79 53 65 72 76 69 63 65 20 32
	c8 01 0f 49 6e 74 65 72 6e 65 74 2e 31 35 2e 32 33 35 c4 02 ff ff ff ff`);
const LINK2_ENTRIES = [
	[66, 0, 0, -1, T.String, "myService 1"], [66, 0, 1, -1, T.String, "Internet.15.234"], [66, 0, 2, -1, T.Objlnk, "67:0"],
	[66, 1, 0, -1, T.String, "myService 2"], [66, 1, 1, -1, T.String, "Internet.15.235"], [66, 1, 2, -1, T.Objlnk, "65535:65535"],
];

test("TLV: the specification's examples decode to their values and re-encode byte for byte", async (t) => {
	const { ask, dev } = await probe(t);
	const cases = [
		["Device /3/0", [3, 0], DEVICE_TLV, DEVICE_ENTRIES],
		["Device /3 (wrapped in its Object Instance)", [3], Buffer.concat([hex("08 00 79"), DEVICE_TLV]), DEVICE_ENTRIES],
		["Access Control /2", [2], ACL_TLV, ACL_ENTRIES],
		["Server /1", [1], SERVER_TLV, SERVER_ENTRIES],
		["Object Link /65/0", [65, 0], LINK1_TLV, LINK1_ENTRIES],
		["Object Link /66", [66], LINK2_TLV, LINK2_ENTRIES],
	];
	t.is(DEVICE_TLV.length, 121, "the example's stated size");
	for (const [name, path, bytes, entries] of cases) {
		const r = ok(t, await ask({ op: "roundtrip", cf: CF.tlv, path }, bytes));
		t.deepEqual(r.entries, entries, name);
		t.is(r.bytes.toString("hex"), bytes.toString("hex"), `${name} re-encoded`);
		// and encoding from the entries alone gives the same bytes
		t.is(ok(t, await encode(ask, CF.tlv, path, entries)).bytes.toString("hex"), bytes.toString("hex"), `${name} encoded`);
	}
	// /3/0 also decodes at the instance level when wrapped, and single resources and instances read alone
	t.deepEqual(ok(t, await decode(ask, CF.tlv, [3, 0], Buffer.concat([hex("08 00 79"), DEVICE_TLV]))).entries, DEVICE_ENTRIES);
	t.is((await encode(ask, CF.tlv, [3, 0, 7], DEVICE_ENTRIES.slice(6, 8))).bytes.toString("hex"), "88070842000ed842011388");
	t.is((await encode(ask, CF.tlv, [3, 0, 7, 1], DEVICE_ENTRIES.slice(7, 8))).bytes.toString("hex"), "42011388");
	t.is((await encode(ask, CF.tlv, [3, 0, 0], DEVICE_ENTRIES.slice(0, 1))).bytes.toString("hex"), DEVICE_TLV.subarray(0, 23).toString("hex"));
	t.deepEqual((await decode(ask, CF.tlv, [3, 0, 7], hex("88070842000ed842011388"))).entries, DEVICE_ENTRIES.slice(6, 8));
	t.deepEqual((await decode(ask, CF.tlv, [3, 0, 7, 1], hex("42011388"))).entries, DEVICE_ENTRIES.slice(7, 8));
	// a Create on /1 without an instance id: bare resources, instance -1
	t.deepEqual((await decode(ask, CF.tlv, [1], SERVER_TLV.subarray(3))).entries, SERVER_ENTRIES.map(([o, , ...rest]) => [o, -1, ...rest]));
	t.is(dev.resets.length, 0);
});

test("TLV: integer, float, unsigned and length widths are the smallest that hold the value", async (t) => {
	const { ask } = await probe(t);
	const value = async (type, v, resource = { [T.Integer]: 1, [T.Unsigned]: 2, [T.Float]: 3, [T.Time]: 6 }[type]) => {
		const r = ok(t, await encode(ask, CF.tlv, [9999, 0, resource], [[9999, 0, resource, -1, type, v]]));
		const back = ok(t, await decode(ask, CF.tlv, [9999, 0, resource], r.bytes));
		t.deepEqual(back.entries[0][5], v, `${v} reads back`);
		const head = r.bytes[0];
		return r.bytes.subarray(1 + (head & 0x20 ? 2 : 1) + ((head >> 3) & 3)).toString("hex"); // the value, past the header
	};
	t.is(await value(T.Integer, 0), "00");
	t.is(await value(T.Integer, 127), "7f");
	t.is(await value(T.Integer, 128), "0080");
	t.is(await value(T.Integer, -128), "80");
	t.is(await value(T.Integer, -129), "ff7f");
	t.is(await value(T.Integer, 32767), "7fff");
	t.is(await value(T.Integer, 32768), "00008000");
	t.is(await value(T.Integer, -2147483648), "80000000");
	t.is(await value(T.Integer, 2147483648), "0000000080000000");
	t.is(await value(T.Integer, 2 ** 53 - 1), "001fffffffffffff");
	t.is(await value(T.Integer, -(2 ** 53 - 1)), "ffe0000000000001");
	t.is(await value(T.Time, 1367491215), "5182428f");
	t.is(await value(T.Unsigned, 200), "c8");
	t.is(await value(T.Unsigned, 4294967295), "ffffffff");
	t.is(await value(T.Unsigned, 4294967296), "0000000100000000");
	for (const v of [21.5, -40, 0.1, 1e300, -1.5e-300, 3.4028234663852886e38, 2 ** -149]) {
		const bytes = Buffer.from(await value(T.Float, v), "hex");
		if (Math.fround(v) === v) {
			t.is(bytes.length, 4, `${v} as binary32`);
			t.is(bytes.readFloatBE(0), v);
		} else {
			t.is(bytes.length, 8, `${v} as binary64`);
			t.is(bytes.readDoubleBE(0), v);
		}
	}
	// booleans, object links; 16-bit ids; 8- and 16-bit lengths
	t.is((await encode(ask, CF.tlv, [9999, 0], [[9999, 0, 4, -1, T.Boolean, true], [9999, 0, 7, -1, T.Objlnk, "3:1"]])).bytes.toString("hex"), "c10401c40700030001");
	t.is((await encode(ask, CF.tlv, [3303, 0, 5700], [[3303, 0, 5700, -1, T.Float, 21.5]])).bytes.toString("hex"), "e4164441ac0000");
	const long = "x".repeat(300);
	const r = await encode(ask, CF.tlv, [9999, 0, 0], [[9999, 0, 0, -1, T.String, long]]);
	t.is(r.bytes.subarray(0, 4).toString("hex"), "d000012c");
	t.is(r.bytes.length, 304);
	t.is((await encode(ask, CF.tlv, [9999, 0, 0], [[9999, 0, 0, -1, T.String, "12345678"]])).bytes.subarray(0, 3).toString("hex"), "c80008");
	// a decoder takes the longer length forms and 16-bit ids even where shorter ones would do
	t.deepEqual((await decode(ask, CF.tlv, [9999, 0], hex("d8 00 00 00 03 61 62 63 f0 00 01 00 02 00 80"))).entries, [[9999, 0, 0, -1, T.String, "abc"], [9999, 0, 1, -1, T.Integer, 128]]);
	// an unknown resource keeps its bytes as Opaque; an empty multiple resource is one None entry
	t.deepEqual((await decode(ask, CF.tlv, [9999, 0], hex("c2 63 01 02 80 02"))).entries, [[9999, 0, 99, -1, T.Opaque, { hex: "0102" }], [9999, 0, 2, -1, T.None, 0]]);
	t.is((await encode(ask, CF.tlv, [3, 0], [[3, 0, 11, -1, T.None, 0]])).bytes.toString("hex"), "800b");
});

test("TLV: the root, entries outside the path and unexpressible values are FormatErrors when encoding", async (t) => {
	const { ask } = await probe(t);
	formatError(t, await encode(ask, CF.tlv, [], [[3, 0, 0, -1, T.String, "x"]]), "root");
	formatError(t, await encode(ask, CF.tlv, [3, 0], [[3, 1, 0, -1, T.String, "x"]]), "other instance");
	formatError(t, await encode(ask, CF.tlv, [3303, 0], [[3303, 0, 5700, -1, T.Float, { num: "NaN" }]]), "NaN");
	formatError(t, await encode(ask, CF.tlv, [9999, 0], [[9999, 0, 1, -1, T.Integer, 2 ** 53]]), "unsafe integer");
	formatError(t, await encode(ask, CF.text, [3, 0], DEVICE_ENTRIES.slice(0, 2)), "text of two values");
	const big = await encode(ask, CF.tlv, [9999, 0, 0], [[9999, 0, 0, -1, T.String, "x".repeat(100)]], { limit: 64 });
	t.is(big.error, "RangeError");
	t.regex(big.message, /too large/);
});

// ---------------------------------------------------------------- SenML CBOR

// (cbor-x gives 64-bit integers as BigInt: compared as numbers here, their bytes are checked apart)
const senmlRecords = (bytes) => cborDecoder.decode(bytes).map((m) => Object.fromEntries([...m].map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("hex") : typeof v === "bigint" ? Number(v) : v])));

test("SenML CBOR: the device's output decodes with cbor-x to the records, floats in their shortest exact width", async (t) => {
	const { ask } = await probe(t);
	const one = ok(t, await encode(ask, CF.senmlCbor, [3303, 0, 5700], [[3303, 0, 5700, -1, T.Float, 21.5]]));
	t.deepEqual(senmlRecords(one.bytes), [{ [-2]: "/3303/0/5700", 2: 21.5 }]);
	t.is(one.bytes.toString("hex"), "81a2216c2f333330332f302f3537303002f94d60");
	const entries = [
		[9999, 0, 0, -1, T.String, "grüße 😀"],
		[9999, 0, 1, -1, T.Integer, -40],
		[9999, 0, 2, -1, T.Unsigned, 2 ** 53 - 1],
		[9999, 0, 3, -1, T.Float, 0.1],
		[9999, 0, 4, -1, T.Boolean, false],
		[9999, 0, 5, -1, T.Opaque, { hex: "00ff10" }],
		[9999, 0, 6, -1, T.Time, 1700000000],
		[9999, 0, 7, -1, T.Objlnk, "3:0"],
		[9999, 0, 8, -1, T.Corelnk, "</3/0>"],
		[9999, 1, 1, 0, T.Integer, -(2 ** 53 - 1)],
		[9999, 1, 1, 7, T.Integer, 0],
	];
	const r = ok(t, await encode(ask, CF.senmlCbor, [9999], entries));
	t.deepEqual(senmlRecords(r.bytes), [
		{ [-2]: "/9999/", 0: "0/0", 3: "grüße 😀" },
		{ 0: "0/1", 2: -40 },
		{ 0: "0/2", 2: 2 ** 53 - 1 },
		{ 0: "0/3", 2: 0.1 },
		{ 0: "0/4", 4: false },
		{ 0: "0/5", 8: "00ff10" },
		{ 0: "0/6", 2: 1700000000 },
		{ 0: "0/7", vlo: "3:0" },
		{ 0: "0/8", 3: "</3/0>" },
		{ 0: "1/1/0", 2: -(2 ** 53 - 1) },
		{ 0: "1/1/7", 2: 0 },
	]);
	// each float in the narrowest of half/single/double that holds it; integers as integers
	const widths = { 21.5: "f94d60", 1.5: "f93e00", 65504: "19ffe0", 100000.5: "fa47c35040", 0.1: "fb3fb999999999999a", 1e300: "fb7e37e43c8800759c", [2 ** -24]: "f90001", [-(2 ** -14)]: "f98400", [-40]: "3827", [2 ** 53 - 1]: "1b001fffffffffffff" };
	for (const [text, expected] of Object.entries(widths)) {
		const v = Number(text);
		const b = ok(t, await encode(ask, CF.senmlCbor, [3303, 0, 5700], [[3303, 0, 5700, -1, T.Float, v]])).bytes;
		t.is(b.subarray(17).toString("hex"), expected, `${v}`);
		t.is(senmlRecords(b)[0][2], v);
	}
	// composite: records of several objects, no common base
	const c = ok(t, await encode(ask, CF.senmlCbor, [], [[3303, 0, 5700, -1, T.Float, 20], [3, 0, 9, -1, T.Integer, 80]]));
	t.deepEqual(senmlRecords(c.bytes), [{ 0: "/3303/0/5700", 2: 20 }, { 0: "/3/0/9", 2: 80 }]);
});

test("SenML CBOR: cbor-x and hand-written inputs decode on the device (float widths, negative and 64-bit integers, indefinite lengths, tags)", async (t) => {
	const { ask } = await probe(t);
	const records = (...maps) => cborEncoder.encode(maps.map((m) => new Map(Object.entries(m).map(([k, v]) => [/^-?\d+$/.test(k) ? Number(k) : k, v]))));
	const d = async (bytes, path = [9999, 0]) => ok(t, await decode(ask, CF.senmlCbor, path, bytes)).entries;
	t.deepEqual(await d(records({ [-2]: "/3303/0/", 0: "5700", 2: 21.5 }, { 0: "5701", 3: "Cel" })), [[3303, 0, 5700, -1, T.Float, 21.5], [3303, 0, 5701, -1, T.String, "Cel"]]);
	t.deepEqual(await d(records(
		{ [-2]: "/9999/0/", 0: "1", 2: BigInt(-(2 ** 53 - 1)) },
		{ 0: "2", 2: BigInt(2 ** 53 - 1) },
		{ 0: "4", 4: true },
		{ 0: "5", 8: new Uint8Array([1, 2, 3]) },
		{ 0: "6", 2: new Tag(1700000000, 1) },
		{ 0: "7", vlo: "66:1" },
		{ [-2]: "/9999/1/", 0: "1/5", 2: -1 },
	)), [
		[9999, 0, 1, -1, T.Integer, -(2 ** 53 - 1)],
		[9999, 0, 2, -1, T.Unsigned, 2 ** 53 - 1],
		[9999, 0, 4, -1, T.Boolean, true],
		[9999, 0, 5, -1, T.Opaque, { hex: "010203" }],
		[9999, 0, 6, -1, T.Time, 1700000000],
		[9999, 0, 7, -1, T.Objlnk, "66:1"],
		[9999, 1, 1, 5, T.Integer, -1],
	]);
	// floats of each width, written by hand: half 21.5, single 21.5, double 0.1, half -0 and a subnormal half
	const name = (n) => Buffer.concat([Buffer.from([0x60 + n.length]), Buffer.from(n)]).toString("hex");
	const v = (f) => hex(`81 a2 00 ${name("/3303/0/5700")} 02 ${f}`);
	for (const [f, expected] of [["f94d60", 21.5], ["fa41ac0000", 21.5], ["fb3fb999999999999a", 0.1], ["f9c500", -5], ["f90001", 2 ** -24], ["f97bff", 65504], ["3b001ffffffffffffe", -(2 ** 53 - 1)]]) {
		t.deepEqual(await d(v(f)), [[3303, 0, 5700, -1, T.Float, expected]], f);
	}
	// indefinite array, map, text and byte strings; a base name carried to the next record
	const indefinite = hex(`9f
		bf 21 7f 65 2f 39 39 39 39 63 2f 30 2f ff 00 61 35 08 5f 41 01 42 02 03 ff ff
		bf 00 61 30 03 7f 61 68 62 c3 a9 ff ff
		ff`);
	t.deepEqual(await d(indefinite), [[9999, 0, 5, -1, T.Opaque, { hex: "010203" }], [9999, 0, 0, -1, T.String, "hé"]]);
	// unknown fields (units, sums, an unknown text label holding nested data) are skipped; bt/t accepted
	t.deepEqual(await d(records({ [-2]: "/3303/0/5700", [-3]: 1700000000, 1: "Cel", 6: -5, x: [[1, [2]], { a: 1 }], 2: 19 })), [[3303, 0, 5700, -1, T.Float, 19]]);
	// read-composite request: names only
	t.deepEqual(await d(records({ 0: "/" }, { 0: "/3303/0/5700" }, { 0: "/3/0" }, { [-2]: "/1/", 0: "0/1" })), [
		[-1, -1, -1, -1, T.None, 0], [3303, 0, 5700, -1, T.None, 0], [3, 0, -1, -1, T.None, 0], [1, 0, 1, -1, T.None, 0],
	]);
	// resources the model lacks keep the type the record gives
	t.deepEqual(await d(records({ 0: "/9999/0/99", 2: 2.5 }, { 0: "/9999/0/98", 3: "s" }, { 0: "/9999/0/97", 2: 7 })), [
		[9999, 0, 99, -1, T.Float, 2.5], [9999, 0, 98, -1, T.String, "s"], [9999, 0, 97, -1, T.Integer, 7],
	]);
});

// ---------------------------------------------------------------- SenML JSON

test("SenML JSON: output parses with JSON.parse into the records; vd is base64url without padding", async (t) => {
	const { ask } = await probe(t);
	const r = ok(t, await encode(ask, CF.senmlJson, [9999, 0], [
		[9999, 0, 0, -1, T.String, 'quote " backslash \\ newline \n tab \t ctl \u0001 é 😀 lone \ud800'],
		[9999, 0, 3, -1, T.Float, 21.5],
		[9999, 0, 1, -1, T.Integer, -(2 ** 53 - 1)],
		[9999, 0, 5, -1, T.Opaque, { hex: "fbff00" }],
		[9999, 0, 4, -1, T.Boolean, true],
		[9999, 0, 7, -1, T.Objlnk, "3:0"],
		[9999, 0, 3, -1, T.Float, 1e300],
		[9999, 0, 3, -1, T.Float, 0.1],
	]));
	const text = r.bytes.toString("utf8");
	t.deepEqual(JSON.parse(text), [
		{ bn: "/9999/0/", n: "0", vs: 'quote " backslash \\ newline \n tab \t ctl \u0001 é 😀 lone \ud800' },
		{ n: "3", v: 21.5 },
		{ n: "1", v: -(2 ** 53 - 1) },
		{ n: "5", vd: Buffer.from("fbff00", "hex").toString("base64url") },
		{ n: "4", vb: true },
		{ n: "7", vlo: "3:0" },
		{ n: "3", v: 1e300 },
		{ n: "3", v: 0.1 },
	]);
	t.true(text.includes('"vd":"-_8A"'), text);
	t.true(text.includes("é 😀"), "non-ASCII written as UTF-8, not escaped");
	const one = ok(t, await encode(ask, CF.senmlJson, [3303, 0, 5700], [[3303, 0, 5700, -1, T.Float, 21.5]]));
	t.is(one.bytes.toString(), '[{"bn":"/3303/0/5700","v":21.5}]');
	const multi = ok(t, await encode(ask, CF.senmlJson, [3, 0, 7], DEVICE_ENTRIES.slice(6, 8)));
	t.is(multi.bytes.toString(), '[{"bn":"/3/0/7/","n":"0","v":3800},{"n":"1","v":5000}]');
	// the whole Device instance from the spec's TLV, re-encoded as SenML JSON
	const device = ok(t, await ask({ op: "roundtrip", cf: CF.tlv, to: CF.senmlJson, path: [3, 0] }, DEVICE_TLV));
	const parsed = JSON.parse(device.bytes.toString());
	t.is(parsed.length, DEVICE_ENTRIES.length);
	t.deepEqual(parsed.map((p) => (p.bn ?? "/3/0/") + p.n), DEVICE_ENTRIES.map(([o, i, r, x]) => `/${o}/${i}/${r}${x >= 0 ? `/${x}` : ""}`));
	t.deepEqual(parsed.map((p) => p.v ?? p.vs), DEVICE_ENTRIES.map((e) => e[5]));
});

test("SenML JSON: inputs with escapes, surrogate pairs, any mix of bn and n, base values and unknown fields decode", async (t) => {
	const { ask } = await probe(t);
	const d = async (text) => ok(t, await decode(ask, CF.senmlJson, [], Buffer.from(text))).entries;
	t.deepEqual(await d(' [ {"bn" : "/3303/0/", "n":"5700", "v": 2.15e1}, {"n":"5701","vs":"\\u0043\\u00e9l \\ud83d\\ude00 \\"\\\\\\/\\b\\f\\n\\r\\t"} ] '), [
		[3303, 0, 5700, -1, T.Float, 21.5], [3303, 0, 5701, -1, T.String, 'Cél 😀 "\\/\b\f\n\r\t'],
	]);
	t.deepEqual(await d('[{"n":"/3303/0/5700","v":-40},{"bn":"/3303/1/5700","v":0.1},{"v":1E2},{"bn":"/3/0/","n":"7/1","v":5000,"bt":1.7e9,"t":-5}]'), [
		[3303, 0, 5700, -1, T.Float, -40], [3303, 1, 5700, -1, T.Float, 0.1], [3303, 1, 5700, -1, T.Float, 100], [3, 0, 7, 1, T.Integer, 5000],
	]);
	t.deepEqual(await d('[{"bn":"/9999/0/","n":"5","vd":"-_8A"},{"n":"5","vd":"AQID"},{"n":"5","vd":"AQ=="},{"n":"7","vlo":"66:65535"},{"n":"4","vb":false}]'), [
		[9999, 0, 5, -1, T.Opaque, { hex: "fbff00" }], [9999, 0, 5, -1, T.Opaque, { hex: "010203" }], [9999, 0, 5, -1, T.Opaque, { hex: "01" }],
		[9999, 0, 7, -1, T.Objlnk, "66:65535"], [9999, 0, 4, -1, T.Boolean, false],
	]);
	t.deepEqual(await d('[{"bn":"/9999/0/","bv":10,"n":"1","v":-3,"u":"Cel","x":{"y":[1,{"z":null}],"w":true}}]'), [[9999, 0, 1, -1, T.Integer, 7]]);
	t.deepEqual(await d('[{"n":"/3303/0/5700"},{"n":"/3/0"},{"bn":"/1"}]'), [[3303, 0, 5700, -1, T.None, 0], [3, 0, -1, -1, T.None, 0], [1, -1, -1, -1, T.None, 0]]);
	t.deepEqual(await d("[]"), []);
	t.deepEqual(await d(`[{"n":"/9999/0/1","v":${2 ** 53 - 1}},{"n":"/9999/0/1","v":-9007199254740991}]`), [[9999, 0, 1, -1, T.Integer, 2 ** 53 - 1], [9999, 0, 1, -1, T.Integer, -(2 ** 53 - 1)]]);
});

// ---------------------------------------------------------------- text, opaque, link format, LwM2M CBOR

test("text/plain: numbers as shortest round-trip decimals, booleans 0/1, object links, opaque as base64", async (t) => {
	const { ask } = await probe(t);
	const enc = async (r, type, v) => ok(t, await encode(ask, CF.text, [9999, 0, r], [[9999, 0, r, -1, type, v]])).bytes.toString();
	t.is(await enc(3, T.Float, 21.5), "21.5");
	t.is(await enc(3, T.Float, 0.1), "0.1");
	t.is(await enc(3, T.Float, -40), "-40");
	t.is(await enc(3, T.Float, 1e300), "1e+300");
	t.is(await enc(3, T.Float, 0.30000000000000004), "0.30000000000000004");
	t.is(await enc(1, T.Integer, -(2 ** 53 - 1)), "-9007199254740991");
	t.is(await enc(4, T.Boolean, true), "1");
	t.is(await enc(4, T.Boolean, false), "0");
	t.is(await enc(7, T.Objlnk, "3:0"), "3:0");
	t.is(await enc(5, T.Opaque, { hex: "0102" }), "AQI=");
	t.is(await enc(5, T.Opaque, { hex: "fbff" }), "+/8=");
	t.is(await enc(0, T.String, "grüße"), "grüße");
	const dec = async (r, text) => {
		const reply = await decode(ask, CF.text, [9999, 0, r], Buffer.from(text));
		return reply.ok ? reply.entries[0].slice(4) : reply.error;
	};
	t.deepEqual(await dec(3, "21.5"), [T.Float, 21.5]);
	t.deepEqual(await dec(3, "-4E1"), [T.Float, -40]);
	t.deepEqual(await dec(3, "1e300"), [T.Float, 1e300]);
	t.deepEqual(await dec(1, "9007199254740991"), [T.Integer, 2 ** 53 - 1]);
	t.deepEqual(await dec(1, "-9007199254740991"), [T.Integer, -(2 ** 53 - 1)]);
	t.deepEqual(await dec(2, "42"), [T.Unsigned, 42]);
	t.deepEqual(await dec(4, "1"), [T.Boolean, true]);
	t.deepEqual(await dec(6, "1367491215"), [T.Time, 1367491215]);
	t.deepEqual(await dec(7, "66:1"), [T.Objlnk, "66:1"]);
	t.deepEqual(await dec(5, "AQID"), [T.Opaque, { hex: "010203" }]);
	t.deepEqual(await dec(0, "Open Mobile Alliance"), [T.String, "Open Mobile Alliance"]);
	t.deepEqual(await dec(8, "</3/0>;ver=1.1"), [T.Corelnk, "</3/0>;ver=1.1"]);
	t.deepEqual(await dec(99, "anything"), [T.String, "anything"], "a resource the model lacks: as a string");
	for (const [r, bad] of [[3, "NaN"], [3, "Infinity"], [3, "1e999"], [3, "0x10"], [3, " 1"], [3, ""], [1, "9007199254740992"], [1, "1.5"], [2, "-1"], [4, "2"], [4, "true"], [7, "3:"], [7, "70000:0"], [5, "A"], [5, "AQ!D"], [0, Buffer.from([0xff])], [0, Buffer.from([0xc0, 0xaf])], [0, Buffer.from([0xed, 0xa0, 0x80])], [0, Buffer.from([0xe2, 0x82])]]) {
		t.is(await dec(r, bad), "FormatError", `${r}: ${JSON.stringify(bad)}`);
	}
	t.is((await decode(ask, CF.text, [9999, 0], Buffer.from("1"))).error, "FormatError", "not a resource path");
});

test("opaque: a single Opaque resource only", async (t) => {
	const { ask } = await probe(t);
	const bytes = Buffer.from([0, 1, 2, 255]);
	t.deepEqual(ok(t, await decode(ask, CF.opaque, [9999, 0, 5], bytes)).entries, [[9999, 0, 5, -1, T.Opaque, { hex: "000102ff" }]]);
	formatError(t, await decode(ask, CF.opaque, [9999, 0, 1], bytes), "an Integer resource");
	formatError(t, await decode(ask, CF.opaque, [9999, 0], bytes), "an instance");
	t.is(ok(t, await encode(ask, CF.opaque, [9999, 0, 5], [[9999, 0, 5, -1, T.Opaque, { hex: "000102ff" }]])).bytes.toString("hex"), "000102ff");
	formatError(t, await encode(ask, CF.opaque, [9999, 0, 0], [[9999, 0, 0, -1, T.String, "x"]]), "a string");
});

test("link format: Register and Discover payloads", async (t) => {
	const { ask } = await probe(t);
	const r = ok(t, await ask({ op: "link", links: [["/", { rt: "oma.lwm2m", ct: 112 }], [[1, 0]], [[3, 0]], ["/3303", { ver: "1.1" }], [[3303, 0]]] }));
	t.is(r.bytes.toString(), '</>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>');
	const d = ok(t, await ask({ op: "link", links: [[[3303, 0, 5700], { pmin: 10, pmax: 60 }], [[3303, 0, 5701]], [[3, 0, 7], { dim: 2 }], ["/x", { title: 'a "b"', obs: true, gt: 21.5 }]] }));
	t.is(d.bytes.toString(), '</3303/0/5700>;pmin=10;pmax=60,</3303/0/5701>,</3/0/7>;dim=2,</x>;title="a \\"b\\"";obs;gt=21.5');
});

test("LwM2M CBOR: nested maps from the root, read by cbor-x; path-compacted keys decode", async (t) => {
	const { ask } = await probe(t);
	const toObject = (v) => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, toObject(x)])) : v);
	const r = ok(t, await encode(ask, CF.lwm2mCbor, [3303], [[3303, 0, 5700, -1, T.Float, 21.5], [3303, 0, 5701, -1, T.String, "Cel"], [3303, 1, 5700, -1, T.Float, -40]]));
	t.deepEqual(toObject(cborDecoder.decode(r.bytes)), { 3303: { 0: { 5700: 21.5, 5701: "Cel" }, 1: { 5700: -40 } } });
	const device = ok(t, await ask({ op: "roundtrip", cf: CF.tlv, to: CF.lwm2mCbor, path: [3, 0] }, DEVICE_TLV));
	const tree = toObject(cborDecoder.decode(device.bytes));
	t.deepEqual(tree[3][0][7], { 0: 3800, 1: 5000 });
	t.is(tree[3][0][0], "Open Mobile Alliance");
	const input = cborEncoder.encode(new Map([[[3303, 0], new Map([[5700, 21.5], [5701, "Cel"]])], [[9999, 0, 1, 3], 7], [9999, new Map([[1, new Map([[5, new Uint8Array([9])]])]])]]));
	t.deepEqual(ok(t, await decode(ask, CF.lwm2mCbor, [], input)).entries, [
		[3303, 0, 5700, -1, T.Float, 21.5], [3303, 0, 5701, -1, T.String, "Cel"], [9999, 0, 1, 3, T.Integer, 7], [9999, 1, 5, -1, T.Opaque, { hex: "09" }],
	]);
	formatError(t, await decode(ask, CF.lwm2mCbor, [], cborEncoder.encode(new Map([[3303, 1]]))), "a value above the resource level");
});

test("the CBOR reader: half floats, all widths, indefinite lengths, tags skipped", async (t) => {
	const { ask } = await probe(t);
	const item = async (h) => {
		const r = await ask({ op: "cbor" }, hex(h));
		return r.ok ? r.item : r.error;
	};
	for (const [h, v] of [["f90000", 0], ["f98000", { num: "-0" }], ["f93c00", 1], ["f97bff", 65504], ["f90400", 2 ** -14], ["f90001", 2 ** -24], ["f9c400", -4], ["f97c00", { num: "Infinity" }], ["f9fc00", { num: "-Infinity" }], ["f97e00", { num: "NaN" }], ["fa47c35000", 100000], ["fb3ff199999999999a", 1.1]]) {
		t.deepEqual(await item(h), v, h);
	}
	t.deepEqual(await item("1b001fffffffffffff"), 2 ** 53 - 1);
	t.deepEqual(await item("1b0020000000000000"), 2 ** 53);
	t.deepEqual(await item("3b001ffffffffffffe"), -(2 ** 53 - 1));
	t.deepEqual(await item("3b001fffffffffffff"), -(2 ** 53));
	t.deepEqual(await item("9f018202039f0405ffff"), [1, [2, 3], [4, 5]]);
	t.deepEqual(await item("bf61610161629f0203ffff"), { map: [["a", 1], ["b", [2, 3]]] });
	t.deepEqual(await item("7f657374726561646d696e67ff"), "streaming");
	t.deepEqual(await item("c11a514b67b0"), 1363896240, "tag 1 skipped");
	t.deepEqual(await item("d82076687474703a2f2f7777772e6578616d706c652e636f6d"), "http://www.example.com");
	for (const [h, v] of [["f5", true], ["f4", false], ["f6", null], ["f7", { undefined: true }], ["f0", { simple: 16 }]]) t.deepEqual(await item(h), v, h);
	t.is(await item("f5f4"), "FormatError", "data after the item");
	t.deepEqual(await item("f820"), { simple: 32 });
});

// ---------------------------------------------------------------- malformed input

test("malformed inputs of every format are FormatErrors, never another exception", async (t) => {
	const { ask, askAll, dev } = await probe(t);
	const deep = (n, open, close, inner) => open.repeat(n) + inner + close.repeat(n);
	const cases = [
		// TLV: truncated headers and lengths, huge declared lengths, bad value sizes, bad nesting, bad UTF-8
		[CF.tlv, [3, 0], "c8"], [CF.tlv, [3, 0], "c800"], [CF.tlv, [3, 0], "e100"], [CF.tlv, [3, 0], "c8 00 14 4f 70"], [CF.tlv, [3, 0], "d8 00 ff ff ff 41"],
		[CF.tlv, [3, 0], "d0 00 00"], [CF.tlv, [3, 0], "c8 00"], [CF.tlv, [3], "08 00 79 c1 09 64"], [CF.tlv, [3, 0], "c3 09 00 00 01"],
		[CF.tlv, [9999, 0], "c2 04 00 01"], [CF.tlv, [9999, 0], "c1 04 02"], [CF.tlv, [9999, 0], "c5 03 00 00 00 00 00"], [CF.tlv, [9999, 0], "c3 07 00 00 01"],
		[CF.tlv, [9999, 0], "c4 03 7f c0 00 00"], [CF.tlv, [9999, 0], "c8 03 08 7f f8 00 00 00 00 00 00"], [CF.tlv, [9999, 0], "c8 01 08 00 20 00 00 00 00 00 00"],
		[CF.tlv, [9999, 0], "c8 02 08 ff ff ff ff ff ff ff ff"], [CF.tlv, [9999, 0], "c2 00 c3 28"], [CF.tlv, [9999, 0], "c2 00 c0 af"], [CF.tlv, [9999, 0], "c3 00 ed a0 80"],
		[CF.tlv, [9999, 0], "c1 00 ff"], [CF.tlv, [9999, 0], "86 06 c1 00 01"], [CF.tlv, [9999], "05 00 03 00 c1 00 01"], [CF.tlv, [9999, 1], "03 00 c1 00 41"],
		[CF.tlv, [9999, 0, 1], "c1 02 01"], [CF.tlv, [9999, 0, 1, 2], "41 03 01"], [CF.tlv, [], "c1 00 41"],
		// CBOR: reserved additional information, truncation, huge lengths, misplaced breaks, deep nesting, NaN, bad UTF-8, 2^53 + 1
		[CF.senmlCbor, [], "1c"], [CF.senmlCbor, [], "81 bd"], [CF.senmlCbor, [], "9e"], [CF.senmlCbor, [], "81 a1 00 7d"], [CF.senmlCbor, [], "81 a1 00 fc"],
		[CF.senmlCbor, [], "81 a1 00 19 01"], [CF.senmlCbor, [], "81 a1 00 5b 00 00 00 01 00 00 00 00"], [CF.senmlCbor, [], "9b 00 00 00 01 00 00 00 00"],
		[CF.senmlCbor, [], "ff"], [CF.senmlCbor, [], "81 ff"], [CF.senmlCbor, [], "9f a0"], [CF.senmlCbor, [], "81 f8 10"], [CF.senmlCbor, [], "81 1f"],
		[CF.senmlCbor, [], "81 a2 00 6c 2f 33 33 30 33 2f 30 2f 35 37 30 30 02 f9 7e 00"], [CF.senmlCbor, [], "81 a2 00 6c 2f 33 33 30 33 2f 30 2f 35 37 30 30 02 f9 7c 00"],
		[CF.senmlCbor, [], "81 a2 00 6a 2f 39 39 39 39 2f 30 2f 30 ff 03 61 61"], [CF.senmlCbor, [], "81 a2 00 68 2f 39 39 39 39 2f 30 2f 31 02 1b 00 20 00 00 00 00 00 01"],
		[CF.senmlCbor, [], "81 a2 00 68 2f 39 39 39 39 2f 30 2f 31 02 f9 3e 00"], [CF.senmlCbor, [], "81 a2 00 68 2f 39 39 39 39 2f 30 2f 31 03 61 61"],
		[CF.senmlCbor, [], "81 a2 00 68 2f 39 39 39 39 2f 30 2f 31 02 01 03 61 61"], [CF.senmlCbor, [], "81 a1 02 01"], [CF.senmlCbor, [], "81 a2 00 62 2f 33 02 01"],
		[CF.senmlCbor, [], "81 a2 00 64 2f 78 2f 30 02 01"], [CF.senmlCbor, [], "81 a2 00 6a 2f 37 30 30 30 30 2f 30 2f 31 02 01"], [CF.senmlCbor, [], "81 a1 63 78 78 5f 01"],
		[CF.senmlCbor, [], "81 a1 18 63 " + "81".repeat(100) + "00"], [CF.senmlCbor, [], "81".repeat(1000) + "a0"], [CF.senmlCbor, [], "81 a0 00"],
		[CF.senmlCbor, [], "81 a2 00 64 2f 31 2f 30 00 61 31"], [CF.senmlCbor, [], "7f 61 61 01 ff"], [CF.senmlCbor, [], "81 a1 00 7f 7f ff ff"], [CF.senmlCbor, [], "81 a2 00 62 2f 31 03 7f 61 68 61 c3 61 a9 ff"], [CF.senmlCbor, [], "98 81" + "a1 00 62 2f 31".repeat(129)],
		[CF.lwm2mCbor, [], "a1 19 0c e7 " + "a1 00".repeat(10) + "01"], [CF.lwm2mCbor, [], "a1 80 01"], [CF.lwm2mCbor, [], "a1 1a 00 01 00 00 01"], [CF.lwm2mCbor, [], "a1 84 01 02 03 04 a1 01 01"],
		[CF.lwm2mCbor, [], "a1 83 19 27 0f 00 01 f9 3e 00"], [CF.lwm2mCbor, [], "a1 83 19 27 0f 00 01 f6"], [CF.lwm2mCbor, [], "80"], [CF.lwm2mCbor, [], "a1 83 19 27 0f 00 05 61 61"],
		// JSON: garbage, bad structure, bad numbers, bad strings, deep nesting, wrong kinds of values
		...["", "[", "[{", "{}", "[1]", "[{}]", "null", '[{"n":"/3303/0/5700","v":}]', '[{"n":"/3303/0/5700","v":1,}]', '[{"n":"/3303/0/5700","v":1}] x', '[{"n":"/3303/0/5700","v":1}],',
			'[{"n":"/3303/0/5700","v":NaN}]', '[{"n":"/3303/0/5700","v":1e999}]', '[{"n":"/3303/0/5700","v":01}]', '[{"n":"/3303/0/5700","v":-}]', '[{"n":"/3303/0/5700","v":1.}]',
			'[{"n":"/3303/0/5700","v":"1"}]', '[{"n":"/3303/0/5700","vs":"x"}]', '[{"n":"/3303/0/5700","v":1,"v":2}]', '[{"n":"/3303/0/5700","v":1,"vs":"x"}]',
			'[{"n":"/9999/0/0","vs":"\\ud800"}]', '[{"n":"/9999/0/0","vs":"\\udc00x"}]', '[{"n":"/9999/0/0","vs":"\\u12"}]', '[{"n":"/9999/0/0","vs":"\\x"}]', '[{"n":"/9999/0/0","vs":"a\nb"}]',
			'[{"n":"/9999/0/0","vs":"abc}]', '[{"n":"/9999/0/5","vd":"A"}]', '[{"n":"/9999/0/5","vd":"AQ+D"}]', '[{"n":"/9999/0/7","vlo":"1:2:3"}]', '[{"n":"/9999/0/4","vb":1}]',
			'[{"n":"/9999/0/1","v":1.5}]', '[{"n":"/9999/0/2","v":-1}]', '[{"n":"/9999/0/1","v":9007199254740993}]', '[{"n":"3303/0/5700","v":1}]', '[{"n":"/3303//5700","v":1}]',
			'[{"n":"/1/2/3/4/5","v":1}]', '[{"n":"/3303/0","v":1}]', '[{"n":"/03/0/1","v":1}]', '[{"bn":5}]', '[{"n":"/3/0/1","xx_":1}]', '[{"v":1}]',
			"[{" + '"x":' + deep(50, "[", "]", "1") + ',"n":"/3/0/1"}]', deep(600, "[", "]", ""), '[{"n":"/3/0/1","vs":"x"}' + "]".repeat(10)]
			.map((s) => [CF.senmlJson, [], Buffer.from(s).toString("hex")]),
		[CF.senmlJson, [], "5b7b226e223a222f393939392f302f30222c227673223a22ff227d5d"], [CF.senmlJson, [], "5b7b226e223a222f393939392f302f30222c227673223a22e282227d5d"],
		// text and opaque at paths they cannot address
		[CF.text, [3303, 0], "3231"], [CF.text, [], "3231"], [CF.opaque, [3303], "00"],
	];
	const replies = await askAll(cases.map(([cf, path, h]) => [{ op: "decode", cf, path }, hex(h)]));
	replies.forEach((r, k) => t.is(r.error, "FormatError", `case ${k} (${cases[k][0]} ${cases[k][2].slice(0, 60)}): ${JSON.stringify(r).slice(0, 200)}`));
	t.is(dev.resets.length, 0);
	// and the device still answers normally
	t.deepEqual(ok(t, await decode(ask, CF.text, [3303, 0, 5700], Buffer.from("21.5"))).entries, [[3303, 0, 5700, -1, T.Float, 21.5]]);
});

// ---------------------------------------------------------------- fuzzing

test("fuzz: 300 random mutations of valid payloads per decoder all get an answer: a value or a FormatError", async (t) => {
	const { askAll, dev } = await probe(t);
	const random = new Random(1234);
	const int = (n) => Math.floor(random.next() * n);
	const mutate = (seed) => {
		const b = [...seed];
		for (let m = 1 + int(4); m > 0; m--) {
			const at = int(b.length + 1);
			switch (int(7)) {
				case 0: if (b.length) b[at % b.length] ^= 1 << int(8); break;
				case 1: if (b.length) b[at % b.length] = int(256); break;
				case 2: b.splice(at, 0, int(256)); break;
				case 3: b.splice(at, 1 + int(4)); break;
				case 4: b.length = Math.min(b.length, at); break;
				case 5: b.splice(at, 0, ...b.slice(int(b.length), int(b.length) + 1 + int(8))); break;
				default: if (b.length) b[at % b.length] = [0x00, 0x7f, 0x80, 0xff, 0x1b, 0x5f, 0x9f, 0xbf, 0xf9, 0xfb, 0x22, 0x5c, 0x5b, 0x7b][int(14)];
			}
		}
		return Buffer.from(b);
	};
	const seeds = {
		[CF.tlv]: [[[3, 0], DEVICE_TLV], [[2], ACL_TLV], [[66], LINK2_TLV], [[65, 0], LINK1_TLV]],
		[CF.senmlCbor]: [[[], hex("82 a3 21 68 2f 33 33 30 33 2f 30 2f 00 64 35 37 30 30 02 f9 4d 60 a2 00 64 35 37 30 31 03 63 43 65 6c")],
			[[], hex("9f bf 21 7f 65 2f 39 39 39 39 63 2f 30 2f ff 00 61 35 08 5f 41 01 42 02 03 ff ff bf 00 61 37 63 76 6c 6f 63 33 3a 30 ff ff")]],
		[CF.senmlJson]: [[[], Buffer.from('[{"bn":"/3303/0/","n":"5700","v":21.5},{"n":"5701","vs":"C\\u00e9l"},{"n":"/9999/0/5","bn":"","vd":"AQID"},{"n":"/9999/0/4","vb":true,"x":[1,{"a":null}]}]')]],
		[CF.lwm2mCbor]: [[[], hex("a2 82 19 0c e7 00 a2 19 16 44 f9 4d 60 19 16 45 63 43 65 6c 19 27 0f a1 00 a3 01 38 27 05 43 01 02 03 07 63 33 3a 30")]],
		[CF.text]: [[[3303, 0, 5700], Buffer.from("-21.5e-1")], [[9999, 0, 5], Buffer.from("AQIDBAUG")], [[9999, 0, 7], Buffer.from("66:1")], [[9999, 0, 0], Buffer.from("grüße")]],
		[CF.opaque]: [[[9999, 0, 5], Buffer.from([1, 2, 3, 4])]],
	};
	const cases = [];
	for (const [cf, list] of Object.entries(seeds)) {
		for (const [path, payload] of list) t.true((await askAll([[{ op: "decode", cf: Number(cf), path }, payload]]))[0].ok, `seed of ${cf} is valid`);
		for (let k = 0; k < 300; k++) {
			const [path, payload] = list[k % list.length];
			cases.push([{ op: "decode", cf: Number(cf), path }, mutate(payload)]);
		}
	}
	const started = Date.now();
	const replies = await askAll(cases);
	t.is(replies.length, cases.length);
	const bad = replies.map((r, k) => [r, cases[k]]).filter(([r]) => !r.ok && r.error !== "FormatError");
	t.deepEqual(bad.map(([r, [h, p]]) => `${h.cf} ${p.toString("hex")}: ${r.error} ${r.message}`), []);
	const byFormat = {};
	replies.forEach((r, k) => {
		const cf = cases[k][0].cf;
		byFormat[cf] ??= { ok: 0, formatError: 0 };
		byFormat[cf][r.ok ? "ok" : "formatError"]++;
	});
	// what the device accepts, the reference parsers accept too, with as many records
	// (cbor-x does not take indefinite-length strings, which CBOR allows: those are left out)
	// (and a fresh decoder each time: one that threw can be left in a bad state)
	const reference = (payload, what) => {
		try {
			return new Decoder({ mapsAsObjects: false, useRecords: false }).decode(payload);
		} catch (e) {
			if (!/Indefinite length not supported/.test(e.message)) t.fail(`cbor-x refuses what the device took: ${what}: ${e.message}`);
			return undefined;
		}
	};
	let compared = 0;
	replies.forEach((r, k) => {
		const [{ cf }, payload] = cases[k];
		if (!r.ok) return;
		const what = `${cf} ${payload.toString("hex")}`;
		if (cf === CF.senmlJson) {
			t.is(JSON.parse(payload.toString()).length, r.entries.length, what);
			compared++;
		} else if (cf === CF.senmlCbor || cf === CF.lwm2mCbor) {
			const decoded = reference(payload, what);
			if (decoded === undefined) return;
			if (cf === CF.senmlCbor) t.is(decoded.length, r.entries.length, what);
			compared++;
		}
	});
	t.true(compared >= 20, `${compared} accepted mutations compared`);
	t.log(`${cases.length} mutated payloads in ${Date.now() - started} ms, ${compared} accepted ones checked against JSON.parse/cbor-x:`, JSON.stringify(byFormat));
	t.is(dev.resets.length, 0, JSON.stringify(dev.resets));
});
