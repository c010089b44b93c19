#!/bin/bash
# DNS across SIGHUP, IPv4 and IPv6 clients. Upstreams: "abroad" (unbound on
# 203.0.113.3, answers 192.0.2.31), "domestic" (2001:db8:113::4, answers
# 192.0.2.41), and "slow" (a silent 203.0.113.10 first, then domestic: its
# answers take one try timeout, about 500 ms).
#  - a new config (a new forward rule, a new block rule, the groups in
#    another order, the slow group gone) applies after SIGHUP;
#  - queries streaming during the reload (80 a family, distinct names) are
#    all answered, and a slow query in flight at the SIGHUP on a group the
#    new config drops is still answered by its old upstreams;
#  - the cache survives: a name cached before the reload is a hit after it
#    (dns_cache_hits keeps growing, the upstream is not asked again);
#  - broken configs (a syntax error, a list file that is missing) are
#    reported as FILE:LINE and the running config keeps serving; a fixed
#    config reloads again.
# And first, bad input from a client (to 192.0.2.53 and 2001:db8:53::53,
# from connected sockets): a response (QR=1) and a 5-byte datagram get no
# answer and are counted in dns_dropped; QDCOUNT=2, QDCOUNT=0, a cut
# question and bytes after the question get FORMERR (with the query's ID),
# opcode STATUS gets NOTIMP, all counted in dns_formerr; the upstream hears
# of none of them, and sluice answers the next client.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_unbound domestic 203.0.113.4 2001:db8:113::4 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.41"' 'local-data: ". 300 IN AAAA 2001:db8:41::41"' || exit 99

head="listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:9153
workers 2
upstream-timeout 3000"
conf_a="$head
upstream abroad udp://203.0.113.3
upstream domestic udp://[2001:db8:113::4]
upstream slow udp://203.0.113.10 udp://[2001:db8:113::4]
dns-rule domain:slow.example forward slow
dns-rule all forward abroad"
conf_b="$head
upstream domestic udp://[2001:db8:113::4]
upstream abroad udp://203.0.113.3
dns-rule domain:new.example forward domestic
dns-rule full:blocked.example block nxdomain
dns-rule all forward abroad"
conf=$(lab_conf reload.conf <<<"$conf_a")
lab_sluice "$conf" || exit 99
slog=$LAB_WORK/sluice.log

# reload CONTENT - write the config, SIGHUP, wait for the Nth "reloaded" or a
# new "reload failed" line.
nok=0 nfail=0
reload() {
	printf '%s\n' "$1" > "$conf"
	kill -HUP "$SLUICE_PID"
	for _ in $(seq 50); do
		[ "$(grep -c "configuration reloaded" "$slog")" -gt $nok ] && { nok=$((nok + 1)); return 0; }
		[ "$(grep -c "reload failed" "$slog")" -gt $nfail ] && { nfail=$((nfail + 1)); return 1; }
		sleep 0.1
	done
	return 2
}
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
a() { dig_answers "$(lab_dig "$LAB_CLI" @$res "$@")"; }
st() { dig_status "$(lab_dig "$LAB_CLI" @$res "$@")"; }

# Datagrams sluice sent to the silent first server of the slow group.
in_gw nft -f - <<'EOF' || exit 99
table inet dnslab {
	counter slow { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 203.0.113.10 udp dport 53 counter name "slow"
	}
}
EOF
slow_sent() { in_gw nft list counter inet dnslab slow | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }

