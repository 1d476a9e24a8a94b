// The update slot on Moddable's ECMA-419 modules: embedded:storage/flash opens the next OTA
// partition ("nextota"), embedded:update writes an app image into it in sequential mode
// ("a": ESP-IDF's esp_ota_begin with OTA_WITH_SEQUENTIAL_WRITES, each 4 KB sector erased
// when first written) and complete() verifies it and makes it the next boot's (esp_ota_end,
// esp_ota_set_boot_partition); close() before that drops it (esp_ota_abort).
// Mode "a" erases nothing at open: after a reboot the bytes a download had written are still
// in the slot, and read() gives them back (each sector read before the write that erases it).
// host-sim provides the same module names with the same behaviour.

import Flash from "embedded:storage/flash";
import Update from "embedded:update";
import type { Installer, Slot } from "./object";

class FlashSlot implements Slot {
	#partition: ReturnType<typeof Flash.open>;
	#updater: ReturnType<typeof Update.open>;
	constructor() {
		this.#partition = Flash.open({ path: "nextota" });
		try {
			this.#updater = Update.open({ partition: this.#partition });
		} catch (e) {
			this.#partition.close();
			throw e;
		}
	}
	write(bytes: Uint8Array) {
		this.#updater.write(bytes);
	}
	/** bytes already in the slot (a download before a reboot): esp_partition_read */
	read(into: Uint8Array, offset: number) {
		this.#partition.read(into, offset);
	}
	complete() {
		this.#updater.complete();
		this.#partition.close();
	}
	close() {
		try {
			this.#updater.close();
		} finally {
			this.#partition.close();
		}
	}
}

export const flashInstaller: Installer = {
	capacity() {
		try {
			const partition = Flash.open({ path: "nextota", mode: "r" });
			const size = partition.status().size;
			partition.close();
			return size;
		} catch {
			return -1;
		}
	},
	open() {
		return new FlashSlot();
	},
};
