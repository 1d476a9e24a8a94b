// The host layer's entry on the moddable engine: the globals xsnap would have provided,
// then host-sim's XS-side host (the same host-sim/xs/host.js the xsnap engine bundles).
import "./globals.js";
import "../../xs/host.js";
