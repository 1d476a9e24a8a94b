// The LwM2M server's codecs, checked against the examples of the LwM2M Core TS 1.1
// (§7.4: TLV, SenML JSON/CBOR; §6.2.1/§6.3.4: link-format), written out by hand; plus
// the DDF model loader and the value rules built on it.
import test from "ava";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Decoder } from "cbor-x";
import {
	ObjectRegistry,
	parseDdf,
	parseXml,
	parseLinkFormat,
	serializeLinkFormat,
	decodePayload,
	encodePayload,
	typeEntries,
	buildNode,
	buildComposite,
	nodeToEntries,
	formatByName,
	parseTlv,
	serializeTlv,
	parseExecuteArgs,
	parsePath,
} from "../host-sim/lwm2m-server/index.js";
import { buildByResource } from "../host-sim/lwm2m-server/nodes.js";
import { fromText, toText, fromJson, parseRange } from "../host-sim/lwm2m-server/values.js";
import { parseRegister } from "../host-sim/lwm2m-server/registration.js";
import { attributesToQuery } from "../host-sim/lwm2m-server/attributes.js";

const models = ObjectRegistry.load();
const lookup = (p) => models.resource(p[0], p[2]);
const f = (name) => formatByName(name);
const text = (s) => [...Buffer.from(s)];
const decode = (format, bytes, p, options) => typeEntries(decodePayload(f(format), Buffer.from(bytes), parsePath(p), options), lookup);
const read = (format, bytes, p) => buildNode(parsePath(p), decode(format, bytes, p), lookup);
const cborMaps = new Decoder({ mapsAsObjects: false, useRecords: false });

// ------------------------------------------------------------------ the Device object of the spec's example client

// §7.4.3.2 example: GET /3/0 answered with the resource TLVs of the Device instance
const DEVICE_TLV = [
	0xc8, 0x00, 0x14, ...text("Open Mobile Alliance"), // 0 Manufacturer, 20 bytes
	0xc8, 0x01, 0x16, ...text("Lightweight M2M Client"), // 1 Model Number, 22 bytes
	0xc8, 0x02, 0x09, ...text("345000123"), // 2 Serial Number
	0xc3, 0x03, ...text("1.0"), // 3 Firmware Version
	0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05, // 6 Available Power Sources: [0]=1, [1]=5
	0x88, 0x07, 0x08, 0x42, 0x00, 0x0e, 0xd8, 0x42, 0x01, 0x13, 0x88, // 7 Power Source Voltage: 3800, 5000
	0x87, 0x08, 0x41, 0x00, 0x7d, 0x42, 0x01, 0x03, 0x84, // 8 Power Source Current: 125, 900
	0xc1, 0x09, 0x64, // 9 Battery Level 100
	0xc1, 0x0a, 0x0f, // 10 Memory Free 15
	0x83, 0x0b, 0x41, 0x00, 0x00, // 11 Error Code: [0]=0
	0xc4, 0x0d, 0x51, 0x82, 0x42, 0x8f, // 13 Current Time 1367491215
	0xc6, 0x0e, ...text("+02:00"), // 14 UTC Offset
	0xc1, 0x10, 0x55, // 16 Supported Binding "U"
];

const single = (id, type, value) => ({ id, kind: "singleResource", type, value });
const multi = (id, type, values) => ({ id, kind: "multiResource", type, values });
const DEVICE_NODE = {
	id: 0,
	kind: "instance",
	resources: [
		single(0, "STRING", "Open Mobile Alliance"),
		single(1, "STRING", "Lightweight M2M Client"),
		single(2, "STRING", "345000123"),
		single(3, "STRING", "1.0"),
		multi(6, "INTEGER", { 0: 1, 1: 5 }),
		multi(7, "INTEGER", { 0: 3800, 1: 5000 }),
		multi(8, "INTEGER", { 0: 125, 1: 900 }),
		single(9, "INTEGER", 100),
		single(10, "INTEGER", 15),
		multi(11, "INTEGER", { 0: 0 }),
		single(13, "TIME", 1367491215),
		single(14, "STRING", "+02:00"),
		single(16, "STRING", "U"),
	],
};

