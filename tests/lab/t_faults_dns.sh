#!/bin/bash
# Upstreams that misbehave, IPv4 and IPv6 (clients asking 192.0.2.53 /
# 2001:db8:53::53, each family routed to upstreams of its own family). The
# upstream is dnsfault.py on 203.0.113.5 / 2001:db8:113::5 (UDP and TCP 53,
# TLS 853, and a TLS port 8853 that cuts the handshake); the first label of
# a name picks its fault (see dnsfault.py). upstream-timeout 2500 (the
# default). Every fault is asked at once (so the test takes one timeout,
# not one per fault); the documented outcome of each:
#  - slow (answers 1.5 s late, within the 2.5 s timeout): answered, late;
#  - over UDP, an answer with a wrong ID, a wrong name, a wrong type, a
#    wrong class, cut inside its record (no TC), cut inside its header,
#    random bytes: never taken (dns_upstream_ignored), SERVFAIL once the
#    timeout runs out; an answer from the right address but another port
#    never reaches sluice's socket (connected): SERVFAIL too;
#  - all of those, then the right answer: the right answer;
#  - TC=1 over UDP, then over TCP a server that closes without a word,
#    sends only a length, half an answer, garbage, or resets: SERVFAIL (and
#    TC=1 then a good TCP answer: the answer);
#  - tcp:// and tls:// upstreams that close, send half an answer, garbage,
#    reset, answer with a wrong ID, or hold the connection without
#    answering: SERVFAIL; a TLS handshake cut midway: SERVFAIL; then the
#    next query on each upstream is answered (the connection that stalled
#    silently takes no new queries: before, every later query to that
#    server went onto it and timed out);
#  - tcp:// and tls:// to a port nobody listens on: SERVFAIL, quickly;
#  - nothing crashes: sluice answers afterwards, exits 0 on SIGTERM, and
#    its log has no sanitizer report.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v openssl >/dev/null || { echo "SKIP: openssl not installed" >&2; exit 77; }
lab_up || exit 99
W=$LAB_WORK

# A lab CA and a certificate for dot.lab carrying both server addresses.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=sluice lab CA" -keyout "$W/ca.key" -out "$W/ca.pem" >/dev/null 2>&1 || exit 99
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=dot.lab" \
	-keyout "$W/dot.key" -out "$W/dot.csr" >/dev/null 2>&1 || exit 99
openssl x509 -req -in "$W/dot.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
	-extfile <(printf 'subjectAltName=DNS:dot.lab,IP:203.0.113.5,IP:2001:db8:113::5\n') \
	-out "$W/dot.pem" >/dev/null 2>&1 || exit 99

lab_bg "$LAB_UP" fault "$LAB_PY" -u "$LAB_DIR/dnsfault.py" --bind 203.0.113.5 \
	--bind 2001:db8:113::5 --tls-port 853 --tls-cut-port 8853 --cert "$W/dot.pem" \
	--key "$W/dot.key" --slow 1.5 --stall 8
lab_wait_log fault ready 10 || exit 99

conf=$(lab_conf faults.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2
tls-ca $W/ca.pem
upstream u4 udp://203.0.113.5
upstream u6 udp://[2001:db8:113::5]
upstream t4 tcp://203.0.113.5
upstream t6 tcp://[2001:db8:113::5]
upstream s4 tls://203.0.113.5#dot.lab
upstream s6 tls://[2001:db8:113::5]#dot.lab
upstream c4 tls://203.0.113.5:8853#dot.lab
upstream c6 tls://[2001:db8:113::5]:8853#dot.lab
upstream n4 tcp://203.0.113.5:54 tls://203.0.113.5:854#dot.lab
upstream n6 tcp://[2001:db8:113::5]:54 tls://[2001:db8:113::5]:854#dot.lab
dns-rule domain:u4.example forward u4
dns-rule domain:u6.example forward u6
dns-rule domain:t4.example forward t4
dns-rule domain:t6.example forward t6
dns-rule domain:s4.example forward s4
dns-rule domain:s6.example forward s6
dns-rule domain:c4.example forward c4
dns-rule domain:c6.example forward c6
dns-rule domain:n4.example forward n4
dns-rule domain:n6.example forward n6
EOF
)
lab_sluice "$conf" || exit 99

