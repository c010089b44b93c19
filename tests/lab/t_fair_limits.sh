#!/bin/bash
# Per-client limits, IPv4 and IPv6, two workers:
#  - dns-rate-limit 200 400: client A floods queries at full speed for 4 s;
#    client B's queries (one every 20 ms) are all answered, with a p99
#    latency within 2x of B's unloaded p99; A got far fewer answers than it
#    asked, the rest dropped by the ruleset's per-source limiter (most) and
#    sluice's own (dns_rate_limited); B never limited;
#  - relay-rate-limit 100 100: A's burst of 1000 datagrams through a relay
#    flow gets at most burst + rate x the time it took to send (+ slack)
#    through, the rest counted;
#    B's relay flow is untouched;
#  - max-sessions-per-client 10 across both workers: A's 40 relay flows
#    leave A with at most 10 sessions in the whole process, and B's flows
#    are all served;
#  - allow: a client outside it gets nothing, over UDP and TCP, counted in
#    rx_denied; clients inside are served.
# it loads the machine: no other lab test runs beside it
LAB_EXCLUSIVE=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

# Client B: its own address (IPv6 in another /64, routed by the gateway).
ip -n "$LAB_CLI" addr add 198.51.100.3/24 dev c0
ip -n "$LAB_CLI" addr add 2001:db8:101::3/64 dev c0 nodad
ip -n "$LAB_GW" route add 2001:db8:101::/64 via "$CLI6" dev gc
# A client outside `allow`.
ip -n "$LAB_CLI" addr add 198.51.100.9/24 dev c0
ip -n "$LAB_CLI" addr add 2001:db8:109::9/64 dev c0 nodad
ip -n "$LAB_GW" route add 2001:db8:109::/64 via "$CLI6" dev gc

lab_unbound up 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_server echo4 203.0.113.2 5300 || exit 99
lab_server echo6 2001:db8:113::2 5300 || exit 99

conf=$(lab_conf fair.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 5300 relay
metrics 127.0.0.1:9153
workers 2
allow 198.51.100.2 198.51.100.3 2001:db8:100::/64 2001:db8:101::/64
dns-rate-limit 200 400
relay-rate-limit 100 100
max-sessions-per-client 10
upstream up udp://203.0.113.3
dns-rule all forward up
EOF
)
lab_sluice "$conf" || exit 99
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# kdrops SET - datagrams the ruleset's per-source limiter on SET (4 and 6)
# dropped in the kernel so far (the counters of the rules updating it).
kdrops() {
	in_gw nft list chain inet sluice prerouting |
		awk -v set="@$1" 'index($0, set) { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
			END { print n + 0 }'
}

# latencies SRC RES N GAP - query N times from SRC (one every GAP s), print
# "answered p99_us".
latencies() {
	in_cli "$LAB_PY" - "$@" <<'PY'
import socket, struct, sys, time
src, res, n, gap = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in res else socket.AF_INET
lat = []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0)); s.connect((res, 53)); s.settimeout(1)
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x01b\x07example\x00\x00\x01\x00\x01"
    t0 = time.perf_counter(); s.send(q)
    try:
        s.recv(512); lat.append((time.perf_counter() - t0) * 1e6)
    except socket.timeout:
        pass
    s.close(); time.sleep(gap)
lat.sort()
p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 9999
print(len(lat), int(p99 + 0.5))
PY
}
# flood SRC RES SECONDS [PORT] - queries as fast as one socket sends them
# (to port 53, or PORT), bounded in time.
flood() {
	in_cli "$LAB_PY" - "$@" <<'PY'
import socket, struct, sys, time
src, res, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
port = int(sys.argv[4]) if len(sys.argv) > 4 else 53
fam = socket.AF_INET6 if ":" in res else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((src, 0)); s.connect((res, port)); s.setblocking(False)
q = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x01a\x07example\x00\x00\x01\x00\x01"
sent = got = 0
end = time.time() + secs
while time.time() < end and sent < 2000000:
    try:
        s.send(q); sent += 1
    except BlockingIOError:
        pass
    try:
        while True:
            s.recv(512); got += 1
    except BlockingIOError:
        pass
print(sent, got)
PY
}

