#!/bin/bash
# Relay through sluice, IPv4 and IPv6: the answer comes from the server's
# address and port (a connected client socket drops anything else), the
# server saw the gateway as the source (so the datagram really went through
# sluice, not around it), 200 concurrent flows each get their own answers,
# and idle sessions are gone after the timeout.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

conf=$(lab_conf relay.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=6
metrics 127.0.0.1:9153
workers 2
EOF
)
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99
lab_sluice "$conf" || exit 99

out=$(in_cli python3 "$LAB_DIR/udptool.py" client --to "$UP4" --port 5300 --msg ping4)
check "IPv4 answer comes from $UP4:5300" expect_contains "$out" "from $UP4:5300 "
check "IPv4 server saw the gateway ($GWU4), not the client" expect_contains "$out" "seen $GWU4:"

out=$(in_cli python3 "$LAB_DIR/udptool.py" client --to "$UP6" --port 5300 --msg ping6)
check "IPv6 answer comes from [$UP6]:5300" expect_contains "$out" "from $UP6:5300 "
check "IPv6 server saw the gateway ($GWU6), not the client" expect_contains "$out" "seen $GWU6:"

out=$(in_cli python3 "$LAB_DIR/udptool.py" client --to "$UP4" --port 5300 --msg again --count 5)
check "a flow's later datagrams are answered too" expect_eq "$(grep -c "from $UP4:5300 seen $GWU4" <<<"$out")" 5

out=$(in_cli python3 "$LAB_DIR/udptool.py" flows --to "$UP4" --port 5300 --n 200)
check "200 concurrent IPv4 flows each get their own answer" expect_contains "$out" "answered 200/200 wrong 0 sources $GWU4"
out=$(in_cli python3 "$LAB_DIR/udptool.py" flows --to "$UP6" --port 5300 --n 200)
check "200 concurrent IPv6 flows each get their own answer" expect_contains "$out" "answered 200/200 wrong 0 sources $GWU6"

active=$(lab_metric flows_active)
check "sessions are held while active ($active)" test "$active" -ge 400
sleep 7.5
check "sessions are gone after the idle timeout" expect_eq "$(lab_metric flows_active)" 0
expired=$(lab_metric flows_expired)
check "expiries are counted ($expired)" test "$expired" -ge 400
check "no datagram lacked its original destination" expect_eq "$(lab_metric rx_no_origdst)" 0

kill -TERM "$SLUICE_PID"
for _ in $(seq 50); do kill -0 "$SLUICE_PID" 2>/dev/null || break; sleep 0.1; done
check "SIGTERM stops sluice" bash -c "! kill -0 $SLUICE_PID 2>/dev/null"
wait "$SLUICE_PID"; rc=$?
check "and it exits 0" expect_eq "$rc" 0
lab_finish
