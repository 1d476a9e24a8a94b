// Firmware Update, LwM2M object 5 (version 1.2 of the OMA registry's 5.xml, for LwM2M 1.1):
// the state machine Idle -> Downloading -> Downloaded -> Updating -> (reboot) -> Idle,
// the Update Result codes, push (a Write of /5/0/0 streamed block by block into the update
// slot: coap/block.ts Block1Stream) and the confirmation of a new image after its reboot.
//
// The flash side is an Installer (firmware/flash.ts: embedded:update on the ESP32 and in
// host-sim; a test may give one in RAM), so this module needs no Moddable module but
// crypt, preference and timer.

import Preference from "preference";
import Timer from "timer";
import { Code, Method } from "../../coap/constants";
import type { Block1Sink, Block1Stream } from "../../coap/block";
import { Alarm } from "../../alarm";
import { DataType } from "../formats/index";
import { LwError } from "../content";
import { Op, type Instance, type ObjectDef } from "../model";
import type { Lwm2mClient } from "../client";
import { State as RegistrationState } from "../registration";
import { HEADER_LENGTH, PackageReader } from "./package";
import { PackageDownload, parsePackageUri, type DownloadResume, type DownloadSink, type PackageUri } from "./pull";

const S = DataType.String, I = DataType.Integer, O = DataType.Opaque, X = DataType.None;

export const FIRMWARE: ObjectDef = {
	id: 5,
	version: "1.2",
	multiple: false,
	resources: [
		{ id: 0, type: O, ops: Op.W, mandatory: true }, // Package
		{ id: 1, type: S, ops: Op.RW, mandatory: true, max: 255 }, // Package URI
		{ id: 2, type: X, ops: Op.E, mandatory: true }, // Update
		{ id: 3, type: I, ops: Op.R, mandatory: true, min: 0, max: 3 }, // State
		{ id: 5, type: I, ops: Op.R, mandatory: true, min: 0, max: 11 }, // Update Result
		{ id: 6, type: S, ops: Op.R, max: 255 }, // PkgName
		{ id: 7, type: S, ops: Op.R, max: 255 }, // PkgVersion
		{ id: 8, type: I, ops: Op.R, multiple: true, min: 0, max: 5 }, // Firmware Update Protocol Support
		{ id: 9, type: I, ops: Op.R, mandatory: true, min: 0, max: 2 }, // Firmware Update Delivery Method
		{ id: 10, type: X, ops: Op.E }, // Cancel
	],
};

export const FwState = { Idle: 0, Downloading: 1, Downloaded: 2, Updating: 3 } as const;
const STATE_NAMES = ["Idle", "Downloading", "Downloaded", "Updating"];

/** Update Result (5.xml) */
export const FwResult = {
	Initial: 0,
	Success: 1,
	NotEnoughFlash: 2,
	OutOfRam: 3,
	ConnectionLost: 4,
	Integrity: 5,
	UnsupportedType: 6,
	InvalidUri: 7,
	UpdateFailed: 8,
	UnsupportedProtocol: 9,
	Cancelled: 10,
	Deferred: 11,
} as const;

/** An open update slot (embedded:update's Updater in mode "a"). */
export interface Slot {
	write(bytes: Uint8Array): void;
	/** read bytes the slot holds (from before a reboot), before write() reaches them again */
	read?(into: Uint8Array, offset: number): void;
	/** verify the image and make it the next boot's; throws when it is not a valid image */
	complete(): void;
	/** drop the partial image */
	close(): void;
}

export interface Installer {
	/** bytes the next slot holds, -1 when unknown */
	capacity(): number;
	open(length: number): Slot;
}

/** The native `ota` module (device/native/ota): ESP-IDF's rollback states. */
export interface Ota {
	pendingVerify(): boolean;
	markValid(): void;
	rollback(): void;
	runningSlot(): string;
}

