// npm start's options as a user types them: negative numbers as values, a coaps:// server
// that is not the embedded one (the firmware's DTLS against a server the user runs), and
// the flash folder echoed as given.
import test from "ava";
import dgram from "node:dgram";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { startMainJob, parseCommandLine, UsageError } from "../host-sim/main-job.js";
import { Lwm2mServer } from "../host-sim/lwm2m-server/index.js";
import { DtlsServer } from "../host-sim/dtls/index.js";
import { root, tempDir } from "./helpers/sim.js";
import { freePort } from "./helpers/ports.js";

const START = path.join(root, "host-sim", "cli", "start.js");
const PSK = { identity: "external-psk", key: "000102030405060708090a0b0c0d0e0f" };

async function waitFor(check, ms, what) {
	const deadline = performance.now() + ms;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

test("negative numbers are values: --outside -5, --outside=-5.5", (t) => {
	t.is(parseCommandLine(["--outside", "-5"]).outside, -5);
	t.is(parseCommandLine(["--outside=-5.5"]).outside, -5.5);
	t.is(parseCommandLine(["--outside", "-0.5", "--devices", "2"]).devices, 2);
	t.throws(() => parseCommandLine(["--outside", "-60"]), { instanceOf: UsageError, message: /--outside -60: give °C, -50\.\.50/ });
	t.throws(() => parseCommandLine(["-5"]), { instanceOf: UsageError, message: /Unexpected argument '-5'/ });
});

test("coaps:// needs a PSK, and a PSK needs coaps:// (for an external server too)", (t) => {
	const o = parseCommandLine(["--server", "coaps://127.0.0.1", "--psk-identity", PSK.identity, "--psk-key", PSK.key]);
	t.is(o.serverUri, "coaps://127.0.0.1:5684");
	t.is(o.pskIdentity, PSK.identity);
	t.throws(() => parseCommandLine(["--server", "coaps://127.0.0.1:5684"]), { instanceOf: UsageError, message: /coaps \(DTLS\) needs the identity and key.*--psk-identity ID --psk-key HEX/ });
	t.throws(() => parseCommandLine(["--server", "coap://127.0.0.1:5683", "--psk-identity", "x", "--psk-key", "00"]), { instanceOf: UsageError, message: /takes coaps:\/\// });
});

test("--flash is echoed as given: an absolute path stays absolute", async (t) => {
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ hours: 0.01, flash, log: (l) => lines.push(l) });
	await job.stop();
	t.true(lines.some((l) => l.includes(`flash in ${flash}`)), lines.join("\n"));
	t.is(parseCommandLine(["--flash", "some/where"]).flashShown, "some/where");
});

/** A server the main job does not start: the local LwM2M server behind the DTLS server, on 127.0.0.1. */
async function externalDtlsServer(t) {
	const registrations = [];
	const dtls = new DtlsServer({ socket: dgram.createSocket("udp4"), psk: (identity) => (identity === PSK.identity ? Buffer.from(PSK.key, "hex") : undefined) });
	const handshakes = [];
	dtls.on("handshake", (e) => handshakes.push(e));
	const server = new Lwm2mServer({ host: "127.0.0.1", coapPort: 0, httpPort: 0, socket: dtls.socket });
	server.on("registered", (r) => registrations.push({ kind: "registered", r }));
	server.on("deregistered", (r) => registrations.push({ kind: "deregistered", r }));
	const { coapPort } = await server.start();
	t.teardown(() => server.stop());
	return { server, dtls, handshakes, registrations, uri: `coaps://127.0.0.1:${coapPort}` };
}

test.serial("--server coaps://... with --psk-identity/--psk-key: the firmware's DTLS with a server the main job did not start", async (t) => {
	const ext = await externalDtlsServer(t);
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ server: ext.uri, pskIdentity: PSK.identity, pskKey: PSK.key, speed: 60, headless: true, flash, log: (l) => lines.push(l) });
	t.teardown(() => job.stop());
	t.true(lines.some((l) => l.includes(`registering with ${ext.uri}`)), lines.join("\n"));
	await waitFor(() => ext.registrations.find((e) => e.kind === "registered"), 30_000, "the registration over DTLS");
	t.is(ext.handshakes[0].identity, PSK.identity);
	t.true(lines.some((l) => /thermostat-1: dtls: session with 127\.0\.0\.1:\d+ established/.test(l)), lines.join("\n"));
	const read = await ext.server.read("thermostat-1", "/3308/0/5900");
	t.is(read.content.value, 21);
	await job.stop();
	t.truthy(ext.registrations.find((e) => e.kind === "deregistered"), "de-registered on Ctrl-C");
});

