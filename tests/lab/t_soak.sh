#!/bin/bash
# Soak: the gateway at saturation for SOAK_SECONDS (60), IPv4 and IPv6.
# unbound "up" (203.0.113.3 / ::3) answers hit-*.hit.example (TTL 300: cache
# hits after the first), miss-*.miss.example (TTL 1: the 20,000 names come
# round again after their answers expired: misses), and NXDOMAIN for the
# rest (nx-*.example); *.blocked.example and the names of
# tests/data/dns/ads.txt are blocked by sluice (2 workers). The load:
#  - dnsperf over UDP from each family (100 queries outstanding each) and
#    over TCP (IPv4, 20 outstanding on 2 connections): 40% hits, 25%
#    misses, 20% NXDOMAIN, 15% blocked, as fast as they are answered;
#  - malformed DNS datagrams (5 bytes, responses, two questions, a cut
#    question, random bytes), 200 a second a family;
#  - relay flows (port 5300, timeout=5: 10 new flows a family every 100 ms,
#    3 datagrams each) and QUIC-like flows (port 443, timeout=5: 1200-byte
#    long-header Initials that do not decrypt, 5 new a family every 100 ms),
#    to udptool servers that answer every datagram.
# Afterwards:
#  - every well-formed query was answered or counted as dropped: the
#    queries dnsperf lost over UDP are at most what sluice counted
#    (dns_client_limited, dns_rate_limited, reply_errors) plus what the
#    kernel dropped for full receive buffers in the namespaces; none were
#    lost over TCP;
#  - the malformed datagrams were counted (dns_dropped + dns_formerr grew
#    by what was sent, less kernel drops);
#  - the relay and QUIC flows were answered (at least 90%);
#  - RSS stayed under 160 MB (900 MB under ASan), sampled every 2 s;
#  - once the timeouts have run (20 s at most), sessions, upstream sockets,
#    DNS/TCP connections and the process's descriptors are back to their
#    starting counts; a real QUIC Initial still gets its SNI read and
#    passed, and DNS still answers;
#  - sluice exits 0 on SIGTERM without a sanitizer report.
# it loads the machine: no other lab test runs beside it
LAB_EXCLUSIVE=1
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dnsperf >/dev/null || { echo "SKIP: dnsperf not installed" >&2; exit 77; }
lab_up || exit 99
W=$LAB_WORK
D=$(cd "$LAB_DIR/../data/dns" && pwd)
SECS=${SOAK_SECONDS:-60}

lab_unbound up 203.0.113.3 2001:db8:113::3 "verbosity: 0" "log-queries: no" \
	'local-zone: "hit.example." redirect' 'local-data: "hit.example. 300 IN A 192.0.2.31"' \
	'local-data: "hit.example. 300 IN AAAA 2001:db8:31::31"' \
	'local-zone: "miss.example." redirect' 'local-data: "miss.example. 1 IN A 192.0.2.32"' \
	'local-data: "miss.example. 1 IN AAAA 2001:db8:32::32"' || exit 99
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99
lab_server q4 203.0.113.7 443 || exit 99
lab_server q6 2001:db8:113::7 443 || exit 99

conf=$(lab_conf soak.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 5300 relay timeout=5
intercept udp 443 quic timeout=5
metrics 127.0.0.1:9153
workers 2
upstream up udp://203.0.113.3 udp://[2001:db8:113::3]
list ads adblock:$D/ads.txt
dns-rule domain:blocked.example block nxdomain
dns-rule list:ads block nxdomain
dns-rule all forward up
EOF
)
# Load and gateway run niced (10 and 5): make check runs two tests at once,
# and the other one keeps its share of the CPUs.
lab_rules "$conf" || exit 99
lab_bg "$LAB_GW" sluice nice -n 5 "$SLUICE" -c "$conf"
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice running 10 || exit 1

# The query files: 40% hits, 25% misses, 20% NXDOMAIN, 15% blocked.
ads="ad.doubleclick.net doubleclick.net google-analytics.com ads.example nyda.pro"
for t in A AAAA; do
	awk -v t=$t -v ads="$ads" 'BEGIN { n = split(ads, ad, " ")
		for (i = 0; i < 20000; i++) {
			k = i % 20
			if (k < 8) print "hit-" i % 50 ".hit.example " t
			else if (k < 13) print "miss-" i ".miss.example " t
			else if (k < 17) print "nx-" i ".example " t
			else if (k < 19) print "b" i ".blocked.example " t
			else print "x" i % 7 "." ad[i % n + 1] " " t
		} }' > "$W/q-$t.txt"
done

fds() { ls "/proc/$SLUICE_PID/fd" | wc -l; }
rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$SLUICE_PID/status"; }
# Warm up, then the starting counts. Each worker keeps a transparent reply
# socket per original destination it has answered for (the reply socket
# cache), so queries from 12 source ports a family (each a new dig) reach
# both workers: what the soak then adds is not a leak. The idle upstream
# sockets are closed after a second or two.
for res in 192.0.2.53 2001:db8:53::53; do
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		lab_dig "$LAB_CLI" @$res warm.hit.example >/dev/null
	done
	lab_dig "$LAB_CLI" +tcp @$res warm.hit.example >/dev/null
