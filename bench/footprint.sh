#!/bin/sh
# footprint.sh - what sluice costs a router: the size of the stripped binary
# (this build, and build-arm64 when scripts/cross.sh arm64 made one), its
# resident memory idle, with the china list and an adblock list loaded
# (265k domains, from ../shared/data), and its peaks while it loads them and
# while a SIGHUP reload builds the new sets beside the old ones.
#
#   bench/footprint.sh [BUILD_DIR] [DATA_DIR]    (make bench runs it)
#
# Memory is read from /proc/PID/status: VmRSS now, VmHWM the peak. The peak
# of a reload is the VmHWM after `echo 5 > /proc/PID/clear_refs` (which
# resets it to the current RSS) and the SIGHUP. sluice runs as root in a
# network namespace of its own (unshare -n), on loopback, with 2 workers and
# the default cache; without root the memory part is skipped.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-.}" && pwd)
data=${2:-$top/../shared/data}
bin=$build/src/sluice
[ -x "$bin" ] || { echo "footprint.sh: no $bin (build first)" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

kb() { echo $((($1 + 1023) / 1024)); }

# size BINARY STRIP: bytes of the stripped copy
size_of() {
	"$2" -o "$tmp/stripped" "$1" 2>/dev/null && wc -c < "$tmp/stripped"
}

echo "binary (stripped, every service built in):"
s=$(size_of "$bin" strip)
printf '  %-8s %4s KB  (%s bytes)\n' "$(uname -m)" "$(kb "$s")" "$s"
arm=$top/build-arm64/src/sluice
if [ -x "$arm" ] && command -v aarch64-linux-gnu-strip >/dev/null; then
	s=$(size_of "$arm" aarch64-linux-gnu-strip)
	printf '  %-8s %4s KB  (%s bytes)\n' aarch64 "$(kb "$s")" "$s"
else
	echo "  aarch64  -        (no build-arm64: sudo scripts/cross.sh arm64)"
fi

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "memory: skipped (needs root for the network namespace)"
	exit 0
fi
china=$data/dnsmasq-china-list/accelerated-domains.china.conf
ads=$data/blocklistproject/ads-ags.txt
for f in "$china" "$ads"; do
	[ -r "$f" ] || { echo "memory: skipped (no $f)"; exit 0; }
done
head="listen 127.0.0.1:15353
intercept udp 53 dns
workers 2
upstream domestic udp://127.0.0.1:5301
upstream abroad udp://127.0.0.1:5302"
printf '%s\ndns-rule all forward abroad\n' "$head" > "$tmp/idle.conf"
printf '%s\nlist china dnsmasq:%s\nlist ads adblock:%s\n%s\n%s\n%s\n' "$head" "$china" "$ads" \
	"dns-rule list:ads block nxdomain" "dns-rule list:china forward domestic" \
	"dns-rule all forward abroad" > "$tmp/lists.conf"

status() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }

# wait_log PATTERN COUNT: until the log has COUNT lines matching PATTERN
wait_log() {
	for _ in $(seq 300); do
		[ "$(grep -c "$1" "$tmp/log")" -ge "$2" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "footprint.sh: sluice did not log '$1':" >&2
	tail -n 5 "$tmp/log" >&2
	return 1
}

# run CONF: start sluice in its own network namespace; sets pid
run() {
	: > "$tmp/log"
	unshare -n sh -c 'ip link set lo up 2>/dev/null; exec "$0" -c "$1"' "$bin" "$1" \
		>"$tmp/log" 2>&1 &
	pid=$!
	wait_log ' running' 1
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

run "$tmp/idle.conf" || exit 1
idle=$(status VmRSS)
stop

run "$tmp/lists.conf" || exit 1
sleep 0.5
rss=$(status VmRSS)
hwm=$(status VmHWM)
echo 5 > "/proc/$pid/clear_refs"
kill -HUP "$pid"
wait_log 'configuration reloaded' 1 || exit 1
sleep 0.5
rhwm=$(status VmHWM)
rrss=$(status VmRSS)
stop

domains=$(($(grep -c '^server=' "$china") + $(grep -c '^||' "$ads")))
echo "memory (2 workers; lists: $domains lines of the china list and ads-ags.txt):"
printf '  %-34s %6s KB\n' "idle RSS" "$idle" \
	"lists loaded: RSS" "$rss" \
	"peak while loading (VmHWM)" "$hwm" \
	"peak during a SIGHUP reload" "$rhwm" \
	"RSS after the reload" "$rrss"
printf '  %-34s %6s KB\n' "lists: RSS - idle" "$((rss - idle))"
awk -v p="$hwm" -v s="$rss" -v r="$rhwm" 'BEGIN {
	printf "  %-34s %6.2f\n  %-34s %6.2f\n", "load peak / steady", p / s,
	    "reload peak / steady", r / s }'