export interface FirmwareOptions {
	client: Lwm2mClient;
	installer: Installer;
	/** the header target this device takes: "esp32", "host-sim" */
	target: string;
	/** the running firmware's version (/3/0/3) */
	version: string;
	/** PkgName */
	name?: string;
	restart: () => void;
	log?: (text: string) => void;
	/** ms without a block before a push is given up (result 4) */
	pushIdleMs?: number;
	/** a pull's attempts after a lost exchange, and the first pause between them (ms, doubling) */
	pullRetries?: number;
	pullRetryDelay?: number;
}

const DOMAIN = "fwupdate";
const PACKAGE_PATH = "5/0/0";
const DEFAULT_PUSH_IDLE = 247_000; // EXCHANGE_LIFETIME
// a pull's progress kept in preference (NVS) to resume it after a reboot: its URI, the
// package bytes in the slot (every CHECKPOINT bytes, not every block: NVS wear), the
// package header, the server's ETag and Size2
const CHECKPOINT = 16_384;
const SECTOR = 4096; // read back and written again a sector at a time, SECTORS_PER_TICK a tick
const SECTORS_PER_TICK = 4;
const RESUME_KEYS = ["dlUri", "dlAt", "dlHead", "dlTag", "dlSize"];

export class FirmwareUpdate implements Block1Sink {
	readonly instance: Instance;
	readonly stream: Block1Stream;
	reason = "";
	#client: Lwm2mClient;
	#installer: Installer;
	#target: string;
	#version: string;
	#name: string;
	#restart: () => void;
	#log: (text: string) => void;
	#state: number = FwState.Idle;
	#result: number = FwResult.Initial;
	#pkgName = "";
	#pkgVersion = "";
	#uri = "";
	#reader: PackageReader | undefined = undefined;
	#slot: Slot | undefined = undefined;
	#cancelWrite = false;
	#pushing = false;
	#idle: Alarm;
	#pushIdleMs: number;
	#ota: Ota | undefined = undefined;
	#trial: Timer | undefined = undefined;
	#download: PackageDownload | undefined = undefined;
	#pullRetries: number | undefined;
	#pullRetryDelay: number | undefined;
	#pullSink: DownloadSink = {
		data: (bytes) => this.#pullData(bytes),
		done: () => this.#pullDone(),
		failed: (result, why) => {
			this.#download = undefined;
			this.#fail(result, why);
		},
		restarted: () => this.#pullRestart(),
	};
	/** package bytes of the pull recorded in preference (dlAt); -1: nothing recorded */
	#checkpoint = -1;
	#resumeWhenRegistered = false;
	#readBack: Timer | undefined = undefined;
	#readAt = 0;
	#readEnd = 0;
	#readBuffer: Uint8Array | undefined = undefined;
	#resumeFrom: DownloadResume | undefined = undefined;
	/** payload bytes written into the slot by the download under way */
	written = 0;

	constructor(options: FirmwareOptions) {
		this.#client = options.client;
		this.#installer = options.installer;
		this.#target = options.target;
		this.#version = options.version;
		this.#name = options.name ?? "thermostat";
		this.#restart = options.restart;
		this.#log = options.log ?? ((text: string) => trace(text, "\n"));
		this.#pushIdleMs = options.pushIdleMs ?? DEFAULT_PUSH_IDLE;
		this.#pullRetries = options.pullRetries;
		this.#pullRetryDelay = options.pullRetryDelay;
		this.#idle = new Alarm(() => this.#pushIdle());
		const stored = Preference.get(DOMAIN, "result");
		if (typeof stored === "number") this.#result = stored;
		this.#pkgName = stringPref("name");
		this.#pkgVersion = stringPref("version");
		const i = (this.instance = options.client.model.define(FIRMWARE).add(0));
		i.bind(0, {
			read: () => new Uint8Array(0),
			check: () => "write the Package to /5/0/0 alone (opaque, block-wise)",
		});
		i.bind(1, {
			read: () => this.#uri,
			write: (v) => this.#writeUri(v as string),
		});
		i.bind(2, { execute: () => this.#update() });
		i.bind(3, { read: () => this.#state });
		i.bind(5, { read: () => this.#result });
		i.bind(6, { read: () => this.#pkgName });
		i.bind(7, { read: () => this.#pkgVersion });
		i.values.set(8, new Map<number, number>([[0, 0], [1, 1]])); // CoAP, CoAPS
		i.values.set(9, 2); // push and pull
		i.bind(10, { execute: () => this.#cancel() });
		this.stream = options.client.coap.stream(PACKAGE_PATH, this, this.#pushIdleMs);
	}

	get state() {
		return this.#state;
	}
	get result() {
		return this.#result;
	}

	// ---------------------------------------------------------------- after a reboot
	/**
	 * Call once at boot, before the client starts. A new image on trial (PENDING_VERIFY)
	 * confirms itself once it has registered, or rolls back after `confirmTimeout` s; an
	 * image that booted after an update says how it went (1, or 8 after a rollback).
	 */
	boot(ota: Ota, confirmTimeout: number) {
		this.#ota = ota;
		const pending = stringPref("pending");
		if (ota.pendingVerify()) {
			this.#state = FwState.Updating;
			this.#log(`firmware: ${this.#version} on trial in ${ota.runningSlot()}: confirmed once registered, else rolled back in ${confirmTimeout} s`);
			this.#trial = Timer.set(() => {
				this.#trial = undefined;
				this.#log(`firmware: ${this.#version} did not register within ${confirmTimeout} s: rolling back`);
				try {
					ota.rollback();
				} catch (e) {
					// no valid image to go back to: this one stays, unconfirmed
					this.#log(`firmware: rollback impossible (${(e as Error).message}); ${this.#version} keeps running`);
				}
			}, confirmTimeout * 1000);
			const registration = this.#client.registration;
			const previous = registration.onStateChange;
			registration.onStateChange = (state, why) => {
				previous(state, why);
				if (state === RegistrationState.Registered && this.#trial) this.#confirm();
			};
			return;
		}
		if (!pending) return this.#resumeAfterBoot();
		// an update was installed before the last reboot: which image runs now?
		const from = stringPref("slot");
		if (ota.runningSlot() !== from) {
			this.#log(`firmware: updated to ${this.#version}`);
			this.#setResult(FwResult.Success);
		} else {
			this.#log(`firmware: the update to ${pending} did not take (rolled back); ${this.#version} runs`);
			this.#setResult(FwResult.UpdateFailed);
		}
		Preference.delete(DOMAIN, "pending");
	}

	#confirm() {
		if (this.#trial) Timer.clear(this.#trial);
		this.#trial = undefined;
		this.#ota!.markValid();
		Preference.delete(DOMAIN, "pending");
		this.#log(`firmware: ${this.#version} registered and confirmed`);
		this.#setState(FwState.Idle);
		this.#setResult(FwResult.Success);
	}

	// ---------------------------------------------------------------- push: the Block1 sink
	begin(peer: string, method: number, contentFormat: number, size1: number, payload: Uint8Array, more: boolean): number {
		void peer;
		this.#cancelWrite = false;
		if (method !== Method.PUT) return this.#refuse(Code.MethodNotAllowed, "the Package is written with PUT (Write)");
		if (contentFormat >= 0 && contentFormat !== 42 && contentFormat !== 1544) return this.#refuse(Code.UnsupportedContentFormat, "the Package is written as application/octet-stream (42)");
		if (this.#state === FwState.Updating) return this.#refuse(Code.MethodNotAllowed, "an update is being installed");
		// an empty Package (or a single NUL, as 5.xml writes it) resets the state machine
		if (!more && (payload.length === 0 || (payload.length === 1 && payload[0] === 0))) {
			this.#cancelWrite = true;
			return 0;
		}
		this.#drop();
		this.#log(`firmware: push started${size1 > 0 ? ` (${size1} bytes)` : ""}`);
		const capacity = this.#installer.capacity();
		if (size1 > 0 && capacity >= 0 && size1 > capacity + 160) {
			this.#setResult(FwResult.NotEnoughFlash);
			return this.#refuse(Code.RequestEntityTooLarge, `the package has ${size1} bytes, the update slot holds ${capacity}`);
		}
		this.#pushing = true;
		this.#startDownload(capacity);
		this.#idle.after(this.#pushIdleMs);
		return 0;
	}

	write(bytes: Uint8Array): number {
		if (this.#cancelWrite) {
			if (bytes.length > 1 || (bytes.length === 1 && bytes[0] !== 0)) this.#cancelWrite = false;
			else return 0;
		}
		const reader = this.#reader;
		if (!reader) return this.#refuse(Code.RequestEntityIncomplete, "no download under way");
		this.#idle.after(this.#pushIdleMs);
		if (reader.write(bytes)) return 0;
		return this.#packageFailed(reader);
	}

	end(): number {
		if (this.#cancelWrite) {
			this.#cancelWrite = false;
			this.#reset(FwResult.Initial, "the server wrote an empty Package");
			return Code.Changed;
		}
		this.#idle.cancel();
		this.#pushing = false;
		const reader = this.#reader;
		if (!reader) return this.#refuse(Code.RequestEntityIncomplete, "no download under way");
		if (!reader.finish()) return this.#packageFailed(reader);
		this.#downloaded(reader);
		return Code.Changed;
	}

	abort(why: string) {
		this.#idle.cancel();
		if (!this.#pushing) return;
		this.#pushing = false;
		if (this.#state === FwState.Downloading) this.#fail(FwResult.ConnectionLost, why);
	}

	#pushIdle() {
		if (!this.#pushing || this.#state !== FwState.Downloading) return;
		this.stream.reset();
		this.abort(`no block for ${Math.round(this.#pushIdleMs / 1000)} s: the push is given up`);
	}

	// ---------------------------------------------------------------- the payload (PackageReader -> slot)
	#slotOpen(length: number) {
		this.#slot = this.#installer.open(length);
	}

	#slotWrite(bytes: Uint8Array) {
		this.#slot!.write(bytes);
		this.written += bytes.length;
	}

	// ---------------------------------------------------------------- the state machine
	#startDownload(capacity: number) {
		this.written = 0;
		const self = this;
		this.#reader = new PackageReader(this.#target, capacity, {
			open: (length) => self.#slotOpen(length),
			write: (bytes) => self.#slotWrite(bytes),
		});
		this.#setState(FwState.Downloading);
		this.#setResult(FwResult.Initial);
	}

	#downloaded(reader: PackageReader) {
		this.#reader = undefined;
		this.#pkgName = this.#name;
		this.#pkgVersion = reader.version;
		this.instance.object.model.changed(5, 0, 6);
		this.instance.object.model.changed(5, 0, 7);
		this.#log(`firmware: package ${reader.version} downloaded and verified (${reader.payloadLength} bytes, SHA-256 matches)`);
		this.#setState(FwState.Downloaded);
	}

	#packageFailed(reader: PackageReader): number {
		const code = reader.result === FwResult.NotEnoughFlash ? Code.RequestEntityTooLarge : Code.BadRequest;
		this.#fail(reader.result, reader.problem);
		this.reason = reader.problem;
		return code;
	}

	/** The download failed: the slot is dropped, the state goes back to Idle with `result`. */
	#fail(result: number, why: string) {
		this.#log(`firmware: download failed (result ${result}): ${why}`);
		this.#drop();
		this.#pushing = false;
		this.#setState(FwState.Idle);
		this.#setResult(result);
	}

	#reset(result: number, why: string) {
		this.#log(`firmware: reset to Idle: ${why}`);
		this.#drop();
		this.#pushing = false;
		this.stream.reset();
		this.#setState(FwState.Idle);
		this.#setResult(result);
	}

	/** Close the slot (the partial or unused image is dropped) and forget the reader. */
	#drop() {
		this.#forgetPull();
		this.#reader = undefined;
		const download = this.#download;
		this.#download = undefined;
		download?.close();
		this.#idle.cancel();
		this.#closeSlot();
	}

	/** Drops the update slot, unfinished (esp_ota_abort): its partial image is never booted. */
	#closeSlot() {
		const slot = this.#slot;
		this.#slot = undefined;
		if (!slot) return;
		try {
			slot.close();
		} catch (e) {
			this.#log(`firmware: closing the update slot: ${(e as Error).message}`);
		}
	}

	#refuse(code: number, reason: string): number {
		this.reason = reason;
		return code;
	}

	#writeUri(uri: string) {
		if (this.#state === FwState.Updating) throw new LwError(Code.MethodNotAllowed, "an update is being installed");
		this.#uri = uri;
		if (!uri.length) {
			if (this.#state !== FwState.Idle) this.#reset(FwResult.Initial, "the server wrote an empty Package URI");
			return;
		}
		this.#drop();
		this.#pushing = false;
		this.stream.reset();
		this.#setResult(FwResult.Initial);
		const parsed = parsePackageUri(uri);
		if ("result" in parsed) return this.#fail(parsed.result, parsed.why);
		const psk = this.#psk(parsed);
		if (typeof psk === "string") return this.#fail(FwResult.UnsupportedProtocol, psk);
		this.#log(`firmware: pull from ${uri}`);
		this.#startDownload(this.#installer.capacity());
		this.#recordPull(uri);
		this.#pullFrom(parsed, psk, undefined);
	}

	#psk(parsed: PackageUri): { identity: string; key: Uint8Array } | undefined | string {
		if (!parsed.secure) return undefined;
		const s = this.#client.settings;
		if (!s.pskIdentity || !/^([0-9a-fA-F]{2}){1,64}$/.test(s.pskKey)) return "coaps:// needs the server's PSK, and this device has none (security mode NoSec)";
		return { identity: s.pskIdentity, key: hexBytes(s.pskKey) };
	}

	#pullFrom(parsed: PackageUri, psk: { identity: string; key: Uint8Array } | undefined, resume: DownloadResume | undefined) {
		const download = (this.#download = new PackageDownload(parsed, this.#pullSink, { psk, log: this.#log, retries: this.#pullRetries, retryDelay: this.#pullRetryDelay, resume }));
		download.start();
	}

	/** The pull of the Package URI now in /5/0/1, from byte 0 or (resume) where it was. */
	#pullFromUri(resume: DownloadResume | undefined) {
		const parsed = parsePackageUri(this.#uri);
		if ("result" in parsed) return this.#fail(parsed.result, parsed.why);
		const psk = this.#psk(parsed);
		if (typeof psk === "string") return this.#fail(FwResult.UnsupportedProtocol, psk);
		this.#pullFrom(parsed, psk, resume);
	}

	// ---------------------------------------------------------------- a pull across a reboot
	#recordPull(uri: string) {
		try {
			Preference.set(DOMAIN, "dlUri", uri);
			this.#checkpoint = 0;
		} catch (e) {
			this.#log(`firmware: the Package URI could not be recorded (${(e as Error).message}): a reboot ends the download`);
		}
	}

	/** dlAt := `received` package bytes in the slot (and, the first time, what checks the rest) */
	#saveCheckpoint(received: number) {
		const reader = this.#reader;
		if (this.#checkpoint < 0 || received === this.#checkpoint || !reader || !reader.headerRead) return;
		const download = this.#download;
		try {
			if (this.#checkpoint === 0) {
				Preference.set(DOMAIN, "dlHead", reader.header.slice().buffer);
				const etag = download?.etag;
				if (etag) Preference.set(DOMAIN, "dlTag", etag.slice().buffer);
				Preference.set(DOMAIN, "dlSize", download ? download.size : -1);
			}
			Preference.set(DOMAIN, "dlAt", received);
			this.#checkpoint = received;
		} catch (e) {
			this.#log(`firmware: the download's progress could not be recorded (${(e as Error).message})`);
		}
	}

	/** Nothing of a pull is kept for after a reboot. */
	#forgetPull() {
		this.#resumeWhenRegistered = false;
		this.#stopReadBack();
		if (this.#checkpoint < 0) return;
		this.#checkpoint = -1;
		for (const key of RESUME_KEYS) Preference.delete(DOMAIN, key);
	}

	#stopReadBack() {
		if (this.#readBack) Timer.clear(this.#readBack);
		this.#readBack = undefined;
		this.#readBuffer = undefined;
		this.#resumeFrom = undefined;
	}

	/** The pull starts over from byte 0 (its URI stays recorded): a new slot, a new reader. */
	#pullRestart() {
		this.#stopReadBack();
		this.#closeSlot();
		if (this.#checkpoint >= 0) {
			for (let i = 1; i < RESUME_KEYS.length; i++) Preference.delete(DOMAIN, RESUME_KEYS[i]);
			this.#checkpoint = 0;
		}
		this.#startDownload(this.#installer.capacity());
	}

	#startOver(why: string) {
		this.#log(`firmware: the download cannot go on from where it was (${why}): starting over from byte 0`);
		this.#pullRestart();
		this.#pullFromUri(undefined);
	}

	/** At boot: a pull a reboot interrupted goes on (State Downloading) once registered. */
	#resumeAfterBoot() {
		const uri = stringPref("dlUri");
		if (!uri) return;
		this.#checkpoint = 0;
		this.#uri = uri;
		this.#state = FwState.Downloading;
		this.#resumeWhenRegistered = true;
		this.#log(`firmware: the download of ${uri} was interrupted by a reboot: it goes on once registered`);
		const registration = this.#client.registration;
		const previous = registration.onStateChange;
		registration.onStateChange = (state, why) => {
			previous(state, why);
			if (state !== RegistrationState.Registered || !this.#resumeWhenRegistered) return;
			this.#resumeWhenRegistered = false;
			this.#resume();
		};
	}

	/**
	 * The package bytes recorded as in the slot are read back a sector at a time and fed
	 * again through the PackageReader (the SHA-256 state is not kept) into a new Updater:
	 * sector k is read before its write, inside which the Updater erases it (mode "a").
	 */
	#resume() {
		const at = Preference.get(DOMAIN, "dlAt"), head = Preference.get(DOMAIN, "dlHead");
		const tag = Preference.get(DOMAIN, "dlTag"), size = Preference.get(DOMAIN, "dlSize");
		this.#startDownload(this.#installer.capacity());
		if (typeof at !== "number" || at <= HEADER_LENGTH || !(head instanceof ArrayBuffer) || head.byteLength !== HEADER_LENGTH) return this.#startOver("no progress recorded");
		const reader = this.#reader!;
		if (!reader.write(new Uint8Array(head))) return this.#startOver(reader.problem);
		const slot = this.#slot;
		if (!slot || !slot.read) return this.#startOver("the update slot cannot be read");
		if (at - HEADER_LENGTH > reader.payloadLength) return this.#startOver(`${at} bytes recorded, the package has ${HEADER_LENGTH + reader.payloadLength}`);
		this.#resumeFrom = { received: at, etag: tag instanceof ArrayBuffer ? new Uint8Array(tag) : undefined, size: typeof size === "number" ? size : -1 };
		this.#readAt = 0;
		this.#readEnd = at - HEADER_LENGTH;
		this.#readBuffer = new Uint8Array(SECTOR);
		this.#log(`firmware: resuming the download at byte ${at}: reading back the ${this.#readEnd} payload bytes in the update slot`);
		this.#readBack = Timer.repeat(() => this.#readBackStep(), 1);
	}

	#readBackStep() {
		const reader = this.#reader, slot = this.#slot, buffer = this.#readBuffer, resume = this.#resumeFrom;
		if (!reader || !slot || !slot.read || !buffer || !resume) return this.#stopReadBack();
		for (let i = 0; i < SECTORS_PER_TICK && this.#readAt < this.#readEnd; i++) {
			const n = Math.min(SECTOR, this.#readEnd - this.#readAt);
			const chunk = n === SECTOR ? buffer : buffer.subarray(0, n);
			try {
				slot.read(chunk, this.#readAt);
			} catch (e) {
				return this.#startOver(`reading the update slot failed: ${(e as Error).message}`);
			}
			if (!reader.write(chunk)) return this.#startOver(reader.problem);
			this.#readAt += n;
		}
		if (this.#readAt < this.#readEnd) return;
		this.#stopReadBack();
		this.#log(`firmware: ${this.#readEnd} payload bytes read back and hashed again; the download goes on at byte ${resume.received}`);
		if (reader.written === reader.payloadLength) return this.#pullDone();
		this.#pullFromUri(resume);
	}

	#pullData(bytes: Uint8Array): boolean {
		const reader = this.#reader;
		if (!reader) return false;
		if (reader.write(bytes)) {
			const download = this.#download;
			if (download && this.#checkpoint >= 0 && download.received - this.#checkpoint >= CHECKPOINT) this.#saveCheckpoint(download.received);
			return true;
		}
		this.#download = undefined;
		this.#packageFailed(reader);
		return false;
	}

	#pullDone() {
		const download = this.#download;
		this.#download = undefined;
		const reader = this.#reader;
		if (!reader) return;
		if (!reader.finish()) return void this.#packageFailed(reader);
		this.#saveCheckpoint(HEADER_LENGTH + reader.payloadLength); // a reboot now reads it all back: Downloaded again
		if (download) this.#log(`firmware: pulled ${download.received} bytes in ${download.blocks} blocks (${download.retried} exchanges tried again)`);
		this.#downloaded(reader);
	}

	#update(): string | undefined {
		if (this.#state !== FwState.Downloaded) throw new LwError(Code.MethodNotAllowed, `Update needs State 2 (Downloaded), and the State is ${this.#state} (${STATE_NAMES[this.#state]})`);
		this.#setState(FwState.Updating);
		this.#setResult(FwResult.Initial);
		// after the 2.04 (and the State notification) have gone out
		Timer.set(() => this.#install(), 200);
		return undefined;
	}

	#install() {
		const slot = this.#slot;
		if (!slot) return this.#fail(FwResult.UpdateFailed, "the downloaded image is gone");
		this.#forgetPull(); // the image that boots next must not read this slot back
		// recorded before complete(): a power cut inside it (otadata half written) boots the
		// old image, which then reports Result 8 for the update it was installing, not 0
		Preference.set(DOMAIN, "pending", this.#pkgVersion || "?");
		Preference.set(DOMAIN, "slot", this.#ota ? this.#ota.runningSlot() : "");
		try {
			slot.complete();
		} catch (e) {
			this.#slot = undefined;
			Preference.delete(DOMAIN, "pending");
			try { slot.close(); } catch { /* already finished */ }
			this.#log(`firmware: installing ${this.#pkgVersion} failed: ${(e as Error).message}`);
			this.#setState(FwState.Idle);
			this.#setResult(FwResult.UpdateFailed);
			return;
		}
		this.#slot = undefined;
		Preference.set(DOMAIN, "name", this.#pkgName);
		Preference.set(DOMAIN, "version", this.#pkgVersion);
		this.#log(`firmware: ${this.#pkgVersion} installed: restarting into it`);
		this.#restart();
	}

	#cancel(): string | undefined {
		if (this.#state === FwState.Updating) throw new LwError(Code.MethodNotAllowed, "the update is being installed: too late to cancel");
		if (this.#state === FwState.Idle) throw new LwError(Code.MethodNotAllowed, "no download to cancel (State 0, Idle)");
		this.#reset(FwResult.Cancelled, "cancelled by the server");
		return undefined;
	}

	#setState(state: number) {
		if (state === this.#state) return;
		this.#state = state;
		this.#client.changed(5, 0, 3);
	}

	#setResult(result: number) {
		if (result !== FwResult.Initial || Preference.get(DOMAIN, "result") !== undefined) Preference.set(DOMAIN, "result", result);
		if (result === this.#result) return;
		this.#result = result;
		this.#client.changed(5, 0, 5);
	}
}

function hexBytes(s: string): Uint8Array {
	const out = new Uint8Array(s.length >> 1);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
	return out;
}

function stringPref(key: string): string {
	const v = Preference.get(DOMAIN, key);
	return typeof v === "string" ? v : "";
}
