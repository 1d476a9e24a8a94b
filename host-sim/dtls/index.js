// A DTLS 1.2 PSK server for host-sim's local LwM2M server. See server.js.
export { DtlsServer } from "./server.js";
export { DtlsSocket } from "./socket.js";
export { SUITES, suiteName, recordOverhead, TLS_PSK_WITH_AES_128_CCM_8, TLS_PSK_WITH_AES_128_CBC_SHA256 } from "./suites.js";
export { AlertDescription, alertName } from "./alerts.js";
