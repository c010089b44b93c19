#!/bin/bash
# QUIC through sluice, IPv4 and IPv6, against a real HTTP/3 server (ngtcp2's
# gtlsserver on 203.0.113.7 / 2001:db8:113::7) and client (gtlsclient):
#  - pass: the handshake completes and the file arrives intact; sluice read
#    the SNI and ALPN (its -v log says "sni=quic.example alpn=h3: pass";
#    quic_sni and quic_passed count it); the server saw the gateway, never
#    the client (nft counters in the upstream ns);
#  - sniffing: a ClientHello spread over 3 datagrams and a QUIC v2 Initial
#    give their SNI; half a ClientHello is decided at quic-sniff-timeout
#    (quic_sniff_timeout, nosni) and its held datagram still reaches the server;
#    a datagram of 8 coalesced forged Initials costs one key derivation
#    (quic_key_derivations, quic_bad_initials, quic_not_quic);
#  - quic-rule domain:quic.example mark 0x42: the transfer works and its
#    upstream datagrams carry mark 0x42 (nft counter in the gateway's output
#    hook), while passed flows carry sluice's own mark;
#  - with intercept-local yes the ruleset skips quic-rule marks too, so a
#    marked flow's upstream datagrams are not intercepted again.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_need_svc quic
for t in gtlsserver gtlsclient openssl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
lab_up || exit 99
# note TEXT - a "# " comment line in the output, newlines folded.
note() { local t=$*; echo "# ${t//$'\n'/; }"; }

Q4=203.0.113.7 Q6=2001:db8:113::7
lab_quic_servers quic.example "$Q4" "$Q6" || exit 99
lab_counter "$LAB_UP" gw4 input "ip saddr $GWU4 udp dport 443" || exit 99
lab_counter "$LAB_UP" gw6 input "ip6 saddr $GWU6 udp dport 443" || exit 99
lab_counter "$LAB_UP" cli4 input "ip saddr $CLI4 udp dport 443" || exit 99
lab_counter "$LAB_UP" cli6 input "ip6 saddr $CLI6 udp dport 443" || exit 99
lab_counter "$LAB_GW" mark42 output "meta mark 0x42 udp dport 443" || exit 99
lab_counter "$LAB_GW" markff output "meta mark 0xff udp dport 443" || exit 99

base="listen 0.0.0.0:15000 [::]:15000
intercept udp 443 quic
metrics 127.0.0.1:9153
workers 2"
conf=$(lab_conf quic.conf <<<"$base")
lab_sluice_args "$conf" -v || exit 99
slog="$LAB_WORK/sluice.log"

# 1. Pass, IPv4 and IPv6.
for v in 4 6; do
	if [ $v = 4 ]; then srv=$Q4; else srv=$Q6; fi
	m0=$(lab_metrics) g0=$(lab_counter_get "$LAB_UP" gw$v)
	out=$(lab_h3get "$srv" quic.example)
	m1=$(lab_metrics)
	note "IPv$v pass: $out"
	check "IPv$v: the handshake completes and the file arrives intact" \
		expect_match "$out" "^got $QUIC_BODY in"
	check "IPv$v: sluice read the SNI and ALPN and passed the flow" \
		expect_match "$(cat "$slog")" "-> \[?$(re_ip "$srv")\]?:443 sni=quic\.example alpn=h3: pass"
	check "IPv$v: quic_sni counts it" expect_eq "$(mdelta "$m0" "$m1" quic_sni)" 1
	check "IPv$v: quic_passed counts it" expect_eq "$(mdelta "$m0" "$m1" quic_passed)" 1
	check "IPv$v: the server saw the gateway" expect_ge "$(( $(lab_counter_get "$LAB_UP" gw$v) - g0 ))" 3
	check "IPv$v: the server never saw the client itself" expect_eq "$(lab_counter_get "$LAB_UP" cli$v)" 0
done
check "passed flows go upstream with sluice's mark (0xff)" expect_ge "$(lab_counter_get "$LAB_GW" markff)" 6