test("TLV: the spec's Device instance, as resource TLVs", (t) => {
	t.deepEqual(read("TLV", DEVICE_TLV, "/3/0"), DEVICE_NODE);
});

test("TLV: the spec's Device instance wrapped in one object instance TLV (§7.4.3.2 A)", (t) => {
	const wrapped = [0x08, 0x00, 0x79, ...DEVICE_TLV]; // instance 0, 8-bit length 121
	t.is(DEVICE_TLV.length, 121);
	t.deepEqual(read("TLV", wrapped, "/3/0"), DEVICE_NODE);
	t.deepEqual(read("TLV", wrapped, "/3"), { id: 3, kind: "obj", instances: [DEVICE_NODE] });
});

test("TLV: encoding the Device instance gives back the spec's bytes", (t) => {
	const entries = nodeToEntries([3, 0], DEVICE_NODE, lookup);
	t.deepEqual([...encodePayload(f("TLV"), entries, [3, 0])], DEVICE_TLV);
	t.deepEqual(serializeTlv(parseTlv(Buffer.from(DEVICE_TLV))), Buffer.from(DEVICE_TLV));
});

test("TLV: the spec's Access Control object with two instances (§7.4.3.2 B)", (t) => {
	const acl = [
		0x08, 0x00, 0x0e, // instance 0, 14 bytes
		0xc1, 0x00, 0x01, // 0 Object ID 1
		0xc1, 0x01, 0x00, // 1 Object Instance ID 0
		0x83, 0x02, 0x41, 0x7f, 0x07, // 2 ACL: [127]=7
		0xc1, 0x03, 0x7f, // 3 Access Control Owner 127
		0x08, 0x02, 0x12, // instance 2, 18 bytes
		0xc1, 0x00, 0x03,
		0xc1, 0x01, 0x00,
		0x87, 0x02, 0x41, 0x7f, 0x07, 0x61, 0x01, 0x36, 0x01, // 2 ACL: [127]=7, [310]=1 (16-bit id)
		0xc1, 0x03, 0x7f,
	];
	const node = read("TLV", acl, "/2");
	t.deepEqual(node.instances.map((i) => i.id), [0, 2]);
	t.deepEqual(node.instances[1].resources, [single(0, "INTEGER", 3), single(1, "INTEGER", 0), multi(2, "INTEGER", { 127: 7, 310: 1 }), single(3, "INTEGER", 127)]);
	t.deepEqual([...encodePayload(f("TLV"), nodeToEntries([2], node.instances[0], lookup), [2])], acl.slice(0, 17));
});

test("TLV: the spec's Server object, with a 4-byte integer and a boolean (§7.4.3.2 C)", (t) => {
	const server = [0x08, 0x00, 0x0f, 0xc1, 0x00, 0x01, 0xc4, 0x01, 0x00, 0x01, 0x51, 0x80, 0xc1, 0x06, 0x01, 0xc1, 0x07, 0x55];
	const [instance] = read("TLV", server, "/1").instances;
	t.deepEqual(instance.resources, [single(0, "INTEGER", 1), single(1, "INTEGER", 86400), single(6, "BOOLEAN", true), single(7, "STRING", "U")]);
});

