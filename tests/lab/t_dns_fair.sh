#!/bin/bash
# DNS cannot crowd out other clients or other traffic, IPv4 and IPv6.
# Client A is 198.51.100.2 / 2001:db8:100::2 (also ::a and ::b, the same
# /64, so the same client; ::3 too); client B is 198.51.100.3 and
# 2001:db8:101::3 (another /64: an IPv6 client is its /64, so a B inside
# A's /64 would be A). One unbound ("live", 203.0.113.3 / 2001:db8:113::3,
# every name -> 192.0.2.31); the gateway routes 192.0.2.192/27,
# 2001:db8:200::/64, 203.0.113.10 and 2001:db8:113::10 to the upstream ns,
# which drops them: a dead end where datagrams vanish without an error or
# ICMP.
#  a. 20,000 DNS queries from fresh source ports (a family: ports 10000-
#     29999, half a blocked name, half a cached one) leave every relay
#     session in place (max-sessions 200, 50 relay flows a family from
#     client sockets that keep their ports): each flow sends again and is
#     answered on its own socket by the server, which sees the same
#     gateway port as before (the same session); flows_created grew only
#     by the 100 relay flows, nothing evicted. Control: 250 more relay
#     flows a family do evict them, and the same check then sees new
#     gateway ports.
#  b. A with 1,000 distinct queries for a silent group (upstream-timeout
#     5000) does not delay B: B's answer comes in under 1 s while A's
#     queries wait for their 5 s timeout; A keeps 256 waiting
#     (dns-inflight-per-client), the other 744 are dropped and counted in
#     dns_client_limited, and A's 256 get SERVFAIL after the timeout. Over
#     IPv6, A asks from three addresses of its /64, counted as one client;
#     a fourth address of that /64 is refused meanwhile (control: the cap
#     is per /64, and it is A's, not B's).
#  c. Passthrough cannot be starved: A asks 16 black-holed resolvers every
#     200 ms for 3 s (240 queries waiting at once); B's passthrough queries
#     to the real resolver 203.0.113.3 / 2001:db8:113::3 are answered
#     meanwhile, in under 1 s, and reach it from the gateway.
#  d. Under `ulimit -n 1024` (soft and hard: no raising) sluice says it
#     lowered max-sessions; one client opens 1,500 relay flows a family
#     while B's queries (a cached name, a name asked upstream, one over
#     TCP) are answered, dns_upstream_nofd stays 0, sessions stay within
#     the lowered cap (exactly: the workers' shares add up to it), and
#     sluice exits 0 with no sanitizer report. Under that eviction churn
#     no client socket ever gets another flow's answer: a new upstream
#     socket the kernel gives the port of a leg to the same server closed
#     a moment before is set aside (relay_port_retried); before, the old
#     flow's late answers went to the new flow's client (1-3 of 3,000
#     flows a run).
# it loads the machine: no other lab test runs beside it
LAB_EXCLUSIVE=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

A6B=2001:db8:100::a A6C=2001:db8:100::b A6D=2001:db8:100::3
B4=198.51.100.3 B6=2001:db8:101::3
ip -n "$LAB_CLI" addr add "$B4/24" dev c0
for a in $A6B $A6C $A6D $B6; do
	ip -n "$LAB_CLI" addr add "$a/64" dev c0 nodad
done
ip -n "$LAB_GW" addr add 2001:db8:101::1/64 dev gc nodad
# The dead end: the gateway routes these into the upstream ns, which drops
# them before routing (no ICMP, no error for the sender).
ip -n "$LAB_GW" route add 192.0.2.192/27 via "$UP4" || exit 99
ip -n "$LAB_GW" route add 203.0.113.10/32 via "$UP4" || exit 99
ip -n "$LAB_GW" -6 route add 2001:db8:200::/64 via "$UP6" || exit 99
ip -n "$LAB_GW" -6 route add 2001:db8:113::10/128 via "$UP6" || exit 99
in_up nft -f - <<'EOF' || exit 99
table inet deadend {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		ip daddr { 192.0.2.192/27, 203.0.113.10 } drop
		ip6 daddr { 2001:db8:200::/64, 2001:db8:113::10 } drop
	}
}
EOF
# What sluice sends into it.
lab_counter "$LAB_GW" silent4 output "ip daddr 203.0.113.10 udp dport 53" || exit 99
lab_counter "$LAB_GW" silent6 output "ip6 daddr 2001:db8:113::10 udp dport 53" || exit 99
lab_counter "$LAB_GW" bh4 output "ip daddr 192.0.2.192/27 udp dport 53" || exit 99
lab_counter "$LAB_GW" bh6 output "ip6 daddr 2001:db8:200::/64 udp dport 53" || exit 99

