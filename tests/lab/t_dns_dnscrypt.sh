#!/bin/bash
# DNSCrypt upstreams (sdns:// stamps) against dnsdist, IPv4 and IPv6.
# dnsdist serves DNSCrypt on 203.0.113.3:8443 and [2001:db8:113::3]:8443
# (provider 2.dnscrypt-cert.example, certificate serial 1, XChacha20) in
# front of an unbound backend on 203.0.113.4 (every name 192.0.2.44 /
# 2001:db8:44::44, a ~900-byte TXT under big.example) that it asks from
# 203.0.113.3. The stamps are made here from dnsdist's provider key.
#  - a name routed to a DNSCrypt group is answered, sent encrypted
#    (dns_upstream_dnscrypt), and the backend saw dnsdist, never the
#    gateway; the certificate is fetched once and logged (serial 1);
#  - a ~900-byte answer comes TC over DNSCrypt UDP (an answer may not be
#    longer than its padded query) and is fetched again over DNSCrypt TCP:
#    the client gets all of it;
#  - a stamp with another provider key: SERVFAIL, nothing taken from the
#    server, the reason logged once (not once a query);
#  - a DNSCrypt server that is not there (ICMP refused): SERVFAIL, logged
#    once; in a group with a working one first, the working one answers;
#  - an on-path attacker (dnscrypt_relay.py between sluice and dnsdist on
#    203.0.113.5 / 2001:db8:113::5) sends each answer with a byte flipped
#    before the real one: the forgery is ignored and counted
#    (dns_dnscrypt_bad), the real answer taken; when it sends only the
#    forgery (port 8444): SERVFAIL, nothing taken;
#  - dnsdist rotates its certificate live (console: serial 2 in, serial 1
#    out): the next query on each family is still answered, on serial 2;
#  - dnsdist restarted with a new certificate (serial 3) from files: the
#    next queries are answered, on serial 3.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
command -v dnsdist >/dev/null || { echo "SKIP: dnsdist not installed" >&2; exit 77; }
dnsdist --version 2>/dev/null | grep -q dnscrypt || { echo "SKIP: dnsdist without dnscrypt" >&2; exit 77; }
lab_up || exit 99

W=$LAB_WORK
PROVIDER=2.dnscrypt-cert.example
CKEY="MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74="

# Keys and certificates, made by dnsdist itself (--check-config runs the file).
gen() { # SERIAL - certificate and resolver key rSERIAL.{cert,key}, valid from a minute ago for a day
	printf 'generateDNSCryptCertificate("%s", "%s", "%s", %d, os.time() - 60, os.time() + 86400, DNSCryptExchangeVersion.VERSION2)\n' \
		"$W/provider.key" "$W/r$1.cert" "$W/r$1.key" "$1" >"$W/gen$1.conf"
	dnsdist --check-config -C "$W/gen$1.conf" >/dev/null 2>&1 && [ -s "$W/r$1.cert" ]
}
printf 'generateDNSCryptProviderKeys("%s", "%s")\n' "$W/provider.pub" "$W/provider.key" >"$W/genp.conf"
dnsdist --check-config -C "$W/genp.conf" >/dev/null 2>&1 || exit 99
gen 1 || exit 99
gen 3 || exit 99

# stamp ADDR PUBKEY-FILE|random - a DNSCrypt stamp for ADDR and PROVIDER.
stamp() {
	"$LAB_PY" - "$1" "$2" "$PROVIDER" <<'PY'
import base64, os, struct, sys
addr, keyfile, name = sys.argv[1:4]
pk = os.urandom(32) if keyfile == "random" else open(keyfile, "rb").read()
assert len(pk) == 32
lp = lambda b: bytes([len(b)]) + b
raw = b"\x01" + struct.pack("<Q", 1) + lp(addr.encode()) + lp(pk) + lp(name.encode())
print("sdns://" + base64.urlsafe_b64encode(raw).decode().rstrip("="))
PY
}

txt=()
for i in 1 2 3 4; do
	txt+=("local-data: 'big.example. 300 IN TXT \"$(printf "t$i-%0200d" 0)\"'")
done
lab_unbound backend 203.0.113.4 2001:db8:113::4 'local-zone: "big.example." static' "${txt[@]}" \
	'local-zone: "." redirect' 'local-data: ". 300 IN A 192.0.2.44"' \
	'local-data: ". 300 IN AAAA 2001:db8:44::44"' || exit 99