for v in 4 6; do
	if [ $v = 4 ]; then A=198.51.100.2 B=198.51.100.3 X=198.51.100.9 res=192.0.2.53 echo=203.0.113.2
	else A=2001:db8:100::2 B=2001:db8:101::3 X=2001:db8:109::9 res=2001:db8:53::53 echo=2001:db8:113::2; fi
	lab_dig "$LAB_CLI" @$res b.example A >/dev/null # cached from here on
	read -r n0 p0 <<<"$(latencies $B $res 100 0.01)"
	# The same flood at a port nothing intercepts: the machine as busy
	# (2 vCPUs: the flooder takes one), sluice not involved.
	flood $A $res 4 9 >/dev/null 9>&- &
	fpid=$!
	sleep 0.5
	read -r nc pc <<<"$(latencies $B $res 150 0.02)"
	wait $fpid
	m0=$(lab_metrics)
	k0=$(lab_udp_drops "$LAB_GW")
	r0=$(kdrops dns_limit)
	flood $A $res 4 >"$LAB_WORK/flood$v.txt" 9>&- &
	fpid=$!
	sleep 0.5
	read -r n1 p1 <<<"$(latencies $B $res 150 0.02)"
	wait $fpid
	m1=$(lab_metrics)
	read -r sent got <"$LAB_WORK/flood$v.txt"
	check "IPv$v dns-rate-limit: B answered 150/150 during A's flood" expect_eq "$n1" 150
	# The ruleset drops A's excess before it queues ahead of B's queries.
	check "IPv$v dns-rate-limit: B's p99 ${p1} us within 2x its p99 with sluice unloaded (${pc} us with the flood elsewhere, ${p0} us quiet)" \
		test "$p1" -le $((2 * (pc > p0 ? pc : p0)))
	check "IPv$v dns-rate-limit: A got $got of $sent answered (<= burst + 4.5 s x 200 + slack)" \
		test "$got" -le 1400
	# the ruleset's limiter drops most; what reaches sluice over the limit
	# is dropped by its own; full socket buffers (a busy machine) drop the rest
	kr=$(($(kdrops dns_limit) - r0))
	kd=$(($(lab_udp_drops "$LAB_GW") - k0))
	check "IPv$v dns-rate-limit: the rest dropped ($kr by the ruleset, $(delta dns_rate_limited) by sluice, $kd with full buffers)" \
		test $((kr + $(delta dns_rate_limited) + kd)) -ge $((sent - 1500))
	check "IPv$v dns-rate-limit: the ruleset's limiter took most of the flood ($kr of $sent)" \
		test "$kr" -ge $((sent / 2))

	# relay-rate-limit
	m0=$(lab_metrics)
	r0=$(kdrops relay_limit)
	out=$(in_cli "$LAB_PY" - $A $echo <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0)); s.connect((sys.argv[2], 5300)); s.settimeout(0.5)
t0 = time.monotonic()
for i in range(1000):
    s.send(b"burst-%d" % i)
    if i % 50 == 49:
        time.sleep(0.003)  # room for sluice to read: a kernel drop is no limiter's
ms = int((time.monotonic() - t0) * 1000)
got = 0
try:
    while True:
        s.recv(2000); got += 1
except socket.timeout:
    pass
print(got, ms)
PY
)
	m1=$(lab_metrics)
	# burst 100, then 100/s while the sender was sending (slow on a busy
	# machine) and the last datagrams were on their way, plus slack
	ms=${out#* } out=${out% *}
	lim=$((100 + 100 * (ms + 300) / 1000 + 20))
	check "IPv$v relay-rate-limit: $out of 1000 went through in $ms ms (<= $lim)" test "$out" -le "$lim"
	rl=$(delta relay_rate_limited)
	kr=$(($(kdrops relay_limit) - r0))
	check "IPv$v relay-rate-limit: the rest dropped ($kr by the ruleset, $rl by sluice; $out passed)" \
		test $((kr + rl + out)) -ge 950
	out=$(in_cli "$LAB_PY" -u "$LAB_DIR/udptool.py" flows --to $echo --port 5300 --n 3 --bind $B --timeout 3 2>&1)
	check "IPv$v relay-rate-limit: another client's flow untouched" \
		expect_match "$out" "^answered 3/3 wrong 0"

	# max-sessions-per-client across workers (A already holds its burst flow)
	m0=$(lab_metrics)
	out=$(in_cli "$LAB_PY" -u "$LAB_DIR/udptool.py" flows --to $echo --port 5300 --n 40 \
		--bind $A --timeout 3 2>/dev/null)
	m1=$(lab_metrics)
	active=$(($(mval "$m1" flows_active) - $(mval "$m0" flows_active)))
	check "IPv$v per-client cap: A's 40 flows left it at most 10 sessions in all (+$active)" \
		test "$active" -le 9
	check "IPv$v per-client cap: the others evicted or refused" \
		test "$(($(delta flows_evicted_client) + $(delta flows_refused)))" -ge 30
	# B holds 3 flows from the relay-rate-limit check: 7 more fill its 10
	# (an 8th would evict one of B's own, maybe one still waiting for its echo).
	out=$(in_cli "$LAB_PY" -u "$LAB_DIR/udptool.py" flows --to $echo --port 5300 --n 7 \
		--bind $B --timeout 3 2>/dev/null)
	check "IPv$v per-client cap: B's 7 flows (10 with its 3 earlier) all served" \
		expect_match "$out" "^answered 7/7 wrong 0"

	# allow
	m0=$(lab_metrics)
	out=$(in_cli dig +time=1 +tries=1 -b $X @$res x.example A 2>&1)
	check "IPv$v allow: a client outside it gets no UDP answer" expect_eq "$(dig_status "$out")" none
	out=$(in_cli dig +tcp +time=1 +tries=1 -b $X @$res x.example A 2>&1)
	check "IPv$v allow: nor a TCP one" expect_eq "$(dig_status "$out")" none
	m1=$(lab_metrics)
	check "IPv$v allow: counted in rx_denied" test "$(delta rx_denied)" -ge 2
	out=$(in_cli dig +time=1 +tries=1 -b $B @$res x.example A 2>&1)
	check "IPv$v allow: a client inside it is answered" expect_eq "$(dig_status "$out")" NOERROR
done
lab_sluice_exit
lab_finish
