#!/bin/bash
# A/B comparison of daemon variants on one DNS pass of the shared harness's
# lab, variants alternating run by run (the spread between runs is larger
# than most differences worth measuring). Prints QPS and daemon CPU per
# answered query (utime+stime) for each run. Needs root and the harness's
# packages (nsd, dnsperf).
#
#   sudo VARIANTS="NAME=CMD;NAME=CMD..." bench/compare.sh hit|miss [REPEATS]
#
# CMD runs in pb-gw pinned to $DAEMON_CPUS (as gw_start does; a `taskset -c
# 0,1` in front widens it). A NAME containing "listen" is asked at the
# gateway's own address (198.51.100.1: dns-listen), any other at
# 203.0.113.2 through tproxy. Everything it starts it stops by PID.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-miss}
reps=${2:-3}
export BENCH=${BENCH_HARNESS:-$top/../shared/bench}
export WORK=$top/bench/work
[ -n "${VARIANTS:-}" ] || { echo "set VARIANTS=\"NAME=CMD;...\"" >&2; exit 1; }
. "$(dirname "$0")/lab-dns.sh"
render "$BENCH/conf/dnsdist.conf" "$WORK/conf/dnsdist.conf" LISTEN_IP="$GW_IP" LISTEN_PORT=53
IFS=';' read -ra vs <<< "$VARIANTS"
for r in $(seq "$reps"); do
	for v in "${vs[@]}"; do
		name=${v%%=*}
		cmd=${v#*=}
		tgt=$UP_IP
		case $name in *listen* | *dnsdist*) tgt=$LISTEN_IP ;; esac
		[ "$cmd" = dnsdist ] && cmd="dnsdist --supervised --disable-syslog -C $WORK/conf/dnsdist.conf"
		gw_start sluice "$cmd"
		dns_wait "$tgt" 20 || { echo "$name does not answer" >&2; exit 1; }
		if [ "$kind" = lat ]; then
			dnsperf_run "$tgt" "$WORK/q-hit.txt" -n 2 -q 10 >/dev/null
			echo "$name run $r: p50/p99 µs at $LAT_QPS qps: $(latency_run "$tgt")"
			proc_stop sluice
			continue
		fi
		if [ "$kind" = hit ]; then
			file=$WORK/q-hit.txt
			dnsperf_run "$tgt" "$file" -n 2 -q 10 >/dev/null # warm the cache
			args=(-l 8)
		else
			file=$WORK/q-miss.txt
			args=(-n 1 -l 60)
		fi
		p=${PID[sluice]}
		t0=$(awk '{print $14 + $15}' "/proc/$p/stat")
		res=$(dnsperf_run "$tgt" "$file" "${args[@]}" $DNSPERF_ARGS)
		t1=$(awk '{print $14 + $15}' "/proc/$p/stat")
		n=$(echo "$res" | awk '{print $4}')
		echo "$name run $r: qps ${res%% *}, answered $n, daemon $(awk -v t=$((t1 - t0)) \
			-v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }') µs/query"
		proc_stop sluice
	done
done
