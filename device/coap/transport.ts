// What the CoAP endpoint sends through: datagrams to and from a peer. UDP implements it
// here; a DTLS session will implement the same interface underneath later.

import UDP from "embedded:io/socket/udp";

export interface Transport {
	/** Send one datagram; `data` is only valid during the call. */
	send(data: Uint8Array, address: string, port: number): void;
	close(): void;
	/** Drop any session state with the peer (DTLS): the next send starts afresh. */
	reset?(why?: string): void;
}

export type Receiver = (data: Uint8Array, address: string, port: number) => void;

/** CoAP over plain UDP (embedded:io/socket/udp). */
export class UdpTransport implements Transport {
	#socket: UDP;

	constructor(port: number, receive: Receiver) {
		this.#socket = new UDP({
			port,
			onReadable(count: number) {
				for (let i = 0; i < count; i++) {
					const datagram = this.read();
					if (!datagram) break;
					receive(new Uint8Array(datagram), datagram.address, datagram.port);
				}
			},
		});
	}
	send(data: Uint8Array, address: string, port: number) {
		this.#socket.write(data, address, port);
	}
	close() {
		this.#socket.close();
	}
}
