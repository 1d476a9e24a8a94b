// embedded:io/socket/udp as Moddable's ESP32 and lin builds implement it. The SDK's typings
// (8.2.1) have no close() and a read() that is never undefined; their class is module-local
// behind `export default`, which no augmentation reaches, so manifests/typings.json maps
// this specifier here ahead of them and their file stays out of the program.
declare module "embedded:io/socket/udp" {
	type Datagram = ArrayBuffer & { address: string; port: number };

	class UDP {
		constructor(options: {
			port?: number;
			address?: string;
			onReadable?: (this: UDP, packets: number) => void;
			onError?: (this: UDP) => void;
			format?: "buffer";
			target?: any;
		} & ({} | { multicast: string; timeToLive: number }));
		/** Sends one datagram; address must be an IP literal. */
		write(buffer: ByteBuffer, address: string, port: number): void;
		/** One whole datagram, or undefined when none is pending. */
		read(): Datagram | undefined;
		close(): void;
		get format(): "buffer";
		set format(value: "buffer");
		target?: any;
	}
	export default UDP;
}
