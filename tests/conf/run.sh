#!/bin/sh
# run.sh - the config corpus: `sluice -t -c FILE` must accept every
# good-*.conf (exit 0) and refuse every bad-*.conf (exit 1) with exactly one
# line, the message its first line names as "# expect: FILE:LINE: message".
# Configs are loaded by their name relative to this directory, so FILE in the
# expectation is that relative name (includes show as ./inc/...); a match on
# the suffix after a '/' is accepted too. Also checks the shipped
# conf/sluice.conf. Needs SLUICE and top_srcdir (exported by `make check`).

: "${top_srcdir:?top_srcdir is not set}"
: "${SLUICE:?SLUICE is not set}"
dir="$top_srcdir/tests/conf"
cd "$dir" || exit 99
[ -x "$SLUICE" ] || { echo "no sluice binary at $SLUICE"; exit 99; }

fail=0
ngood=0
nbad=0

for f in good-*.conf; do
	ngood=$((ngood + 1))
	out=$("$SLUICE" -t -c "$f" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $f: exit $rc (want 0): $out"
		fail=$((fail + 1))
	else
		echo "ok   $f"
	fi
done

for f in bad-*.conf; do
	nbad=$((nbad + 1))
	want=$(head -n 1 "$f" | tr -d '\r' | sed -n 's/^# expect: //p')
	if [ -z "$want" ]; then
		echo "FAIL $f: first line is not '# expect: FILE:LINE: message'"
		fail=$((fail + 1))
		continue
	fi
	out=$("$SLUICE" -t -c "$f" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ "$rc" -ne 1 ]; then
		echo "FAIL $f: exit $rc (want 1): $out"
		fail=$((fail + 1))
		continue
	fi
	if [ "$lines" -ne 1 ]; then
		echo "FAIL $f: $lines lines of output (want 1):"
		printf '%s\n' "$out"
		fail=$((fail + 1))
		continue
	fi
	# Quoted parts of a case pattern are literal: [v6] is not a bracket class.
	case "$out" in
	"$want" | */"$want")
		echo "ok   $f"
		;;
	*)
		echo "FAIL $f:"
		echo "  got:  $out"
		echo "  want: $want"
		fail=$((fail + 1))
		;;
	esac
done

# The sample config shipped with sluice must itself be valid.
sample="$top_srcdir/conf/sluice.conf"
if [ -s "$sample" ]; then
	out=$("$SLUICE" -t -c "$sample" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL conf/sluice.conf: exit $rc: $out"
		fail=$((fail + 1))
	else
		echo "ok   conf/sluice.conf"
	fi
else
	echo "FAIL conf/sluice.conf is missing or empty"
	fail=$((fail + 1))
fi

if [ "$nbad" -lt 12 ] || [ "$ngood" -lt 1 ]; then
	echo "FAIL: corpus too small ($ngood good, $nbad bad)"
	exit 99
fi
echo "$ngood good, $nbad bad configs; $fail failure(s)"
[ "$fail" -eq 0 ]
