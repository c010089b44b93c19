#!/bin/sh
# The whole test suite, from a fresh Debian machine: installs the packages,
# builds with warnings as errors and runs `make check` (unit tests, fuzz
# corpora, namespace integration tests), then builds again under
# AddressSanitizer and UndefinedBehaviorSanitizer and runs the suite again,
# then runs every fuzz target under libFuzzer for FUZZ_SECONDS (20) each,
# then builds without the QUIC and NTP services (unit tests), and last
# cross-builds for arm64 and runs its unit tests, fuzz corpus replays and
# sample configs under qemu-user (scripts/cross.sh; CROSS_ARCHS="arm64
# s390x mipsel" adds the others). Run as root (the namespace tests need it).
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
./autogen.sh >/dev/null 2>&1
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
	dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && ../configure -q --enable-werror "$@" && make -s -j"$jobs" &&
		make -s -j"$jobs" check ${CHECK_ARGS:-}) || {
		for f in "$dir"/tests/*/*.log "$dir"/fuzz/*.log; do
			[ -f "$f" ] || continue
			# a .trs says ":test-result: FAIL" (or ERROR)
			grep -qE '^:test-result: (FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null || continue
			echo "==== $f"
			# the failed checks first: the daemons' logs at the end bury them
			grep -E -B2 '^(FAIL|not ok) ' "$f" | head -n 40
			echo "---- (the log's last 80 lines)"
			tail -n 80 "$f"
		done
		return 1
	}
	sed -n '1,12p' "$dir/test-suite.log"
	pass=$((pass + $(sed -n 's/^# PASS: *//p' "$dir/test-suite.log")))
	skip=$((skip + $(sed -n 's/^# SKIP: *//p' "$dir/test-suite.log")))
}
pass=0
skip=0

echo "== build with -Werror and run the suite"
run_suite build-ci
echo "== build with -fsanitize=address,undefined and run the suite again"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan --with-sanitizer=address,undefined
echo "== every fuzz target under libFuzzer (ASan+UBSan), ${FUZZ_SECONDS:-20} s each, from its seeds"
(cd build-ci && make -s fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-20}")
echo "== without QUIC and NTP (configure --disable-quic --disable-ntp): unit tests, configs"
CHECK_ARGS=LAB_TESTS= run_suite build-min --disable-quic --disable-ntp
for arch in ${CROSS_ARCHS:-arm64}; do
	echo "== $arch: cross build; unit tests, fuzz replays, configs under qemu-user (no lab tests)"
	t0=$(date +%s)
	sh scripts/cross.sh "$arch"
	echo "   $arch: $(($(date +%s) - t0)) s"
	pass=$((pass + $(sed -n 's/^# PASS: *//p' "build-$arch/test-suite.log")))
	skip=$((skip + $(sed -n 's/^# SKIP: *//p' "build-$arch/test-suite.log")))
done
echo "== all tests passed (plain, sanitizer and minimal builds, fuzzers, ${CROSS_ARCHS:-arm64} under qemu)"
echo "suite: $pass passed, 0 failed, $skip skipped"
