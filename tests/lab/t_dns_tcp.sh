#!/bin/bash
# DNS over TCP (`intercept tcp 53 dns`) and the UDP size cap, IPv4 and IPv6
# clients asking 192.0.2.53 / 2001:db8:53::53 (resolvers that exist nowhere:
# only sluice can answer). Upstreams: unbound "abroad" (203.0.113.3 /
# 2001:db8:113::3: every name 192.0.2.31 / 2001:db8:31::31, a ~3.2 KB TXT
# under big.example / big6.example, a ~1 KB one under mid.example /
# mid6.example), unbound "domestic" (203.0.113.4 / 2001:db8:113::4: every
# name 192.0.2.41 / 2001:db8:41::41), and dnsresp.py "slow" (203.0.113.5 /
# 2001:db8:113::5, answers after 700 ms). Each upstream is asked over the
# client's family, and every check that a query went through sluice looks
# at the address the upstream saw: the gateway's (GWU4/GWU6), never the
# client's.
#  - `sluice -t` warns about udp 53 without tcp 53 (exit 0), not with both;
#    the loaded ruleset holds the TCP tproxy rules for both families;
#  - dig +tcp: a domain: rule routes to domestic, the answer is cached
#    (asked again over TCP and UDP: dns_cache_hits grows, the upstream was
#    asked once), a blocked name is blocked (NXDOMAIN, never forwarded);
#  - max-udp-size (default 1232): a ~3.2 KB answer to +bufsize=4096 and to
#    EDNS 65535 comes TC=1 in at most 1232 bytes (dns_truncated); sluice
#    fetched it over TCP after unbound's own TC (dns_upstream_tcp +1, unbound
#    saw it twice); dig without +ignore retries over TCP and gets all 15 RRs
#    (> 1232 bytes) from the cache; a ~1 KB answer (512..1232) is fetched
#    once over UDP only (dns_upstream_tcp unchanged) and reaches the client
#    whole, without TC;
#  - pipelining: three queries back to back on one connection, the first to
#    the slow upstream, the second a cache hit, the third blocked: the 2nd
#    and 3rd answers arrive before the 1st, all three on that connection
#    (control: the 1st answer really waited for the 700 ms upstream);
#  - dns-tcp-idle-timeout 2: an idle connection (fresh, and after an answer)
#    is closed after 1.5..4 s, counted in dns_tcp_closed_idle;
#  - dns-tcp-connections-per-client 3: with three connections held, a 4th
#    from the same client is closed without an answer (dns_tcp_refused),
#    also from another IPv6 address in the same /64 (2001:db8:100::3: one
#    client), while 198.51.100.3 and 2001:db8:101::3 (another /64) are
#    served;
#  - the pipeline cap: 66 queries to the slow upstream sent in one write
#    are all answered, 64 of them sent upstream at once and the last 2 once
#    answers free their slots (the client sends nothing more);
#  - a client that half-closes right after its query (to the slow
#    upstream) still gets the answer, then sluice closes the connection;
#  - a zero-length frame closes that connection at once (dns_tcp_errors)
#    while another connection of the client goes on being answered.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99

# A second client address for IPv4, a second address in the client's /64
# and one in another /64 (the gateway routes that /64 to the client).
ip -n "$LAB_CLI" addr add 198.51.100.3/24 dev c0
ip -n "$LAB_CLI" addr add 2001:db8:100::3/64 dev c0 nodad
ip -n "$LAB_CLI" addr add 2001:db8:101::3/64 dev c0 nodad
ip -n "$LAB_GW" -6 route add 2001:db8:101::/64 via "$CLI6" dev gc

big=() mid=()
for i in $(seq -w 1 15); do
	s=$(printf "b$i-%0200d" 0)
	big+=("local-data: 'big.example. 300 IN TXT \"$s\"'" "local-data: 'big6.example. 300 IN TXT \"$s\"'")