lab_unbound live 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99

head="listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2"
conf=$(lab_conf fair.conf <<EOF
$head
max-sessions 200
upstream-timeout 5000
upstream live udp://203.0.113.3
upstream silent4 udp://203.0.113.10
upstream silent6 udp://[2001:db8:113::10]
dns-rule domain:blocked.example block nxdomain
dns-rule domain:silent4.example forward silent4
dns-rule domain:silent6.example forward silent6
dns-rule domain:bh.example passthrough
dns-rule domain:pass.example passthrough
dns-rule all forward live
EOF
)
lab_sluice "$conf" || exit 99

delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# tdig ARGS... - dig from the client ns; prints "MS|STATUS|ANSWERS".
tdig() {
	local t0 out
	t0=$(date +%s%N)
	out=$(lab_dig "$LAB_CLI" "$@")
	echo "$((($(date +%s%N) - t0) / 1000000))|$(dig_status "$out")|$(dig_answers "$out" | tr '\n' ' ' | sed 's/ $//')"
}
ms_of() { echo "${1%%|*}"; }
res_of() { echo "${1#*|}"; }

# q.py - DNS queries without waiting for each answer (bounded in count and
# time). Modes:
#   burst SRC RES N PORT0 NAME...  N queries, query i from a socket of its
#       own bound to SRC:PORT0+i (a fresh source port each), names in turn;
#       prints "sent N errors E".
#   load RES N SUFFIX WAIT SRC...  N distinct queries qI.SUFFIX from one
#       socket per SRC (in turn), prints "sent N", then collects answers for
#       WAIT s: "answers N servfail S first_ms F" (F: the first answer, in ms
#       after the last query went out).
#   pass SRC INTERVAL SECONDS TAG RES...  every INTERVAL s, one query with a
#       new name (pK-I.TAG.bh.example) to each RES, for SECONDS; "sent N".
cat > "$LAB_WORK/q.py" <<'PY'
import select, socket, struct, sys, time

def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET

def query(qid, name):
    q = struct.pack("!HHHHHH", qid & 0xffff, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0\0\1\0\1"

mode, args = sys.argv[1], sys.argv[2:]
stop = time.monotonic() + 60
if mode == "burst":
    src, res, n, port0, names = args[0], args[1], int(args[2]), int(args[3]), args[4:]
    sent = errors = 0
    for i in range(n):
        if time.monotonic() > stop:
            break
        s = socket.socket(fam(res), socket.SOCK_DGRAM)
        try:
            s.bind((src, port0 + i))
            s.sendto(query(i, names[i % len(names)]), (res, 53))
            sent += 1
        except OSError:
            errors += 1
        s.close()
        if i % 200 == 199:
            time.sleep(0.01)  # about 20,000 a second: sluice's listeners keep up
    print("sent %d errors %d" % (sent, errors), flush=True)
elif mode == "load":
    res, n, suffix, wait, srcs = args[0], int(args[1]), args[2], float(args[3]), args[4:]
    socks = []
    for a in srcs:
        s = socket.socket(fam(res), socket.SOCK_DGRAM)
        s.bind((a, 0))
        s.setblocking(False)
        socks.append(s)
    for i in range(n):
        socks[i % len(socks)].sendto(query(i, "q%d.%s" % (i, suffix)), (res, 53))
        if i % 100 == 99:
            time.sleep(0.01)
    t0 = time.monotonic()
    print("sent %d" % n, flush=True)
    answers = servfail = 0
    first = None
    end = t0 + wait
    while time.monotonic() < end and answers < n:
        r, _, _ = select.select(socks, [], [], max(0, end - time.monotonic()))
        for s in r:
            try:
                m = s.recv(4096)
            except OSError:
                continue
            answers += 1
            if first is None:
                first = time.monotonic() - t0
            if len(m) > 3 and m[3] & 15 == 2:
                servfail += 1
    print("answers %d servfail %d first_ms %d" % (answers, servfail, (first or 0) * 1000), flush=True)
elif mode == "pass":
    src, interval, secs, tag, ress = args[0], float(args[1]), float(args[2]), args[3], args[4:]
    s = socket.socket(fam(src), socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    sent, k, end = 0, 0, time.monotonic() + min(secs, 30)
    while time.monotonic() < end:
        for i, r in enumerate(ress):
            s.sendto(query(sent, "p%d-%d.%s.bh.example" % (k, i, tag)), (r, 53))
            sent += 1
        k += 1
        time.sleep(interval)
    print("sent %d" % sent, flush=True)
PY

# ---- a. 20,000 DNS queries from fresh ports leave the relay sessions alone ----
# Control, by reasoning: before DNS took no session, each of these queries
# made a 17 s session; 20,000 of them at max-sessions 200 (100 a worker,
# and 200 for client A) would have evicted the 100 relay sessions many
# times over, and the server would have seen new gateway ports in round 2.
# The live control below (more relay flows) shows the check sees that.
lab_dig "$LAB_CLI" @192.0.2.53 cached.example A >/dev/null
lab_dig "$LAB_CLI" @2001:db8:53::53 cached.example A >/dev/null
m0=$(lab_metrics)
lab_bg "$LAB_CLI" hold4 "$LAB_PY" -u "$LAB_DIR/udptool.py" hold --to "$UP4" --port 5300 --n 50 \
	--rounds 3 --go "$LAB_WORK/go4"
h4=$LAB_LAST_PID
lab_bg "$LAB_CLI" hold6 "$LAB_PY" -u "$LAB_DIR/udptool.py" hold --to "$UP6" --port 5300 --n 50 \
	--rounds 3 --go "$LAB_WORK/go6"
h6=$LAB_LAST_PID
lab_wait_log hold4 "^round 1 " 10
lab_wait_log hold6 "^round 1 " 10
check "IPv4 round 1: 50 relay flows answered through the gateway" \
	expect_contains "$(cat "$LAB_WORK/hold4.log")" "round 1 answered 50/50 same 50 wrong 0 sources $GWU4"
check "IPv6 round 1: 50 relay flows answered through the gateway" \
	expect_contains "$(cat "$LAB_WORK/hold6.log")" "round 1 answered 50/50 same 50 wrong 0 sources $GWU6"
m1=$(lab_metrics)
check "100 relay sessions created" expect_eq "$(delta flows_created)/$(mval "$m1" flows_active)" 100/100

m0=$m1
b4=$(in_cli "$LAB_PY" "$LAB_WORK/q.py" burst "$CLI4" 192.0.2.53 20000 10000 x.blocked.example cached.example)
b6=$(in_cli "$LAB_PY" "$LAB_WORK/q.py" burst "$CLI6" 2001:db8:53::53 20000 10000 x.blocked.example cached.example)
sleep 0.5
m1=$(lab_metrics)
check "IPv4 burst: 20,000 queries sent, each from its own port" expect_eq "$b4" "sent 20000 errors 0"
check "IPv6 burst: 20,000 queries sent, each from its own port" expect_eq "$b6" "sent 20000 errors 0"
n=$(delta dns_queries)
check "sluice got the 40,000 queries ($n; a few may drop in the kernel)" expect_ge "$n" 39000
check "... answered by the block and the cache ($(delta dns_blocked) blocked, $(delta dns_cache_hits) hits)" \
	expect_ge $(($(delta dns_blocked) + $(delta dns_cache_hits))) "$n"
check "the burst created no session" expect_eq "$(delta flows_created)" 0
check "the 100 relay sessions are all still there" expect_eq "$(mval "$m1" flows_active)" 100
touch "$LAB_WORK/go4.2" "$LAB_WORK/go6.2"
lab_wait_log hold4 "^round 2 " 10
lab_wait_log hold6 "^round 2 " 10
check "IPv4 round 2: every flow answered on its socket, by the same session (gateway port)" \
	expect_contains "$(cat "$LAB_WORK/hold4.log")" "round 2 answered 50/50 same 50 wrong 0 sources $GWU4"
check "IPv6 round 2: every flow answered on its socket, by the same session (gateway port)" \
	expect_contains "$(cat "$LAB_WORK/hold6.log")" "round 2 answered 50/50 same 50 wrong 0 sources $GWU6"
m2=$(lab_metrics)
check "nothing evicted, no new session (flows_evicted/flows_evicted_client/flows_created +)" \
	expect_eq "$(mval "$m2" flows_evicted)/$(mval "$m2" flows_evicted_client)/$(($(mval "$m2" flows_created) - $(mval "$m0" flows_created)))" 0/0/0

# Control: 250 more relay flows a family do push the held ones out, and
# round 3 sees it.
in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --to "$UP4" --port 5300 --n 250 >/dev/null
in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --to "$UP6" --port 5300 --n 250 >/dev/null
touch "$LAB_WORK/go4.3" "$LAB_WORK/go6.3"
lab_wait_log hold4 "^round 3 " 10
lab_wait_log hold6 "^round 3 " 10
m3=$(lab_metrics)
same() { sed -n "s/^round 3 answered [0-9]*\/50 same \([0-9]*\) .*/\1/p" "$LAB_WORK/hold$1.log"; }
check "control: 500 more relay flows evict ($(mval "$m3" flows_evicted) + $(mval "$m3" flows_evicted_client))" \
	expect_ge $(($(mval "$m3" flows_evicted) + $(mval "$m3" flows_evicted_client))) 1
check "control: IPv4 round 3 sees evicted sessions (same $(same 4) < 50)" expect_le "$(same 4)" 49
check "control: IPv6 round 3 sees evicted sessions (same $(same 6) < 50)" expect_le "$(same 6)" 49
lab_wait "$h4" 5
lab_wait "$h6" 5

# ---- b. A's 1,000 queries waiting on a silent group do not delay B ----
for v in 4 6; do
	if [ $v = 4 ]; then
		res=192.0.2.53 srcs=$CLI4 b=$B4 other=$CLI4 live=203.0.113.3
	else
		res=2001:db8:53::53 srcs="$CLI6 $A6B $A6C" b=$B6 other=$A6D live=2001:db8:113::3
	fi
	m0=$(lab_metrics)
	s0=$(lab_counter_get "$LAB_GW" silent$v)
	lab_bg "$LAB_CLI" load$v "$LAB_PY" -u "$LAB_WORK/q.py" load $res 1000 silent$v.example 8 $srcs
	lp=$LAB_LAST_PID
	lab_wait_log load$v "^sent 1000" 10
	bq=$(tdig -b $b @$res b$v.live.example A)
	aq=$(tdig -b $other +time=1 @$res a$v.live.example A)
	m1=$(lab_metrics)
	check "IPv$v: A's queries were waiting meanwhile ($(mval "$m1" dns_upstream_sockets) upstream sockets open)" \
		expect_ge "$(mval "$m1" dns_upstream_sockets)" 256
	lab_wait "$lp" 12
	check "IPv$v: B ($b) is answered in $(ms_of "$bq") ms < 1000 while A's 1,000 wait" \
		expect_eq "$(res_of "$bq")" "NOERROR|A 192.0.2.31"
	check "IPv$v: ... in under 1 s ($(ms_of "$bq") ms)" expect_le "$(ms_of "$bq")" 999
	check "IPv$v: control: $other (client A$([ $v = 6 ] && echo ", its /64")) at its cap: no answer" \
		expect_eq "$(res_of "$aq")" "none|"
	out=$(cat "$LAB_WORK/load$v.log")
	check "IPv$v: A's 256 waiting queries get SERVFAIL after the timeout, the rest nothing" \
		expect_match "$out" "^answers 256 servfail 256 first_ms"
	first=$(sed -n 's/.*first_ms \([0-9]*\)$/\1/p' <<<"$out")
	check "IPv$v: ... not before 4.5 s ($first ms): B's query went while they waited" \
		expect_ge "${first:-0}" 4500
	lim=$(delta dns_client_limited)
	check "IPv$v: dns_client_limited +$lim (1000 - 256 from A, 1 from the control)" \
		expect_eq "$lim" 745
	check "IPv$v: the silent server got A's 256 queries (one try each at least)" \
		expect_ge $(($(lab_counter_get "$LAB_GW" silent$v) - s0)) 256
	check "IPv$v: the live upstream saw B's query from the gateway" \
		expect_eq "$(lab_unbound_seen live b$v.live.example A | wc -l)" 1
done

# ---- c. Passthrough cannot be starved ----
bh4=() bh6=()
for i in $(seq 200 215); do bh4+=(192.0.2.$i); done
for i in $(seq 1 16); do bh6+=(2001:db8:200::$(printf %x $i)); done
for v in 4 6; do
	if [ $v = 4 ]; then src=$CLI4 b=$B4 live=203.0.113.3 gw=$GWU4 bh=("${bh4[@]}")
	else src=$CLI6 b=$B6 live=2001:db8:113::3 gw=$GWU6 bh=("${bh6[@]}"); fi
	m0=$(lab_metrics)
	c0=$(lab_counter_get "$LAB_GW" bh$v)
	lab_bg "$LAB_CLI" pass$v "$LAB_PY" -u "$LAB_WORK/q.py" pass $src 0.2 3 v$v "${bh[@]}"
	pp=$LAB_LAST_PID
	sleep 1
	res=()
	for i in 1 2 3 4 5; do
		res+=("$(tdig -b $b @$live p$i.v$v.pass.example A)")
		sleep 0.2
	done
	up=$(lab_metric dns_upstream_sockets)
	lab_wait "$pp" 10
	m1=$(lab_metrics)
	check "IPv$v: A asked 16 black-holed resolvers every 200 ms ($(cat "$LAB_WORK/pass$v.log"))" \
		expect_ge "$(sed -n 's/^sent //p' "$LAB_WORK/pass$v.log")" 224
	check "IPv$v: A's queries were waiting meanwhile ($up upstream sockets open)" expect_ge "$up" 150
	check "IPv$v: sluice passed them on into the dead end ($(($(lab_counter_get "$LAB_GW" bh$v) - c0)) datagrams)" \
		expect_ge $(($(lab_counter_get "$LAB_GW" bh$v) - c0)) 224
	for i in 1 2 3 4 5; do
		r=${res[$((i - 1))]}
		check "IPv$v: B's passthrough query $i to $live answered meanwhile, in $(ms_of "$r") ms" \
			expect_eq "$(res_of "$r")" "NOERROR|A 192.0.2.31"
		check "IPv$v: ... in under 1 s" expect_le "$(ms_of "$r")" 999
		check "IPv$v: ... by $live itself, asked by the gateway" \
			expect_eq "$(lab_unbound_seen live p$i.v$v.pass.example A)" "$gw"
	done
	check "IPv$v: every one of them was a passthrough ($(delta dns_passthrough))" \
		expect_ge "$(delta dns_passthrough)" 229
done
lab_sluice_exit

# ---- d. Few descriptors: ulimit -n 1024, soft and hard ----
conf=$(lab_conf fd.conf <<EOF
$head
upstream live udp://203.0.113.3
dns-rule all forward live
EOF
)
lab_nft "$conf" || exit 99 # the routes are in since the first start
mv "$LAB_WORK/sluice.log" "$LAB_WORK/sluice-a.log" # lab_wait_log must not see its "running"
lab_bg "$LAB_GW" sluice bash -c 'ulimit -n 1024 && exec "$@"' sh "$SLUICE" -c "$conf"
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice "running" 10 || exit 99
check "sluice runs with 1024 descriptors, soft and hard" \
	expect_match "$(cat "/proc/$SLUICE_PID/limits")" "^Max open files +1024 +1024 "
cap=$(sed -n 's/.*max-sessions 65536 lowered to \([0-9]*\): RLIMIT_NOFILE is 1024 .*/\1/p' "$LAB_WORK/sluice.log")
check "its log says max-sessions was lowered (to ${cap:-?})" test -n "$cap"
lab_dig "$LAB_CLI" -b $B4 @192.0.2.53 c.fd.example A >/dev/null
m0=$(lab_metrics)
lab_bg "$LAB_CLI" fd4 "$LAB_PY" -u "$LAB_DIR/udptool.py" hold --to "$UP4" --port 5300 --n 1500 \
	--rounds 2 --timeout 3 --go "$LAB_WORK/fd4go"
f4=$LAB_LAST_PID
lab_bg "$LAB_CLI" fd6 "$LAB_PY" -u "$LAB_DIR/udptool.py" hold --to "$UP6" --port 5300 --n 1500 \
	--rounds 2 --timeout 3 --go "$LAB_WORK/fd6go"
f6=$LAB_LAST_PID
lab_wait_log fd4 "^round 1 " 10
lab_wait_log fd6 "^round 1 " 10
m1=$(lab_metrics)
nfd=$(ls "/proc/$SLUICE_PID/fd" | wc -l)
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 b=$B4; else res=2001:db8:53::53 b=$B6; fi
	check "IPv$v: A sent on 1,500 relay flows at once ($(sed -n 's/^round 1 \(answered [0-9]*\/1500\).*/\1/p' "$LAB_WORK/fd$v.log"): the cap evicts most before their answer)" \
		grep -q "^round 1 answered" "$LAB_WORK/fd$v.log"
	check "IPv$v: B's cached name is answered" \
		expect_eq "$(dig_answers "$(lab_dig "$LAB_CLI" -b $b @$res c.fd.example A)")" "A 192.0.2.31"
	check "IPv$v: B's uncached name is answered from upstream" \
		expect_eq "$(dig_answers "$(lab_dig "$LAB_CLI" -b $b @$res u$v.fd.example A)")" "A 192.0.2.31"
	check "IPv$v: B's query over TCP is answered" \
		expect_eq "$(dig_answers "$(lab_dig "$LAB_CLI" +tcp -b $b @$res t$v.fd.example A)")" "A 192.0.2.31"
done
m2=$(lab_metrics)
m0_=$m0 m0=$m1 m1=$m2
check "the 6 queries: 2 cache hits, 4 upstream answers, 2 TCP connections" \
	expect_eq "$(delta dns_cache_hits)/$(delta dns_upstream_answers)/$(delta dns_tcp_accepted)" 2/4/2
check "dns_upstream_nofd stayed 0" expect_eq "$(mval "$m2" dns_upstream_nofd)" 0
m0=$m0_ m1=$m2
ev=$(($(delta flows_evicted) + $(delta flows_evicted_client)))
check "sessions stay within the lowered cap ($(mval "$m1" flows_active) <= $cap; $(delta flows_created) created, $ev evicted)" \
	expect_le "$(mval "$m1" flows_active)" "$cap"
check "... most of the 3,000 flows got a session ($(delta flows_created))" expect_ge "$(delta flows_created)" 2000
check "sluice holds $nfd descriptors (< 1024)" expect_le "$nfd" 1023
# Round 2: every socket sends again (more eviction churn), then the hold
# clients exit. B's new flows still get their answers (from B: A's ports
# may still have sessions, and a new socket of A's on such a port would
# land in one that is being evicted).
touch "$LAB_WORK/fd4go.2" "$LAB_WORK/fd6go.2"
lab_wait "$f4" 10
lab_wait "$f6" 10
retried=$(lab_metric relay_port_retried)
for v in 4 6; do
	check "IPv$v: no flow ever got another flow's answer (ports set aside: $retried) ($(grep -h '^round' "$LAB_WORK/fd$v.log" | tr '\n' ' '))" \
		expect_eq "$(grep -c '^round [12] answered [0-9]*/1500 same [0-9]* wrong 0 ' "$LAB_WORK/fd$v.log")" 2
done
# Each flow sends twice, as a client would retry: while A's sessions are
# evicted and their sockets closed, a datagram may find no descriptor free
# (counted); the second gets a session. None may ever get another's answer.
for v in 4 6; do
	if [ $v = 4 ]; then b=$B4 up=$UP4 gw=$(re_ip $GWU4); else b=$B6 up=$UP6 gw=$GWU6; fi
	out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --bind $b --to "$up" --port 5300 --n 100 --rounds 2)
	check "IPv$v: after the churn, 100 new relay flows of B each get their answer ($(tr '\n' ' ' <<<"$out"))" \
		expect_match "$(tr '\n' ' ' <<<"$out")" "^answered [0-9]+/100 wrong 0 sources $gw .*round 2 answered 100/100 same [0-9]+ wrong 0"
done
check "sluice never ran out of descriptors for DNS (dns_upstream_nofd 0)" \
	expect_eq "$(lab_metric dns_upstream_nofd)" 0
check "sluice's log reports no descriptor shortage" \
	bash -c "! grep -Ei 'too many open files|EMFILE' '$LAB_WORK/sluice.log'"
lab_sluice_exit
lab_finish