# 2. Sniffing: a ClientHello over 3 datagrams, a QUIC v2 Initial, half a hello.
m0=$(lab_metrics)
out=$(lab_quic_hello "$LAB_CLI" "$Q4" sni=split.quic.example split=3)
check "a ClientHello over 3 datagrams reaches the server" expect_match "$out" "^reply .* from $(re_ip "$Q4"):443"
check "and its SNI is read" expect_contains "$(cat "$slog")" "sni=split.quic.example alpn=h3: pass"
out=$(lab_quic_hello "$LAB_CLI" "$Q6" sni=v2.quic.example version=2)
check "a QUIC v2 Initial reaches the server (IPv6)" expect_match "$out" "^reply .* from $(re_ip "$Q6"):443"
check "and its SNI is read" expect_contains "$(cat "$slog")" "sni=v2.quic.example alpn=h3: pass"
out=$(lab_quic_hello "$LAB_CLI" "$Q4" split=2 send=first resend=0)
note "half a ClientHello: $out"
check "half a ClientHello: its held datagram reaches the server after the sniff timeout" \
	expect_match "$out" "^reply .* from $(re_ip "$Q4"):443"
m1=$(lab_metrics)
check "half a ClientHello: decided at the sniff timeout (quic_sniff_timeout)" \
	expect_eq "$(mdelta "$m0" "$m1" quic_sniff_timeout)" 1
check "half a ClientHello: as a flow without SNI (quic_nosni)" expect_eq "$(mdelta "$m0" "$m1" quic_nosni)" 1
check "the other two were read (quic_sni)" expect_eq "$(mdelta "$m0" "$m1" quic_sni)" 2

# A datagram of 8 coalesced forged Initials (bad tags, 8 DCIDs): the walk
# stops at the first, so one key derivation, not eight.
m0=$(lab_metrics)
out=$(lab_quic_hello "$LAB_CLI" "$Q4" forge=8 timeout=0.3 resend=0)
m1=$(lab_metrics)
note "8 forged Initials: $out"
check "8 forged Initials: not QUIC we can read (quic_not_quic)" expect_eq "$(mdelta "$m0" "$m1" quic_not_quic)" 1
check "8 forged Initials: one key derivation (quic_key_derivations)" \
	expect_eq "$(mdelta "$m0" "$m1" quic_key_derivations)" 1
check "8 forged Initials: one failed, the rest skipped (quic_bad_initials)" \
	expect_eq "$(mdelta "$m0" "$m1" quic_bad_initials)" 1

# 3. mark 0x42: relayed with that mark, IPv4 and IPv6.
printf '%s\nquic-rule domain:quic.example mark 0x42\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
check "no datagram carried mark 0x42 before the rule" expect_eq "$(lab_counter_get "$LAB_GW" mark42)" 0
for v in 4 6; do
	if [ $v = 4 ]; then srv=$Q4; else srv=$Q6; fi
	m0=$(lab_metrics) k0=$(lab_counter_get "$LAB_GW" mark42) g0=$(lab_counter_get "$LAB_UP" gw$v)
	out=$(lab_h3get "$srv" quic.example)
	m1=$(lab_metrics)
	check "IPv$v mark: the transfer works" expect_match "$out" "^got $QUIC_BODY in"
	check "IPv$v mark: the log names the rule" \
		expect_match "$(cat "$slog")" "-> \[?$(re_ip "$srv")\]?:443 sni=quic\.example alpn=h3: mark by rule .*quic\.conf:5"
	check "IPv$v mark: quic_marked counts it" expect_eq "$(mdelta "$m0" "$m1" quic_marked)" 1
	check "IPv$v mark: its upstream datagrams carry mark 0x42" \
		expect_ge "$(( $(lab_counter_get "$LAB_GW" mark42) - k0 ))" 3
	check "IPv$v mark: and reach the server from the gateway" \
		expect_ge "$(( $(lab_counter_get "$LAB_UP" gw$v) - g0 ))" 3
done

# 4. intercept-local yes: a marked flow must not come back into sluice.
printf '%s\nintercept-local yes\nquic-rule domain:quic.example mark 0x42\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
m0=$(lab_metrics)
out=$(lab_quic_hello "$LAB_CLI" "$Q4" timeout=2 resend=0)
printf '%s\n' "$base" > "$conf" # stop a loop at once
lab_reload "$conf" || exit 99
m1=$(lab_metrics)
note "intercept-local + mark: $out; quic_flows +$(mdelta "$m0" "$m1" quic_flows)"
check "intercept-local + mark: one flow, not intercepted again" \
	expect_eq "$(mdelta "$m0" "$m1" quic_flows)" 1
check "intercept-local + mark: the server answers (the ruleset skips quic-rule marks)" \
	expect_match "$out" "^reply "
check "no datagram ever bypassed sluice" \
	expect_eq "$(lab_counter_get "$LAB_UP" cli4)/$(lab_counter_get "$LAB_UP" cli6)" 0/0
lab_sluice_exit
lab_finish
