// Issue 11 item 6, "loose values": each resource takes what its definition says and no
// more. The thermostat firmware (device/main.ts) on XS in virtual time, written to in raw
// CoAP (test/helpers/raw-lwm2m.js) with a chosen content format: Device UTC Offset and
// Timezone (3/0/14, 3/0/15) are checked and kept across a reboot; numbers no double holds
// (1e400, CBOR Infinity/NaN) and non-integers for integer resources are refused with 4.00
// and a reason naming the resource and the value. And the local server's REST API and CLI
// refuse 1e400 themselves (HTTP 400), sending nothing to the device.
import test from "ava";
import { execFile } from "node:child_process";
import path from "node:path";
import packet from "coap-packet";
import { Encoder } from "cbor-x";
import { root, simulation } from "./helpers/sim.js";
import { RawServer, options } from "./helpers/raw-lwm2m.js";
import { EP, thermostatSimulation } from "./helpers/thermostat-sim.js";

const CF = { text: 0, senmlJson: 110, senmlCbor: 112, tlv: 11542, lwm2mCbor: 11544 };
const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

async function device(t) {
	const sim = simulation(t, { seed: 23, latencyMs: 1 });
	const server = new RawServer(sim);
	const dev = await sim.addDevice({
		board: { room: { temperature: 20, outside: 5 } },
		config: { serverUri: "coap://127.0.0.1:5683", endpoint: "loose-values", ssid: "host-sim" },
	});
	await sim.run(5_000); // Wi-Fi, then the Register
	t.truthy(server.client, "registered");
	const put = (p, payload, contentFormat = CF.text) => server.request("PUT", p, { contentFormat, payload });
	const read = async (p) => (await server.request("GET", p, { accept: CF.text })).text;
	/**
	 * A write refused with 4.00 and exactly this reason; the resource (`target`, when `p`
	 * is not it) still reads as before, unless it is a clock (`target` null).
	 */
	const refused = async (p, payload, contentFormat, reason, { method = "PUT", target = p } = {}) => {
		const before = target && (await read(target));
		const r = await server.request(method, p, { contentFormat, payload });
		t.is(r.code, "4.00", `${p} ${String(payload)}: ${r.code} ${r.text}`);
		t.is(r.text, reason);
		if (target) t.is(await read(target), before, `${target} unchanged`);
	};
	return { sim, server, dev, put, read, refused };
}

test("UTC Offset /3/0/14 and Timezone /3/0/15: ISO 8601 offsets and IANA names are kept (across a reboot), anything else is refused with the reason", async (t) => {
	const { sim, server, dev, put, read, refused } = await device(t);
	t.is(await read("/3/0/14"), "+00:00");
	t.is(await read("/3/0/15"), "UTC");

	for (const offset of ["UTC+05:30", "-03:00", "+14:00", "-12:00", "UTC-09", "Z", "UTC", "+01:00"]) {
		t.is((await put("/3/0/14", offset)).code, "2.04", offset);
		t.is(await read("/3/0/14"), offset);
	}
	await refused("/3/0/14", "garbage", CF.text, '/3/0/14: "garbage" is not a UTC offset (UTC+hh:mm, ISO 8601)');
	await refused("/3/0/14", "+1:00", CF.text, '/3/0/14: "+1:00" is not a UTC offset (UTC+hh:mm, ISO 8601)');
	await refused("/3/0/14", "UTC+0530", CF.text, '/3/0/14: "UTC+0530" is not a UTC offset (UTC+hh:mm, ISO 8601)');
	await refused("/3/0/14", "", CF.text, '/3/0/14: "" is not a UTC offset (UTC+hh:mm, ISO 8601)');
	await refused("/3/0/14", "+15:00", CF.text, '/3/0/14: "+15:00" is outside -12:00..+14:00, the UTC offsets in use');
	await refused("/3/0/14", "-12:30", CF.text, '/3/0/14: "-12:30" is outside -12:00..+14:00, the UTC offsets in use');
	await refused("/3/0/14", "+01:60", CF.text, '/3/0/14: "+01:60": the minutes of a UTC offset are 00 to 59');
	// in SenML JSON too
	await refused("/3/0/14", '[{"n":"/3/0/14","vs":"+5"}]', CF.senmlJson, '/3/0/14: "+5" is not a UTC offset (UTC+hh:mm, ISO 8601)');

	for (const zone of ["America/Argentina/Buenos_Aires", "Etc/GMT+5", "America/Port-au-Prince", "UTC", "Europe/Berlin"]) {
		t.is((await put("/3/0/15", zone)).code, "2.04", zone);
		t.is(await read("/3/0/15"), zone);
	}
	const name = "is not an IANA time zone name (Area/Location, e.g. Europe/Berlin)";
	await refused("/3/0/15", "garbage zone", CF.text, `/3/0/15: "garbage zone" ${name}`);
	await refused("/3/0/15", "Europe/", CF.text, `/3/0/15: "Europe/" ${name}`);
	await refused("/3/0/15", "../etc/passwd", CF.text, `/3/0/15: "../etc/passwd" ${name}`);
	await refused("/3/0/15", "", CF.text, `/3/0/15: "" ${name}`);
	await refused("/3/0/15", `Europe/${"B".repeat(58)}`, CF.text, `/3/0/15: "Europe/${"B".repeat(33)}..." is longer than 64 characters, too long for an IANA time zone name`);

	// both are in flash: a reboot keeps them
	t.is((await server.request("POST", "/3/0/4")).code, "2.04");
	await sim.run(10_000);
	t.is(dev.resets.length, 1);
	t.is(server.registrations().filter((r) => r.p.code === "0.02" && options(r.p, "Uri-Path").length === 1).length, 2, "registered again");
	t.is(await read("/3/0/14"), "+01:00");
	t.is(await read("/3/0/15"), "Europe/Berlin");
});

