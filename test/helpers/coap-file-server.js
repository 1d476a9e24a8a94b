// A CoAP file server on a simulation's network (npm coap-packet, nothing from device/): GET of
// a path answered in Block2 blocks of the size the client asks for (at most 16 << maxSzx),
// with an ETag (etag(path, file); by default the same for every file) and Size2 on block 0
// and when asked. `socket` may be given (a DtlsServer's socket: coaps).
import packet from "coap-packet";

const num = (buffer) => [...(buffer ?? [])].reduce((a, b) => a * 256 + b, 0);
const option = (p, name) => p.options.find((o) => o.name === name)?.value;
const uintBytes = (n) => {
	const bytes = [];
	for (; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
	return Buffer.from(bytes);
};
const blockValue = (n, more, szx) => uintBytes((n << 4) | (more ? 8 : 0) | szx);

/**
 * @param drop (n) => whether to stay silent on the n-th request (a lost exchange)
 * @returns {{requests: number, blocks: number[]}} what was served
 */
export function fileServer(sim, { address = "127.0.0.3", port = 5683, socket, files = {}, maxSzx = 6, drop = () => false, etag = () => Buffer.from([1, 2, 3, 4]) } = {}) {
	if (!socket) {
		socket = sim.network.createSocket();
		socket.bind(port, address);
	}
	const served = { requests: 0, blocks: [] };
	socket.on("message", (msg, rinfo) => {
		const p = packet.parse(Buffer.from(msg));
		if (p.ack || p.reset || !p.code.startsWith("0.")) return;
		const n = served.requests++;
		if (drop(n)) return;
		const path = p.options.filter((o) => o.name === "Uri-Path").map((o) => o.value.toString()).join("/");
		const reply = (code, options = [], payload = Buffer.alloc(0)) => socket.send(packet.generate({ messageId: p.messageId, token: p.token, ack: p.confirmable, confirmable: false, code, options, payload }), rinfo.port, rinfo.address);
		const file = files[path];
		if (!file) return reply("4.04", [], Buffer.from(`no ${path}`));
		const b2 = option(p, "Block2");
		const asked = b2 === undefined ? { num: 0, szx: maxSzx } : { num: num(b2) >> 4, szx: num(b2) & 7 };
		const szx = Math.min(asked.szx, maxSzx), size = 16 << szx;
		const start = asked.num * (16 << asked.szx);
		const block = start / size;
		const more = start + size < file.length;
		served.blocks.push(block);
		const size2 = block === 0 || option(p, "Size2") !== undefined; // block 0, or asked (Size2 0 in the request)
		reply("2.05", [{ name: "ETag", value: etag(path, file) }, { name: "Block2", value: blockValue(block, more, szx) }, ...(size2 ? [{ name: "Size2", value: uintBytes(file.length) }] : [])], file.subarray(start, start + size));
	});
	return served;
}
