// Test helpers for firmware update (object 5) on the server's side: an LTFW package
// builder (the format of issue 13, written here from its description, not with
// host-sim/fota/image.js) and a fake client's object 5 on npm `coap` (TestClient).
import { createHash } from "node:crypto";
import { reply, CF } from "./lwm2m-client.js";

/** An LTFW package (the format of issue 13), built here and not with host-sim/fota/image.js. */
export function ltfw({ target = "host-sim", version = "1.0.1", payload, hash } = {}) {
	const h = Buffer.alloc(160);
	h.write("LTFW", 0, "latin1");
	h.writeUInt16LE(1, 4);
	h.writeUInt16LE(160, 6);
	h.write(target, 8, 16, "latin1");
	h.write(version, 24, 16, "latin1");
	h.writeUInt32LE(payload.length, 40);
	(hash ?? createHash("sha256").update(payload).digest()).copy(h, 44);
	return Buffer.concat([h, payload]);
}

export function readPackage(bytes) {
	if (bytes.length < 160 || bytes.toString("latin1", 0, 4) !== "LTFW") return undefined;
	const payload = bytes.subarray(160);
	const z = (b) => b.toString("latin1").replace(/\0+$/, "");
	return {
		version: z(bytes.subarray(24, 40)),
		ok: bytes.readUInt32LE(40) === payload.length && createHash("sha256").update(payload).digest().equals(bytes.subarray(44, 76)),
	};
}

/**
 * A fake thermostat's object 5: State /5/0/3 and Update Result /5/0/5 (observable),
 * Package /5/0/0, Package URI /5/0/1 (it downloads with npm coap's Agent, Block2 of
 * 512 bytes; holdDownload: only when dev.download() is called), Update /5/0/2 (a
 * "reboot": it registers again, running the new version).
 */
export function fakeFirmware(client, { version = "1.0.0", onExecute, holdDownload = false } = {}) {
	const dev = { state: 0, result: 0, version, pending: undefined, received: [], uris: [], downloads: [] };
	const notify = (p, v) => {
		if (client.observers.has(p)) client.notify(p, CF.TEXT, String(v));
	};
	dev.set = (state, result) => {
		if (state !== undefined && state !== dev.state) {
			dev.state = state;
			notify("/5/0/3", state);
		}
		if (result !== undefined && result !== dev.result) {
			dev.result = result;
			notify("/5/0/5", result);
		}
	};
	const take = (bytes) => {
		const pkg = readPackage(bytes);
		if (!pkg) return dev.set(0, 6);
		if (!pkg.ok) return dev.set(0, 5);
		dev.pending = pkg.version;
		dev.set(2, 0);
	};
	client.route("GET", "/5/0/3", (req, res) => reply(res, { format: CF.TEXT, payload: String(dev.state) }));
	client.route("GET", "/5/0/5", (req, res) => reply(res, { format: CF.TEXT, payload: String(dev.result) }));
	client.route("GET", "/3/0/3", (req, res) => reply(res, { format: CF.TEXT, payload: dev.version }));
	client.route("PUT", "/5/0/0", (req, res) => {
		dev.received.push({ format: req.format, payload: req.payload });
		if (req.payload.length === 0) {
			dev.set(0, 10); // cancelled
		} else {
			dev.set(1, 0);
			take(req.payload);
		}
		reply(res, { code: "2.04" });
	});
	client.route("PUT", "/5/0/1", (req, res) => {
		const uri = req.payload.toString();
		dev.uris.push(uri);
		reply(res, { code: "2.04" });
		if (!uri) return dev.set(0, 10);
		dev.set(1, 0);
		dev.download = () => download(uri);
		if (!holdDownload) dev.download();
	});
	const download = (uri) => {
		const u = new URL(uri);
		const get = client.agent.request({ hostname: u.hostname, port: Number(u.port), pathname: u.pathname, options: { Block2: Buffer.from([0x05]) } });
		get.on("response", (r) => {
			const body = Buffer.from(r.payload);
			dev.downloads.push({ code: r.code, body });
			if (r.code !== "2.05") return dev.set(0, 7);
			take(body);
		});
		get.on("error", () => dev.set(0, 4));
		get.end();
	};
	client.route("POST", "/5/0/2", async (req, res) => {
		if (dev.state !== 2) return reply(res, { code: "4.05", payload: "Update needs State 2 (Downloaded)" });
		reply(res, { code: "2.04" });
		dev.set(3);
		if (onExecute) return onExecute(dev);
		// the reboot: the new image registers, confirms itself and reports success
		setTimeout(async () => {
			Object.assign(dev, { state: 0, result: 1, version: dev.pending });
			await client.register();
		}, 50);
	});
	return dev;
}

