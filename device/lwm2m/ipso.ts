// IPSO objects the thermostat uses, from the OMA registry's DDF files (version 1.1):
// Temperature (3303), Actuation (3306), Set Point (3308). Only the resources the device
// implements are listed.

import { DataType } from "./formats/index";
import { Op, type ObjectDef } from "./model";

const F = DataType.Float, S = DataType.String, I = DataType.Integer, B = DataType.Boolean, X = DataType.None;

export const TEMPERATURE: ObjectDef = {
	id: 3303,
	version: "1.1",
	multiple: true,
	resources: [
		{ id: 5601, type: F, ops: Op.R }, // Min Measured Value
		{ id: 5602, type: F, ops: Op.R }, // Max Measured Value
		{ id: 5603, type: F, ops: Op.R }, // Min Range Value
		{ id: 5604, type: F, ops: Op.R }, // Max Range Value
		{ id: 5605, type: X, ops: Op.E }, // Reset Min and Max Measured Values
		{ id: 5700, type: F, ops: Op.R, mandatory: true }, // Sensor Value
		{ id: 5701, type: S, ops: Op.R }, // Sensor Units
		{ id: 5750, type: S, ops: Op.RW, max: 64 }, // Application Type
	],
};

export const ACTUATION: ObjectDef = {
	id: 3306,
	version: "1.1",
	multiple: true,
	resources: [
		{ id: 5750, type: S, ops: Op.RW, max: 64 }, // Application Type
		{ id: 5850, type: B, ops: Op.RW, mandatory: true }, // On/Off
		{ id: 5852, type: I, ops: Op.RW, min: 0 }, // On time (s)
	],
};

export const SETPOINT: ObjectDef = {
	id: 3308,
	version: "1.1",
	multiple: true,
	resources: [
		{ id: 5701, type: S, ops: Op.R }, // Sensor Units
		{ id: 5750, type: S, ops: Op.RW, max: 64 }, // Application Type
		{ id: 5900, type: F, ops: Op.RW, mandatory: true }, // Set Point Value
	],
};