test("TLV: object links in a model loaded from an extra directory (§7.4.3.3)", (t) => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lwm2m-models-"));
	t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
	const item = (id, name, type, multiple) =>
		`<Item ID="${id}"><Name>${name}</Name><Operations>RW</Operations><MultipleInstances>${multiple ? "Multiple" : "Single"}</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>${type}</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description>&lt;test&gt;</Description></Item>`;
	fs.writeFileSync(
		path.join(dir, "65.xml"),
		`<?xml version="1.0"?>\n<!-- a test object -->\n<LWM2M><Object ObjectType="MODefinition"><Name>Test &amp; links</Name><ObjectID>65</ObjectID><ObjectVersion>1.0</ObjectVersion><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>${item(0, "Links", "Objlnk", true)}${item(1, "Number", "String")}${item(2, "Count", "Integer")}</Resources></Object></LWM2M>`,
	);
	const registry = ObjectRegistry.load([dir]);
	t.is(registry.object(65).name, "Test & links");
	t.truthy(registry.object(3303), "the built-in models are still there");
	const obj65 = [
		0x88, 0x00, 0x0c, 0x44, 0x00, 0x00, 0x42, 0x00, 0x00, 0x44, 0x01, 0x00, 0x42, 0x00, 0x01, // 0: [0]=66:0, [1]=66:1
		0xc8, 0x01, 0x0d, ...text("8613800755500"),
		0xc4, 0x02, 0x12, 0x34, 0x56, 0x78,
	];
	const lk = (p) => registry.resource(p[0], p[2]);
	const node = buildNode([65, 0], typeEntries(decodePayload(f("TLV"), Buffer.from(obj65), [65, 0]), lk), lk);
	t.deepEqual(node.resources, [multi(0, "OBJLNK", { 0: "66:0", 1: "66:1" }), single(1, "STRING", "8613800755500"), single(2, "INTEGER", 0x12345678)]);
});

test("TLV: truncated or inconsistent content is refused with a reason", (t) => {
	t.throws(() => decode("TLV", [0xc8, 0x00, 0x14, 0x41], "/3/0"), { message: /TLV truncated/ });
	t.throws(() => decode("TLV", [0xc8], "/3/0"), { message: /TLV truncated/ });
	t.throws(() => decode("TLV", [0x08, 0x00, 0x03, 0x41, 0x00, 0x01], "/3"), { message: /contains a resourceInstance/ });
	t.throws(() => decode("TLV", [0xc3, 0x09, 0x01, 0x02, 0x03], "/3/0"), { message: /INTEGER must be 1, 2, 4, 8 bytes/ });
	t.throws(() => decode("TLV", [0xc1, 0x09, 0x64], "/3/0/10"), { message: /does not match the requested/ });
});

// ------------------------------------------------------------------ SenML JSON and CBOR

// §7.4.4 example: the same Device instance in SenML JSON
const DEVICE_SENML_JSON = `[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
 {"n":"1","vs":"Lightweight M2M Client"},
 {"n":"2","vs":"345000123"},
 {"n":"3","vs":"1.0"},
 {"n":"6/0","v":1},
 {"n":"6/1","v":5},
 {"n":"7/0","v":3800},
 {"n":"7/1","v":5000},
 {"n":"8/0","v":125},
 {"n":"8/1","v":900},
 {"n":"9","v":100},
 {"n":"10","v":15},
 {"n":"11/0","v":0},
 {"n":"13","v":1367491215},
 {"n":"14","vs":"+02:00"},
 {"n":"16","vs":"U"}]`;

// and in SenML CBOR: labels bn=-2 (0x21), n=0, v=2, vs=3
const rec = (...items) => [0xa0 + items.length / 2, ...items.flat()];
const tstr = (s) => [0x60 + Buffer.byteLength(s), ...text(s)];
const DEVICE_SENML_CBOR = [
	0x90, // array of 16 records
	...rec([0x21], tstr("/3/0/"), [0x00], tstr("0"), [0x03], [0x74, ...text("Open Mobile Alliance")]),
	...rec([0x00], tstr("1"), [0x03], [0x76, ...text("Lightweight M2M Client")]),
	...rec([0x00], tstr("2"), [0x03], tstr("345000123")),
	...rec([0x00], tstr("3"), [0x03], tstr("1.0")),
	...rec([0x00], tstr("6/0"), [0x02], [0x01]),
	...rec([0x00], tstr("6/1"), [0x02], [0x05]),
	...rec([0x00], tstr("7/0"), [0x02], [0x19, 0x0e, 0xd8]),
	...rec([0x00], tstr("7/1"), [0x02], [0x19, 0x13, 0x88]),
	...rec([0x00], tstr("8/0"), [0x02], [0x18, 0x7d]),
	...rec([0x00], tstr("8/1"), [0x02], [0x19, 0x03, 0x84]),
	...rec([0x00], tstr("9"), [0x02], [0x18, 0x64]),
	...rec([0x00], tstr("10"), [0x02], [0x0f]),
	...rec([0x00], tstr("11/0"), [0x02], [0x00]),
	...rec([0x00], tstr("13"), [0x02], [0x1a, 0x51, 0x82, 0x42, 0x8f]),
	...rec([0x00], tstr("14"), [0x03], tstr("+02:00")),
	...rec([0x00], tstr("16"), [0x03], tstr("U")),
];

