#!/bin/bash
# A local service in the gateway owns the intercepted port (bound to the
# wildcard, as dnsmasq binds 0.0.0.0:53), IPv4 and IPv6:
#  - datagrams to the gateway's own address reach the local service (the
#    ruleset returns for local destinations), before and after sluice relays;
#  - a flow to 203.0.113.2:5300 is still relayed (the server sees the
#    gateway) and answered from 203.0.113.2:5300, through the raw-socket
#    path because the reply bind is refused (reply_raw, reply_bind_busy);
#  - the local service never sees the intercepted datagrams (no stealing),
#    with and without SO_REUSEADDR on the local service;
#  - documented behaviour: a local service started while sluice holds reply
#    sockets for 203.0.113.2:5300 cannot bind 0.0.0.0:5300 (EADDRINUSE)
#    until those flows end; with SO_REUSEADDR it can, gets its own traffic
#    and none of the flows', and the live flows keep being answered.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

conf=$(lab_conf localsvc.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=2
metrics 127.0.0.1:9153
workers 2
EOF
)
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99
lab_sluice "$conf" || exit 99

client() { in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client "$@"; }
# The answer came from the local service TAG at GW:5300 and it saw the client
# CLI (a dual-stack service sees an IPv4 client as ::ffff:CLI).
local_answer() { expect_match "$1" "^from $(re_ip "$2"):5300 $3 seen (::ffff:)?$(re_ip "$4"):[0-9]+ data"; }
gt() { [ "$1" -gt "$2" ] && return 0; echo "  got $1, want > $2" >&2; return 1; }

# one_family V LOCALNAME TAG - the local-service checks for IPv4 (V=4) or IPv6.
one_family() {
	local v=$1 loc=$2 tag=$3 gw up gwu cli out m0 m1
	if [ "$v" = 4 ]; then gw=$GWC4 up=$UP4 gwu=$GWU4 cli=$CLI4; else gw=$GWC6 up=$UP6 gwu=$GWU6 cli=$CLI6; fi
	out=$(client --to "$gw" --port 5300 --msg "pre$v-$tag")
	check "IPv$v [$tag]: the gateway's own address reaches the local service" \
		local_answer "$out" "$gw" "$tag" "$cli"
	m0=$(lab_metrics)
	out=$(client --to "$up" --port 5300 --msg "via$v-$tag" --count 3)
	check "IPv$v [$tag]: intercepted flow answered from $up:5300 by the server, seen from the gateway" \
		expect_eq "$(grep -c "^from $up:5300 seen $gwu:[0-9]* data via$v-$tag\$" <<<"$out")" 3
	m1=$(lab_metrics)
	check "IPv$v [$tag]: the 3 answers went out raw (reply_raw +3)" \
		expect_eq "$(mval "$m1" reply_raw)" $(($(mval "$m0" reply_raw) + 3))
	check "IPv$v [$tag]: because the reply bind was refused (reply_bind_busy)" \
		gt "$(mval "$m1" reply_bind_busy)" "$(mval "$m0" reply_bind_busy)"
	out=$(client --to "$gw" --port 5300 --msg "post$v-$tag")
	check "IPv$v [$tag]: the local service still gets its own traffic afterwards" \
		local_answer "$out" "$gw" "$tag" "$cli"
	check "IPv$v [$tag]: the local service never saw the intercepted datagrams" \
		bash -c "! grep -q 'data via' '$LAB_WORK/$loc.log'"
}

# 1. Separate 0.0.0.0:5300 and [::]:5300 (IPV6_V6ONLY) services, no SO_REUSEADDR.
lab_server_in "$LAB_GW" loc4 0.0.0.0 5300 --tag local4 --log || exit 99
loc4=$LAB_LAST_PID
lab_server_in "$LAB_GW" loc6 :: 5300 --tag local6 --v6only --log || exit 99
loc6=$LAB_LAST_PID
one_family 4 loc4 local4
one_family 6 loc6 local6
lab_stop "$loc4"
lab_stop "$loc6"

# 2. One dual-stack [::]:5300 service with SO_REUSEADDR (sluice's first bind of
#    an address never sets it, so it must still be refused, not share the port).
lab_server_in "$LAB_GW" locr :: 5300 --tag localr --reuse --log || exit 99
locr=$LAB_LAST_PID
one_family 4 locr localr
one_family 6 locr localr
lab_stop "$locr"

# 3. No local service yet: flows take the normal path (a connected reply
#    socket bound to 203.0.113.2:5300 / [2001:db8:113::2]:5300). Two long
#    flows keep those sockets alive (a datagram every 0.2 s until told to stop) ...
m0=$(lab_metrics)
lab_bg "$LAB_CLI" long4 "$LAB_PY" -u "$LAB_DIR/udptool.py" client --to "$UP4" --port 5300 \
	--msg long4 --count 300 --interval 0.2 --until-file "$LAB_WORK/long.stop"
