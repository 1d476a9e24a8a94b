#!/usr/bin/env bash
# Builds the Moddable SDK's Linux tools from ../shared/moddable-sdk into a cache outside the
# clone, keyed by the tarball's hash, and prints the MODDABLE path. A second run reuses it.
# Usage: MODDABLE=$(bash .ci/moddable-sdk.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tarball=${MODDABLE_TARBALL:-$here/../shared/moddable-sdk/moddable-8.2.3-subset.tar.xz}
cache=${THERMOSTAT_CACHE:-/var/cache/lwm2m-thermostat}
[ -f "$tarball" ] || { echo "moddable-sdk: $tarball not found" >&2; exit 1; }
key=$(sha256sum "$tarball" | cut -c1-16)
root="$cache/moddable-$key"
export MODDABLE="$root/moddable"
export PATH="$PATH:$MODDABLE/build/bin/lin/release"
if [ -x "$MODDABLE/build/bin/lin/release/mcconfig" ] && [ -f "$root/.built" ]; then
	echo "$MODDABLE"; exit 0
fi
rm -rf "$root"; mkdir -p "$root"
tar xf "$tarball" -C "$root"
# The top makefile calls xsc by name: build/bin/lin/release must be on PATH before make.
(cd "$MODDABLE/build/makefiles/lin" && make) >"$root/build.log" 2>&1 || { tail -40 "$root/build.log" >&2; exit 1; }
touch "$root/.built"
echo "$MODDABLE"
