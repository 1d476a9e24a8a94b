#!/usr/bin/env bash
# Builds Eclipse Wakaama's example peers (lwm2mserver, lwm2mclient plain UDP and tinydtls,
# bootstrap_server) from ../shared/peers into a cache outside the clone, keyed by the tarball's
# hash, and prints the folder holding the binaries. A second run reuses it.
# Needs cmake, cc, and autoconf/automake/libtool (the bundled tinydtls is configured even for
# the UDP-only targets).
# Usage: WAKAAMA_BIN=$(bash .ci/wakaama.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tarball=${WAKAAMA_TARBALL:-$here/../shared/peers/wakaama-f91cfe0.tar.xz}
cache=${THERMOSTAT_CACHE:-/var/cache/lwm2m-thermostat}
[ -f "$tarball" ] || { echo "wakaama: $tarball not found" >&2; exit 1; }
key=$(sha256sum "$tarball" | cut -c1-16)
root="$cache/wakaama-$key"
bin="$root/bin"
targets=(lwm2mserver lwm2mclient lwm2mclient_tinydtls bootstrap_server)
if [ -f "$root/.built" ]; then
	ok=1
	for t in "${targets[@]}"; do [ -x "$bin/$t" ] || ok=0; done
	if ((ok)); then echo "$bin"; exit 0; fi
fi
rm -rf "$root"; mkdir -p "$root" "$bin"
tar xf "$tarball" -C "$root"
src="$root/wakaama"
log="$root/build.log"
jobs=$(nproc 2>/dev/null || echo 2)
# project folder : target
for pair in server:lwm2mserver client/udp:lwm2mclient client/tinydtls:lwm2mclient_tinydtls \
	bootstrap_server:bootstrap_server; do
	dir=${pair%%:*} target=${pair##*:}
	build="$root/build/$target"
	{
		cmake -S "$src/examples/$dir" -B "$build" -DWAKAAMA_UNIT_TESTS=OFF -DCMAKE_BUILD_TYPE=Release &&
			cmake --build "$build" --target "$target" -j "$jobs"
	} >>"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
	cp "$build/$target" "$bin/$target"
done
# bootstrap_server reads its .ini from the working folder by default: keep it beside the binary.
cp "$src/examples/bootstrap_server/bootstrap_server.ini" "$bin/"
touch "$root/.built"
echo "$bin"
