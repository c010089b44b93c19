#!/bin/bash
# quic-rule block, reject and nosni against a real HTTP/3 server (gtlsserver
# on 203.0.113.7 / 2001:db8:113::7), IPv4 and IPv6:
#  - block (full:quic.example): gtlsclient fails its handshake, nothing
#    reaches the server, quic_blocked/quic_dropped count it; full: spares
#    www.quic.example;
#  - reject: a client with a connected socket (as browsers use) gets
#    ECONNREFUSED (ICMP / ICMPv6 port unreachable, counted by nft in the
#    client ns) and so fails faster than under block; quic_rejected and
#    quic_icmp_sent count it; gtlsclient fails too;
#  - nosni block: a client Initial without SNI (which the server answers
#    when no rule applies) is blocked, while a client sending one passes;
#  - an SNI of two 60-byte labels of 0x01 in front of quic.example is
#    blocked by domain:quic.example like x.quic.example (not taken for no
#    SNI), while one in front of another name passes.
# gtlsclient 0.12 sends "localhost" as SNI to a numeric host and ignores
# --sni there, so it is pointed at quic.example through the client ns's
# hosts file; the no-SNI client is lab_quic_hello (hand-built Initial).
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
lab_counter "$LAB_CLI" icmp4 input "icmp type destination-unreachable" || exit 99
lab_counter "$LAB_CLI" icmp6 input "icmpv6 type destination-unreachable" || exit 99
upstream() { echo $(( $(lab_counter_get "$LAB_UP" gw4) + $(lab_counter_get "$LAB_UP" gw6) )); }
# ms RESULT - the duration in a lab_quic_hello or lab_h3get result line.
ms() { sed -n 's/.* \([0-9]*\) ms$/\1/p' <<<"$1" | tail -n1; }

base="listen 0.0.0.0:15000 [::]:15000
intercept udp 443 quic
metrics 127.0.0.1:9153
workers 2"
conf=$(lab_conf quic.conf <<<"$base")
lab_sluice_args "$conf" -v || exit 99
slog="$LAB_WORK/sluice.log"

# 0. Without rules a client that sends no SNI is answered by the server.
out=$(lab_quic_hello "$LAB_CLI" "$Q4" sni=)
check "no rule: a client Initial without SNI is answered" expect_match "$out" "^reply .* from $(re_ip "$Q4"):443"
check "no rule: sluice saw no SNI and passed it" \
	expect_match "$(cat "$slog")" "sni=\(none\) alpn=h3: pass \(no rule matched\)$"

# 1. block.
printf '%s\nquic-rule full:quic.example block\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
m0=$(lab_metrics) u0=$(upstream)
out=$(lab_h3get "$Q4" quic.example --handshake-timeout=1500ms)
note "IPv4 block, gtlsclient: $out"
check "block: gtlsclient gets no file" expect_match "$out" "^failed in"
mh=$(lab_metrics)
blk=$(lab_quic_hello "$LAB_CLI" "$Q4" timeout=1.5)
note "IPv4 block, connected socket: $blk"
check "block: a connected-socket client hears nothing" expect_match "$blk" "^timeout after"
m1=$(lab_metrics)
check "block: nothing reached the server" expect_eq "$(upstream)" "$u0"
check "block: quic_blocked counts both flows" expect_eq "$(mdelta "$m0" "$m1" quic_blocked)" 2
check "block: quic_dropped counts every datagram of the flow, the held first one too" \
	expect_eq "$(mdelta "$mh" "$m1" quic_dropped)" "$(sed -n 's/^sent \([0-9]*\) datagrams/\1/p' <<<"$blk")"
check "block: the log names the rule" \
	expect_match "$(cat "$slog")" "sni=quic\.example alpn=h3: block by rule .*quic\.conf:5"
out=$(lab_quic_hello "$LAB_CLI" "$Q4" sni=www.quic.example)
check "block: full: spares www.quic.example" expect_match "$out" "^reply .* from $(re_ip "$Q4"):443"
out=$(lab_quic_hello "$LAB_CLI" "$Q6" timeout=1)
check "block (IPv6): a connected-socket client hears nothing" expect_match "$out" "^timeout after"