test("SenML JSON: the spec's Device instance", (t) => {
	t.deepEqual(read("SENML_JSON", Buffer.from(DEVICE_SENML_JSON), "/3/0"), DEVICE_NODE);
});

test("SenML CBOR: the spec's Device instance", (t) => {
	t.deepEqual(read("SENML_CBOR", DEVICE_SENML_CBOR, "/3/0"), DEVICE_NODE);
});

test("SenML JSON and CBOR encodings of the Device instance decode to the same records", (t) => {
	const entries = nodeToEntries([3, 0], DEVICE_NODE, lookup);
	const json = JSON.parse(encodePayload(f("SENML_JSON"), entries, [3, 0]));
	t.deepEqual(json.slice(0, 5), [
		{ n: "/3/0/0", vs: "Open Mobile Alliance" },
		{ n: "/3/0/1", vs: "Lightweight M2M Client" },
		{ n: "/3/0/2", vs: "345000123" },
		{ n: "/3/0/3", vs: "1.0" },
		{ n: "/3/0/6/0", v: 1 },
	]);
	const records = cborMaps.decode(encodePayload(f("SENML_CBOR"), entries, [3, 0]));
	t.deepEqual(records[0], new Map([[0, "/3/0/0"], [3, "Open Mobile Alliance"]]));
	t.deepEqual(records[13], new Map([[0, "/3/0/13"], [2, 1367491215]]));
	for (const name of ["SENML_JSON", "SENML_CBOR", "LWM2M_CBOR"]) t.deepEqual(read(name, encodePayload(f(name), entries, [3, 0]), "/3/0"), DEVICE_NODE, name);
});

test("SenML CBOR: the spec's time series with a base time (§7.4.4 Table 7.4.4-3)", (t) => {
	// [{-2: "/72/", -3: 25462634, 0: "1/2", 2: 22.4, 6: -5}, {0: "1/2", 2: 22.9, 6: -30}, {0: "1/2", 2: 24.1, 6: -50}]
	const double = (x) => {
		const b = Buffer.alloc(9);
		b[0] = 0xfb;
		b.writeDoubleBE(x, 1);
		return [...b];
	};
	const series = [
		0x83,
		...rec([0x21], tstr("/72/"), [0x22], [0x1a, 0x01, 0x84, 0x87, 0x6a], [0x00], tstr("1/2"), [0x02], double(22.4), [0x06], [0x24]),
		...rec([0x00], tstr("1/2"), [0x02], double(22.9), [0x06], [0x38, 0x1d]),
		...rec([0x00], tstr("1/2"), [0x02], double(24.1), [0x06], [0x38, 0x31]),
	];
	const entries = decode("SENML_CBOR", series, "/", { nowSeconds: 1_000_000_000 });
	// times below 2^28 are relative to now (RFC 8428 §4.5.3)
	t.deepEqual(entries.map((e) => [e.path.join("/"), e.value, e.time - 1_000_000_000]), [
		["72/1/2", 22.4, 25462629],
		["72/1/2", 22.9, 25462604],
		["72/1/2", 24.1, 25462584],
	]);
	t.deepEqual(buildByResource(entries, lookup)["/72/1/2"], single(2, "FLOAT", 24.1), "an unknown object: FLOAT from the value, latest wins");
});

test("SenML CBOR: object links under the text label vlo (§7.4.4 Table 7.4.4-4)", (t) => {
	const vlo = [0x63, ...text("vlo")];
	const links = [0x83, ...rec([0x21], tstr("/"), [0x00], tstr("65/0/0/0"), vlo, tstr("66:0")), ...rec([0x00], tstr("65/0/0/1"), vlo, tstr("66:1")), ...rec([0x00], tstr("66/1/2"), vlo, tstr("65535:65535"))];
	const entries = decode("SENML_CBOR", links, "/");
	t.deepEqual(entries.map((e) => [e.path.join("/"), e.type, e.value]), [
		["65/0/0/0", "OBJLNK", "66:0"],
		["65/0/0/1", "OBJLNK", "66:1"],
		["66/1/2", "OBJLNK", "65535:65535"],
	]);
});

