// The core objects every LwM2M client has (Core TS 1.1 appendix E): Security (0),
// Server (1), Device (3), Connectivity Monitoring (4). Definitions follow the OMA
// registry's DDF files; only the resources this device implements are listed, the
// mandatory ones all are. Versions are those of LwM2M 1.1.1 (Security 1.1, Server 1.1,
// Device 1.1, Connectivity Monitoring 1.2), the enabler the Register names (lwm2m=1.1):
// Server 1.2 needs LwM2M 1.2, and every resource listed here is already in these versions.

import { DataType } from "./formats/index";
import { Op, type ObjectDef } from "./model";

const S = DataType.String, I = DataType.Integer, U = DataType.Unsigned, B = DataType.Boolean, O = DataType.Opaque, T = DataType.Time, X = DataType.None;

export const SECURITY: ObjectDef = {
	id: 0,
	version: "1.1",
	multiple: true,
	resources: [
		{ id: 0, type: S, ops: Op.None, mandatory: true, max: 255 }, // LwM2M Server URI
		{ id: 1, type: B, ops: Op.None, mandatory: true }, // Bootstrap-Server
		{ id: 2, type: I, ops: Op.None, mandatory: true, min: 0, max: 4 }, // Security Mode
		{ id: 3, type: O, ops: Op.None, mandatory: true }, // Public Key or Identity
		{ id: 4, type: O, ops: Op.None, mandatory: true }, // Server Public Key
		{ id: 5, type: O, ops: Op.None, mandatory: true }, // Secret Key
		{ id: 10, type: I, ops: Op.None, min: 1, max: 65534 }, // Short Server ID
	],
};

export const SERVER: ObjectDef = {
	id: 1,
	version: "1.1",
	multiple: true,
	resources: [
		{ id: 0, type: I, ops: Op.R, mandatory: true, min: 1, max: 65534 }, // Short Server ID
		{ id: 1, type: I, ops: Op.RW, mandatory: true, min: 1, max: 0x7fffffff }, // Lifetime (s)
		{ id: 2, type: I, ops: Op.RW, min: 0, max: 0x7fffffff }, // Default Minimum Period
		{ id: 3, type: I, ops: Op.RW, min: 0, max: 0x7fffffff }, // Default Maximum Period
		{ id: 4, type: X, ops: Op.E }, // Disable
		{ id: 5, type: I, ops: Op.RW, min: 0, max: 0x7fffffff }, // Disable Timeout
		{ id: 6, type: B, ops: Op.RW, mandatory: true }, // Notification Storing When Disabled or Offline
		{ id: 7, type: S, ops: Op.RW, mandatory: true }, // Binding
		{ id: 8, type: X, ops: Op.E, mandatory: true }, // Registration Update Trigger
		{ id: 17, type: U, ops: Op.RW, min: 1, max: 255 }, // Communication Retry Count
		{ id: 18, type: U, ops: Op.RW, min: 1, max: 86400 }, // Communication Retry Timer (s)
		{ id: 19, type: U, ops: Op.RW, min: 1, max: 0x7fffffff }, // Communication Sequence Delay Timer (s)
		{ id: 20, type: U, ops: Op.RW, min: 1, max: 255 }, // Communication Sequence Retry Count
		{ id: 23, type: B, ops: Op.RW }, // Mute Send
	],
};

export const DEVICE: ObjectDef = {
	id: 3,
	version: "1.1",
	multiple: false,
	resources: [
		{ id: 0, type: S, ops: Op.R }, // Manufacturer
		{ id: 1, type: S, ops: Op.R }, // Model Number
		{ id: 2, type: S, ops: Op.R }, // Serial Number
		{ id: 3, type: S, ops: Op.R }, // Firmware Version
		{ id: 4, type: X, ops: Op.E, mandatory: true }, // Reboot
		{ id: 5, type: X, ops: Op.E }, // Factory Reset
		{ id: 10, type: I, ops: Op.R }, // Memory Free (KB)
		{ id: 11, type: I, ops: Op.R, multiple: true, mandatory: true, min: 0, max: 32 }, // Error Code
		{ id: 12, type: X, ops: Op.E }, // Reset Error Code
		{ id: 13, type: T, ops: Op.RW }, // Current Time
		{ id: 14, type: S, ops: Op.RW }, // UTC Offset
		{ id: 15, type: S, ops: Op.RW }, // Timezone
		{ id: 16, type: S, ops: Op.R, mandatory: true }, // Supported Binding and Modes
		{ id: 17, type: S, ops: Op.R }, // Device Type
		{ id: 18, type: S, ops: Op.R }, // Hardware Version
		{ id: 19, type: S, ops: Op.R }, // Software Version
		{ id: 21, type: I, ops: Op.R }, // Memory Total (KB)
	],
};

export const CONNECTIVITY: ObjectDef = {
	id: 4,
	version: "1.2",
	multiple: false,
	resources: [
		{ id: 0, type: I, ops: Op.R, mandatory: true, min: 0, max: 50 }, // Network Bearer
		{ id: 1, type: I, ops: Op.R, multiple: true, mandatory: true, min: 0, max: 50 }, // Available Network Bearer
		{ id: 2, type: I, ops: Op.R, mandatory: true }, // Radio Signal Strength (dBm)
		{ id: 4, type: S, ops: Op.R, multiple: true, mandatory: true }, // IP Addresses
	],
};

/** Device error codes (/3/0/11). */
export const ErrorCode = {
	None: 0,
	LowBattery: 1,
	ExternalPowerOff: 2,
	GpsFailure: 3,
	LowSignal: 4,
	OutOfMemory: 5,
	SmsFailure: 6,
	IpConnectivityFailure: 7,
	PeripheralMalfunction: 8,
} as const;

export const WLAN = 21; // Network Bearer: WLAN (Core TS E.5)