# A stream of queries, each waiting for its answer (4 s at most: a busy
# machine can hold one up well past the usual milliseconds; a lost one waits
# out the whole 4 s).
cat > "$LAB_WORK/stream.py" <<'PY'
import os, socket, struct, sys, time
res, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ok = bad = lost = slowest = 0
for i in range(n):
    s = socket.socket(socket.AF_INET6 if ":" in res else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((res, 53))
    s.settimeout(4)
    qid = struct.unpack("!H", os.urandom(2))[0]
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in ("%s%d" % (prefix, i), "stream", "example"):
        q += bytes([len(label)]) + label.encode()
    q += b"\0\0\1\0\1"
    t0 = time.monotonic()
    s.send(q)
    try:
        r = s.recv(4096)
        slowest = max(slowest, int((time.monotonic() - t0) * 1000))
        # NOERROR, one answer, ending in 192.0.2.31
        if r[:2] == q[:2] and r[3] & 15 == 0 and r[6:8] == b"\0\1" and r[-4:] == bytes([192, 0, 2, 31]):
            ok += 1
        else:
            bad += 1
    except socket.timeout:
        lost += 1
    s.close()
    time.sleep(0.02)
print("done ok %d bad %d lost %d" % (ok, bad, lost), flush=True)
print("slowest %d ms" % slowest, flush=True)
PY

# Bad input. Question: x.example A IN.
qx=0178076578616d706c650000010001
hdr() { printf '%s%s%s000000000000' "$1" "$2" "$3"; }
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	m0=$(lab_metrics)
	pids=()
	for p in "resp $(hdr 1234 8180 0001)$qx" "short 1234010000"; do
		set -- $p
		lab_dnsq "$LAB_CLI" $res --hex $2 --timeout 1 > "$LAB_WORK/bad$v-$1.out" 9>&- &
		pids+=($!)
	done
	for p in "qd2 1235 FORMERR $(hdr 1235 0100 0002)$qx$qx" "qd0 1236 FORMERR $(hdr 1236 0100 0000)" \
		"cut 1237 FORMERR $(hdr 1237 0100 0001)0178076578" \
		"trailing 1238 FORMERR $(hdr 1238 0100 0001)${qx}deadbeef" \
		"status 1239 NOTIMP $(hdr 1239 1100 0001)$qx"; do
		set -- $p
		out=$(lab_dnsq "$LAB_CLI" $res --hex $4)
		check "IPv$v bad input $1: $3 with the query's ID, from $res:53" \
			expect_match "$out" "^from $(re_ip $res):53 id=$((16#$2)) opcode=[0-9]+ rcode=$3 flags=qr"
	done
	wait "${pids[@]}"
	check "IPv$v bad input: a response (QR=1) gets no answer" expect_eq "$(cat "$LAB_WORK/bad$v-resp.out")" timeout
	check "IPv$v bad input: a 5-byte datagram gets no answer" expect_eq "$(cat "$LAB_WORK/bad$v-short.out")" timeout
	m1=$(lab_metrics)
	check "IPv$v bad input: 2 dropped, 5 FORMERR/NOTIMP, nothing forwarded" \
		expect_eq "$(delta dns_dropped)/$(delta dns_formerr)/$(delta dns_forwarded)" 2/5/0
	check "IPv$v bad input: sluice still answers the next client" \
		expect_eq "$(a after-bad$v.example A)" "A 192.0.2.31"
done
check "the upstream never heard of x.example" expect_eq "$(lab_unbound_seen abroad x.example A)" ""
check "sluice is still running after the bad input" kill -0 "$SLUICE_PID"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	a c$v.cached.example A >/dev/null
	check "IPv$v before: x$v.new.example -> abroad" expect_eq "$(a x$v.new.example A)" "A 192.0.2.31"
	check "IPv$v before: blocked.example is forwarded" expect_eq "$(st blocked.example A)" NOERROR
	t0=$(date +%s%N)
	check "IPv$v before: the slow group answers from domestic" expect_eq "$(a c$v.slow.example A)" "A 192.0.2.41"
	slow_ms=$((($(date +%s%N) - t0) / 1000000))
	check "IPv$v before: ... after a try timeout ($slow_ms ms >= 300)" test $slow_ms -ge 300
done

# Reload while queries stream and slow ones are in flight.
m0=$(lab_metrics)
sent0=$(slow_sent)
lab_bg "$LAB_CLI" stream4 "$LAB_PY" -u "$LAB_WORK/stream.py" 192.0.2.53 s4- 80
s4=$LAB_LAST_PID
lab_bg "$LAB_CLI" stream6 "$LAB_PY" -u "$LAB_WORK/stream.py" 2001:db8:53::53 s6- 80
s6=$LAB_LAST_PID
sleep 0.5
lab_bg "$LAB_CLI" slow4 dig +time=3 +tries=1 @192.0.2.53 d4.slow.example A
p4=$LAB_LAST_PID
lab_bg "$LAB_CLI" slow6 dig +time=3 +tries=1 @2001:db8:53::53 d6.slow.example A
p6=$LAB_LAST_PID
# Both slow queries are on their first (silent) server before the SIGHUP.
for _ in $(seq 60); do
	[ "$(slow_sent)" -ge $((sent0 + 2)) ] && break
	sleep 0.05
done
check "both slow queries are in flight at the SIGHUP" test "$(slow_sent)" -ge $((sent0 + 2))
reload "$conf_b"
check "SIGHUP: configuration reloaded" expect_eq "$?" 0
lab_wait "$p4" 5
lab_wait "$p6" 5
lab_wait "$s4" 30
lab_wait "$s6" 30
m1=$(lab_metrics)
for v in 4 6; do
	check "IPv$v: the slow query in flight during the reload was answered (by the old group)" \
		expect_eq "$(dig_answers "$(cat "$LAB_WORK/slow$v.log")")" "A 192.0.2.41"
	check "IPv$v: ... by domestic, the old group's second server" \
		expect_eq "$(lab_unbound_seen domestic d$v.slow.example A)" 2001:db8:113::1
	check "IPv$v: all 80 queries streaming across the reload were answered right" \
		expect_eq "$(grep '^done' "$LAB_WORK/stream$v.log")" "done ok 80 bad 0 lost 0"
	# the reload does not hold the workers up (a busy machine may, a little)
	ms=$(sed -n 's/^slowest \([0-9]*\) ms$/\1/p' "$LAB_WORK/stream$v.log")
	check "IPv$v: ... the slowest in ${ms:-?} ms (< 2000)" test "${ms:-99999}" -lt 2000
done
check "no SERVFAIL during the reload" expect_eq "$(delta dns_servfail)" 0

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v after: y$v.new.example -> domestic (new rule)" expect_eq "$(a y$v.new.example A)" "A 192.0.2.41"
	check "IPv$v after: blocked.example -> NXDOMAIN (new rule)" expect_eq "$(st blocked.example A)" NXDOMAIN
	check "IPv$v after: other names still abroad (groups reordered)" expect_eq "$(a z$v.other.example A)" "A 192.0.2.31"
	m0=$(lab_metrics)
	out=$(a c$v.cached.example A)
	m1=$(lab_metrics)
	check "IPv$v after: c$v.cached.example (cached before the reload) is a hit" \
		expect_eq "$out|$(delta dns_cache_hits)|$(delta dns_upstream_answers)" "A 192.0.2.31|1|0"
	check "IPv$v after: the upstream was asked for it once in all" \
		expect_eq "$(lab_unbound_seen abroad c$v.cached.example A | wc -l)" 1
done

# Broken configs: the running one (B) keeps serving.
hits0=$(lab_metric dns_cache_hits)
reload "$conf_b
dns-rule bogus:x block"
check "SIGHUP with a syntax error: reload failed" expect_eq "$?" 1
check "... reported as FILE:LINE" grep -q "reload failed, keeping the running config: $conf:11: " "$slog"
reload "$head
upstream abroad udp://203.0.113.3
list gone adblock:$LAB_WORK/no-such-list.txt
dns-rule list:gone block nxdomain
dns-rule all forward abroad"
check "SIGHUP with a missing list file: reload failed" expect_eq "$?" 1
check "... reported as FILE:LINE: list gone: cannot read" \
	grep -q "reload failed, keeping the running config: $conf:7: list gone: cannot read" "$slog"
check "sluice is still running" kill -0 "$SLUICE_PID"
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v kept: w$v.new.example -> domestic" expect_eq "$(a w$v.new.example A)" "A 192.0.2.41"
	check "IPv$v kept: blocked.example still NXDOMAIN" expect_eq "$(st blocked.example AAAA)" NXDOMAIN
	check "IPv$v kept: the cached name is still a hit" expect_eq "$(a c$v.cached.example A)" "A 192.0.2.31"
done

# Fixed (back to A): reloads again; the cache still holds.
reload "$conf_a"
check "a fixed config reloads again" expect_eq "$?" 0
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v back to A: v$v.new.example -> abroad" expect_eq "$(a v$v.new.example A)" "A 192.0.2.31"
	check "IPv$v back to A: blocked.example forwarded again" expect_eq "$(a blocked.example A)" "A 192.0.2.31"
	check "IPv$v back to A: the slow group is back" expect_eq "$(a e$v.slow.example A)" "A 192.0.2.41"
	a c$v.cached.example A >/dev/null
done
hits1=$(lab_metric dns_cache_hits)
check "cache hits kept growing across three reloads ($hits0 -> $hits1, +4 at least)" \
	test "$hits1" -ge $((hits0 + 4))
for v in 4 6; do
	check "IPv$v: the upstream was asked for c$v.cached.example once in all" \
		expect_eq "$(lab_unbound_seen abroad c$v.cached.example A | wc -l)" 1
done
lab_stop "$SLUICE_PID"
check "sluice stops with exit 0" expect_eq "$LAB_STOP_RC" 0
lab_finish
