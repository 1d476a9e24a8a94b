// The LwM2M content formats by number (Core TS 1.1 §7.4): what a request's Content-Format
// decodes with and an Accept encodes with. Link format (40) is only written, with LinkFormat.

import { type Decoder, type Encoder } from "./record";
import * as text from "./text";
import * as opaque from "./opaque";
import * as tlv from "./tlv";
import * as senmlJson from "./senml-json";
import * as senmlCbor from "./senml-cbor";
import * as lwm2mCbor from "./lwm2m-cbor";

export const ContentFormat = {
	Text: 0,
	LinkFormat: 40,
	Opaque: 42,
	SenmlJson: 110,
	SenmlCbor: 112,
	Tlv: 11542,
	LwM2MCbor: 11544,
} as const;

export type Codec = { readonly encode: Encoder; readonly decode: Decoder };

/** Data formats by content format number; link format is not one (see link-format.ts). */
export const codecs: { readonly [format: number]: Codec | undefined } = {
	[ContentFormat.Text]: text,
	[ContentFormat.Opaque]: opaque,
	[ContentFormat.Tlv]: tlv,
	[ContentFormat.SenmlJson]: senmlJson,
	[ContentFormat.SenmlCbor]: senmlCbor,
	[ContentFormat.LwM2MCbor]: lwm2mCbor,
	// the numbers of LwM2M 1.0's drafts, which servers built then still send (lwm2m-node-lib
	// writes text as 1541): read as what they meant; answers use the registered numbers
	1541: text,
	1542: tlv,
	1544: opaque,
};

export const codec = (format: number): Codec | undefined => codecs[format];

export { ByteWriter, DataType, Entry, FormatError, MAX_ENTRIES, isUnder, parsePath, path, pathString } from "./record";
export type { Decoder, Encoder, Path, TypeOf, Value } from "./record";
export { LinkFormat, type Attributes } from "./link-format";
