#!/bin/sh
# The man pages have no mandoc lint message at any level (mandoc -Tlint:
# errors, warnings and style, e.g. lines over 80 bytes) and, where man-db
# is installed, no groff warning (man --warnings).
: "${top_srcdir:=$(dirname "$0")/../..}"
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed" >&2; exit 77; }
fail=0
for f in "$top_srcdir"/man/*.[1-8]; do
	out=$(mandoc -Tlint "$f" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then echo "ok - mandoc -Tlint ${f##*/}"
	else echo "FAIL - mandoc -Tlint ${f##*/} (exit $rc):"; echo "$out"; fail=1; fi
	command -v man >/dev/null || continue
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
	if [ -z "$out" ]; then echo "ok - man --warnings ${f##*/}"
	else echo "FAIL - man --warnings ${f##*/}:"; echo "$out"; fail=1; fi
done
exit $fail