done
for i in 1 2 3 4; do
	s=$(printf "m$i-%0220d" 0)
	mid+=("local-data: 'mid.example. 300 IN TXT \"$s\"'" "local-data: 'mid6.example. 300 IN TXT \"$s\"'")
done
lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' \
	'local-zone: "big.example." redirect' 'local-zone: "big6.example." redirect' \
	'local-zone: "mid.example." redirect' 'local-zone: "mid6.example." redirect' \
	"${big[@]}" "${mid[@]}" || exit 99
lab_unbound domestic 203.0.113.4 2001:db8:113::4 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.41"' 'local-data: ". 300 IN AAAA 2001:db8:41::41"' || exit 99
lab_bg "$LAB_UP" slow "$LAB_PY" -u "$LAB_DIR/dnsresp.py" --bind 203.0.113.5 \
	--bind 2001:db8:113::5 --delay 0.7 --lifetime 120
lab_wait_log slow ready 10 || exit 99

# `sluice -t`: the warning for UDP without TCP, none with both.
warn=$(lab_conf warn.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
upstream abroad udp://203.0.113.3
EOF
)
err=$("$SLUICE" -t -c "$warn" 2>&1 >/dev/null)
rc=$?
check "sluice -t: udp 53 without tcp 53 warns (stderr names 'intercept tcp 53 dns'), exit 0" \
	expect_eq "$rc|$(grep -c 'warning: .*intercept tcp 53 dns' <<<"$err")" "0|1"

conf=$(lab_conf tcp.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2
dns-tcp-idle-timeout 2
dns-tcp-connections-per-client 3
upstream abroad4 udp://203.0.113.3
upstream abroad6 udp://[2001:db8:113::3]
upstream domestic4 udp://203.0.113.4
upstream domestic6 udp://[2001:db8:113::4]
upstream slow4 udp://203.0.113.5
upstream slow6 udp://[2001:db8:113::5]
dns-rule domain:blocked.example block nxdomain
dns-rule domain:dom4.example forward domestic4
dns-rule domain:dom6.example forward domestic6
dns-rule domain:slow4.example forward slow4
dns-rule domain:slow6.example forward slow6
dns-rule domain:v6.example forward abroad6
dns-rule domain:big6.example forward abroad6
dns-rule domain:mid6.example forward abroad6
dns-rule all forward abroad4
EOF
)
err=$("$SLUICE" -t -c "$conf" 2>&1 >/dev/null)
rc=$?
check "sluice -t: udp 53 and tcp 53: no warning, exit 0" expect_eq "$rc|$err" "0|"

lab_sluice "$conf" || exit 99
chain=$(in_gw nft list chain inet sluice prerouting)
check "the loaded ruleset tproxies TCP 53 for IPv4" \
	expect_match "$chain" 'meta nfproto ipv4 tcp dport 53 tproxy ip to :15000 '
check "the loaded ruleset tproxies TCP 53 for IPv6" \
	expect_match "$chain" 'meta nfproto ipv6 tcp dport 53 tproxy ip6 to :15000 '

# delta NAME - how much counter NAME grew from snapshot m0 to m1.
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# seen UPSTREAM NAME TYPE - the addresses UPSTREAM saw asking NAME, on one line.
seen() { lab_unbound_seen "$1" "$2" "$3" | tr '\n' ' ' | sed 's/ $//'; }
msgsize() { sed -n 's/^;; MSG SIZE  rcvd: \([0-9]*\)$/\1/p' <<<"$1" | tail -n1; }
# proto OUT - UDP or TCP: the transport of dig's (last) answer.
proto() { sed -n 's/^;; SERVER: .*(\([A-Z]*\))$/\1/p' <<<"$1" | tail -n1; }

