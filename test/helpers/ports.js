// A UDP port on 127.0.0.1 that nothing holds right now, for peers that need a fixed one.
import dgram from "node:dgram";

export async function freePort(host = "127.0.0.1") {
	const s = dgram.createSocket("udp4");
	await new Promise((r) => s.bind(0, host, r));
	const { port } = s.address();
	await new Promise((r) => s.close(r));
	return port;
}
