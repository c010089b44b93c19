#!/bin/bash
# 10,000 concurrent relay flows through sluice, IPv4 and then IPv6 beside
# them (20,000 sessions held at once), each flow a connected client socket
# to a UDP echo in the upstream namespace:
#   - every flow answered with its own payload (no reply to a wrong flow),
#     and the echo saw each flow from its own gateway address and port;
#   - a second round on the same sockets keeps those addresses and ports
#     (the sessions were held, all at once);
#   - at most 2 sockets and 2 KB of RSS (VmRSS) per flow;
#   - after the idle timeout flows_active is 0 and the sockets are back to
#     idle, and 10,000 new flows then fit in the memory the first ones left.
# The datagrams go out at most WINDOW unanswered at a time: a burst of
# thousands would overflow the socket buffers on the way, which says
# nothing about sluice. Bounded: every wait has a limit (a minute or two
# in all on a 2-CPU machine). FLOWS_N4 / FLOWS_N6 change the counts.
#
# 20,000 sessions at 2 sockets each need about 55,000 descriptors beside
# sluice's reserve for DNS (fdplan.c): sluice is started with a hard
# RLIMIT_NOFILE of 65536 where the test may raise it (CAP_SYS_RESOURCE).
# Where it may not, the counts shrink to the sessions sluice says it can
# hold ("sessions up to N" in its log, less a tenth for the uneven split
# between the workers): IPv6 to 1,000 flows and IPv4 to the rest, at most
# 10,000; the test prints a note saying so.
# it loads the machine: no other lab test runs beside it
LAB_EXCLUSIVE=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

N4=${FLOWS_N4:-10000}
N6=${FLOWS_N6:-10000}
WINDOW=${FLOWS_WINDOW:-200}
t_start=$SECONDS
# The relay's idle timeout: longer than both families' rounds take (a
# second a thousand flows on a busy 2-CPU machine, and some slack), so the
# first family's sessions are all still held when the second is counted.
# The counts shrink below (to about 6,000 flows) where the descriptor limit
# cannot be raised.
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 65536 ] || (ulimit -Hn 65536) 2>/dev/null; then
	TIMEOUT=$((15 + (N4 + N6) / 1000))
else
	TIMEOUT=20
fi

conf=$(lab_conf flows.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=$TIMEOUT
metrics 127.0.0.1:9153
workers 2
max-sessions 65536
max-sessions-per-client 30000
EOF
)
lab_server echo4 "$UP4" 5300 --rcvbuf 4194304 --lifetime 150 || exit 99
lab_server echo6 "$UP6" 5300 --rcvbuf 4194304 --lifetime 150 || exit 99
lab_rules "$conf" || exit 99
# The systemd unit gives it LimitNOFILE=262144; 65536 is enough here.
lab_bg "$LAB_GW" sluice bash -c '[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 65536 ] ||
	ulimit -Hn 65536 2>/dev/null; exec "$@"' sh "$SLUICE" -c "$conf"
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice "running" 10 || exit 99
nofile=$(awk '/^Max open files/ { print $5 }' "/proc/$SLUICE_PID/limits")
cap=$(sed -n 's/.*descriptors: [0-9]*; sessions up to \([0-9]*\),.*/\1/p' "$LAB_WORK/sluice.log" | tail -1)
echo "# sluice: RLIMIT_NOFILE $nofile, sessions up to ${cap:-?}"
[ -n "$cap" ] || { echo "FAIL - sluice did not log its descriptor plan"; exit 1; }
# Each worker holds its share of the cap, and the kernel's SO_REUSEPORT hash
# does not split flows exactly in two: room is left for that (a tenth).
room=$((cap * 9 / 10 - 100))
if [ $((N4 + N6)) -gt "$room" ]; then
	want="$N4 IPv4 + $N6 IPv6"
	N6=$((N6 < 1000 ? N6 : 1000))
	N4=$((room - N6 < N4 ? room - N6 : N4))
	echo "# note: a hard RLIMIT_NOFILE of $nofile (not raised: no CAP_SYS_RESOURCE here)" \
		"holds $cap sessions at 2 sockets each: testing $N4 IPv4 + $N6 IPv6 flows, not $want"
fi

socks() { find "/proc/$SLUICE_PID/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLUICE_PID/status"; }
flows() { # TO N ROUNDS [udptool options]: udptool flows from the client namespace
	local to=$1 n=$2 rounds=$3
	shift 3
	in_cli "$LAB_PY" -u "$LAB_DIR/udptool.py" flows --to "$to" --port 5300 --n "$n" \
		--window "$WINDOW" --rounds "$rounds" --stats --timeout $((25 + n / 250)) "$@" 2>&1
}