# 2. reject: ICMP port unreachable, so a connected socket fails at once.
printf '%s\nquic-rule full:quic.example reject\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
for v in 4 6; do
	if [ $v = 4 ]; then srv=$Q4; else srv=$Q6; fi
	m0=$(lab_metrics) u0=$(upstream) i0=$(lab_counter_get "$LAB_CLI" icmp$v)
	rej=$(lab_quic_hello "$LAB_CLI" "$srv" timeout=1.5)
	note "IPv$v reject, connected socket: $rej"
	check "IPv$v reject: the connected socket gets ECONNREFUSED" expect_match "$rej" "^refused after"
	if [ $v = 4 ]; then
		check "reject fails faster than block ($(ms "$rej") ms < $(ms "$blk") ms)" \
			test "$(ms "$rej")" -lt "$(ms "$blk")"
	fi
	check "IPv$v reject: the ICMP port unreachable arrived in the client ns" \
		expect_ge "$(( $(lab_counter_get "$LAB_CLI" icmp$v) - i0 ))" 1
	out=$(lab_h3get "$srv" quic.example --handshake-timeout=1500ms)
	note "IPv$v reject, gtlsclient (its socket is not connected: no ICMP error reaches it): $out"
	check "IPv$v reject: gtlsclient gets no file" expect_match "$out" "^failed in"
	m1=$(lab_metrics)
	check "IPv$v reject: nothing reached the server" expect_eq "$(upstream)" "$u0"
	check "IPv$v reject: quic_rejected counts both flows" expect_eq "$(mdelta "$m0" "$m1" quic_rejected)" 2
	check "IPv$v reject: quic_icmp_sent counts an ICMP per datagram" \
		expect_ge "$(mdelta "$m0" "$m1" quic_icmp_sent)" 2
	check "IPv$v reject: every ICMP sent arrived" \
		expect_eq "$(( $(lab_counter_get "$LAB_CLI" icmp$v) - i0 ))" "$(mdelta "$m0" "$m1" quic_icmp_sent)"
done

# 3. nosni block: no SNI -> blocked; an SNI -> passed.
printf '%s\nquic-rule nosni block\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
m0=$(lab_metrics)
out=$(lab_quic_hello "$LAB_CLI" "$Q4" sni= timeout=1)
check "nosni: a client Initial without SNI is blocked" expect_match "$out" "^timeout after"
check "nosni: the log says so" expect_match "$(cat "$slog")" "sni=\(none\) alpn=h3: block by rule .*quic\.conf:5"
out=$(lab_quic_hello "$LAB_CLI" "$Q6" sni= timeout=1)
check "nosni (IPv6): a client Initial without SNI is blocked" expect_match "$out" "^timeout after"
out=$(lab_h3get "$Q4" quic.example)
check "nosni: gtlsclient sending SNI quic.example passes" expect_match "$out" "^got $QUIC_BODY in"
out=$(lab_h3get - "$Q4")
check "nosni: gtlsclient asked by address passes too (it sends SNI localhost)" \
	expect_match "$out" "^got $QUIC_BODY in"
check "nosni: ... as the log shows" expect_contains "$(cat "$slog")" "sni=localhost alpn=h3: pass"
m1=$(lab_metrics)
check "nosni: quic_nosni counts the two flows without SNI" expect_eq "$(mdelta "$m0" "$m1" quic_nosni)" 2
check "nosni: quic_blocked counts them" expect_eq "$(mdelta "$m0" "$m1" quic_blocked)" 2
check "nosni: quic_passed counts the two gtlsclient flows" expect_eq "$(mdelta "$m0" "$m1" quic_passed)" 2
# 4. Binary labels in front of a blocked name: matched on their labels.
printf '%s\nquic-rule domain:quic.example block\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
# binsni NAME - hex of two 60-byte labels of 0x01, then NAME.
binsni() { printf '%s' "$(printf '01%.0s' $(seq 60))2e$(printf '01%.0s' $(seq 60))2e"; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
m0=$(lab_metrics)
for srv in "$Q4" "$Q6"; do
	out=$(lab_quic_hello "$LAB_CLI" "$srv" sni=x.quic.example timeout=1)
	check "binary SNI ($srv): x.quic.example is blocked" expect_match "$out" "^timeout after"
	out=$(lab_quic_hello "$LAB_CLI" "$srv" snihex="$(binsni c.quic.example)" timeout=1)
	check "binary SNI ($srv): 2 x 60 bytes 0x01 + .c.quic.example is blocked too" \
		expect_match "$out" "^timeout after"
	out=$(lab_quic_hello "$LAB_CLI" "$srv" snihex="$(binsni c.other.example)")
	check "binary SNI ($srv): 2 x 60 bytes 0x01 + .c.other.example passes" \
		expect_match "$out" "^reply .* from $(re_ip "$srv"):443"
done
m1=$(lab_metrics)
check "binary SNI: the log shows the escaped name and the rule" \
	expect_match "$(cat "$slog")" "sni=(\\\\001){60}\.(\\\\001){60}\.c\.quic\.example alpn=h3: block by rule .*quic\.conf:5"
check "binary SNI: quic_blocked counts 4 flows, quic_nosni none" \
	expect_eq "$(mdelta "$m0" "$m1" quic_blocked)/$(mdelta "$m0" "$m1" quic_nosni)" 4/0
lab_sluice_exit
lab_finish