# dnsdist_start SERIAL - dnsdist with certificate SERIAL on both families.
dnsdist_start() {
	cat >"$W/dnsdist.conf" <<EOF
setSecurityPollSuffix("")
setACL({"0.0.0.0/0", "::/0"})
newServer({address="203.0.113.4:53", source="203.0.113.3"})
addDNSCryptBind("203.0.113.3:8443", "$PROVIDER", "$W/r$1.cert", "$W/r$1.key")
addDNSCryptBind("[2001:db8:113::3]:8443", "$PROVIDER", "$W/r$1.cert", "$W/r$1.key")
controlSocket("127.0.0.1:5199")
setKey("$CKEY")
EOF
	lab_bg "$LAB_UP" dnsdist dnsdist --supervised --disable-syslog -C "$W/dnsdist.conf"
	DNSDIST_PID=$LAB_LAST_PID
	lab_wait_log dnsdist "Accepting control connections" 10 &&
		# until its health check has seen the backend, dnsdist drops queries
		lab_wait_log dnsdist "Marking downstream 203.0.113.4:53 as 'up'" 10
}
dd_console() { in_up dnsdist -c 127.0.0.1:5199 -k "$CKEY" -e "$1" 2>&1; }
dnsdist_start 1 || exit 99
for m in forge:8443 tamper:8444; do
	lab_bg "$LAB_UP" "relay-${m%%:*}" "$LAB_PY" -u "$LAB_DIR/dnscrypt_relay.py" --bind 203.0.113.5 \
		--bind 2001:db8:113::5 --port "${m#*:}" --to4 203.0.113.3:8443 \
		--to6 '[2001:db8:113::3]:8443' --mode "${m%%:*}" --lifetime 300
	lab_wait_log "relay-${m%%:*}" ready 10 || exit 99
done

conf=$(lab_conf crypt.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:9153
# one worker: certificates are per worker
workers 1
cache-size 0
upstream-timeout 4000
upstream crypt4 $(stamp 203.0.113.3:8443 "$W/provider.pub")
upstream crypt6 $(stamp '[2001:db8:113::3]:8443' "$W/provider.pub")
upstream wrongkey $(stamp 203.0.113.3:8443 random)
upstream forge4 $(stamp 203.0.113.5:8443 "$W/provider.pub")
upstream forge6 $(stamp '[2001:db8:113::5]:8443' "$W/provider.pub")
upstream tamper $(stamp 203.0.113.5:8444 "$W/provider.pub")
upstream gone $(stamp 203.0.113.9:8443 "$W/provider.pub")
upstream failover $(stamp 203.0.113.9:8443 "$W/provider.pub") $(stamp 203.0.113.3:8443 "$W/provider.pub")
dns-rule domain:c4.example forward crypt4
dns-rule domain:c6.example forward crypt6
dns-rule domain:bad.example forward wrongkey
dns-rule domain:f4.example forward forge4
dns-rule domain:f6.example forward forge6
dns-rule domain:tamper.example forward tamper
dns-rule domain:gone.example forward gone
dns-rule domain:failover.example forward failover
dns-rule all forward crypt4
EOF
)
lab_sluice "$conf" || exit 99
LOG=$W/sluice.log

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A want="A 192.0.2.44"; else
		res=2001:db8:53::53 t=AAAA want="AAAA 2001:db8:44::44"; fi
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res x.c$v.example $t)
	m1=$(lab_metrics)
	check "IPv$v: answered through DNSCrypt" expect_eq "$(dig_answers "$out")" "$want"
	check "IPv$v: sent encrypted" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_dnscrypt)" 1
	check "IPv$v: one certificate fetch" expect_eq "$(mdelta "$m0" "$m1" dns_dnscrypt_cert_fetches)" 1
	check "IPv$v: the backend saw dnsdist, not the gateway" \
		expect_eq "$(lab_unbound_seen backend x.c$v.example $t)" 203.0.113.3
	out=$(lab_dig "$LAB_CLI" @$res y.c$v.example $t)
	m2=$(lab_metrics)
	check "IPv$v: the certificate is kept" expect_eq "$(mdelta "$m1" "$m2" dns_dnscrypt_cert_fetches)/$(dig_answers "$out")" "0/$want"
done
check "serial 1 logged once" expect_eq "$(grep -c "dnscrypt 203.0.113.3:8443 ($PROVIDER): certificate serial 1 (X25519-XChacha20Poly1305)" "$LOG")" 1
check "IPv6 server: serial 1 logged" expect_eq "$(grep -c "dnscrypt \[2001:db8:113::3\]:8443 ($PROVIDER): certificate serial 1" "$LOG")" 1

# A large answer: TC over DNSCrypt UDP, then DNSCrypt over TCP.
m0=$(lab_metrics)
out=$(lab_dig "$LAB_CLI" @192.0.2.53 big.example TXT +ignore)
m1=$(lab_metrics)
check "large answer: all 4 TXT records, no TC" \
	expect_eq "$(dig_answers "$out" | grep -c '^TXT')/$(dig_flags "$out" | grep -c tc)" 4/0
check "large answer: fetched again over TCP" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_tcp)" 1
check "large answer: 2 encrypted queries (UDP, TCP)" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_dnscrypt)" 2
check "large answer: nothing failed to decrypt" expect_eq "$(mdelta "$m0" "$m1" dns_dnscrypt_bad)" 0