test("SenML CBOR: a Read-Composite request and its answer (§7.4.4 Tables 7.4.4-6, 7.4.4-7)", (t) => {
	const request = [0x83, ...rec([0x00], tstr("/3/0/0")), ...rec([0x00], tstr("/3/0/9")), ...rec([0x00], tstr("/1/0/1"))];
	const paths = decodePayload(f("SENML_CBOR"), Buffer.from(request), [], { valueRequired: false }).map((e) => e.path);
	t.deepEqual(paths, [[3, 0, 0], [3, 0, 9], [1, 0, 1]]);
	t.throws(() => decodePayload(f("SENML_CBOR"), Buffer.from(request), []), { message: /has no value/ });

	const answer = [
		0x83,
		...rec([0x00], tstr("/3/0/0"), [0x03], [0x74, ...text("Open Mobile Alliance")]),
		...rec([0x00], tstr("/3/0/9"), [0x02], [0x18, 0x5f]),
		...rec([0x00], tstr("/1/0/1"), [0x02], [0x1a, 0x00, 0x01, 0x51, 0x80]),
	];
	const content = buildComposite(paths, decode("SENML_CBOR", answer, "/"), lookup);
	t.deepEqual(content, {
		"/3/0/0": single(0, "STRING", "Open Mobile Alliance"),
		"/3/0/9": single(9, "INTEGER", 95),
		"/1/0/1": single(1, "INTEGER", 86400),
	});
	t.deepEqual([...encodePayload(f("SENML_CBOR"), [], [])], [0x80], "no records: an empty array");
});

test("SenML: opaque values travel base64url in JSON and as bytes in CBOR", (t) => {
	const json = Buffer.from('[{"n":"/5/0/0","vd":"3q2-7w"}]'); // de ad be ef, url alphabet, no padding
	t.is(read("SENML_JSON", json, "/5/0/0").value, "deadbeef");
	const entries = nodeToEntries([5, 0, 0], "deadbeef", lookup);
	t.is(JSON.parse(encodePayload(f("SENML_JSON"), entries, [5, 0, 0]))[0].vd, "3q2-7w");
	const cbor = [0x81, ...rec([0x00], tstr("/5/0/0"), [0x08], [0x44, 0xde, 0xad, 0xbe, 0xef])];
	t.is(read("SENML_CBOR", cbor, "/5/0/0").value, "deadbeef");
});

test("SenML: malformed records are refused with a reason", (t) => {
	const bad = (payload, pattern) => t.throws(() => decode("SENML_JSON", Buffer.from(payload), "/3/0"), { message: pattern });
	bad("{", /not JSON/);
	bad('{"n":"/3/0/0"}', /must be an array/);
	bad('[{"n":"/3/0/9","v":"100"}]', /v must be a number/);
	bad('[{"n":"/3/0/9","v":1,"vs":"x"}]', /more than one value/);
	bad('[{"n":"/3/zero/9","v":1}]', /not an LwM2M path/);
	bad('[{"n":"/3/0/9","v":1.5}]', /not an integer/);
	bad('[{"n":"/3/0/0","v":1}]', /expected a string/);
	t.throws(() => decode("SENML_CBOR", [0x81, 0xa1], "/3/0"), { message: /not valid CBOR/ });
	t.throws(() => decode("SENML_CBOR", [0x81, 0x01], "/3/0"), { message: /not a map/ });
});

// ------------------------------------------------------------------ LwM2M CBOR, text, opaque

