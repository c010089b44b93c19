#!/bin/sh
# Runs sluice as one more row of the shared benchmark harness
# (../shared/bench), against the peers measured in the same run, and keeps
# the report in bench/results/. Needs root and the harness's packages (see its
# README). Arguments are passed on to run-baselines.sh, e.g. `--only dns
# --peers dnsdist,unbound` or REPEATS=1 DUR=3 for a quick look.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
harness=${BENCH_HARNESS:-$top/../shared/bench}
bin=${SLUICE:-$top/build/src/sluice}
[ -x "$bin" ] || { echo "bench/run.sh: build sluice first ($bin)" >&2; exit 1; }
mkdir -p "$top/bench/work" "$top/bench/results"
exec env BENCH_WORK="$top/bench/work" "$harness/run-baselines.sh" \
	--dns "sluice|tproxy|$bin -c $top/bench/sluice-dns.conf" \
	--relay "sluice|$bin -c $top/bench/sluice-relay.conf" \
	-o "$top/bench/results/$(date +%F-%H%M).md" "$@"
