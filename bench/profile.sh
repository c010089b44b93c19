#!/bin/bash
# Profile sluice in the shared harness's lab: sluice on one CPU (tproxy, as
# in bench/run.sh), `perf record` (software clock) on the daemon for the
# run. hit/miss: the DNS path, nsd upstream, dnsperf load, prints the QPS
# and the daemon's context switches and epoll_wait, recvmmsg and sendmmsg
# calls over the run; hit2: hits on the `sluice workers 2` row's daemon;
# relay64/relay1200: the UDP relay at full rate from one udpblast sender
# (the harness's relay row), prints sent, received and the daemon's CPU
# ticks. Then the head of `perf report`. Needs root, perf and the harness
# packages.
#
#   sudo bench/profile.sh hit|hit2|miss|relay64|relay1200 [SECONDS]
#
# Everything it starts it stops by PID; the harness lab is taken down.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-hit}
secs=${2:-8}
export BENCH=${BENCH_HARNESS:-$top/../shared/bench}
export WORK=$top/bench/work
bin=${SLUICE:-$top/build/src/sluice}
[ -x "$bin" ] || { echo "build sluice first ($bin)" >&2; exit 1; }
command -v perf >/dev/null || { echo "perf is not installed (linux-perf)" >&2; exit 1; }
. "$(dirname "$0")/lab-dns.sh"
case $kind in
relay*)
	export DUR=$secs
	tproxy_on "$RELAY_PORT"
	guard_on "$RELAY_PORT"
	gw_start relay "$bin -c $top/bench/sluice-relay.conf"
	sleep 2
	perf record -F 2999 -g -o "$WORK/perf.data" -p "${PID[relay]}" -- sleep "$((secs + 1))" \
		>/dev/null 2>&1 &
	prec=$!
	echo "udpblast ${kind#relay} B: sent received daemon_ticks = $(sink_run "${kind#relay}" 0 1)"
	wait "$prec"
	perf report -i "$WORK/perf.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null |
		grep -v '^$' | grep -E '^ +[0-9]' | head -50
	exit 0
	;;
esac
if [ "$kind" = hit2 ]; then # the `sluice workers 2` row of bench/run.sh
	gw_start sluice "taskset -c ${SLUICE_2W_CPUS:-0,1} $bin -c $top/bench/sluice-dns-2w.conf"
else
	gw_start sluice "$bin -c $top/bench/sluice-dns.conf"
fi
dns_wait "$UP_IP" 20 || { echo "sluice does not answer" >&2; exit 1; }
file=$WORK/q-hit.txt
args=(-l "$secs")
if [ "$kind" != miss ]; then
	dnsperf_run "$UP_IP" "$file" -n 2 -q 10 >/dev/null # warm the cache
else
	file=$WORK/q-miss.txt
	args=(-n 1 -l "$secs")
fi
perf record -F 2999 -g -o "$WORK/perf.data" -p "${PID[sluice]}" -- sleep "$((secs + 1))" \
	>/dev/null 2>&1 &
prec=$!
# what each query costs in wake-ups and system calls (divide by the queries)
perf stat -x, -o "$WORK/perf.stat" -e context-switches,syscalls:sys_enter_epoll_wait \
	-e syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg -p "${PID[sluice]}" \
	-- sleep "$((secs + 1))" >/dev/null 2>&1 &
pstat=$!
sleep 0.3
echo "dnsperf ($kind): qps avg_lat_ms lost_pct completed = $(dnsperf_run "$UP_IP" "$file" \
	"${args[@]}" $DNSPERF_ARGS)"
wait "$prec" "$pstat"
echo "daemon over the run: $(grep -v '^#' "$WORK/perf.stat" | awk -F, 'NF > 2 {printf "%s %s  ", $3, $1}')"
perf report -i "$WORK/perf.data" --no-children --percent-limit 0.7 --stdio 2>/dev/null |
	grep -v '^$' | grep -E '^ +[0-9]' | head -50