# A few flows of each family first: what the first flows allocate once
# (buffers, the session table's first slabs) is not per-flow cost. They come
# from addresses of their own: a later flow the kernel gives the same client
# port must not find a warm-up flow's session (the same 4-tuple is the same flow),
# so the measured flows bind the first addresses (IPv6 would pick the newest).
ip -n "$LAB_CLI" addr add 198.51.100.3/24 dev c0
ip -n "$LAB_CLI" addr add 2001:db8:100::3/64 dev c0 nodad
flows "$UP4" 50 1 --bind 198.51.100.3 >/dev/null
flows "$UP6" 50 1 --bind 2001:db8:100::3 >/dev/null
s0=$(socks) r0=$(rss_kb) a0=$(lab_metric flows_active)
echo "# before: $a0 sessions, $s0 sockets, VmRSS $r0 kB"

step() { # FAMILY TO GW N FROM
	local v=$1 to=$2 gw=$3 n=$4 from=$5 out s1 r1 a1 ds dr
	out=$(flows "$to" "$n" 2 --bind "$from")
	echo "# IPv$v: $(tr '\n' ';' <<<"$out")"
	check "IPv$v: $n concurrent flows, each answered with its own payload, through $gw" \
		expect_contains "$out" "answered $n/$n wrong 0 sources $gw"
	check "IPv$v: the echo saw every flow from its own gateway port" \
		expect_contains "$out" "gateway sources $n distinct"
	check "IPv$v: a second round keeps every flow's session (same gateway port)" \
		expect_contains "$out" "round 2 answered $n/$n same $n wrong 0"
	s1=$(socks) r1=$(rss_kb) m=$(lab_metrics)
	a1=$(mval "$m" flows_active)
	ds=$((s1 - s0)) dr=$((r1 - r0))
	echo "# IPv$v: +$((a1 - a0)) sessions, +$ds sockets, +$dr kB VmRSS ($((dr * 1024 / n)) bytes a flow)"
	echo "# metrics: $(grep -E '^(flows_|rx_misdelivered|relay_port)' <<<"$m" | tr '\n' ' ')"
	check "IPv$v: the $n sessions are held at once (flows_active $a0 -> $a1)" \
		test $((a1 - a0)) -ge "$n"
	check "IPv$v: at most 2 sockets a flow (+$ds for $n)" test "$ds" -le $((2 * n))
	check "IPv$v: at most 2 KB of RSS a flow (+$dr kB for $n)" test "$dr" -le $((2 * n))
	s0=$s1 r0=$r1 a0=$a1
}
idle_socks=$s0
r_idle0=$r0
step 4 "$UP4" "$GWU4" "$N4" "$CLI4"
step 6 "$UP6" "$GWU6" "$N6" "$CLI6"
r_peak=$r0
m=$(lab_metrics)
check "no session was evicted or refused" \
	expect_eq "$(mval "$m" flows_evicted) $(mval "$m" flows_evicted_client) $(mval "$m" flows_refused)" "0 0 0"
check "no datagram lacked its original destination" expect_eq "$(mval "$m" rx_no_origdst)" 0

# Idle: every session expires after the timeout (the sweep may lag a little).
t0=$SECONDS
for ((i = 0; i < (TIMEOUT + 10) * 2; i++)); do
	[ "$(lab_metric flows_active)" = 0 ] && break
	sleep 0.5
done
echo "# idle after $((SECONDS - t0)) s: $(lab_metric flows_active) sessions, $(socks) sockets, VmRSS $(rss_kb) kB"
check "flows_active is back to 0 after the ${TIMEOUT} s timeout" expect_eq "$(lab_metric flows_active)" 0
check "the sockets are back to idle ($(socks) <= $idle_socks - the warm-up flows')" \
	test "$(socks)" -le "$idle_socks"

# The same number of new flows again: they reuse what the expired ones freed.
out=$(flows "$UP4" "$N4" 1 --bind "$CLI4")
check "IPv4 again: $N4 new flows answered, none wrong" expect_contains "$out" "answered $N4/$N4 wrong 0"
r2=$(rss_kb)
echo "# IPv4 again: VmRSS $r2 kB (peak before $r_peak kB)"
# Under AddressSanitizer freed memory waits in its quarantine instead of
# being reused, so there the new flows may take as much again as the first.
slack=1024
grep -qa __asan_init "$SLUICE" && slack=$((slack + r_peak - r_idle0))
check "and RSS stays within the first peak (+$((r2 - r_peak)) kB, <= $slack)" test "$r2" -le $((r_peak + slack))

lab_sluice_exit
echo "# took $((SECONDS - t_start)) s"
lab_finish
