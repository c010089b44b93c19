#!/bin/bash
# The README demo keeps working: run it and check what it says happened.
d=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
svcs=" $("${SLUICE:-$d/src/sluice}" --version | sed -n 's/^services://p') "
case "$svcs" in *" ntp "*) ;; *) echo "SKIP: the demo needs the ntp service"; exit 77 ;; esac
case "$svcs" in *" quic "*) ;; *) echo "SKIP: the demo needs the quic service"; exit 77 ;; esac
out=$(bash "$d/tests/lab/demo.sh" 2>&1); rc=$?
echo "$out"
[ "$rc" = 0 ] || { echo "FAIL: demo exited $rc"; exit 1; }
fail=0
want() { grep -qF -- "$1" <<<"$out" || { echo "FAIL: demo output lacks: $1"; fail=1; }; }
want "the answer came from 192.0.2.53 with 192.0.2.31"
want "answer 2001:db8:41::1 from 2001:db8:53::53"
want "status NXDOMAIN: blocked by sluice"
want "served from sluice's cache"
want "status NXDOMAIN over TCP too"
want "answered by 192.0.2.123 (stratum 8)"
want "the handshake completed"
want "sni=quic.example"
want "the answer came from 203.0.113.2:5300 seen 203.0.113.1:"
exit $fail
