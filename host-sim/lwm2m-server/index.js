// The local LwM2M 1.1 server: see README.md in this directory.
export { Lwm2mServer, NotRegistered } from "./server.js";
export { ObjectRegistry, BUILTIN_MODELS_DIR, modelToJson } from "./object-registry.js";
export { parseDdf } from "./ddf.js";
export { parseXml } from "./xml.js";
export { parseLinkFormat, serializeLinkFormat } from "./link-format.js";
export { parsePath, formatPath } from "./path.js";
export { decodePayload, encodePayload, CodecError } from "./codecs/index.js";
export { parseTlv, serializeTlv } from "./codecs/tlv.js";
export { typeEntries } from "./typing.js";
export { buildNode, buildComposite, nodeToEntries } from "./nodes.js";
export { formatByName, FORMATS } from "./content-formats.js";
export { parseExecuteArgs } from "./execute-args.js";
export { realClock } from "./real-clock.js";
export { coapLogLine } from "./coap-log.js";