test.serial("npm start -- --server coaps://... --outside -5: accepted on the command line and registers", async (t) => {
	const ext = await externalDtlsServer(t);
	const flash = tempDir(t);
	const child = spawn(process.execPath, [START, "--server", ext.uri, "--psk-identity", PSK.identity, "--psk-key", PSK.key, "--outside", "-5", "--headless", "--flash", flash], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
	let stdout = "", stderr = "";
	child.stdout.on("data", (d) => (stdout += d));
	child.stderr.on("data", (d) => (stderr += d));
	const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
	t.teardown(() => child.exitCode === null && child.kill("SIGKILL"));
	await Promise.race([waitFor(() => ext.registrations.find((e) => e.kind === "registered"), 60_000, "the registration"), exited.then((code) => { throw new Error(`exited ${code}: ${stderr}`); })]);
	child.kill("SIGINT");
	t.is(await exited, 0, stderr);
	t.regex(stdout, /flash in \//);
	t.truthy(ext.registrations.find((e) => e.kind === "deregistered"));
});

test.serial("a reboot the server asks for (/3/0/4) is counted apart from a reset, in the status line and the summary", async (t) => {
	const flash = tempDir(t);
	const lines = [];
	const job = await startMainJob({ speed: 600, coapPort: 0, httpPort: 0, headless: true, flash, log: (l) => lines.push(l) });
	t.teardown(() => job.stop());
	const [device] = job.devices;
	const registration = () => job.server.client("thermostat-1")?.registrationId;
	await waitFor(registration, 30_000, "the registration");
	const first = registration();
	const reboot = await job.server.execute("thermostat-1", "/3/0/4");
	t.true(reboot.success, JSON.stringify(reboot));
	await waitFor(() => registration() && registration() !== first, 30_000, "the registration after the reboot");
	t.like(job.stats.get("thermostat-1"), { resets: 0, reboots: 1 });
	// the EN button: a reset nobody asked for
	await device.restart("EN button");
	t.like(job.stats.get("thermostat-1"), { resets: 1, reboots: 1 });
	lines.length = 0;
	await job.status();
	t.regex(lines.join("\n"), /thermostat-1: room .*, resets 1, reboots 1 \(asked by the server\)$/m);
	t.regex(job.summary(), /resets 1, reboots 1 \(asked by the server\)/);
	const logged = job.journal.since(0).filter((e) => e.type === "log");
	t.false(logged.find((e) => /reset #1: restart\(\) called by the firmware/.test(e.text)).warn, "the asked-for reboot is no warning");
	t.false(logged.find((e) => /reboot requested by the server/.test(e.text)).warn);
	t.true(logged.find((e) => /reset #2: EN button/.test(e.text)).warn, "an unasked reset is");
});

const hasRd = spawnSync("coap-rd-openssl", ["-h"], { stdio: "ignore" }).error === undefined;

// libcoap's CoRE Resource Directory on OpenSSL: a DTLS peer and a registrar we did not
// write. An LwM2M Register is an RD registration (POST /rd?ep=...), so it answers 2.01.
(hasRd ? test.serial : (title) => test.serial(title, (t) => t.fail("coap-rd-openssl is not installed (.ci/run installs libcoap3-bin)")))(
	"--server coaps://... reaches a DTLS server we did not write: libcoap's coap-rd-openssl takes the PSK and the Register",
	async (t) => {
		const keyText = "secret for testing"; // libcoap takes the key as text
		const port = await freePort();
		const rd = spawn("coap-rd-openssl", ["-A", "127.0.0.1", "-p", String(port), "-k", keyText, "-v", "7"], { stdio: ["ignore", "pipe", "pipe"] });
		let rdOut = "";
		rd.stdout.on("data", (d) => (rdOut += d));
		rd.stderr.on("data", (d) => (rdOut += d));
		t.teardown(() => rd.kill());
		await new Promise((r) => setTimeout(r, 400)); // as the interop tests: it prints nothing when ready
		const lines = [];
		// libcoap serves DTLS on its CoAP port + 1
		const job = await startMainJob({ server: `coaps://127.0.0.1:${port + 1}`, pskIdentity: "thermostat-rd", pskKey: Buffer.from(keyText).toString("hex"), speed: 60, headless: true, flash: tempDir(t), log: (l) => lines.push(l) });
		t.teardown(() => job.stop());
		await waitFor(() => lines.some((l) => /thermostat-1: lwm2m: registered: as \/rd\//.test(l)), 60_000, `the registration with coap-rd:\n${lines.join("\n")}\n${rdOut.slice(-2000)}`);
		t.true(lines.some((l) => new RegExp(`thermostat-1: dtls: session with 127\\.0\\.0\\.1:${port + 1} established \\(PSK-AES128-CCM8\\)`).test(l)), lines.join("\n"));
		// what the RD logs (its output may come a little after the device's line)
		await waitFor(() => /c:2\.01 .*Location-Path:rd/.test(rdOut), 10_000, `the RD's 2.01 in its log:\n${rdOut.slice(-2000)}`);
		t.regex(rdOut, /got psk_identity: 'thermostat-rd'/);
		t.regex(rdOut, /c:POST .*Uri-Path:rd, .*Uri-Query:ep=thermostat-1/, "the Register, decrypted by OpenSSL at the RD");
	},
);
