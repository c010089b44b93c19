#!/bin/sh
# From a fresh Debian machine: install the packages, build sluice, and run
# the demo in network namespaces (DNS hijack with geosite routing, blocking
# and caching; NTP redirection; QUIC passthrough with its SNI; a plain UDP
# relay). Run as root. Nothing outside the demo's namespaces is touched.
set -e
# Root is needed (packages, namespaces); a user with sudo is asked for it here,
# so the command reads the same for root (no sudo on a fresh Debian) and users.
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "$0: run as root (or install sudo)" >&2; exit 1; }
	exec sudo -E sh "$0" "$@"
fi
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${SKIP_SETUP:-0}" = 1 ] || sh scripts/setup-debian.sh
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p build-demo
(cd build-demo && { [ -f Makefile ] || ../configure -q; } && make -s -j"$(nproc)" src/sluice)
export SLUICE="$top/build-demo/src/sluice" top_srcdir="$top"
exec bash tests/lab/demo.sh
