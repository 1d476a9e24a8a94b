// The thermostat's custom LwM2M object: Thermostat Tuning (32700), in the range of IDs
// reusable without registration (26241-32768). Its DDF is ddf/32700.xml, for servers
// (Leshan, Wakaama, ours) to load.

import { DataType } from "../lwm2m/formats/index";
import { Op, type ObjectDef } from "../lwm2m/model";

export const TUNING_ID = 32700;

export const TuningResource = {
	Hysteresis: 0,
	MinOn: 1,
	MinOff: 2,
	Mode: 3,
	Offset: 4,
	Period: 5,
	SetpointMin: 6,
	SetpointMax: 7,
	Cycles: 8,
	SensorState: 9,
} as const;

const F = DataType.Float, I = DataType.Integer;

export const TUNING: ObjectDef = {
	id: TUNING_ID,
	multiple: false,
	resources: [
		{ id: TuningResource.Hysteresis, type: F, ops: Op.RW, mandatory: true, min: 0.1, max: 5 },
		{ id: TuningResource.MinOn, type: I, ops: Op.RW, mandatory: true, min: 0, max: 3600 },
		{ id: TuningResource.MinOff, type: I, ops: Op.RW, mandatory: true, min: 0, max: 3600 },
		{ id: TuningResource.Mode, type: I, ops: Op.RW, mandatory: true, min: 0, max: 2 },
		{ id: TuningResource.Offset, type: F, ops: Op.RW, mandatory: true, min: -5, max: 5 },
		{ id: TuningResource.Period, type: I, ops: Op.RW, mandatory: true, min: 1, max: 600 },
		{ id: TuningResource.SetpointMin, type: F, ops: Op.RW, mandatory: true, min: 5, max: 35 },
		{ id: TuningResource.SetpointMax, type: F, ops: Op.RW, mandatory: true, min: 5, max: 35 },
		{ id: TuningResource.Cycles, type: I, ops: Op.R },
		{ id: TuningResource.SensorState, type: I, ops: Op.R, min: 0, max: 3 },
	],
};

/** Sensor states (32700/0/9). */
export const SensorState = { Ok: 0, NotAnswering: 1, OutOfRange: 2, Stuck: 3 } as const;
export type SensorState = (typeof SensorState)[keyof typeof SensorState];
