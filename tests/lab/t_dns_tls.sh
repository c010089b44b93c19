#!/bin/bash
# DNS over TLS upstreams against unbound (tls-service), IPv4 and IPv6:
#  - tls://ADDR#dot.lab with the lab CA in tls-ca: answered, over TLS (the
#    server saw the gateway; dns_upstream_tls), IPv4 and IPv6 servers;
#  - tls://ADDR (no name): the certificate must carry the address;
#  - a certificate from an unknown CA, and one for another name: SERVFAIL,
#    the reason logged once (not once a query);
#  - one TLS connection carries many queries (50 at once: one SYN to :853);
#    a later connection resumes the TLS session;
#  - a server restarted under load: its group's second server answers
#    meanwhile, nothing is lost, and the first is used again once it is back.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v openssl >/dev/null || { echo "SKIP: openssl not installed" >&2; exit 77; }
lab_up || exit 99

W=$LAB_WORK
# A lab CA, and certificates: dot.lab (with the servers' addresses), a wrong
# name, and one from a CA nobody trusts.
lab_ca ca "sluice lab CA" || exit 99
lab_ca rogue "rogue CA" || exit 99
lab_cert dot.lab "DNS:dot.lab,IP:203.0.113.3,IP:2001:db8:113::3,IP:203.0.113.6" ca || exit 99
lab_cert other.lab "DNS:other.lab,IP:203.0.113.5" ca || exit 99
lab_cert evil.lab "DNS:dot.lab,IP:203.0.113.4" rogue || exit 99

# tls_unbound NAME A4 A6 CERT ANSWER4 [LINE...] - an unbound answering every
# name with ANSWER4 (and 2001:db8:33::N for AAAA), over UDP 53 and TLS 853.
tls_unbound() {
	local name=$1 a4=$2 a6=$3 crt=$4 ans=$5
	shift 5
	lab_unbound "$name" "$a4" "$a6" "interface: $a4@853" "interface: $a6@853" "tls-port: 853" \
		"tls-service-key: \"$W/$crt.key\"" "tls-service-pem: \"$W/$crt.pem\"" \
		'local-zone: "." redirect' "local-data: \". 300 IN A $ans\"" \
		"local-data: \". 300 IN AAAA 2001:db8:33::${ans##*.}\"" "$@"
}
# slow.good4.example goes on to a responder that answers 500 ms late, so the
# 150 queries of the burst that needs a second connection (more than 64 on
# the first) are all open at once.
lab_slow_zone slowgood slow.good4.example 192.0.2.33 || exit 99
tls_unbound good 203.0.113.3 2001:db8:113::3 dot.lab 192.0.2.33 "${LAB_SLOW_LINES[@]}" || exit 99
tls_unbound evil 203.0.113.4 2001:db8:113::4 evil.lab 192.0.2.34 || exit 99
tls_unbound other 203.0.113.5 2001:db8:113::5 other.lab 192.0.2.35 || exit 99
tls_unbound second 203.0.113.6 2001:db8:113::6 dot.lab 192.0.2.36 || exit 99
second_pid=$LAB_LAST_PID

in_gw nft -f - <<'EOF' || exit 99
table inet tlslab {
	counter syn3 { }
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 203.0.113.3 tcp dport 853 tcp flags & (syn | ack) == syn counter name "syn3"
	}
}
EOF
syns() { in_gw nft list counter inet tlslab syn3 | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }

conf=$(lab_conf tls.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
# one worker: TLS sessions (and connections) are per worker
workers 1
cache-size 0
upstream-timeout 3000
tls-ca $W/ca.pem
upstream good4 tls://203.0.113.3#dot.lab
upstream good6 tls://[2001:db8:113::3]:853#dot.lab
upstream byip tls://203.0.113.3
upstream rogue tls://203.0.113.4#dot.lab
upstream wrongname tls://203.0.113.5#dot.lab
upstream pair tls://203.0.113.6#dot.lab tls://203.0.113.3#dot.lab
dns-rule domain:good4.example forward good4
dns-rule domain:good6.example forward good6
dns-rule domain:byip.example forward byip
dns-rule domain:rogue.example forward rogue
dns-rule domain:wrong.example forward wrongname
dns-rule domain:pair.example forward pair
dns-rule all forward good4
EOF
)
lab_sluice "$conf" || exit 99
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
	want="A 192.0.2.33"
	[ $v = 6 ] && want="AAAA 2001:db8:33::33"
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res x.good$v.example $t)
	m1=$(lab_metrics)
	check "IPv$v: tls:// with #AUTH-NAME answered" expect_eq "$(dig_answers "$out")" "$want"
	check "IPv$v: asked over TLS" expect_eq "$(delta dns_upstream_tls)" 1
	check "IPv$v: the TLS server saw the gateway" \
		expect_match "$(lab_unbound_seen good x.good$v.example $t)" "^($(re_ip $GWU4)|$GWU6)\$"
	out=$(lab_dig "$LAB_CLI" @$res y.byip.example $t)
	check "IPv$v: tls:// by address (IP in the certificate) answered" \
		expect_eq "$(dig_answers "$out")" "$want"

	# Certificates sluice must refuse.
	for kind in rogue wrong; do
		m0=$(lab_metrics)
		out1=$(lab_dig "$LAB_CLI" @$res a$v.$kind.example $t)
		out2=$(lab_dig "$LAB_CLI" @$res b$v.$kind.example $t)
		m1=$(lab_metrics)
		check "IPv$v $kind certificate: SERVFAIL" \
			expect_eq "$(dig_status "$out1")/$(dig_status "$out2")" SERVFAIL/SERVFAIL
		check "IPv$v $kind certificate: no answer taken from it" \
			expect_eq "$(delta dns_upstream_answers)" 0
	done