test("LwM2M CBOR: nested maps from the root, with path compression in array keys", (t) => {
	// {[3303, 0]: {5700: 21.5 (half float), 5701: "Cel"}}
	const bytes = [0xa1, 0x82, 0x19, 0x0c, 0xe7, 0x00, 0xa2, 0x19, 0x16, 0x44, 0xf9, 0x4d, 0x60, 0x19, 0x16, 0x45, 0x63, ...text("Cel")];
	t.deepEqual(read("LWM2M_CBOR", bytes, "/3303/0"), { id: 0, kind: "instance", resources: [single(5700, "FLOAT", 21.5), single(5701, "STRING", "Cel")] });
	const encoded = encodePayload(f("LWM2M_CBOR"), [{ path: [3303, 0, 5700], type: "FLOAT", value: 21.5 }], [3303, 0, 5700]);
	t.deepEqual(cborMaps.decode(encoded), new Map([[3303, new Map([[0, new Map([[5700, 21.5]])]])]]));
	t.throws(() => decode("LWM2M_CBOR", [0xa1, 0x61, 0x78, 0x01], "/"), { message: /not a path id/ });
});

test("text/plain: every type reads and writes as LwM2M 1.1 says", (t) => {
	t.is(fromText("FLOAT", "21.5"), 21.5);
	t.is(fromText("FLOAT", "-1e3"), -1000);
	t.is(fromText("INTEGER", "-42"), -42);
	t.is(fromText("INTEGER", "9223372036854775807"), 9223372036854775807n);
	t.is(fromText("BOOLEAN", "1"), true);
	t.is(fromText("BOOLEAN", "0"), false);
	t.deepEqual(fromText("OPAQUE", "3q2+7w=="), Buffer.from("deadbeef", "hex"));
	t.is(fromText("TIME", "1367491215"), 1367491215);
	t.is(fromText("OBJLNK", "66:1"), "66:1");
	t.throws(() => fromText("BOOLEAN", "true"), { message: /"0" or "1"/ });
	t.throws(() => fromText("FLOAT", "abc"), { message: /not a number/ });
	t.throws(() => fromText("UNSIGNED_INTEGER", "-1"), { message: /out of the unsigned/ });
	t.is(toText("BOOLEAN", true), "1");
	t.is(toText("OPAQUE", Buffer.from("deadbeef", "hex")), "3q2+7w==");
	t.is(toText("FLOAT", 22.5), "22.5");
	t.deepEqual(read("TEXT", text("Open Mobile Alliance"), "/3/0/0"), single(0, "STRING", "Open Mobile Alliance"));
	t.deepEqual(read("TEXT", text("1367491215"), "/3/0/13"), single(13, "TIME", 1367491215));
	t.throws(() => decode("TEXT", text("1"), "/3/0"), { message: /single resource value/ });
	t.throws(() => encodePayload(f("OPAQUE"), [{ path: [3303, 0, 5700], type: "FLOAT", value: 1 }], [3303, 0, 5700]), { message: /OPAQUE resources only/ });
});

test("REST values: strings are accepted for every type, checked against the model", (t) => {
	t.is(fromJson("FLOAT", "22.5"), 22.5);
	t.is(fromJson("INTEGER", "12"), 12);
	t.is(fromJson("TIME", "2026-01-05T00:00:00Z"), 1767571200);
	t.throws(() => fromJson("FLOAT", "abc"), { message: /"abc" is not a number/ });
	t.throws(() => fromJson("INTEGER", 1.5), { message: /not an integer/ });
	t.throws(() => fromJson("STRING", 5), { message: /expected a string/ });
	t.throws(() => fromJson("OPAQUE", "xyz"), { message: /hex/ });
	t.throws(() => fromJson("OBJLNK", "66"), { message: /object link/ });
	t.deepEqual(parseRange("0..100"), { min: 0, max: 100 });
	t.deepEqual(parseRange("1-65534"), { min: 1, max: 65534 });
	t.deepEqual(parseRange("-40..85"), { min: -40, max: 85 });
	t.is(parseRange("16,32,48"), null);
	t.is(parseRange("The possible values are those listed"), null);
	t.throws(() => nodeToEntries([3306, 0, 5851], 101, lookup), { message: /101 is outside 0\.\.100/ });
	t.throws(() => nodeToEntries([5, 0, 1], "x".repeat(256), lookup), { message: /256 bytes is outside 0\.\.255 bytes/ });
	t.notThrows(() => nodeToEntries([3306, 0, 5851], "100", lookup));
});

