#!/bin/bash
# dns-listen: DNS sent to the gateway's own addresses, IPv4, IPv6 global and
# IPv6 link-local (the gateway's fe80:: address on gc, asked by the client
# as fe80::X%c0), over UDP and TCP. Upstreams: unbound "abroad"
# (203.0.113.3, asked for IPv4 clients; 2001:db8:113::3 for IPv6 ones:
# every name 192.0.2.31 / 2001:db8:31::31) and unbound "other" (203.0.113.5
# / 2001:db8:113::5: every name 192.0.2.51 / 2001:db8:51::51), the target of
# a passthrough.
#  - each address answers by the same rules as intercepted DNS: a forwarded
#    name (abroad answers, it saw the gateway, never the client), the same
#    name again over the other transport from the cache (dns_cache_hits, the
#    upstream asked once), a blocked name (NXDOMAIN, never forwarded); UDP
#    answers come from the address asked (a connected socket), TCP ones on
#    a connection to it (dns_tcp_accepted);
#  - `passthrough` answers REFUSED there (UDP and TCP) and "other" never
#    hears of the name; control: the same name asked of 203.0.113.5 /
#    2001:db8:113::5 (intercepted) is passed through to "other";
#  - control: a gateway address not in dns-listen (203.0.113.1,
#    2001:db8:113::1) is not answered (UDP: nothing; TCP: refused);
#  - `sluice -t` refuses dns-listen 0.0.0.0, [::], [fe80::1] and
#    [fe80::1]:53 (no scope) with FILE:LINE messages; it takes the scoped
#    link-local address in the gateway;
#  - an address:port another process owns (UDP: a udptool server; TCP: a
#    listening socket; IPv4 and IPv6) makes sluice exit non-zero at start,
#    its log naming the address and "another server owns"; the owner keeps
#    its port.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99

# lladdr NS DEV - DEV's link-local address once duplicate address detection
# is over (a tentative address cannot be bound or used); at most 5 s.
lladdr() {
	local i a
	for ((i = 0; i < 50; i++)); do
		a=$(ip -n "$1" -6 addr show dev "$2" scope link |
			awk '$1 == "inet6" && !/tentative/ { sub("/.*", "", $2); print $2; exit }')
		[ -n "$a" ] && { echo "$a"; return 0; }
		sleep 0.1
	done
	lab_log "lab: no usable link-local address on $2"
	return 1
}
LLGW=$(lladdr "$LAB_GW" gc) || exit 99
lladdr "$LAB_CLI" c0 >/dev/null || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_unbound other 203.0.113.5 2001:db8:113::5 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.51"' 'local-data: ". 300 IN AAAA 2001:db8:51::51"' || exit 99