done
sleep 2.5
fd0=$(fds)
rss0=$(rss)
m0=$(lab_metrics)
d0=$(($(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI")))
echo "start: $fd0 descriptors, RSS $rss0 MB, $(mval "$m0" flows_active) sessions"

# Malformed DNS, relay flows and QUIC-like flows, for SECS seconds.
cat > "$W/gen.py" <<'PY'
import os, resource, select, socket, struct, sys, time
secs = float(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
fams = ((socket.AF_INET, "192.0.2.53", "203.0.113.2", "203.0.113.7"),
        (socket.AF_INET6, "2001:db8:53::53", "2001:db8:113::2", "2001:db8:113::7"))
bad = [os.urandom(5), bytes.fromhex("123481800001000000000000") + b"\x01a\x00\x00\x01\x00\x01",
       bytes.fromhex("123401000002000000000000") + b"\x01a\x00\x00\x01\x00\x01\x01b\x00\x00\x01\x00\x01",
       bytes.fromhex("123401000001000000000000") + b"\x05ab"]
dns = {f: socket.socket(f[0], socket.SOCK_DGRAM) for f in fams}
poll = select.poll()
byfd = {}
for f, s in dns.items():
    s.connect((f[1], 53))
    s.setblocking(False)
    poll.register(s, select.POLLIN)
    byfd[s.fileno()] = s
flows = []  # [sock, kind, datagrams left, next send, answers]
bad_sent = made = answered = sent = 0
start = time.monotonic()
end = start + secs
tick = start
while True:
    now = time.monotonic()
    if now >= end and not flows:
        break
    if now >= tick and now < end:
        tick += 0.1
        for f in fams:
            for i in range(20):  # 200 a second a family
                m = bad[i % 5] if i % 5 < 4 else os.urandom(12 + i)
                try:
                    dns[f].send(m)
                    bad_sent += 1
                except OSError:
                    pass
            for kind, n in (("relay", 10), ("quic", 5)):
                for _ in range(n):
                    s = socket.socket(f[0], socket.SOCK_DGRAM)
                    s.connect((f[2], 5300) if kind == "relay" else (f[3], 443))
                    s.setblocking(False)
                    poll.register(s, select.POLLIN)
                    byfd[s.fileno()] = s
                    flows.append([s, kind, 3 if kind == "relay" else 2, now, 0])
                    made += 1
    for fl in flows:
        if fl[2] and fl[3] <= now:
            if fl[1] == "relay":
                d = b"soak"
            else:  # a long header, version 1, an 8-byte DCID, then noise
                d = b"\xc3\x00\x00\x00\x01\x08" + os.urandom(8) + b"\x00\x00" + os.urandom(1184)
            try:
                fl[0].send(d)
                sent += 1
            except OSError:
                pass
            fl[2] -= 1
            fl[3] = now + 0.2
    for fd, _ in poll.poll(10):
        s = byfd[fd]
        try:
            while s.recv(65535):
                if s in dns.values():
                    continue
                answered += 1
        except OSError:
            pass
    keep = []
    for fl in flows:
        if fl[2] == 0 and now > fl[3] + 1.0:
            poll.unregister(fl[0])
            del byfd[fl[0].fileno()]
            fl[0].close()
        else:
            keep.append(fl)
    flows = keep
print("malformed %d flows %d sent %d answered %d" % (bad_sent, made, sent, answered), flush=True)
PY
lab_bg "$LAB_CLI" gen nice -n 10 "$LAB_PY" "$W/gen.py" "$SECS"
gen_pid=$LAB_LAST_PID
lab_bg "$LAB_CLI" perf4 nice -n 10 dnsperf -s 192.0.2.53 -d "$W/q-A.txt" -l "$SECS" -q 100 -c 8 -t 5
p4=$LAB_LAST_PID
lab_bg "$LAB_CLI" perf6 nice -n 10 dnsperf -s 2001:db8:53::53 -d "$W/q-AAAA.txt" -l "$SECS" -q 100 -c 8 -t 5
p6=$LAB_LAST_PID
lab_bg "$LAB_CLI" perftcp nice -n 10 dnsperf -m tcp -s 192.0.2.53 -d "$W/q-A.txt" -l "$SECS" -q 20 -c 2 -t 5
pt=$LAB_LAST_PID

maxrss=$rss0 maxfd=$fd0 maxflows=0
t0=$SECONDS
while ((SECONDS - t0 < SECS + 15)) && { lab_ours $p4 || lab_ours $p6 || lab_ours $pt || lab_ours $gen_pid; }; do
	r=$(rss)
	f=$(fds)
	a=$(mval "$(lab_metrics 2>/dev/null)" flows_active)
	((r > maxrss)) && maxrss=$r
	((f > maxfd)) && maxfd=$f
	[[ $a =~ ^[0-9]+$ ]] && ((a > maxflows)) && maxflows=$a
	sleep 2
done
for p in $p4 $p6 $pt $gen_pid; do lab_wait "$p" 15; done
m1=$(lab_metrics)
d1=$(($(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI")))
kdrops=$((d1 - d0))
echo "peak: RSS $maxrss MB, $maxfd descriptors, $maxflows sessions; kernel drops $kdrops"

# perf NAME - "sent completed lost" from dnsperf's report.
perf() {
	awk '/Queries sent:/ { s = $3 } /Queries completed:/ { c = $3 } /Queries lost:/ { l = $3 }
		END { print s + 0, c + 0, l + 0 }' "$W/$1.log"
}
for p in perf4 perf6 perftcp; do
	echo "$p: $(grep -E 'Queries (sent|completed|lost)|Queries per second|Response codes' "$W/$p.log" | tr -s ' ' | tr '\n' ';')"
done
read -r s4 c4 l4 <<<"$(perf perf4)"
read -r s6 c6 l6 <<<"$(perf perf6)"
read -r st ct lt <<<"$(perf perftcp)"
counted=$(($(mdelta "$m0" "$m1" dns_client_limited) + $(mdelta "$m0" "$m1" dns_rate_limited) + \
	$(mdelta "$m0" "$m1" reply_errors) + kdrops))
check "dnsperf ran on both families and TCP ($s4, $s6, $st queries, each > 1000)" \
	test "$s4" -gt 1000 -a "$s6" -gt 1000 -a "$st" -gt 1000
check "UDP: lost queries ($l4 + $l6) <= counted as dropped ($counted)" expect_le $((l4 + l6)) "$counted"
check "TCP: no query lost ($lt of $st)" expect_eq "$lt" 0
check "the mix reached sluice: hits, misses, blocked and NXDOMAIN all grew" test \
	"$(mdelta "$m0" "$m1" dns_cache_hits)" -gt 1000 -a "$(mdelta "$m0" "$m1" dns_cache_misses)" -gt 1000 -a \
	"$(mdelta "$m0" "$m1" dns_blocked)" -gt 1000

read -r _ bad _ nflows _ fsent _ fans <<<"$(cat "$W/gen.log")"
malf=$(($(mdelta "$m0" "$m1" dns_dropped) + $(mdelta "$m0" "$m1" dns_formerr)))
check "malformed datagrams counted ($malf of $bad sent, less $kdrops kernel drops)" \
	expect_ge $((malf + kdrops)) "${bad:-1}"
check "relay and QUIC-like flows answered ($fans of $fsent datagrams, >= 90%)" \
	expect_ge $((fans * 10)) $((fsent * 9))
check "quic flows went through the QUIC service ($(mdelta "$m0" "$m1" quic_flows))" \
	expect_ge "$(mdelta "$m0" "$m1" quic_flows)" 100

bound=160
grep -qa __asan_init "$SLUICE" && bound=900
check "RSS stayed under $bound MB (peak $maxrss MB)" expect_le "$maxrss" "$bound"

# Back to the starting counts once the timeouts (5 s) have run.
for ((i = 0; i < 40; i++)); do
	m=$(lab_metrics)
	f=$(fds)
	[ "$(mval "$m" flows_active)" = 0 ] && [ "$(mval "$m" dns_upstream_sockets)" = 0 ] &&
		[ "$(mval "$m" dns_tcp_connections)" = 0 ] && [ "$f" -le "$fd0" ] && break
	sleep 0.5
done
check "sessions back to 0" expect_eq "$(mval "$m" flows_active)" 0
check "upstream sockets back to 0" expect_eq "$(mval "$m" dns_upstream_sockets)" 0
check "DNS/TCP connections back to 0" expect_eq "$(mval "$m" dns_tcp_connections)" 0
check "descriptors back to the start ($f <= $fd0)" expect_le "$f" "$fd0"
if [ "$f" -gt "$fd0" ]; then # which ones: sluice's sockets as ss sees them, the other descriptors
	ip netns exec "$LAB_GW" ss -anpe 2>/dev/null | grep "pid=$SLUICE_PID," | sed 's/^/# /'
	ls -l "/proc/$SLUICE_PID/fd" | grep -v socket: | sed 's/^/# /'
fi

m0=$(lab_metrics)
out=$(lab_quic_hello "$LAB_CLI" 203.0.113.7 sni=after.soak.example | tail -n1)
check "a real QUIC Initial still passes" expect_match "$out" '^reply '
m1=$(lab_metrics)
check "and its SNI was read" expect_eq "$(mdelta "$m0" "$m1" quic_sni)" 1
for res in 192.0.2.53 2001:db8:53::53; do
	out=$(lab_dig "$LAB_CLI" @$res after.hit.example)
	check "DNS answers after the soak ($res)" expect_eq "$(dig_status "$out")" NOERROR
done
lab_sluice_exit
lab_finish