# tcpc MODE SERVER ARGS... - a DNS over TCP client in the client ns (every
# wait bounded):
#   pipe NAME1 NAME2 NAME3 - one connection, three A (AAAA for an IPv6
#     SERVER) queries (IDs 1 2 3) in
#     one write; prints "answer id=ID rcode=R an=N ms=MS data=ADDR" per
#     answer in arrival order, then "order I J K conns 1".
#   idle WAIT_S [query NAME] - connect (and ask NAME, read its answer), then
#     send nothing: prints "closed after MS ms" (from the connect or the
#     answer) or "open after WAIT_S s".
#   caps SUFFIX SRC... - one connection from each SRC in turn, all held
#     open, the Ith asks capsI.SUFFIX A: "conn SRC answered RCODE|closed|
#     timeout" per connection.
#   zero - connection A asks a query, B sends a zero-length frame, A asks
#     again: "A1 ...", "B closed|open after MS ms", "A2 ...".
#   burst N SUFFIX - one connection, N A (AAAA) queries qI.SUFFIX (IDs
#     0..N-1) in one write; reads answers until all N are in, EOF or 5 s:
#     "sent N answered K rcodes R,... then EOF|timeout|-".
#   half NAME - ask NAME (A, AAAA for an IPv6 SERVER), shut the sending side
#     down at once (half-close), then read: "answered id=ID RCODE DATA" and
#     "closed after MS ms" (from the answer) or "open after 3 s".
tcpc() {
	in_cli "$LAB_PY" - "$@" <<'PY'
import os, socket, struct, sys, time
mode, server, args = sys.argv[1], sys.argv[2], sys.argv[3:]
fam = socket.AF_INET6 if ":" in server else socket.AF_INET

def query(qid, name, qtype=1):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.rstrip(".").split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
    return struct.pack("!H", len(q)) + q

def conn(src=None, timeout=3.0):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((server, 53))
    return s

def recv_n(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def answer(s):
    """(id, rcode, ancount, first A/AAAA as text) of the next answer."""
    m = recv_n(s, struct.unpack("!H", recv_n(s, 2))[0])
    qid, fl, qd, an = struct.unpack("!HHHH", m[:8])
    o = 12
    for _ in range(qd):
        while m[o]:
            o += 1 + m[o]
        o += 5
    data = "-"
    if an:
        o += 2 if m[o] >= 0xc0 else 0
        t, _, _, rdl = struct.unpack("!HHIH", m[o:o + 10])
        rd = m[o + 10:o + 10 + rdl]
        if t in (1, 28):
            data = socket.inet_ntop(socket.AF_INET if t == 1 else socket.AF_INET6, rd)
    rc = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}.get(fl & 15, str(fl & 15))
    return qid, rc, an, data

def closed(s, limit):
    """ms until the peer closes s (EOF or reset), or None after limit s."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while time.monotonic() - t0 < limit:
            if not s.recv(4096):
                break
    except socket.timeout:
        return None
    except (ConnectionResetError, BrokenPipeError):
        pass
    return (time.monotonic() - t0) * 1000

if mode == "pipe":
    s = conn()
    qt = 28 if fam == socket.AF_INET6 else 1
    s.sendall(b"".join(query(i + 1, n, qt) for i, n in enumerate(args[:3])))
    t0, order = time.monotonic(), []
    for _ in range(3):
        qid, rc, an, data = answer(s)
        order.append(str(qid))
        print("answer id=%d rcode=%s an=%d ms=%d data=%s" % (
            qid, rc, an, (time.monotonic() - t0) * 1000, data))
    print("order %s conns 1" % " ".join(order))
elif mode == "idle":
    s = conn()
    if args[1:2] == ["query"]:
        s.sendall(query(7, args[2]))
        print("answered id=%d %s" % answer(s)[:2])
    ms = closed(s, float(args[0]))
    print("closed after %d ms" % ms if ms is not None else "open after %s s" % args[0])
elif mode == "caps":
    held = []
    for i, src in enumerate(args[1:]):
        try:
            s = conn(src, 1.5)
            held.append(s)
            s.sendall(query(100 + i, "caps%d.%s" % (i, args[0])))
            print("conn %s answered %s" % (src, answer(s)[1]))
        except (EOFError, ConnectionResetError, BrokenPipeError):
            print("conn %s closed" % src)
        except socket.timeout:
            print("conn %s timeout" % src)
    for s in held:
        s.close()
elif mode == "burst":
    n, qt = int(args[0]), 28 if fam == socket.AF_INET6 else 1
    s = conn(timeout=5)
    s.sendall(b"".join(query(i, "q%d.%s" % (i, args[1]), qt) for i in range(n)))
    ids, rcodes, end = set(), set(), "-"
    try:
        while len(ids) < n:
            qid, rc, an, data = answer(s)
            ids.add(qid)
            rcodes.add(rc)
    except EOFError:
        end = "EOF"
    except socket.timeout:
        end = "timeout"
    print("sent %d answered %d rcodes %s then %s" % (n, len(ids), ",".join(sorted(rcodes)), end))
elif mode == "half":
    s = conn()
    s.sendall(query(9, args[0], 28 if fam == socket.AF_INET6 else 1))
    s.shutdown(socket.SHUT_WR)
    qid, rc, an, data = answer(s)
    print("answered id=%d %s %s" % (qid, rc, data))
    ms = closed(s, 3)
    print("closed after %d ms" % ms if ms is not None else "open after 3 s")
elif mode == "zero":
    a = conn()
    a.sendall(query(1, "zero-a1.example"))
    print("A1 id=%d %s" % answer(a)[:2])
    b = conn()
    b.sendall(b"\0\0")
    ms = closed(b, 1.5)
    print("B closed after %d ms" % ms if ms is not None else "B open after 1.5 s")
    a.sendall(query(2, "zero-a2.example"))
    print("A2 id=%d %s" % answer(a)[:2])
    a.close()
PY
}

# wait_conns - until sluice holds no TCP connection (at most 5 s).
wait_conns() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(lab_metric dns_tcp_connections)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

for v in 4 6; do
	if [ $v = 4 ]; then
		res=192.0.2.53 gw=$GWU4 cli=$CLI4 a=192.0.2.31 dom=dom4 slow=slow4 zb=big zm=mid
		cli2=198.51.100.3 cli3=""
	else
		res=2001:db8:53::53 gw=$GWU6 cli=$CLI6 a=2001:db8:31::31 dom=dom6 slow=slow6 zb=big6 zm=mid6
		cli2=2001:db8:101::3 cli3=2001:db8:100::3
	fi
	t=$([ $v = 4 ] && echo A || echo AAAA)
	sfx=$([ $v = 6 ] && echo .v6)

	# Routing, over TCP.
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +tcp @$res r$v.$dom.example $t)
	m1=$(lab_metrics)
	want=$([ $v = 4 ] && echo "A 192.0.2.41" || echo "AAAA 2001:db8:41::41")
	check "IPv$v TCP: r$v.$dom.example $t is routed to domestic ($want), over TCP from $res#53" \
		expect_eq "$(dig_answers "$out")|$(dig_server "$out")|$(proto "$out")" "$want|$res#53|TCP"
	check "IPv$v TCP: domestic saw the gateway ($gw) once, abroad never" \
		expect_eq "$(seen domestic r$v.$dom.example $t)|$(seen abroad r$v.$dom.example $t)" "$gw|"
	check "IPv$v TCP: one connection accepted, one query" \
		expect_eq "$(delta dns_tcp_accepted)/$(delta dns_queries)/$(delta dns_forwarded)" 1/1/1

	# Cached: TCP miss, TCP hit, UDP hit; the upstream asked once.
	name=c$v$sfx.example
	m0=$(lab_metrics)
	out1=$(lab_dig "$LAB_CLI" +tcp @$res $name $t)
	out2=$(lab_dig "$LAB_CLI" +tcp @$res $name $t)
	out3=$(lab_dig "$LAB_CLI" @$res $name $t)
	m1=$(lab_metrics)
	check "IPv$v TCP cache: the same answer over TCP, TCP again and UDP" \
		expect_eq "$(dig_answers "$out1")|$(dig_answers "$out2")|$(dig_answers "$out3")|$(proto "$out2")|$(proto "$out3")" \
		"$t $a|$t $a|$t $a|TCP|UDP"
	check "IPv$v TCP cache: 1 miss, 2 hits" \
		expect_eq "$(delta dns_cache_misses)/$(delta dns_cache_hits)" 1/2
	check "IPv$v TCP cache: abroad saw $name once, from the gateway" \
		expect_eq "$(seen abroad $name $t)" "$gw"

	# Blocked, over TCP.
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +tcp @$res b$v.blocked.example $t)
	m1=$(lab_metrics)
	check "IPv$v TCP block: NXDOMAIN over TCP from $res#53" \
		expect_eq "$(dig_status "$out")|$(dig_server "$out")|$(proto "$out")" "NXDOMAIN|$res#53|TCP"
	check "IPv$v TCP block: counted, nothing forwarded" \
		expect_eq "$(delta dns_blocked)/$(delta dns_forwarded)" 1/0
	check "IPv$v TCP block: no upstream heard of it" \
		bash -c "! grep -q 'b$v\.blocked\.example' '$LAB_WORK/abroad.log' '$LAB_WORK/domestic.log'"

	# max-udp-size: a ~3.2 KB answer.
	name=t$v.$zb.example
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +bufsize=4096 +ignore @$res $name TXT)
	m1=$(lab_metrics)
	size=$(msgsize "$out")
	check "IPv$v big answer, +bufsize=4096 +ignore: TC=1 over UDP from $res#53" \
		expect_eq "$(dig_flags "$out")|$(proto "$out")|$(dig_server "$out")" "qr tc rd ra|UDP|$res#53"
	check "IPv$v big answer, +bufsize=4096: at most 1232 bytes ($size)" expect_le "${size:-99999}" 1232
	check "IPv$v big answer: sluice fetched it over TCP after the upstream's TC (dns_upstream_tcp +1)" \
		expect_eq "$(delta dns_upstream_tcp)" 1
	check "IPv$v big answer: counted in dns_truncated" expect_eq "$(delta dns_truncated)" 1
	check "IPv$v big answer: abroad saw it twice (UDP, then TCP), from the gateway" \
		expect_eq "$(seen abroad $name TXT)" "$gw $gw"
	m0=$(lab_metrics)
	out=$(lab_dnsq "$LAB_CLI" $res -n $name -t TXT --edns 65535)
	check "IPv$v big answer, EDNS 65535: TC=1, at most 1232 bytes, from $res:53" \
		expect_match "$out" "^from $(re_ip "$res"):53 .*flags=qr,tc,rd,ra .* len=([0-9]{1,3}|1[01][0-9]{2}|12[0-2][0-9]|123[0-2])$"
	out=$(lab_dig "$LAB_CLI" +bufsize=4096 @$res $name TXT)
	m1=$(lab_metrics)
	size=$(msgsize "$out")
	check "IPv$v big answer, dig without +ignore: truncated over UDP, retried over TCP" \
		expect_eq "$(grep -c 'Truncated, retrying in TCP mode' <<<"$out")|$(proto "$out")" "1|TCP"
	check "IPv$v big answer over TCP: all 15 TXT RRs, no TC" \
		expect_eq "$(dig_answers "$out" | grep -c '^TXT "b[0-9]*-0\{200\}"$')|$(dig_flags "$out")" "15|qr aa rd ra"
	check "IPv$v big answer over TCP: $size bytes > 1232" test "${size:-0}" -gt 1232
	check "IPv$v big answer, asked again: from the cache (3 hits, 2 truncated), no upstream query" \
		expect_eq "$(delta dns_cache_hits)/$(delta dns_truncated)/$(delta dns_upstream_sent)" 3/2/0

	# A ~1 KB answer: over UDP in one piece, from the upstream once, over UDP.
	name=t$v.$zm.example
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +bufsize=4096 +ignore @$res $name TXT)
	m1=$(lab_metrics)
	size=$(msgsize "$out")
	check "IPv$v ~1 KB answer: all 4 TXT RRs, no TC, over UDP" \
		expect_eq "$(dig_answers "$out" | grep -c '^TXT "m[0-9]-0\{220\}"$')|$(dig_flags "$out")|$(proto "$out")" \
		"4|qr aa rd ra|UDP"
	check "IPv$v ~1 KB answer: 512 < $size <= 1232" test "${size:-0}" -gt 512 -a "${size:-0}" -le 1232
	check "IPv$v ~1 KB answer: the upstream asked once, over UDP (dns_upstream_sent +1, dns_upstream_tcp +0)" \
		expect_eq "$(delta dns_upstream_sent)/$(delta dns_upstream_tcp)/$(seen abroad $name TXT)" "1/0/$gw"

	# Pipelining: slow upstream first, then a cache hit, then a block.
	m0=$(lab_metrics)
	out=$(tcpc pipe $res p$v.$slow.example c$v$sfx.example p$v.blocked.example)
	m1=$(lab_metrics)
	slowa=$([ $v = 4 ] && echo 192.0.2.71 || echo 2001:db8:71::71)
	check "IPv$v pipelining: the 2nd and 3rd answers before the 1st, on one connection" \
		expect_match "$out" '^order (2 3|3 2) 1 conns 1$'
	check "IPv$v pipelining: the cache hit ($a) and the block (NXDOMAIN)" \
		expect_eq "$(grep -o 'id=2 rcode=[A-Z]* an=[0-9] ms=[0-9]* data=[^ ]*' <<<"$out" | sed 's/ ms=[0-9]*//')|$(grep -o 'id=3 rcode=[A-Z]*' <<<"$out")" \
		"id=2 rcode=NOERROR an=1 data=$a|id=3 rcode=NXDOMAIN"
	ms1=$(sed -n "s/^answer id=1 rcode=NOERROR an=1 ms=\([0-9]*\) data=$(re_ip $slowa)\$/\1/p" <<<"$out")
	check "IPv$v pipelining: the 1st answer came from the slow upstream, after its 700 ms (${ms1:-none} ms)" \
		expect_ge "${ms1:-0}" 650
	check "IPv$v pipelining: the slow upstream saw the gateway" \
		expect_eq "$(awk -v n="p$v.$slow.example." '$1 == "query" && $3 == n { print $2 }' "$LAB_WORK/slow.log")" "$gw"
	check "IPv$v pipelining: one connection, three queries" \
		expect_eq "$(delta dns_tcp_accepted)/$(delta dns_queries)" 1/3

	# The pipeline cap: 66 queries to the slow upstream in one write. 64 wait
	# at once; the other 2, already in sluice's buffer, go out when a slot
	# frees (not when the client sends more: it waits).
	out=$(tcpc burst $res 66 b$v.$slow.example)
	check "IPv$v pipeline cap: 66 queries in one write, all 66 answered on the connection" \
		expect_eq "$out" "sent 66 answered 66 rcodes NOERROR then -"
	late=$(awk -v s=".b$v.$slow.example." '$1 == "query" && index($3, s) { n++; t[n] = substr($5, 3) }
		END { late = 0; for (i = 1; i <= n; i++) if (t[i] - t[1] >= 600) late++; print n "/" late }' \
		"$LAB_WORK/slow.log")
	check "IPv$v pipeline cap: the slow upstream got 64 at once and 2 after the first answers (all/late)" \
		expect_eq "$late" 66/2

	# Half-close: the client sends its query and EOF while the query waits.
	m0=$(lab_metrics)
	out=$(tcpc half $res h$v.$slow.example)
	m1=$(lab_metrics)
	check "IPv$v half-close: the waiting query is still answered ($slowa)" \
		expect_match "$out" "^answered id=9 NOERROR $(re_ip $slowa)\$"
	check "IPv$v half-close: then sluice closes at once (before the 2 s idle timeout)" \
		expect_match "$out" '^closed after ([0-9]|[0-9][0-9]|[0-9][0-9][0-9]|1[0-4][0-9][0-9]) ms$'
	check "IPv$v half-close: neither an error nor an idle close" \
		expect_eq "$(delta dns_tcp_errors)/$(delta dns_tcp_closed_idle)" 0/0

	# A zero-length frame.
	m0=$(lab_metrics)
	out=$(tcpc zero $res)
	m1=$(lab_metrics)
	check "IPv$v zero-length frame: that connection is closed at once (before the 2 s idle timeout)" \
		expect_match "$out" '^B closed after ([0-9]|[0-9][0-9]|[0-9][0-9][0-9]|1[0-4][0-9][0-9]) ms$'
	check "IPv$v zero-length frame: the other connection is answered before and after" \
		expect_eq "$(grep '^A' <<<"$out" | tr '\n' ' ')" "A1 id=1 NOERROR A2 id=2 NOERROR "
	check "IPv$v zero-length frame: counted in dns_tcp_errors, not as idle" \
		expect_eq "$(delta dns_tcp_errors)/$(delta dns_tcp_closed_idle)" 1/0

	# Caps: three connections from the client, a 4th refused; another client served.
	wait_conns
	check "IPv$v caps: no connection left over before" expect_eq "$(lab_metric dns_tcp_connections)" 0
	m0=$(lab_metrics)
	out=$(tcpc caps $res c$v$sfx.example $cli $cli $cli $cli $cli3 $cli2)
	m1=$(lab_metrics)
	check "IPv$v caps: three connections from $cli answered" \
		expect_eq "$(grep -c "^conn $cli answered NOERROR$" <<<"$out")" 3
	check "IPv$v caps: the 4th from $cli is closed without an answer" \
		expect_eq "$(grep -c "^conn $cli closed$" <<<"$out")" 1
	if [ -n "$cli3" ]; then
		check "IPv$v caps: $cli3 (the same /64: the same client) is closed too" \
			expect_match "$out" "^conn $cli3 closed$"
	fi
	check "IPv$v caps: $cli2 (another client) is answered" expect_match "$out" "^conn $cli2 answered NOERROR$"
	check "IPv$v caps: the refused ones counted in dns_tcp_refused" \
		expect_eq "$(delta dns_tcp_refused)" "$([ -n "$cli3" ] && echo 2 || echo 1)"
	check "IPv$v caps: the served queries came through sluice (abroad saw the gateway)" \
		expect_eq "$(seen abroad caps$([ $v = 4 ] && echo 4 || echo 5).c$v$sfx.example A)" "$gw"

	# Idle timeout.
	wait_conns
	m0=$(lab_metrics)
	out=$(tcpc idle $res 6)
	out2=$(tcpc idle $res 6 query i$v.example)
	m1=$(lab_metrics)
	ms=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' <<<"$out")
	check "IPv$v idle: a fresh connection is closed after ${ms:-never} ms (1500..4000)" \
		test "${ms:-0}" -ge 1500 -a "${ms:-0}" -le 4000
	ms=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' <<<"$out2")
	check "IPv$v idle: after an answer, closed after ${ms:-never} ms (1500..4000)" \
		test "${ms:-0}" -ge 1500 -a "${ms:-0}" -le 4000
	check "IPv$v idle: the query on it was answered" expect_match "$out2" '^answered id=7 NOERROR$'
	check "IPv$v idle: counted in dns_tcp_closed_idle" expect_eq "$(delta dns_tcp_closed_idle)" 2
done
wait_conns
check "no TCP connection left open" expect_eq "$(lab_metric dns_tcp_connections)" 0
check "no SERVFAIL" expect_eq "$(lab_metric dns_servfail)" 0
lab_sluice_exit
lab_finish
