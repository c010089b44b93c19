#!/bin/bash
# DNS over HTTPS upstreams (RFC 8484, HTTP/2) against dnsdist (addDOHLocal,
# forwarding to an unbound) and unbound (https-port), IPv4 and IPv6, and
# DNS over TLS against the same dnsdist (addTLSLocal; t_dns_tls.sh has
# unbound's):
#  - names routed to each group get that group's answers, over HTTPS
#    (dns_upstream_https), and each server saw the gateway ask;
#  - https://ADDR/PATH (the address in the certificate), https://NAME/PATH
#    (resolved through the bootstrap group) and a DoH stamp answered;
#  - a certificate from an unknown CA, one for another name, a server that
#    does not speak HTTP/2 (ALPN), a path the server does not serve (404):
#    SERVFAIL, the reason logged once (not once a query);
#  - one HTTP/2 connection carries many queries (100 at once: at most one
#    SYN to :443; IPv4 and IPv6), more than the server's stream limit use
#    more connections, which resume the TLS session;
#  - a server restarted under load: its group's second server answers
#    meanwhile, nothing is lost, and the first is used again once it is back.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v openssl >/dev/null || { echo "SKIP: openssl not installed" >&2; exit 77; }
command -v dnsdist >/dev/null || { echo "SKIP: dnsdist not installed" >&2; exit 77; }
dnsdist --version 2>/dev/null | grep -q 'dns-over-https' ||
	{ echo "SKIP: this dnsdist has no DNS over HTTPS" >&2; exit 77; }
unbound -V 2>/dev/null | grep -q 'with-libnghttp2' ||
	{ echo "SKIP: this unbound has no DNS over HTTPS (libnghttp2)" >&2; exit 77; }
lab_up || exit 99

W=$LAB_WORK
lab_ca ca "sluice lab CA" || exit 99
lab_ca rogue "rogue CA" || exit 99
lab_cert doh.lab "DNS:doh.lab,IP:203.0.113.3,IP:2001:db8:113::3,IP:203.0.113.4,IP:2001:db8:113::4,IP:203.0.113.8,IP:203.0.113.9" ca || exit 99
lab_cert other.lab "DNS:other.lab,IP:203.0.113.6" ca || exit 99
lab_cert evil.lab "DNS:doh.lab,IP:203.0.113.5" rogue || exit 99

# The backend dnsdist forwards to; it also knows where doh.lab is (bootstrap).
lab_unbound back 203.0.113.7 2001:db8:113::7 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.37"' 'local-data: ". 300 IN AAAA 2001:db8:33::37"' \
	'local-zone: "doh.lab." static' 'local-data: "doh.lab. 300 IN A 203.0.113.4"' || exit 99

# dnsdist serving DoH on 203.0.113.3 and 2001:db8:113::3, logging each query.
cat >"$W/dd.conf" <<EOF
setSecurityPollSuffix("")
setLocal("127.0.0.1:5399")
addACL("0.0.0.0/0")
addACL("::/0")
newServer({address="203.0.113.7:53"})
addDOHLocal("203.0.113.3:443", "$W/doh.lab.pem", "$W/doh.lab.key", "/dns-query")
addDOHLocal("[2001:db8:113::3]:443", "$W/doh.lab.pem", "$W/doh.lab.key", "/dns-query")
addTLSLocal("203.0.113.3:853", "$W/doh.lab.pem", "$W/doh.lab.key")
addTLSLocal("[2001:db8:113::3]:853", "$W/doh.lab.pem", "$W/doh.lab.key")
addAction(AllRule(), LogAction("", false, false, false, false))
EOF
lab_bg "$LAB_UP" dd dnsdist --supervised --disable-syslog -C "$W/dd.conf"
lab_wait_log dd "Marking downstream 203.0.113.7:53 as 'up'" 10 || exit 99
# dd_seen QNAME QTYPE - the addresses dnsdist logged QNAME/QTYPE from, one a line.
dd_seen() {
	sed -n "s/^Packet from \(.*\):[0-9]* for ${1//./\\.}\. $2 with id .*/\1/p" "$W/dd.log" |
		tr -d '[]'
}