# Another provider key: refused.
m0=$(lab_metrics)
out1=$(lab_dig "$LAB_CLI" @192.0.2.53 a.bad.example A)
out2=$(lab_dig "$LAB_CLI" @192.0.2.53 b.bad.example A)
m1=$(lab_metrics)
check "wrong provider key: SERVFAIL" expect_eq "$(dig_status "$out1")/$(dig_status "$out2")" SERVFAIL/SERVFAIL
check "wrong provider key: no answer taken" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_answers)" 0
check "wrong provider key: no query sent" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_dnscrypt)" 0
check "wrong provider key: certificates refused" expect_ge "$(mdelta "$m0" "$m1" dns_dnscrypt_cert_failed)" 2
n=$(grep -c "no usable certificate: 1 TXT records: 1 not signed by the stamp's provider key" "$LOG")
check "wrong provider key: the reason logged once ($n)" expect_eq "$n" 1

# A server that is not there, alone and before a working one.
out1=$(lab_dig "$LAB_CLI" @192.0.2.53 a.gone.example A)
out2=$(lab_dig "$LAB_CLI" @192.0.2.53 b.gone.example A)
check "no server: SERVFAIL" expect_eq "$(dig_status "$out1")/$(dig_status "$out2")" SERVFAIL/SERVFAIL
n=$(grep -c "dnscrypt 203.0.113.9:8443 ($PROVIDER): no usable certificate: the certificate query was refused" "$LOG")
check "no server: the reason logged once ($n)" expect_eq "$n" 1
out=$(lab_dig "$LAB_CLI" @192.0.2.53 c.failover.example A)
check "no server first: the next one answers" expect_eq "$(dig_answers "$out")" "A 192.0.2.44"

# An on-path attacker: forgeries before the real answers, then forgeries only.
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A want="A 192.0.2.44"; else
		res=2001:db8:53::53 t=AAAA want="AAAA 2001:db8:44::44"; fi
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res a.f$v.example $t)
	out2=$(lab_dig "$LAB_CLI" @$res b.f$v.example $t)
	m1=$(lab_metrics)
	check "IPv$v forged answers first: the real ones taken" \
		expect_eq "$(dig_answers "$out")/$(dig_answers "$out2")" "$want/$want"
	check "IPv$v forged answers first: both forgeries ignored and counted" \
		expect_eq "$(mdelta "$m0" "$m1" dns_dnscrypt_bad)" 2
done
check "the relay forged them" expect_eq "$(grep -c '^forged' "$W/relay-forge.log")" 4
m0=$(lab_metrics)
out=$(lab_dig "$LAB_CLI" @192.0.2.53 a.tamper.example A +time=6)
m1=$(lab_metrics)
check "forgeries only: SERVFAIL" expect_eq "$(dig_status "$out")" SERVFAIL
check "forgeries only: nothing taken" expect_eq "$(mdelta "$m0" "$m1" dns_upstream_answers)" 0
# (one that lands after the SERVFAIL finds the socket closed: not counted)
check "forgeries only: ignored and counted" expect_ge "$(mdelta "$m0" "$m1" dns_dnscrypt_bad)" 1
check "forgeries only: no more counted than sent" \
	expect_le "$(mdelta "$m0" "$m1" dns_dnscrypt_bad)" "$(grep -c '^forged' "$W/relay-tamper.log")"

# Live rotation: serial 2 in, serial 1 out (queries sealed for it are dropped).
rot=$(dd_console "for i = 0, 1 do local b = getDNSCryptBind(i); b:generateAndLoadInMemoryCertificate('$W/provider.key', 2, os.time() - 60, os.time() + 86400, DNSCryptExchangeVersion.VERSION2); b:markInactive(1); b:removeInactiveCertificate(1) end")
[ -z "$rot" ] || echo "dnsdist console: $rot"
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A want="A 192.0.2.44"; else
		res=2001:db8:53::53 t=AAAA want="AAAA 2001:db8:44::44"; fi
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res r.c$v.example $t +time=6)
	m1=$(lab_metrics)
	check "IPv$v after a live rotation: answered" expect_eq "$(dig_answers "$out")" "$want"
	check "IPv$v after a live rotation: a new certificate" expect_eq "$(mdelta "$m0" "$m1" dns_dnscrypt_cert_new)" 1
	out=$(lab_dig "$LAB_CLI" @$res s.c$v.example $t)
	check "IPv$v after a live rotation: the next query at once" expect_eq "$(dig_answers "$out")" "$want"
done
check "serial 2 logged" expect_eq "$(grep -c "($PROVIDER): certificate serial 2" "$LOG")" 2

# Restart with serial 3 from files.
lab_stop "$DNSDIST_PID"
dnsdist_start 3 || exit 99
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A want="A 192.0.2.44"; else
		res=2001:db8:53::53 t=AAAA want="AAAA 2001:db8:44::44"; fi
	out=$(lab_dig "$LAB_CLI" @$res u.c$v.example $t +time=6)
	check "IPv$v after a restart with a new certificate: answered" expect_eq "$(dig_answers "$out")" "$want"
	out=$(lab_dig "$LAB_CLI" @$res w.c$v.example $t)
	check "IPv$v after a restart: the next query at once" expect_eq "$(dig_answers "$out")" "$want"
done
check "serial 3 logged" expect_eq "$(grep -c "($PROVIDER): certificate serial 3" "$LOG")" 2
lab_sluice_exit
lab_finish
