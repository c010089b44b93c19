#!/bin/bash
# The relay's GSO/GRO path, IPv4 and IPv6. A client and a server that send
# bursts as UDP GSO packets (what a QUIC stack does, and what a NIC's GRO
# hands a socket that asks for it): sluice reads each run as one (UDP_GRO),
# splits it into its datagrams, and sends them on as GSO packets itself.
# Both ends get every datagram of a 200-datagram burst (the last one
# shorter), intact and in order; both read runs that sluice sent as GSO
# packets (coalesced); sluice counted the runs it read (rx_gro).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

conf=$(lab_conf relay-gso.conf <<EOF2
listen 0.0.0.0:15000 [::]:15000
intercept udp 5301 relay timeout=6
metrics 127.0.0.1:9153
workers 1
EOF2
)
gso_server() { # NAME ADDR
	lab_bg "$LAB_UP" "$1" "$LAB_PY" -u "$LAB_DIR/gsotool.py" server --bind "$2" --port 5301
	lab_wait_log "$1" ready 10
}
gso_server gso4 "$UP4" || exit 99
gso_server gso6 "$UP6" || exit 99
lab_sluice "$conf" || exit 99

for v in 4 6; do
	up=UP$v
	out=$(in_cli "$LAB_PY" "$LAB_DIR/gsotool.py" client --to "${!up}" --port 5301)
	check "IPv$v: the client got the 200 echoed datagrams intact and in order" \
		expect_match "$out" "client got 200/200 in-order 200 "
	check "IPv$v: sluice sent the client runs as GSO packets" \
		expect_match "$out" "coalesced [1-9]"
	srv=$(cat "$LAB_WORK/gso$v.log")
	check "IPv$v: the server got the 200 datagrams intact and in order" \
		expect_match "$srv" "server got 200/200 in-order 200 "
	check "IPv$v: sluice sent the server runs as GSO packets" \
		expect_match "$srv" "server got .* coalesced [1-9]"
done
check "sluice read runs coalesced by the kernel, both ways ($(lab_metric rx_gro))" \
	expect_ge "$(lab_metric rx_gro)" 4
check "and split every one (datagrams relayed up: $(lab_metric relay_tx))" \
	expect_ge "$(lab_metric relay_tx)" 400
check "nothing failed to send" expect_eq "$(lab_metric relay_tx_errors)$(lab_metric reply_errors)" 00
lab_finish