// ------------------------------------------------------------------ link-format

test("link-format: the spec's registration payloads (§6.2.1)", (t) => {
	const plain = parseLinkFormat("</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>");
	t.deepEqual(plain.map((l) => l.url), ["/1/0", "/1/1", "/2/0", "/2/1", "/2/2", "/2/3", "/2/4", "/3/0", "/4/0", "/5"]);
	const withRoot = parseLinkFormat("</>;ct=11543, </1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>");
	t.deepEqual(withRoot[0], { url: "/", attributes: { ct: "11543" } });
	t.is(withRoot.length, 11);
	const v11 = parseLinkFormat('</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</3303>;ver=1.1,</3303/0>');
	t.deepEqual(v11[0].attributes, { rt: "oma.lwm2m", ct: "60 110 112 11542 11543" });
	t.deepEqual(v11[1], { url: "/1", attributes: { ver: "1.1" } });

	const reg = parseRegister(["ep=dev", "lt=300", "lwm2m=1.1", "b=U"], undefined, Buffer.from('</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</3303>;ver=1.1,</3303/0>'));
	t.deepEqual(reg.supportedObjects, { 1: "1.1", 3: "1.1", 3303: "1.1" });
	t.deepEqual(reg.contentFormats, [60, 110, 112, 11542, 11543]);
	t.deepEqual(reg.availableInstances, { 1: [0], 3: [0], 3303: [0] });
});

test("link-format: the spec's Discover answer with attributes (§6.3.4)", (t) => {
	const links = parseLinkFormat("</3/0>;pmax=60, </3/0/1>, </3/0/2>, </3/0/3>, </3/0/4>, </3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/8>;dim=8,</3/0/11>,</3/0/16>");
	t.is(links.length, 10);
	t.deepEqual(links[6], { url: "/3/0/7", attributes: { dim: "8", gt: "50", lt: "42.2" } });
	t.deepEqual(parseLinkFormat("</3/0/1>;obs;title=\"a, b; c\\\"\""), [{ url: "/3/0/1", attributes: { obs: null, title: 'a, b; c"' } }]);
	const round = '</>;rt=oma.lwm2m;ct="60 110",</3/0/7>;dim=8;gt=50,</3/0/1>;obs';
	t.is(serializeLinkFormat(parseLinkFormat(round)), round);
});

test("link-format: malformed input is refused with the place of the fault", (t) => {
	for (const [input, pattern] of [
		["</1/0", /unterminated "<"/],
		["/1/0", /expected "<"/],
		["</1/0>,", /expected "<"/],
		["</1/0>;", /empty parameter name/],
		['</1/0>;ct="60', /unterminated quoted value/],
		["</1/0> </2/0>", /expected "," or ";"/],
		["</1/0>;ver=", /empty value/],
	]) {
		t.throws(() => parseLinkFormat(input), { message: pattern }, input);
	}
	t.deepEqual(parseLinkFormat(""), []);
});

// ------------------------------------------------------------------ DDF models

test("DDF: every registry object loads with its ids, names, versions and resource definitions", (t) => {
	t.deepEqual(models.objects().map((o) => o.id), [0, 1, 2, 3, 4, 5, 3300, 3303, 3306, 3308, 3342, 32700]);
	t.like(models.resource(32700, 0), { name: "Hysteresis", operations: "RW", type: "FLOAT", range: { min: 0.1, max: 5 } });
	const temperature = models.object(3303);
	t.like(temperature, { name: "Temperature", version: "1.1", multiple: true, mandatory: false });
	t.like(temperature.resources.get(5700), { name: "Sensor Value", operations: "R", multiple: false, mandatory: true, type: "FLOAT", units: "" });
	t.like(models.resource(3303, 5701), { name: "Sensor Units", type: "STRING" });
	t.like(models.resource(3, 4), { name: "Reboot", operations: "E", type: "NONE" });
	t.like(models.resource(3, 6), { multiple: true, rangeEnumeration: "0..7", range: { min: 0, max: 7 } });
	t.like(models.resource(1, 1), { name: "Lifetime", type: "INTEGER" });
	t.like(models.resource(0, 10), { type: "INTEGER", range: { min: 1, max: 65534 } });
	t.is(models.resource(0, 8).range, null, "an enumeration 16,32,48 is not a range");
	t.like(models.resource(3308, 5900), { operations: "RW", type: "FLOAT" });
	t.is(models.object(4, "9.9").version, models.object(4).version, "an unknown version falls back to the newest");
});