# `sluice -t` on dns-listen addresses it must refuse.
W=$LAB_WORK
L='listen 0.0.0.0:15000 [::]:15000'
for bad in "0.0.0.0|give the gateway's own addresses, not 0.0.0.0" \
	"[::]|give the gateway's own addresses, not [::]" \
	"[fe80::1]|'[fe80::1]': a link-local address needs its interface" \
	"[fe80::1]:53|'[fe80::1]:53': a link-local address needs its interface"; do
	f=$(lab_conf "bad$((++nbad)).conf" <<EOF
$L
intercept udp 53 dns
# a comment line counts
dns-listen 198.51.100.1 ${bad%%|*}
upstream abroad udp://203.0.113.3
EOF
)
	out=$(in_gw "$SLUICE" -t -c "$f" 2>&1)
	rc=$?
	check "sluice -t refuses dns-listen ${bad%%|*}: exit 1, FILE:LINE: message" \
		expect_eq "$rc|$(grep -cF "$f:4: dns-listen: ${bad#*|}" <<<"$out")" "1|1"
done

# An interface that is not there yet (br-lan at boot) is looked up at start:
# `sluice -t` and `sluice rules` accept it, the start says what failed.
f=$(lab_conf late-if.conf <<EOF
$L
intercept udp 53 dns
dns-listen [fe80::1%nosuch0]:5353
upstream abroad udp://203.0.113.3
EOF
)
out=$(in_gw "$SLUICE" -t -c "$f" 2>&1)
check "sluice -t takes a link-local dns-listen whose interface is not up yet" expect_eq "$?" 0
out=$(in_gw timeout 10 "$SLUICE" -c "$f" 2>&1)
check "the start fails on it, naming the address" \
	expect_match "$out" "cannot open dns UDP socket on \\[fe80::1\\]:5353"

conf=$(lab_conf listen.conf <<EOF
$L
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2
dns-listen 198.51.100.1 [2001:db8:100::1]:53 [$LLGW%gc]:53
upstream abroad4 udp://203.0.113.3
upstream abroad6 udp://[2001:db8:113::3]
dns-rule domain:blocked.example block nxdomain
dns-rule domain:pass.example passthrough
dns-rule domain:v6.example forward abroad6
dns-rule all forward abroad4
EOF
)
out=$(in_gw "$SLUICE" -t -c "$conf" 2>&1)
check "sluice -t takes [$LLGW%gc]:53 in the gateway" expect_eq "$?" 0
lab_sluice "$conf" || exit 99

# delta NAME - how much counter NAME grew from snapshot m0 to m1.
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
seen() { lab_unbound_seen "$1" "$2" "$3" | tr '\n' ' ' | sed 's/ $//'; }
# dig_via OUT - "SERVER PROTO" of dig's answer: the address asked (with its
# scope) and UDP or TCP.
dig_via() { sed -n 's/^;; SERVER: .*(\([^)]*\)) (\([A-Z]*\))$/\1 \2/p' <<<"$1" | tail -n1; }
# dnsq_sum OUT - lab_dnsq's "from ADDR rcode=R" and its RRs, on one line.
dnsq_sum() {
	sed -nE 's/^from ([^ ]*) .*rcode=([A-Z]*) .*/from \1 \2/p; s/^rr ([A-Z]+) [0-9]+ (.*)/\1 \2/p' <<<"$1" |
		tr '\n' ' ' | sed 's/ $//'
}

for s in "4 198.51.100.1" "6 2001:db8:100::1" "ll $LLGW%c0"; do
	set -- $s
	tag=$1 srv=$2
	if [ $tag = 4 ]; then
		t=A zone=example ans=192.0.2.31 gw=$GWU4 pass=203.0.113.5 pans=192.0.2.51
	else
		t=AAAA zone=v6.example ans=2001:db8:31::31 gw=$GWU6 pass=2001:db8:113::5 pans=2001:db8:51::51
	fi
	fam=$([ $tag = 4 ] && echo IPv4 || echo IPv6)
	what="$fam ($srv)"

	m0=$(lab_metrics)
	# Forwarded over UDP, then from the cache over TCP.
	out=$(lab_dnsq "$LAB_CLI" "$srv" -n u$tag.$zone -t $t)
	check "$what UDP: u$tag.$zone $t forwarded, answered from $srv:53" \
		expect_eq "$(dnsq_sum "$out")" "from $srv:53 NOERROR $t $ans"
	out=$(lab_dig "$LAB_CLI" +tcp @$srv u$tag.$zone $t)
	check "$what TCP: u$tag.$zone again, the same answer, over TCP to $srv" \
		expect_eq "$(dig_answers "$out")|$(dig_via "$out")" "$t $ans|$srv TCP"
	check "$what: abroad saw u$tag.$zone once, from the gateway ($gw)" \
		expect_eq "$(seen abroad u$tag.$zone $t)" "$gw"
	# Forwarded over TCP, then from the cache over UDP.
	out=$(lab_dig "$LAB_CLI" +tcp @$srv t$tag.$zone $t)
	check "$what TCP: t$tag.$zone $t forwarded, over TCP to $srv" \
		expect_eq "$(dig_answers "$out")|$(dig_via "$out")" "$t $ans|$srv TCP"
	out=$(lab_dnsq "$LAB_CLI" "$srv" -n t$tag.$zone -t $t)
	check "$what UDP: t$tag.$zone again, the same answer from $srv:53" \
		expect_eq "$(dnsq_sum "$out")" "from $srv:53 NOERROR $t $ans"
	check "$what: abroad saw t$tag.$zone once, from the gateway ($gw)" \
		expect_eq "$(seen abroad t$tag.$zone $t)" "$gw"
	# Blocked.
	out=$(lab_dnsq "$LAB_CLI" "$srv" -n u$tag.blocked.example -t $t)
	check "$what UDP: a blocked name gets NXDOMAIN from $srv:53" \
		expect_eq "$(dnsq_sum "$out")" "from $srv:53 NXDOMAIN"
	out=$(lab_dig "$LAB_CLI" +tcp @$srv t$tag.blocked.example $t)
	check "$what TCP: a blocked name gets NXDOMAIN over TCP from $srv" \
		expect_eq "$(dig_status "$out")|$(dig_via "$out")" "NXDOMAIN|$srv TCP"
	# Passthrough: no other resolver to ask.
	out=$(lab_dnsq "$LAB_CLI" "$srv" -n u$tag.pass.example -t $t)
	check "$what UDP: passthrough answers REFUSED from $srv:53" \
		expect_eq "$(dnsq_sum "$out")" "from $srv:53 REFUSED"
	out=$(lab_dig "$LAB_CLI" +tcp @$srv t$tag.pass.example $t)
	check "$what TCP: passthrough answers REFUSED over TCP from $srv" \
		expect_eq "$(dig_status "$out")|$(dig_via "$out")" "REFUSED|$srv TCP"
	m1=$(lab_metrics)
	check "$what: 8 queries, 2 cache misses and 2 hits, 2 blocked, 2 forwarded, 4 TCP connections" \
		expect_eq "$(delta dns_queries)/$(delta dns_cache_misses)/$(delta dns_cache_hits)/$(delta dns_blocked)/$(delta dns_forwarded)/$(delta dns_tcp_accepted)" \
		8/2/2/2/2/4
	check "$what: no upstream heard of the blocked and the passthrough names" \
		bash -c "! grep -qE ' [ut]$tag\.(blocked|pass)\.example\. ' '$LAB_WORK/abroad.log' '$LAB_WORK/other.log'"
	[ $tag = ll ] && continue

	# Control: the passthrough name, intercepted on its way to "other".
	out=$(lab_dnsq "$LAB_CLI" $pass -n c$tag.pass.example -t $t)
	check "$fam control: passthrough to $pass (intercepted) is answered by it" \
		expect_eq "$(dnsq_sum "$out")" "from $pass:53 NOERROR $t $pans"
	check "$fam control: other saw the gateway ask for c$tag.pass.example" \
		expect_eq "$(seen other c$tag.pass.example $t)" "$gw"
	# Control: a gateway address not in dns-listen.
	gwu=$([ $tag = 4 ] && echo $GWU4 || echo $GWU6)
	out=$(lab_dnsq "$LAB_CLI" $gwu -n n$tag.$zone -t $t --timeout 1)
	check "$fam control: $gwu (not in dns-listen) does not answer over UDP" expect_eq "$out" timeout
	out=$(lab_dig "$LAB_CLI" +tcp @$gwu n$tag.$zone $t)
	check "$fam control: $gwu (not in dns-listen) does not answer over TCP" \
		expect_eq "$(dig_status "$out")" none
done
check "no SERVFAIL" expect_eq "$(lab_metric dns_servfail)" 0
lab_sluice_exit

# Another process owns the address and port: sluice does not start.
# ere TEXT - TEXT with the characters an ERE gives a meaning ([ ] .) escaped.
ere() { sed 's/[].[]/\\&/g' <<<"$1"; }
for s in "udp 198.51.100.1 198.51.100.1:5353" "udp 2001:db8:100::1 [2001:db8:100::1]:5353" \
	"tcp 198.51.100.1 198.51.100.1:5354" "tcp 2001:db8:100::1 [2001:db8:100::1]:5354"; do
	set -- $s
	proto=$1 ip=$2 ap=$3 port=${3##*:}
	if [ $proto = udp ]; then
		lab_server_in "$LAB_GW" owner-$proto-$port-$ip "$ip" "$port" || exit 99
	else
		lab_bg "$LAB_GW" owner-$proto-$port-$ip "$LAB_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_STREAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("ready", flush=True)
time.sleep(60)' "$ip" "$port"
		lab_wait_log owner-$proto-$port-$ip ready 10 || exit 99
	fi
	owner=$LAB_LAST_PID
	f=$(lab_conf taken-$proto-$port.conf <<EOF
$L
intercept udp 53 dns
intercept tcp 53 dns
dns-listen $ap
upstream abroad udp://203.0.113.3
EOF
)
	lab_bg "$LAB_GW" taken-$proto-$port-$ip "$SLUICE" -c "$f"
	lab_wait "$LAB_LAST_PID" 10
	log=$(cat "$LAB_WORK/taken-$proto-$port-$ip.log")
	check "$proto $ap taken: sluice exits non-zero at start (rc $LAB_STOP_RC)" test "$LAB_STOP_RC" -ne 0
	check "$proto $ap taken: the log names the ${proto^^} socket on $ap and 'another server owns'" \
		expect_match "$log" "${proto^^} socket on $(ere "$ap"): .*another server owns"
	check "$proto $ap taken: sluice never said it was running" bash -c "! grep -q running '$LAB_WORK/taken-$proto-$port-$ip.log'"
	check "$proto $ap taken: the owner still runs" lab_ours "$owner"
	if [ $proto = udp ]; then
		out=$(in_cli "$LAB_PY" -u "$LAB_DIR/udptool.py" client --to "$ip" --port "$port" --msg x --timeout 2)
		check "$proto $ap taken: the owner still answers on it" expect_match "$out" "^from $(re_ip "$ip"):$port seen "
	fi
	lab_stop "$owner"
done
lab_finish