# ask NAME... - ask every NAME at once, each from a connected socket of its
# own (A for the v4 zones from the v4 client to 192.0.2.53, AAAA for the v6
# ones to 2001:db8:53::53); when all are done (8 s at most), OUT[NAME] holds
# "MS rcode=RCODE DATA" (MS: how long its answer took).
declare -A OUT
ask() {
	local line
	while read -r line; do
		OUT[${line%% *}]=${line#* }
		echo "  $line" >&2
	done < <(in_cli "$LAB_PY" - "$@" <<'PY'
import os, select, socket, struct, sys, time
socks, start = {}, {}
for n in sys.argv[1:]:
    v6 = not n.endswith("4.example")
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("2001:db8:53::53" if v6 else "192.0.2.53", 53))
    q = struct.pack("!HHHHHH", struct.unpack("!H", os.urandom(2))[0], 0x0100, 1, 0, 0, 0)
    for l in n.split("."):
        q += bytes([len(l)]) + l.encode()
    q += b"\0" + struct.pack("!HH", 28 if v6 else 1, 1)
    s.send(q)
    socks[s], start[s] = n, time.monotonic()
end = time.monotonic() + 8
RC = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
while socks and time.monotonic() < end:
    r, _, _ = select.select(list(socks), [], [], 0.2)
    for s in r:
        n = socks.pop(s)
        ms = (time.monotonic() - start[s]) * 1000
        try:
            m = s.recv(65535)
        except OSError:
            print("%s %d rcode=error" % (n, ms))
            continue
        rc = RC.get(m[3] & 15, str(m[3] & 15)) if len(m) >= 12 else "short"
        data = ""
        an = struct.unpack("!H", m[6:8])[0] if len(m) >= 12 else 0
        if an and len(m) >= 4:
            rd = m[-16:] if n.endswith("6.example") else m[-4:]
            data = socket.inet_ntop(socket.AF_INET6 if len(rd) == 16 else socket.AF_INET, rd)
        print("%s %d rcode=%s %s" % (n, ms, rc, data))
for s, n in socks.items():
    print("%s 8000 rcode=none" % n)
PY
)
}
rcode() { set -- ${OUT[$1]}; echo "${2:-none}"; }
data() { set -- ${OUT[$1]}; echo "${3:-}"; }
ms() { set -- ${OUT[$1]}; echo "${1:-0}"; }
# answered NAME V - NOERROR with the server's address for family V.
answered() {
	local want=192.0.2.77
	[ "$2" = 6 ] && want=2001:db8:77::77
	expect_eq "$(rcode "$1") $(data "$1")" "rcode=NOERROR $want"
}
servfail() { expect_eq "$(rcode "$1")" rcode=SERVFAIL; }

udp_bad="wrongid wrongname wrongtype wrongclass wrongport cut short garbage"
tc_bad="close lenonly half garbage reset"
stream_bad="close lenonly half garbage reset wrongid stall"
# Round 1: every UDP fault at once (a socket each, nothing shared), with
# the first query to each stream upstream.
names=()
for v in 4 6; do
	for f in ok slow mixed $udp_bad; do names+=("$f-1.u$v.example"); done
	names+=("tc-ok-1.u$v.example" "ok-1.t$v.example" "ok-1.s$v.example" "ok-1.c$v.example"
		"ok-1.n$v.example")
done
m0=$(lab_metrics)
ask "${names[@]}"
# Then the stream faults, one kind at a time (queries to one server share
# its connection, so a server that closes one fails every query on it).
for f in $stream_bad; do
	names=()
	for v in 4 6; do
		names+=("$f-1.s$v.example")
		case " $tc_bad " in *" $f "*) names+=("tc-$f-1.u$v.example") ;; esac
	done
	ask "${names[@]}"
	ask "$f-1.t4.example" "$f-1.t6.example"
done
m1=$(lab_metrics)

for v in 4 6; do
	check "IPv$v udp ok: answered" answered ok-1.u$v.example $v
	check "IPv$v udp slow (1.5 s, timeout 2.5 s): answered" answered slow-1.u$v.example $v
	check "IPv$v udp slow: the answer took at least 1.4 s ($(ms slow-1.u$v.example) ms)" \
		expect_ge "$(ms slow-1.u$v.example)" 1400
	check "IPv$v udp: bad answers, then the right one: the right one" answered mixed-1.u$v.example $v
	for f in $udp_bad; do
		check "IPv$v udp $f: SERVFAIL" servfail $f-1.u$v.example
	done
	check "IPv$v udp wrongid: SERVFAIL when the timeout runs out, not before ($(ms wrongid-1.u$v.example) ms >= 2300)" \
		expect_ge "$(ms wrongid-1.u$v.example)" 2300
	check "IPv$v TC, then a good TCP answer: answered" answered tc-ok-1.u$v.example $v
	for f in $tc_bad; do
		check "IPv$v TC, then TCP $f: SERVFAIL" servfail tc-$f-1.u$v.example
	done
	for z in t s; do
		p=tcp
		[ $z = s ] && p=tls
		check "IPv$v $p ok: answered" answered ok-1.$z$v.example $v
		for f in $stream_bad; do
			check "IPv$v $p $f: SERVFAIL" servfail $f-1.$z$v.example
		done
	done
	check "IPv$v tls handshake cut midway: SERVFAIL" servfail ok-1.c$v.example
	check "IPv$v tcp:// and tls:// to closed ports: SERVFAIL" servfail ok-1.n$v.example
	check "IPv$v closed ports: SERVFAIL without waiting for the timeout ($(ms ok-1.n$v.example) ms < 2000)" \
		expect_le "$(ms ok-1.n$v.example)" 2000
done
ign=$(($(mval "$m1" dns_upstream_ignored) - $(mval "$m0" dns_upstream_ignored)))
# Per family: 7 single bad UDP answers (wrongport's never arrives), 4 in
# mixed, and the wrong-ID answers over TCP and TLS (at least one each).
check "bad answers ignored and counted ($ign >= 2 x 13)" expect_ge "$ign" 26

# The next query on each upstream is answered: nothing is stuck.
names=()
for v in 4 6; do
	for z in u t s; do names+=("ok-2.$z$v.example"); done
done
ask "${names[@]}"
for v in 4 6; do
	for z in u t s; do
		check "IPv$v afterwards, $z$v: answered" answered ok-2.$z$v.example $v
	done
done
lab_sluice_exit
lab_finish
