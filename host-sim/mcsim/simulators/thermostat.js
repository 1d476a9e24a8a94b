// mcsim's thermostat device: the pane in mcsim's window for the firmware built from
// manifests/sim.json, in the shape of Moddable's build/simulators/*.js (a Piu device
// template and controls). It draws what the firmware's board (device/sim/board.ts) posts,
// the room temperature, the set point, the heating relay and the outside temperature, and
// posts back the thermostat's button, the outside temperature and the supply.
// mcsim loads every .js of this folder as a device: keep only panes here.
import {
	ControlsColumn,
	ButtonsRow,
	SliderRow,
	SwitchRow,
} from "ControlsPane";

import {
	DeviceBehavior,
	DeviceContainer,
	DeviceScreen,
} from "DevicePane";

const WIDTH = 280, HEIGHT = 360;
const face = new Skin({ fill: "#26313d", stroke: "#10161d", borders: { left: 4, right: 4, top: 4, bottom: 4 } });
const display = new Skin({ fill: "#0f2a1e", stroke: "#3b4a59", borders: { left: 2, right: 2, top: 2, bottom: 2 } });
const lampSkin = new Skin({ fill: ["#46525f", "#ff8a1f"], stroke: "#10161d", borders: { left: 2, right: 2, top: 2, bottom: 2 } });
const buttonSkin = new Skin({ fill: ["#4d6a8a", "#7fa6cf"], stroke: "#10161d", borders: { left: 2, right: 2, top: 2, bottom: 2 } });
const brand = new Style({ font: "semibold 13px Open Sans", color: "#a9b6c3", horizontal: "center" });
const caption = new Style({ font: "12px Open Sans", color: "#7fd3a6", horizontal: "center" });
const big = new Style({ font: "bold 46px Open Sans", color: "#b8ffd9", horizontal: "center" });
const medium = new Style({ font: "semibold 20px Open Sans", color: "#b8ffd9", horizontal: "center" });
const small = new Style({ font: "14px Open Sans", color: "#7fd3a6", horizontal: "center" });
const lampText = new Style({ font: "semibold 15px Open Sans", color: ["#a9b6c3", "#ffb36b"], horizontal: "left" });
const buttonText = new Style({ font: "bold 16px Open Sans", color: "white", horizontal: "center" });

const c1 = (x) => (typeof x === "number" ? x.toFixed(1) : "--.-");
const c2 = (x) => (typeof x === "number" ? x.toFixed(2) : "--.--");

class ThermostatBehavior extends DeviceBehavior {
	onAbort(container, status) {
		if (this.reloadOnAbort) {
			application.defer("doReloadFile");
			return true;
		}
	}
	onCreate(container, device) {
		super.onCreate(container, device);
		this.reloadOnAbort = false;
	}
	onLaunch(container) {
		super.onLaunch(container);
		container.distribute("onThermostat", {});
	}
	onButtonDown(container) {
		container.distribute("onButtonShown", true);
		this.postJSON(container, { button: 1 });
	}
	onButtonUp(container) {
		container.distribute("onButtonShown", false);
		this.postJSON(container, { button: 0 });
	}
	onKeyDown(container, key) {
		if (key === " ") this.onButtonDown(container);
	}
	onKeyUp(container, key) {
		if (key === " ") this.onButtonUp(container);
	}
	onOutsideChanged(container, data) {
		this.postJSON(container, { outside: data.value });
	}
	onSupplyChanged(container, data) {
		this.postJSON(container, { power: data.value ? 1 : 0 });
	}
	onJSON(container, json) {
		if (json.thermostat) container.distribute("onThermostat", json.thermostat);
		else if (json.xsbug === "abort") application.defer("doReloadFile");
	}
	onReloadOnAbortChanged(container, data) {
		this.reloadOnAbort = data.value;
	}
}

// each readout shows one field of the firmware's state
class ReadoutBehavior extends Behavior {
	onCreate(label, format) {
		this.format = format;
	}
	onThermostat(label, state) {
		label.string = this.format(state);
	}
}

class LampBehavior extends Behavior {
	onThermostat(content, state) {
		content.state = state.relay ? 1 : 0;
	}
}

class FaceButtonBehavior extends Behavior {
	onTouchBegan(container) {
		container.bubble("onButtonDown");
	}
	onTouchEnded(container) {
		container.bubble("onButtonUp");
	}
	onButtonShown(container, down) {
		container.state = down ? 1 : 0;
		container.first.state = down ? 1 : 0;
	}
}

const Readout = (style, format, at) => Label(format, { left: 0, right: 0, ...at, style, string: format({}), Behavior: ReadoutBehavior });

export default {
	applicationName: "manifests/.*|thermostat/.*",
	title: "LwM2M Thermostat",
	Workers: {},
	ControlsTemplate: ControlsColumn.template($ => ({
		contents: [
			ButtonsRow({
				label: "Button",
				buttons: [{ eventDown: "onButtonDown", eventUp: "onButtonUp", label: "+0.5 °C" }],
			}),
			SliderRow({
				label: "Outside",
				unit: " °C",
				min: -15,
				max: 30,
				value: 5,
				step: 0.5,
				event: "onOutsideChanged",
			}),
			SwitchRow({
				event: "onSupplyChanged",
				label: "Supply",
				on: "On",
				off: "Failing",
				value: true,
			}),
			SwitchRow({
				event: "onReloadOnAbortChanged",
				label: "Reload On Abort",
				on: "Yes",
				off: "No",
				value: false,
			}),
		],
	})),
	DeviceTemplates: {
		0: DeviceContainer.template($ => ({
			Behavior: ThermostatBehavior,
			width: WIDTH, height: HEIGHT, skin: face,
			contents: [
				Label($, { left: 0, right: 0, top: 14, style: brand, string: "LwM2M room thermostat" }),
				Container($, {
					left: 20, right: 20, top: 42, height: 190, skin: display,
					contents: [
						Label($, { left: 0, right: 0, top: 10, style: caption, string: "ROOM" }),
						Readout(big, (s) => `${c2(s.temperature)} °C`, { top: 28 }),
						Readout(medium, (s) => `set point ${c1(s.setpoint)} °C`, { top: 104 }),
						Readout(small, (s) => `outside ${c1(s.outside)} °C`, { top: 136 }),
						Readout(small, (s) => (s.powered === false ? "supply failing: heating off" : s.temperature === undefined ? "waiting for the firmware" : s.relay ? "calling for heat" : "warm enough: no heat"), { top: 160 }),
					],
				}),
				Content($, { left: 28, top: 252, width: 26, height: 26, skin: lampSkin, state: 0, Behavior: LampBehavior }),
				Readout(lampText, (s) => (s.relay ? "HEATING: relay on" : "heating off"), { left: 64, top: 254, height: 22 }),
				Container($, {
					left: 60, right: 60, top: 298, height: 40, active: true, skin: buttonSkin, state: 0,
					Behavior: FaceButtonBehavior,
					contents: [Label($, { left: 0, right: 0, style: buttonText, string: "+0.5 °C" })],
				}),
				DeviceScreen($, { left: 0, width: 0, top: 0, height: 0, rotation: 0 }),
			],
		})),
	},
};