test("DDF: the XML parser keeps entities and CDATA and reports broken files by line", (t) => {
	const doc = parseXml('<?xml version="1.0"?>\n<!-- c -->\n<a x="1 &amp; 2"><b>&lt;t&gt; &#65;&#x42;</b><c><![CDATA[<raw> & ]]></c><d/></a>');
	t.is(doc.attributes.x, "1 & 2");
	t.is(doc.children[0].text, "<t> AB");
	t.is(doc.children[1].text, "<raw> & ");
	t.is(doc.children[2].name, "d");
	t.throws(() => parseXml("<a>\n<b>\n</a>"), { message: /line 3: <\/a> closes <b>/ });
	t.throws(() => parseXml("<a>x & y</a>"), { message: /bare "&"/ });
	t.throws(() => parseXml("<a><b></b>"), { message: /<a> is never closed/ });
	t.throws(() => parseDdf("<NotLWM2M/>", "x.xml"), { message: /x\.xml: the root element is <NotLWM2M>/ });
	t.throws(
		() => parseDdf("<LWM2M><Object><ObjectID>9</ObjectID><MultipleInstances>Single</MultipleInstances><Resources><Item ID=\"1\"><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Type>Decimal</Type></Item></Resources></Object></LWM2M>", "y.xml"),
		{ message: /y\.xml: object 9 resource 1: unknown Type "Decimal"/ },
	);
});

// ------------------------------------------------------------------ small grammars

test("Execute arguments follow the spec grammar", (t) => {
	t.deepEqual(parseExecuteArgs("0='a',1"), [{ id: 0, value: "a" }, { id: 1 }]);
	t.deepEqual(parseExecuteArgs("5='http://example.org/fw, v2',2='45'"), [{ id: 5, value: "http://example.org/fw, v2" }, { id: 2, value: "45" }]);
	t.deepEqual(parseExecuteArgs(""), []);
	for (const bad of ["10", "a", "0=a", "0='a", "0='a'',1", "0,,1", "0='\\'"]) t.throws(() => parseExecuteArgs(bad), undefined, bad);
});

test("Write-Attributes are checked before sending", (t) => {
	t.deepEqual(attributesToQuery({ pmin: "10", pmax: 60 }, [3303, 0, 5700]), ["pmin=10", "pmax=60"]);
	t.deepEqual(attributesToQuery({ gt: 25, lt: 15, st: 1 }, [3303, 0, 5700], models.resource(3303, 5700)), ["gt=25", "lt=15", "st=1"]);
	t.throws(() => attributesToQuery({ gt: 15, lt: 25 }, [3303, 0, 5700]), { message: /lt must be less than gt/ });
	t.throws(() => attributesToQuery({ gt: 20, lt: 15, st: 3 }, [3303, 0, 5700]), { message: /lt \+ 2\*st/ });
	t.throws(() => attributesToQuery({}, [3303, 0, 5700]), { message: /no attributes/ });
});

test("paths: parsing and its errors", (t) => {
	t.deepEqual(parsePath("/3303/0/5700"), [3303, 0, 5700]);
	t.deepEqual(parsePath("3/0/7/1"), [3, 0, 7, 1]);
	t.deepEqual(parsePath("/"), []);
	t.throws(() => parsePath("/3/0/7/1/2"), { message: /deeper than/ });
	t.throws(() => parsePath("/3/-1"), { message: /not a number/ });
	t.throws(() => parsePath("/70000"), { message: /out of range/ });
	t.throws(() => parsePath("/3/65535"), { message: /out of range/ });
});
