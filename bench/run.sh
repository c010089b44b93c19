#!/bin/bash
# bench/run.sh - the whole shared benchmark harness (../shared/bench) in one
# run, with sluice as rows beside every peer installed here, then the
# figures that have no peer row (domain lists, the DNS hot path on one and
# two threads), all in one report: bench/results/DATE.md, with the raw
# per-row numbers next to it (DATE-dns.tsv, -relay.tsv, -flows.tsv).
# bench/readme-table.sh turns the latest report into README.md's
# performance section.
#
# Rows: `sluice` (workers 1, pinned like the peers to $DAEMON_CPUS, default
# CPU 1) and `sluice workers 2` (bench/sluice-dns-2w.conf, on
# $SLUICE_2W_CPUS, default 0,1) for DNS; `sluice` for the relay and flows.
#
# usage: sudo bench/run.sh [run-baselines.sh options]
#   e.g. --only dns --peers dnsdist   (one part, one peer)
# environment: REPEATS DUR FLOWS (default "1000 3000 10000") DAEMON_CPUS
#   SLUICE_2W_CPUS, SLUICE (the binary, default build/src/sluice; the
#   micro-benchmarks are taken from the same build directory),
#   BENCH_HARNESS (default ../shared/bench), BENCH_DATA (../shared/data),
#   BENCH_WAIT (seconds to wait for a harness lab another run is using; 0).
# A smoke run: sudo REPEATS=1 DUR=3 FLOW_LINGER=3 bench/run.sh
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$top/../shared/bench}
data=${BENCH_DATA:-$top/../shared/data}
bin=${SLUICE:-$top/build/src/sluice}
build=$(cd "$(dirname "$bin")/.." 2>/dev/null && pwd)
cpus2=${SLUICE_2W_CPUS:-0,1}
export FLOWS=${FLOWS:-1000 3000 10000}

[ -x "$bin" ] || { echo "bench/run.sh: build sluice first ($bin)" >&2; exit 1; }
[ -x "$harness/run-baselines.sh" ] || { echo "bench/run.sh: no harness at $harness" >&2; exit 1; }
mkdir -p "$top/bench/work" "$top/bench/results"

# The harness's lab (pb-cli, pb-gw, pb-up) has fixed names and is rebuilt
# at the start of a run: while another run (from any tree) holds it,
# starting would pull it down under that run.
wait_s=${BENCH_WAIT:-0}
while ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qx pb-gw; do
	if [ "$wait_s" -le 0 ]; then
		echo "bench/run.sh: the harness lab (pb-gw) is in use by another run: wait for it" \
			"(BENCH_WAIT=SECONDS), or remove a stale one with $harness/lab.sh down" >&2
		exit 1
	fi
	sleep 5
	wait_s=$((wait_s - 5))
done

# The peers installed here (a missing one would only be a failed row).
peers=""
for p in nsd unbound dnsmasq smartdns dnsdist v2ray; do
	command -v "$p" >/dev/null 2>&1 && peers="$peers${peers:+,}$p"
done

# Descriptors: the harness gives each daemon its hard limit; 10,000 relay
# flows at 2 sockets each need more than 20,000. The systemd unit's
# LimitNOFILE=262144, where this shell may raise it (CAP_SYS_RESOURCE).
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 262144 ] || ulimit -Hn 262144 2>/dev/null

stamp=$(date +%F-%H%M)
out=$top/bench/results/$stamp.md
load0=$(cut -d' ' -f1-3 /proc/loadavg)
env BENCH_WORK="$top/bench/work" "$harness/run-baselines.sh" \
	--peers "$peers" \
	--dns "sluice|tproxy|$bin -c $top/bench/sluice-dns.conf" \
	--dns "sluice dns-listen|listen|$bin -c $top/bench/sluice-dns-listen.conf" \
	--dns "sluice workers 2|tproxy|taskset -c $cpus2 $bin -c $top/bench/sluice-dns-2w.conf" \
	--relay "sluice|$bin -c $top/bench/sluice-relay.conf" \
	-o "$out" "$@"
rc=$?
[ -s "$out" ] || { echo "bench/run.sh: the harness wrote no report (exit $rc)" >&2; exit 1; }
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# What sluice is, and how busy the machine was, under the harness's lines.
commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
# The session cap the relay row ran with: a descriptor limit too low for
# the flow steps shows as incomplete flows, and this says why.
cap=$(sed -n 's/.*descriptors: \([0-9]*\); sessions up to \([0-9]*\),.*/\2 (RLIMIT_NOFILE \1)/p' \
	"$top/bench/work/log/relay.log" 2>/dev/null | tail -1)
info="- sluice: $("$bin" --version 2>/dev/null | awk 'NR == 1 {print $2}') ($commit); rows: \`sluice\` workers 1 on CPU ${DAEMON_CPUS:-1}, \`sluice workers 2\` on CPUs $cpus2 (\`taskset\`); relay flow steps: $FLOWS; relay sessions up to ${cap:-?} at 2 descriptors each"
info="$info"$'\n'"- load average (1, 5, 15 min) before the run: $load0; after: $load1 (other work on the machine makes figures noisy)"
awk -v info="$info" '{ print } /^- versions:/ && !done { print info; done = 1 }' "$out" > "$out.tmp" &&
	mv "$out.tmp" "$out"

{
	echo "## F. Domain lists (bench/match_bench; no peer row: see ../shared/bench/results/baseline.md)"
	echo
	if [ -x "$build/bench/match_bench" ] && [ -d "$data" ]; then
		"$build/bench/match_bench" "$data" 2>&1 | awk '
			/^== tags: one per list/ { on = 1; next }
			/^== / { on = 0 }
			on && /^china:/ { china = $2 }
			on && /^ads:/ { ads = $2 }
			on && /^both:/ { both = $2; bpd = $4 }
			on && /^load:/ { cpu = $2; wall = $5 }
			on && /^lookup:/ { ns = $2 }
			END {
				if (both == "") { print "match_bench printed nothing usable"; exit }
				print "| lists | domains | bytes a domain | load s (CPU) | load s (wall) | ns a lookup |"
				print "|---|---:|---:|---:|---:|---:|"
				printf "| china list + adblock list | %s (%s + %s) | %s | %s | %s | %s |\n", both, china, ads, bpd, cpu, wall, ns
			}'
	else
		echo "not measured: no $build/bench/match_bench (make bench/match_bench) or no $data"
	fi
	echo
	echo "## G. DNS hot path on 1 and 2 threads (bench/dns_bench: parse, shared-cache lookup, answer)"
	echo
	if [ -x "$build/bench/dns_bench" ]; then
		echo '```'
		"$build/bench/dns_bench" -t 2 -r 5 2>&1 | sed -n '1,4p'
		echo '```'
	else
		echo "not measured: no $build/bench/dns_bench (make bench/dns_bench)"
	fi
	echo
} >> "$out"
echo "bench/run.sh: report in $out (bench/readme-table.sh puts it into README.md)" >&2
exit "$rc"
