#!/bin/bash
# The anti-spoof rule of `sluice rules`, IPv4 and IPv6, UDP and TCP. The
# client owns, besides its own addresses, 203.0.113.77 and 2001:db8:113::77:
# addresses the gateway routes out of gu (the upstream side), so a query
# from them that arrives on gc has a forged source (a victim behind gu).
# Every query goes to 192.0.2.53 / 2001:db8:53::53 (a resolver that exists
# nowhere: only sluice can answer); unbound "abroad" (203.0.113.3 /
# 2001:db8:113::3) answers everything.
#  - anti-spoof yes (the default): a query from the client's own address is
#    answered (control: the rule leaves real clients alone); a forged UDP
#    query is dropped by the ruleset: the UDP anti-spoof counter in `nft
#    list chain inet sluice prerouting` grows, sluice's dns_queries does not,
#    abroad never hears of the name, nothing leaves the gateway toward the
#    victim; a forged TCP connection attempt is dropped the same way (TCP
#    counter, no SYN-ACK toward the victim, dns_tcp_accepted unchanged);
#  - anti-spoof no (the ruleset reloaded with lab_nft): the rule is gone and
#    the same forged query reaches sluice (dns_queries +1, abroad asked by
#    the gateway) and its answer is sent toward the victim; the forged SYN
#    reaches sluice's listener (a SYN-ACK goes toward the victim).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

V4=203.0.113.77 V6=2001:db8:113::77
# Deprecated (preferred_lft 0): a socket may bind them, but the kernel never
# picks them as a source by itself (2001:db8:113::77 would otherwise tie
# with the client's own address for 2001:db8:53::53).
ip -n "$LAB_CLI" addr add $V4/32 dev c0 preferred_lft 0
ip -n "$LAB_CLI" addr add $V6/128 dev c0 nodad preferred_lft 0
for v in 4 6; do
	vic=$([ $v = 4 ] && echo "ip daddr $V4" || echo "ip6 daddr $V6")
	lab_counter "$LAB_GW" victim${v}udp output "$vic udp sport 53" || exit 99
	lab_counter "$LAB_GW" victim${v}tcp output "$vic tcp sport 53" || exit 99
done

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99

conf=$(lab_conf spoof.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
upstream abroad4 udp://203.0.113.3
upstream abroad6 udp://[2001:db8:113::3]
dns-rule domain:v6.example forward abroad6
dns-rule all forward abroad4
EOF
)
sed 's/^metrics .*/&\nanti-spoof no/' "$conf" > "$LAB_WORK/nospoof.conf"
lab_sluice "$conf" || exit 99

# spoofctr udp|tcp - packets the anti-spoof rule for that protocol dropped
# ("none" when the ruleset has no such rule).
spoofctr() {
	in_gw nft list chain inet sluice prerouting |
		awk -v p="$1" 'index($0, p " dport") && index($0, "fib saddr . iif oif missing") {
			for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); found = 1; exit } }
			END { if (!found) print "none" }'
}
# forge SRC DST NAME udp|tcp - from the client ns: a DNS query for NAME (A,
# or AAAA for an IPv6 DST) from SRC to DST:53 over UDP (sent, not waited
# for), or a TCP connection attempt (given up after 1 s). Prints what
# happened.
forge() {
	in_cli "$LAB_PY" - "$@" <<'PY'
import socket, struct, sys
src, dst, name, proto = sys.argv[1:5]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
q = struct.pack("!HHHHHH", 0x5353, 0x0100, 1, 0, 0, 0)
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack("!HH", 28 if fam == socket.AF_INET6 else 1, 1)
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.bind((src, 0))
if proto == "udp":
    s.sendto(q, (dst, 53))
    print("sent")
else:
    s.settimeout(1)
    try:
        s.connect((dst, 53))
        print("connected")
    except socket.timeout:
        print("no connection: timeout")
    except OSError as e:
        print("no connection: %s" % e.__class__.__name__)
PY
}
# asked NAME - how many times abroad was asked for NAME, waiting up to
# 2 s for the first time (nothing comes: 0 after 2 s).
asked() {
	local i n
	for ((i = 0; i < 20; i++)); do
		n=$(grep -c " ${1//./\\.}\. " "$LAB_WORK/abroad.log")
		[ "$n" -gt 0 ] && break
		sleep 0.1
	done
	echo "$n"
}
# delta NAME - how much counter NAME grew from snapshot m0 to m1.
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }

chain=$(in_gw nft list chain inet sluice prerouting)
check "anti-spoof yes: the ruleset has the UDP and TCP anti-spoof rules" \
	expect_eq "$(grep -c 'fib saddr . iif oif missing counter' <<<"$chain")" 2
for v in 4 6; do
	if [ $v = 4 ]; then
		res=192.0.2.53 cli=$CLI4 vic=$V4 gw=$GWU4 t=A zone=example
	else
		res=2001:db8:53::53 cli=$CLI6 vic=$V6 gw=$GWU6 t=AAAA zone=v6.example
	fi
	# Control: the client's own address passes.
	u0=$(spoofctr udp)
	out=$(lab_dnsq "$LAB_CLI" $res -n ok$v.$zone -t $t)
	check "IPv$v anti-spoof yes: a query from $cli is answered" expect_match "$out" "^from $(re_ip $res):53 .*rcode=NOERROR"
	check "IPv$v anti-spoof yes: ... and not counted by the anti-spoof rule" expect_eq "$(spoofctr udp)" "$u0"

	# Forged UDP.
	m0=$(lab_metrics)
	out=$(forge $vic $res f$v.$zone udp)
	n=$(asked f$v.$zone)
	m1=$(lab_metrics)
	check "IPv$v anti-spoof yes: a UDP query from $vic is dropped (anti-spoof UDP counter $u0 -> $(spoofctr udp))" \
		expect_eq "$out|$(($(spoofctr udp) - u0))" "sent|1"
	check "IPv$v anti-spoof yes: sluice never saw it (dns_queries +0), abroad never heard of f$v.$zone" \
		expect_eq "$(delta dns_queries)|$n" "0|0"
	check "IPv$v anti-spoof yes: nothing was sent toward $vic" \
		expect_eq "$(lab_counter_get "$LAB_GW" victim${v}udp)" 0

	# Forged TCP.
	t0=$(spoofctr tcp)
	m0=$(lab_metrics)
	out=$(forge $vic $res tf$v.$zone tcp)
	m1=$(lab_metrics)
	check "IPv$v anti-spoof yes: a TCP connection from $vic fails (${out})" \
		expect_eq "$out" "no connection: timeout"
	check "IPv$v anti-spoof yes: its SYN is dropped by the TCP rule (counter $t0 -> $(spoofctr tcp))" \
		expect_ge "$(($(spoofctr tcp) - t0))" 1
	check "IPv$v anti-spoof yes: no SYN-ACK toward $vic, nothing accepted" \
		expect_eq "$(lab_counter_get "$LAB_GW" victim${v}tcp)/$(delta dns_tcp_accepted)" 0/0
done

lab_nft "$LAB_WORK/nospoof.conf" || exit 99
check "anti-spoof no: the reloaded ruleset has no anti-spoof rule" \
	expect_eq "$(spoofctr udp)/$(spoofctr tcp)" none/none
for v in 4 6; do
	if [ $v = 4 ]; then
		res=192.0.2.53 vic=$V4 gw=$GWU4 t=A zone=example
	else
		res=2001:db8:53::53 vic=$V6 gw=$GWU6 t=AAAA zone=v6.example
	fi
	m0=$(lab_metrics)
	out=$(forge $vic $res n$v.$zone udp)
	n=$(asked n$v.$zone)
	m1=$(lab_metrics)
	check "IPv$v anti-spoof no: the forged UDP query reaches sluice (dns_queries +1), abroad asked once" \
		expect_eq "$(delta dns_queries)|$n" "1|1"
	check "IPv$v anti-spoof no: abroad saw the gateway" expect_eq "$(lab_unbound_seen abroad n$v.$zone $t)" "$gw"
	# abroad logged the query; sluice's answer may still be on its way
	for _ in $(seq 20); do
		[ "$(lab_counter_get "$LAB_GW" victim${v}udp)" -ge 1 ] && break
		sleep 0.1
	done
	check "IPv$v anti-spoof no: the answer went toward $vic (what the rule prevents)" \
		expect_ge "$(lab_counter_get "$LAB_GW" victim${v}udp)" 1
	out=$(forge $vic $res tn$v.$zone tcp)
	check "IPv$v anti-spoof no: the forged SYN reaches sluice's listener (a SYN-ACK toward $vic)" \
		expect_ge "$(lab_counter_get "$LAB_GW" victim${v}tcp)" 1
done
lab_sluice_exit
lab_finish
