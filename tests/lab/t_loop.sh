#!/bin/bash
# sluice's own upstream traffic is never intercepted again, with
# `intercept-local yes` (an output chain that sends the gateway's own
# datagrams to intercepted ports through tproxy), IPv4 and IPv6:
#  - a client flow is relayed exactly once: one session, one upstream
#    datagram per client datagram, one answer each, the server sees the
#    gateway;
#  - a process in the gateway itself is intercepted too: a new session, and
#    the server sees sluice's upstream port, not the process's own port,
#    while the answer still comes from 203.0.113.2:5300;
#  - negative control: when sluice's `mark` differs from the one the ruleset
#    was generated with, its upstream datagrams are tproxied back into it.
#    sluice recognises its own upstream socket as the source, drops the
#    datagram at once (flows_loop) and logs the fix once; nothing circles.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

conf=$(lab_conf loop.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=30
intercept-local yes
metrics 127.0.0.1:9153
workers 2
EOF
)
lab_server srv4 "$UP4" 5300 --log || exit 99
lab_server srv6 "$UP6" 5300 --log || exit 99
lab_sluice "$conf" || exit 99
check "the ruleset has the output chain" grep -q "hook output" "$LAB_WORK/rules.nft"

udp() { local ns=$1; shift; ip netns exec "$ns" "$LAB_PY" "$LAB_DIR/udptool.py" client "$@"; }
m() { lab_metric "$1"; }
# delta NAME N - counter NAME grew by exactly N from snapshot m0 to m1.
delta() { expect_eq "$(mval "$m1" "$1")" $(($(mval "$m0" "$1") + $2)); }

# One client flow of 5 datagrams per family: exactly one session, five
# datagrams up, five answers, nothing else.
for v in 4 6; do
	if [ $v = 4 ]; then up=$UP4 gwu=$GWU4; else up=$UP6 gwu=$GWU6; fi
	m0=$(lab_metrics) s0=$(grep -c seen "$LAB_WORK/srv$v.log")
	out=$(udp "$LAB_CLI" --to "$up" --port 5300 --msg "cli$v" --count 5)
	m1=$(lab_metrics)
	check "IPv$v: 5 answers from $up:5300, the server saw the gateway" \
		expect_eq "$(grep -c "^from $up:5300 seen $gwu:[0-9]* data cli$v\$" <<<"$out")" 5
	check "IPv$v: exactly one session for the client flow" delta flows_created 1
	check "IPv$v: relayed exactly once (relay_tx +5)" delta relay_tx 5
	check "IPv$v: five answers came back (relay_rx +5)" delta relay_rx 5
	check "IPv$v: the server got exactly 5 datagrams" \
		expect_eq "$(grep -c seen "$LAB_WORK/srv$v.log")" $((s0 + 5))
done

# A process in the gateway namespace itself.
for v in 4 6; do
	if [ $v = 4 ]; then up=$UP4 gwu=$GWU4; else up=$UP6 gwu=$GWU6; fi
	m0=$(lab_metrics)
	out=$(udp "$LAB_GW" --to "$up" --port 5300 --msg "gw$v" --count 3 --print-local)
	m1=$(lab_metrics)
	own=$(sed -n 's/^local .*:\([0-9]*\)$/\1/p' <<<"$out")
	seen=$(sed -n "s/^from .* seen .*:\([0-9]*\) data gw$v\$/\1/p" <<<"$out" | head -n1)
	check "IPv$v: the gateway's own process gets 3 answers from $up:5300" \
		expect_eq "$(grep -c "^from $up:5300 seen $gwu:[0-9]* data gw$v\$" <<<"$out")" 3
	check "IPv$v: it was intercepted (a new session)" delta flows_created 1
	check "IPv$v: and relayed once per datagram (relay_tx +3)" delta relay_tx 3
	check "IPv$v: the server saw sluice's upstream port ($seen), not the process's ($own)" \
		test -n "$own" -a -n "$seen" -a "$own" != "$seen"
done
check "no datagram lacked its original destination" expect_eq "$(m rx_no_origdst)" 0

# Negative control: sluice marks with 0x1234, the ruleset still returns only
# for 0xff, so sluice's own upstream datagram is intercepted again. sluice
# sees its own upstream socket as the client, drops it, and says so once.
lab_stop "$SLUICE_PID"
check "sluice stopped cleanly before the control" expect_eq "$LAB_STOP_RC" 0
bad=$(lab_conf badmark.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=30
intercept-local yes
mark 0x1234
max-sessions 256
metrics 127.0.0.1:9153
workers 1
EOF
)
lab_bg "$LAB_GW" sluice-bad "$SLUICE" -c "$bad"
bad_pid=$LAB_LAST_PID
lab_wait_log sluice-bad running 10 || exit 99
s0=$(grep -c seen "$LAB_WORK/srv4.log")
out=$(udp "$LAB_CLI" --to "$UP4" --port 5300 --msg loop4 --timeout 1)
out6=$(udp "$LAB_CLI" --to "$UP6" --port 5300 --msg loop6 --timeout 1)
sleep 0.5
m0=$(lab_metrics)
check "control: the client gets no answer (its datagram never leaves)" expect_eq "$out" timeout
check "control: the server never got it" expect_eq "$(grep -c seen "$LAB_WORK/srv4.log")" "$s0"
check "control: the looping datagram is caught at once (flows_loop $(mval "$m0" flows_loop))" \
	test "$(mval "$m0" flows_loop)" -ge 2
check "control: only the two clients' sessions were made" expect_eq "$(mval "$m0" flows_created)" 2
sleep 0.5
m1=$(lab_metrics)
check "control: nothing circles (relay_tx stays $(mval "$m0" relay_tx))" \
	expect_eq "$(mval "$m1" relay_tx)" "$(mval "$m0" relay_tx)"
check "control: the loop is reported once, with the fix" \
	expect_eq "$(grep -c 'routing loop' "$LAB_WORK/sluice-bad.log")" 1
active=$(m flows_active)
check "control: the session cap bounds what it holds ($active <= 256)" test "$active" -le 256
lab_stop "$bad_pid"
check "control: SIGTERM still stops the looping sluice, exit 0" expect_eq "$LAB_STOP_RC" 0
lab_finish
