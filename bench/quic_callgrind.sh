#!/bin/sh
# quic_callgrind.sh [BENCH] - instructions per sniffed QUIC flow, counted by
# callgrind (repeatable, unlike time): the total of quic_bench MODE 101
# minus that of quic_bench MODE 1, over 100. BENCH is bench/quic_bench of a
# build directory (default: ./bench/quic_bench).
b=${1:-./bench/quic_bench}
command -v valgrind >/dev/null || { echo "quic_callgrind: valgrind not installed" >&2; exit 77; }
ir() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" "$1" "$2" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for m in forged-same forged-distinct flight split; do
	one=$(ir "$m" 1) && many=$(ir "$m" 101) || exit 1
	echo "$m: $(( (many - one) / 100 )) instructions/flow"
done