test("numbers no double holds (text 1e400, SenML JSON 1e400, CBOR Infinity and NaN) and non-integers for integer resources: 4.00 naming the resource and the value", async (t) => {
	const { refused, read } = await device(t);
	t.is(await read("/3308/0/5900"), "21");
	const setPoint = "/3308/0/5900";
	await refused(setPoint, "1e400", CF.text, "/3308/0/5900: 1e400 is not a finite number");
	await refused(setPoint, "-1E+999", CF.text, "/3308/0/5900: -1E+999 is not a finite number");
	await refused(setPoint, "Infinity", CF.text, '/3308/0/5900: "Infinity" is not a decimal number');
	await refused(setPoint, '[{"n":"/3308/0/5900","v":1e400}]', CF.senmlJson, "/3308/0/5900: 1e400 is not a finite number");
	await refused(setPoint, cbor.encode([new Map([[0, setPoint], [2, Infinity]])]), CF.senmlCbor, "/3308/0/5900: Infinity is not a finite number");
	await refused(setPoint, cbor.encode([new Map([[0, setPoint], [2, -Infinity]])]), CF.senmlCbor, "/3308/0/5900: -Infinity is not a finite number");
	await refused(setPoint, cbor.encode([new Map([[0, setPoint], [2, NaN]])]), CF.senmlCbor, "/3308/0/5900: NaN is not a finite number");
	await refused(setPoint, cbor.encode(new Map([[3308, new Map([[0, new Map([[5900, NaN]])]])]])), CF.lwm2mCbor, "/3308/0/5900: NaN is not a finite number");
	// TLV: a resource of 8 bytes, the double +Infinity
	// (header e8: a resource with a value, 16-bit id 5900, 8-bit length 8)
	await refused(setPoint, Buffer.from("e8170c087ff0000000000000", "hex"), CF.tlv, "/3308/0/5900: Infinity is not a finite number");
	// Write-Composite names the resource the same way
	await refused("/", '[{"n":"/3308/0/5900","v":1e400}]', CF.senmlJson, "/3308/0/5900: 1e400 is not a finite number", { method: "iPATCH", target: setPoint });

	// integer resources: the control period 32700/0/5 (Integer), Current Time 3/0/13 (Time)
	const period = "/32700/0/5";
	await refused(period, "1.5", CF.text, "/32700/0/5: 1.5 is not an integer (text integers are decimal digits)");
	await refused(period, "1e20", CF.text, "/32700/0/5: 1e20 is not an integer (text integers are decimal digits)");
	await refused(period, "100000000000000000000", CF.text, "/32700/0/5: 100000000000000000000 is beyond the integers this device holds exactly (-9007199254740991 to 9007199254740991)");
	await refused(period, '[{"n":"/32700/0/5","v":1.5}]', CF.senmlJson, "/32700/0/5: 1.5 is not an integer");
	await refused(period, '[{"n":"/32700/0/5","v":1e20}]', CF.senmlJson, "/32700/0/5: 1e20 is beyond the integers this device holds exactly (-9007199254740991 to 9007199254740991)");
	await refused(period, '[{"n":"/32700/0/5","v":1e400}]', CF.senmlJson, "/32700/0/5: 1e400 is not a finite number");
	await refused(period, cbor.encode([new Map([[0, period], [2, 2.5]])]), CF.senmlCbor, "/32700/0/5: 2.5 is not an integer");
	await refused("/3/0/13", '[{"n":"/3/0/13","v":1.5}]', CF.senmlJson, "/3/0/13: 1.5 is not an integer", { target: null });
	// Current Time keeps its rule: 2020-01-01 to the RTC's last second (2106)
	await refused("/3/0/13", "0", CF.text, "/3/0/13: time 0 is before 2020-01-01T00:00:00Z (1577836800): not a real date, the clock is unchanged", { target: null });
});

test("the local server refuses 1e400 itself: REST (a JSON number or a string) and CLI answer HTTP 400 with the reason, and nothing goes to the device", async (t) => {
	const { sim, dev, rest, read, state } = await thermostatSimulation(t);
	const writes = [];
	dev.on("datagram", (d) => {
		if (d.direction !== "in") return;
		let p;
		try { p = packet.parse(d.data); } catch { return; }
		if (p.code === "0.03" || p.code === "0.07") writes.push(p);
	});
	const reason = "/3308/0/5900: 1e400 is not a finite number (out of the 64-bit float range)";
	for (const body of ["1e400", '"1e400"', " 1E400 ", '{"id":5900,"value":1e400}']) {
		const r = await rest("PUT", `/clients/${EP}/3308/0/5900`, body);
		t.is(r.status, 400, body);
		t.deepEqual(r.body, { error: body.trim() === "1E400" ? reason.replace("1e400", "1E400") : reason }, body);
	}
	const composite = await rest("PUT", `/clients/${EP}/composite`, '{"/3308/0/5900": -1e999}');
	t.is(composite.status, 400);
	t.deepEqual(composite.body, { error: "the body: -1e999 is not a finite number (out of the 64-bit float range)" });
	// the CLI (it sends the argument as a JSON string)
	const cli = await new Promise((resolve) => {
		execFile(process.execPath, [path.join(root, "host-sim", "cli", "lwm2m.js"), "write", EP, "/3308/0/5900", "1e400", "--api", `http://127.0.0.1:${state.server.httpPort}`], { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
	});
	t.is(cli.code, 1, cli.stderr);
	t.true(cli.stderr.includes(`${reason} (HTTP 400)`), cli.stderr);
	t.is(writes.length, 0, "no write reached the device");
	await sim.run(1_000);
	t.is((await read("/3308/0/5900")).content.value, 21);
});