long4=$LAB_LAST_PID
lab_bg "$LAB_CLI" long6 "$LAB_PY" -u "$LAB_DIR/udptool.py" client --to "$UP6" --port 5300 \
	--msg long6 --count 300 --interval 0.2 --until-file "$LAB_WORK/long.stop"
long6=$LAB_LAST_PID
lab_wait_log long4 "^from" 5 && lab_wait_log long6 "^from" 5
check "IPv4: relayed with no local service" expect_contains "$(cat "$LAB_WORK/long4.log")" "from $UP4:5300 seen $GWU4:"
check "IPv6: relayed with no local service" expect_contains "$(cat "$LAB_WORK/long6.log")" "from $UP6:5300 seen $GWU6:"
m1=$(lab_metrics)
check "through bound reply sockets, not raw" expect_eq "$(mval "$m1" reply_raw)" "$(mval "$m0" reply_raw)"
check "two reply sockets were opened" \
	expect_eq "$(mval "$m1" reply_sockets_opened)" $(($(mval "$m0" reply_sockets_opened) + 2))

# ... and while those flows live, a local service starting on the wildcard
# port collides with sluice's reply sockets. Documented behaviour (kernel
# bind rules, reported to the lead): without SO_REUSEADDR it cannot bind
# until the flows end.
lab_server_in "$LAB_GW" late4 0.0.0.0 5300 --tag late4
check "IPv4: a late local 0.0.0.0:5300 service is refused with EADDRINUSE while flows live" \
	expect_contains "$(cat "$LAB_WORK/late4.log")" "bind failed: EADDRINUSE"
lab_server_in "$LAB_GW" late6 :: 5300 --tag late6 --v6only
check "IPv6: a late local [::]:5300 service is refused with EADDRINUSE while flows live" \
	expect_contains "$(cat "$LAB_WORK/late6.log")" "bind failed: EADDRINUSE"
# With SO_REUSEADDR it binds beside sluice's sockets (which set it after
# their own bind) and gets its own traffic, not the relayed flows'.
if lab_server_in "$LAB_GW" later :: 5300 --tag later --reuse --log; then
	later=$LAB_LAST_PID
	check "a late dual-stack service with SO_REUSEADDR can bind while flows live" true
	out=$(client --to "$GWC4" --port 5300 --msg own4)
	check "IPv4: it gets its own traffic" local_answer "$out" "$GWC4" later "$CLI4"
	out=$(client --to "$GWC6" --port 5300 --msg own6)
	check "IPv6: it gets its own traffic" local_answer "$out" "$GWC6" later "$CLI6"
	out=$(client --to "$UP4" --port 5300 --msg via4-later)
	check "IPv4: a new intercepted flow is still relayed" expect_contains "$out" "from $UP4:5300 seen $GWU4:"
	out=$(client --to "$UP6" --port 5300 --msg via6-later)
	check "IPv6: a new intercepted flow is still relayed" expect_contains "$out" "from $UP6:5300 seen $GWU6:"
	check "and it never saw the intercepted datagrams" \
		bash -c "! grep -q 'data via\|data long' '$LAB_WORK/later.log'"
	lab_stop "$later"
else
	check "a late dual-stack service with SO_REUSEADDR can bind while flows live" false
fi
touch "$LAB_WORK/long.stop"
lab_wait "$long4" 10
lab_wait "$long6" 10
for v in 4 6; do
	if [ $v = 4 ]; then up=$UP4 gwu=$GWU4; else up=$UP6 gwu=$GWU6; fi
	n=$(sed -n 's/^done //p' "$LAB_WORK/long$v.log")
	check "IPv$v: the long flow got all its ${n:-?} answers throughout (at least 3)" \
		test "${n:-0}" -ge 3 -a "$(grep -c "^from $up:5300 seen $gwu:[0-9]* data long$v\$" "$LAB_WORK/long$v.log")" = "${n:-x}"
done

# Once the flows have timed out (2 s idle) and their sockets are closed,
# the local service binds.
for _ in $(seq 40); do
	active=$(lab_metric flows_active)
	[ "$active" = 0 ] && break
	sleep 0.2
done
check "the flows have ended" expect_eq "$active" 0
lab_server_in "$LAB_GW" after4 0.0.0.0 5300 --tag after4
check "IPv4: after the flows end, 0.0.0.0:5300 binds" expect_eq "$?" 0
lab_server_in "$LAB_GW" after6 :: 5300 --tag after6 --v6only
check "IPv6: after the flows end, [::]:5300 binds" expect_eq "$?" 0
out=$(client --to "$GWC4" --port 5300 --msg fin4)
check "IPv4: and gets its traffic" expect_contains "$out" "from $GWC4:5300 after4 seen $CLI4:"
out=$(client --to "$GWC6" --port 5300 --msg fin6)
check "IPv6: and gets its traffic" expect_contains "$out" "from $GWC6:5300 after6 seen $CLI6:"
check "no reply errors" expect_eq "$(lab_metric reply_errors)" 0
lab_finish