done
n=$(grep -c "tls://203.0.113.4:853#dot.lab: certificate not accepted: unable to get local issuer" \
	"$LAB_WORK/sluice.log")
check "unknown CA: the reason logged once ($n)" expect_eq "$n" 1
n=$(grep -c "tls://203.0.113.5:853#dot.lab: certificate not accepted: .*mismatch" "$LAB_WORK/sluice.log")
check "wrong name: the reason logged once ($n)" expect_eq "$n" 1

# Many queries, one connection; then a resumed session.
s0=$(syns)
m0=$(lab_metrics)
in_cli "$LAB_PY" - <<'PY'
import socket, struct, select, time
socks = []
for i in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.53", 53))
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("m%d.good4.example" % i).split("."):
        q += bytes([len(l)]) + l.encode()
    s.send(q + b"\0\0\1\0\1")
    socks.append(s)
end = time.time() + 5
while socks and time.time() < end:
    for s in select.select(socks, [], [], 0.5)[0]:
        s.recv(512); socks.remove(s)
PY
m1=$(lab_metrics)
check "50 queries at once: 50 sent over TLS" expect_eq "$(delta dns_upstream_tls)" 50
check "50 queries at once: on one connection ($(($(syns) - s0)) new)" test "$(($(syns) - s0))" -le 1
# A second connection (the first is busy with 64 at once) resumes the session
# whose ticket the first one got.
sleep 0.5
s1=$(syns)
ok=$(in_cli "$LAB_PY" - <<'PY'
import socket, struct, select, time
socks, ok = [], 0
for i in range(150):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.53", 53))
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("r%d.slow.good4.example" % i).split("."):
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
)
m2=$(lab_metrics)
check "150 at once: all answered ($ok)" expect_eq "$ok" 150
n=$(lab_slow_seen slowgood '^r[0-9]+\.slow\.good4\.example\.$')
check "150 at once: held 500 ms each by the slow backend ($n names)" expect_eq "$n" 150
check "150 at once: more connections ($(($(syns) - s1)) new)" test "$(($(syns) - s1))" -ge 1
check "... which resumed the TLS session" test "$(mdelta "$m1" "$m2" dns_upstream_tls_resumed)" -ge 1

# A server restarted under load: nothing lost, and it is used again.
m0=$(lab_metrics)
res_log=$LAB_WORK/restart.txt
in_cli "$LAB_PY" - >"$res_log" <<'PY' 9>&- &
import socket, struct, time
ok = bad = 0
for i in range(40):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("192.0.2.53", 53)); s.settimeout(4)
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("k%d.pair.example" % i).split("."):
        q += bytes([len(l)]) + l.encode()
    s.send(q + b"\0\0\1\0\1")
    try:
        r = s.recv(512)
        ok += (r[3] & 15) == 0 and r[7] == 1
        bad += (r[3] & 15) != 0
    except socket.timeout:
        bad += 1
    time.sleep(0.1)
print(ok, bad)
PY
loader=$!
sleep 1
lab_stop "$second_pid"
sleep 0.5
tls_unbound second 203.0.113.6 2001:db8:113::6 dot.lab 192.0.2.36 || exit 99
wait $loader
read -r ok bad <"$res_log"
check "restart under load: all 40 answered ($ok ok, $bad failed)" expect_eq "$ok/$bad" 40/0
got=$(lab_answers_until "$LAB_CLI" @192.0.2.53 after.pair.example A "A 192.0.2.36" 10)
check "the restarted server is used again" expect_eq "$got" "A 192.0.2.36"
lab_sluice_exit
lab_finish