# doh_unbound NAME A4 A6 CERT ANSWER4 [LINE...] - an unbound answering every
# name with ANSWER4 (2001:db8:33::N for AAAA) over UDP 53 and DoH on 443.
doh_unbound() {
	local name=$1 a4=$2 a6=$3 crt=$4 ans=$5
	shift 5
	lab_unbound "$name" "$a4" "$a6" "interface: $a4@443" "interface: $a6@443" "https-port: 443" \
		"tls-service-key: \"$W/$crt.key\"" "tls-service-pem: \"$W/$crt.pem\"" \
		'http-endpoint: "/dns-query"' 'local-zone: "." redirect' \
		"local-data: \". 300 IN A $ans\"" "local-data: \". 300 IN AAAA 2001:db8:33::${ans##*.}\"" "$@"
}
# slow.ub4.example goes on to a responder that answers 500 ms late, so the
# 250 queries of the stream-limit burst below are all outstanding at once
# (on a busy machine unbound could answer as fast as the client sent, so
# fewer than 100 were ever open and no connection was new).
lab_slow_zone slowub slow.ub4.example 192.0.2.34 || exit 99
doh_unbound ub 203.0.113.4 2001:db8:113::4 doh.lab 192.0.2.34 "${LAB_SLOW_LINES[@]}" || exit 99
doh_unbound rogue 203.0.113.5 2001:db8:113::5 evil.lab 192.0.2.35 || exit 99
doh_unbound wrong 203.0.113.6 2001:db8:113::6 other.lab 192.0.2.36 || exit 99
doh_unbound second 203.0.113.8 2001:db8:113::8 doh.lab 192.0.2.38 || exit 99
second_pid=$LAB_LAST_PID
# HTTPS that is not HTTP/2: a TLS server that knows no ALPN (HTTP/1 with -www).
lab_bg "$LAB_UP" h1 openssl s_server -accept 203.0.113.9:443 -cert "$W/doh.lab.pem" \
	-key "$W/doh.lab.key" -www
lab_wait_log h1 ACCEPT 10 || exit 99

in_gw nft -f - <<'EOF' || exit 99
table inet dohlab {
	counter syn3 { }
	counter syn4 { }
	counter syn6 { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 203.0.113.3 tcp dport 443 tcp flags & (syn | ack) == syn counter name "syn3"
		ip daddr 203.0.113.4 tcp dport 443 tcp flags & (syn | ack) == syn counter name "syn4"
		ip6 daddr 2001:db8:113::3 tcp dport 443 tcp flags & (syn | ack) == syn counter name "syn6"
	}
}
EOF
syns() { in_gw nft list counter inet dohlab "$1" | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }

# The same server as a DNS stamp (sdns://, protocol 0x02: address, no
# hashes, host name, path).
stamp=$("$LAB_PY" -c '
import base64, struct
lp = lambda b: bytes([len(b)]) + b
p = b"\x02" + struct.pack("<Q", 0) + lp(b"203.0.113.4") + b"\x00" + lp(b"doh.lab") + lp(b"/dns-query")
print("sdns://" + base64.urlsafe_b64encode(p).decode().rstrip("="))')

conf=$(lab_conf https.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
# one worker: connections and TLS sessions are per worker
workers 1
cache-size 0
upstream-timeout 3000
tls-ca $W/ca.pem
upstream boot udp://203.0.113.7
upstream dd4 https://203.0.113.3/dns-query#doh.lab
upstream dd6 https://[2001:db8:113::3]/dns-query#doh.lab
upstream ub4 https://203.0.113.4/dns-query#doh.lab
upstream dt4 tls://203.0.113.3#doh.lab
upstream dt6 tls://[2001:db8:113::3]:853#doh.lab
upstream ub6 https://[2001:db8:113::4]:443/dns-query#doh.lab
upstream byip https://203.0.113.4/dns-query
upstream byname https://doh.lab/dns-query
upstream stamp $stamp
upstream rogue https://203.0.113.5/dns-query#doh.lab
upstream wrongname https://203.0.113.6/dns-query#doh.lab
upstream noh2 https://203.0.113.9/dns-query#doh.lab
upstream badpath https://203.0.113.4/nothing-here#doh.lab
upstream pair https://203.0.113.8/dns-query#doh.lab https://203.0.113.4/dns-query#doh.lab
dns-rule domain:dd4.example forward dd4
dns-rule domain:dd6.example forward dd6
dns-rule domain:ub4.example forward ub4
dns-rule domain:dt4.example forward dt4
dns-rule domain:dt6.example forward dt6
dns-rule domain:ub6.example forward ub6
dns-rule domain:byip.example forward byip
dns-rule domain:byname.example forward byname
dns-rule domain:stamp.example forward stamp
dns-rule domain:rogue.example forward rogue
dns-rule domain:wrong.example forward wrongname
dns-rule domain:noh2.example forward noh2
dns-rule domain:badpath.example forward badpath
dns-rule domain:pair.example forward pair
dns-rule all forward dd4
EOF
)
lab_sluice "$conf" || exit 99
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
gw_re="^($(re_ip $GWU4)|$GWU6)\$"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
	for srv in dd ub dt; do
		n=37 proto=https ctr=dns_upstream_https
		[ $srv = ub ] && n=34
		[ $srv = dt ] && proto=tls ctr=dns_upstream_tls
		want="A 192.0.2.$n"
		[ $v = 6 ] && want="AAAA 2001:db8:33::$n"
		m0=$(lab_metrics)
		out=$(lab_dig "$LAB_CLI" @$res x.$srv$v.example $t)
		m1=$(lab_metrics)
		check "IPv$v: $srv ($proto://) answered" expect_eq "$(dig_answers "$out")" "$want"
		check "IPv$v: $srv asked over ${proto^^}" expect_eq "$(delta $ctr)" 1
		if [ $srv != ub ]; then
			seen=$(dd_seen x.$srv$v.example $t)
		else
			seen=$(lab_unbound_seen ub x.ub$v.example $t)
		fi
		check "IPv$v: $srv saw the gateway ($seen)" expect_match "$seen" "$gw_re"
	done
	want="A 192.0.2.34"
	[ $v = 6 ] && want="AAAA 2001:db8:33::34"
	out=$(lab_dig "$LAB_CLI" @$res y.byip.example $t)
	check "IPv$v: https://ADDR/PATH (the address in the certificate) answered" \
		expect_eq "$(dig_answers "$out")" "$want"
	out=$(lab_dig "$LAB_CLI" @$res y.byname.example $t)
	check "IPv$v: https://NAME/PATH (resolved through the bootstrap group) answered" \
		expect_eq "$(dig_answers "$out")" "$want"
	out=$(lab_dig "$LAB_CLI" @$res y.stamp.example $t)
	check "IPv$v: a DoH stamp (sdns://) answered" expect_eq "$(dig_answers "$out")" "$want"

	# Servers sluice must refuse, or whose answers are not DNS messages.
	for kind in rogue wrong noh2 badpath; do
		m0=$(lab_metrics)
		out1=$(lab_dig "$LAB_CLI" @$res a$v.$kind.example $t)
		out2=$(lab_dig "$LAB_CLI" @$res b$v.$kind.example $t)
		m1=$(lab_metrics)
		check "IPv$v $kind: SERVFAIL" \
			expect_eq "$(dig_status "$out1")/$(dig_status "$out2")" SERVFAIL/SERVFAIL
		check "IPv$v $kind: no answer taken from it" expect_eq "$(delta dns_upstream_answers)" 0
	done
done
log=$LAB_WORK/sluice.log
n=$(grep -c "https://203.0.113.5:443#doh.lab: certificate not accepted: unable to get local issuer" "$log")
check "unknown CA: the reason logged once ($n)" expect_eq "$n" 1
n=$(grep -c "https://203.0.113.6:443#doh.lab: certificate not accepted: .*mismatch" "$log")
check "wrong name: the reason logged once ($n)" expect_eq "$n" 1
n=$(grep -c "https://203.0.113.9:443#doh.lab: the server did not select HTTP/2 (ALPN h2)" "$log")
check "no HTTP/2 (ALPN): the reason logged once ($n)" expect_eq "$n" 1
n=$(grep -c "https://203.0.113.4:443#doh.lab: HTTP status 404" "$log")
check "a path the server does not serve: HTTP status 404 logged once ($n)" expect_eq "$n" 1

# burst N PREFIX - N queries at once from N client sockets; prints how many
# were answered NOERROR with one address.
burst() {
	in_cli "$LAB_PY" - "$1" "$2" <<'PY'
import socket, struct, select, sys, time
n, suffix = int(sys.argv[1]), sys.argv[2]
socks, ok = [], 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.53", 53))
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("m%d.%s" % (i, suffix)).split("."):
        q += bytes([len(l)]) + l.encode()
    s.send(q + b"\0\0\1\0\1")
    socks.append(s)
end = time.time() + 8
while socks and time.time() < end:
    for s in select.select(socks, [], [], 0.5)[0]:
        r = s.recv(512); socks.remove(s)
        ok += (r[3] & 15) == 0 and r[7] == 1
print(ok)
PY
}

# Many queries, one connection (each server, dnsdist over IPv6 too); then
# past the stream limit.
for srv in dd4:3 ub4:4 dd6:6; do
	s0=$(syns syn${srv#*:})
	m0=$(lab_metrics)
	ok=$(burst 100 "${srv%:*}.example")
	m1=$(lab_metrics)
	new=$(($(syns syn${srv#*:}) - s0))
	check "${srv%:*}: 100 queries at once answered ($ok)" expect_eq "$ok" 100
	check "${srv%:*}: 100 sent over HTTPS" expect_eq "$(delta dns_upstream_https)" 100
	check "${srv%:*}: 100 queries at once on one connection ($new new)" test "$new" -le 1
done
s0=$(syns syn4)
m0=$(lab_metrics)
ok=$(burst 250 slow.ub4.example)
m1=$(lab_metrics)
new=$(($(syns syn4) - s0))
check "ub: 250 queries at once answered ($ok)" expect_eq "$ok" 250
n=$(lab_slow_seen slowub '^m[0-9]+\.slow\.ub4\.example\.$')
check "ub: the 250 were held 500 ms each by its slow backend ($n names)" expect_eq "$n" 250
check "ub: 250 queries at once: at most two more connections ($new new, 100 streams each)" \
	test "$new" -ge 1 -a "$new" -le 2
check "ub: the new connections resumed the TLS session ($(delta dns_upstream_tls_resumed))" \
	test "$(delta dns_upstream_tls_resumed)" -ge 1

# A server restarted under load: nothing lost, and it is used again.
res_log=$LAB_WORK/restart.txt
in_cli "$LAB_PY" - >"$res_log" <<'PY' 9>&- &
import socket, struct, time
ok = bad = other = 0
for i in range(40):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.53", 53)); s.settimeout(4)
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("k%d.pair.example" % i).split("."):
        q += bytes([len(l)]) + l.encode()
    s.send(q + b"\0\0\1\0\1")
    try:
        r = s.recv(512)
        good = (r[3] & 15) == 0 and r[7] == 1
        ok += good
        other += good and r[-4:] == bytes([192, 0, 2, 34])
        bad += not good
    except socket.timeout:
        bad += 1
    time.sleep(0.1)
print(ok, bad, other)
PY
loader=$!
sleep 1
lab_stop "$second_pid"
sleep 0.5
doh_unbound second 203.0.113.8 2001:db8:113::8 doh.lab 192.0.2.38 || exit 99
wait $loader
read -r ok bad other <"$res_log"
check "restart under load: all 40 answered ($ok ok, $bad failed)" expect_eq "$ok/$bad" 40/0
check "restart under load: the group's other server answered meanwhile ($other)" test "$other" -ge 1
got=$(lab_answers_until "$LAB_CLI" @192.0.2.53 after.pair.example A "A 192.0.2.38" 10)
check "the restarted server is used again" expect_eq "$got" "A 192.0.2.38"
echo "# connections to :443 in all: dnsdist $(syns syn3) (IPv6 $(syns syn6)), unbound $(syns syn4)"
lab_sluice_exit
lab_finish
