#!/bin/bash
# nftset: the addresses of answers go into nftables sets (IPv4 and IPv6
# clients, A and AAAA), two workers:
#  - at start, a set without `flags timeout`, one of the wrong type and a
#    missing one are each logged once, naming the set;
#  - the first packet a client sends to an address it just resolved
#    already matches the set (added before the answer is delivered);
#  - the A address lands in the ipv4_addr set a4, the AAAA one in the
#    ipv6_addr set a6, each with the answer's TTL (300) as its timeout and
#    an expiry close to it; a TTL of 5 gets nftset-min-timeout (60);
#  - many queries for one name (from the upstream once, then the cache, both
#    clients) make one netlink transaction; the rest are deduplicated;
#  - a rule without nftset adds nothing;
#  - a missing set: DNS still answers, the error is counted, logged once;
#  - a set emptied by a firewall reload (table deleted and made again) gets
#    its addresses back at the next answer once the set's handle is checked;
#  - after a reload to serve-stale and nftset-min-timeout 1: an element that
#    ran out comes back from a (stale) cache answer.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

lab_sets() {
	in_gw nft -f - <<'EOF'
table inet lab {
	set a4 { type ipv4_addr; flags timeout; }
	set a6 { type ipv6_addr; flags timeout; }
	set nt { type ipv4_addr; }
	set port { type inet_service; flags timeout; }
	counter first4 { }
	counter first6 { }
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		ip daddr @a4 udp dport 9 counter name first4
		ip6 daddr @a6 udp dport 9 counter name first6
	}
}
EOF
}
lab_sets || exit 99

lab_unbound up 203.0.113.3 2001:db8:113::3 \
	'local-zone: "set.example." static' \
	"local-data: 'set.example. 300 IN A 192.0.2.10'" \
	"local-data: 'set.example. 300 IN AAAA 2001:db8::10'" \
	"local-data: 'first.set.example. 300 IN A 192.0.2.12'" \
	"local-data: 'first.set.example. 300 IN AAAA 2001:db8::12'" \
	"local-data: 'short.set.example. 5 IN A 192.0.2.11'" \
	"local-data: 'many.set.example. 300 IN A 192.0.2.13'" \
	"local-data: 'stale.set.example. 2 IN A 192.0.2.14'" \
	'local-zone: "plain.example." static' "local-data: 'plain.example. 300 IN A 192.0.2.20'" \
	'local-zone: "miss.example." static' "local-data: 'miss.example. 300 IN A 192.0.2.30'" \
	'local-zone: "nt.example." static' "local-data: 'nt.example. 300 IN A 192.0.2.40'" || exit 99

base="listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2
upstream up udp://203.0.113.3"
rules="dns-rule domain:set.example forward up nftset inet#lab#a4,inet#lab#a6
dns-rule domain:miss.example forward up nftset inet#lab#missing
dns-rule domain:nt.example forward up nftset inet#lab#nt,inet#lab#port
dns-rule all forward up"
conf=$(lab_conf nftset.conf <<EOF
$base
nftset-min-timeout 60
$rules
EOF
)
lab_sluice "$conf" || exit 99
log="$LAB_WORK/sluice.log"
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }

# elem SET ADDR - "TIMEOUT EXPIRES" (seconds) of ADDR in inet lab SET, or "absent".
elem() {
	in_gw nft -j list set inet lab "$1" | "$LAB_PY" -c '
import json, sys
want = sys.argv[1]
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        if isinstance(e, dict) and e.get("elem", {}).get("val") == want:
            print(e["elem"].get("timeout", "none"), e["elem"].get("expires", "none"))
            sys.exit(0)
print("absent")' "$2"
}
# in_range VALUE LOW HIGH
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] 2>/dev/null && return 0; echo "  got '$1', want $2..$3" >&2; return 1; }
count_log() { grep -c -- "$1" "$log"; }
counter() { in_gw nft list counter inet lab "$1" | awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'; }

# first NS SERVER NAME TYPE - resolve NAME, then at once send one UDP
# datagram to port 9 of the address in the answer; prints the address.
first() {
	ip netns exec "$1" "$LAB_PY" - "$2" "$3" "$4" <<'PY'
import os, socket, struct, sys
server, name, qtype = sys.argv[1], sys.argv[2], sys.argv[3]
t = 1 if qtype == "A" else 28
fam = socket.AF_INET6 if ":" in server else socket.AF_INET
q = struct.pack("!HHHHHH", struct.unpack("!H", os.urandom(2))[0], 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack("!HH", t, 1)
s = socket.socket(fam, socket.SOCK_DGRAM)
s.connect((server, 53))
s.settimeout(2)
s.send(q)
r = s.recv(4096)
n = 4 if t == 1 else 16  # one answer RR, no OPT: its RDATA ends the message
addr = socket.inet_ntop(socket.AF_INET if t == 1 else socket.AF_INET6, r[-n:])
d = socket.socket(socket.AF_INET if t == 1 else socket.AF_INET6, socket.SOCK_DGRAM)
d.sendto(b"first", (addr, 9))
print(addr)
PY
}

# ---- at start: what is wrong with a set is said once, naming it ----
# (each worker checks the sets when it starts: wait for every report)
for which in a6 nt port missing; do
	lab_wait_log sluice "nftset inet#lab#$which" 5
done
check "start: a set without flags timeout is reported" \
	expect_eq "$(count_log 'nftset inet#lab#nt: has no `flags timeout`')" 1
check "start: a set of another type is reported" \
	expect_eq "$(count_log 'nftset inet#lab#port: is not of type ipv4_addr or ipv6_addr')" 1
check "start: a missing set is reported once" \
	expect_eq "$(count_log 'nftset inet#lab#missing: no such table or set')" 1
check "start: the usable sets are named" \
	expect_eq "$(count_log 'nftset inet#lab#a[46]: an ipv[46]_addr set with timeouts')" 2

# ---- the first packet after the answer matches the set ----
check "before a query the counters are 0" expect_eq "$(counter first4)|$(counter first6)" "0|0"
m0=$(lab_metrics)
a=$(first "$LAB_CLI" 192.0.2.53 first.set.example A)
check "IPv4 client: first packet to $a matched @a4 (added before the answer)" \
	expect_eq "$a|$(counter first4)" "192.0.2.12|1"
a=$(first "$LAB_CLI" 2001:db8:53::53 first.set.example AAAA)
check "IPv6 client: first packet to $a matched @a6" expect_eq "$a|$(counter first6)" "2001:db8::12|1"
m1=$(lab_metrics)
check "one transaction per answer (2)" expect_eq "$(delta dns_nftset_batches)" 2
check "two addresses added" expect_eq "$(delta dns_nftset_added)" 2

# ---- A into a4, AAAA into a6, timeout = TTL, expiry close to it ----
for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53
	t=A; [ $v = 6 ] && t=AAAA
	out=$(lab_dig "$LAB_CLI" @$res set.example $t)
	check "IPv$v client: answered" expect_match "$(dig_answers "$out")" "^$t "
done
read -r to ex <<<"$(elem a4 192.0.2.10)"
check "a4 holds 192.0.2.10 with timeout 300" expect_eq "$to" 300
check "its expiry is close to 300 ($ex)" in_range "$ex" 290 300
read -r to ex <<<"$(elem a6 2001:db8::10)"
check "a6 holds 2001:db8::10 with timeout 300" expect_eq "$to" 300
check "its expiry is close to 300 ($ex)" in_range "$ex" 290 300
check "the IPv6 address is not in a4, the IPv4 one not in a6" \
	expect_eq "$(elem a4 2001:db8::10)|$(elem a6 192.0.2.10)" "absent|absent"

out=$(lab_dig "$LAB_CLI" @192.0.2.53 short.set.example A)
check "TTL 5 answered as 5" expect_eq "$(dig_ttl "$out")" 5
read -r to ex <<<"$(elem a4 192.0.2.11)"
check "TTL 5: the timeout is nftset-min-timeout (60)" expect_eq "$to" 60

# ---- many queries, one transaction ----
m0=$(lab_metrics)
for i in $(seq 10); do
	lab_dig "$LAB_CLI" @192.0.2.53 many.set.example A >/dev/null
	lab_dig "$LAB_CLI" @2001:db8:53::53 many.set.example A >/dev/null
done
m1=$(lab_metrics)
# Dedup is per worker: each of the two sends the address once at most.
check "20 queries for one name: one netlink transaction per worker at most" \
	expect_le "$(delta dns_nftset_batches)" 2
check "one address added per transaction" \
	expect_eq "$(delta dns_nftset_added)" "$(delta dns_nftset_batches)"
check "the rest were deduplicated" \
	expect_eq $(($(delta dns_nftset_deduped) + $(delta dns_nftset_added))) 20
check "the upstream was asked once" expect_eq "$(lab_unbound_seen up many.set.example A | wc -l)" 1

# ---- a rule without nftset adds nothing ----
m0=$(lab_metrics)
out=$(lab_dig "$LAB_CLI" @192.0.2.53 plain.example A)
m1=$(lab_metrics)
check "a rule without nftset: answered" expect_eq "$(dig_answers "$out")" "A 192.0.2.20"
check "a rule without nftset: nothing sent, nothing in a4" \
	expect_eq "$(delta dns_nftset_batches)|$(elem a4 192.0.2.20)" "0|absent"

# ---- a missing set: logged once, counted, DNS unharmed ----
m0=$(lab_metrics)
for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53
	for i in 1 2 3; do
		out=$(lab_dig "$LAB_CLI" @$res miss.example A +tcp)
		out2=$(lab_dig "$LAB_CLI" @$res miss$i.miss.example A)
	done
	check "IPv$v: a rule with a missing set still answers" \
		expect_eq "$(dig_answers "$out")|$(dig_status "$out2")" "A 192.0.2.30|NXDOMAIN"
done
m1=$(lab_metrics)
check "the missing set's errors are counted" expect_ge "$(delta dns_nftset_errors)" 1
check "the missing set is still logged once (both workers, many queries)" \
	expect_eq "$(count_log 'nftset inet#lab#missing')" 1

# ---- a firewall reload empties the sets; the next answer fills them again ----
in_gw nft delete table inet lab
lab_sets
check "after the table is made again a4 is empty" expect_eq "$(elem a4 192.0.2.10)" absent
sleep 10.5 # the set's handle is checked again 10 s after the last look
for i in 1 2; do # each worker: the cache answers, the set changed: sent again
	lab_dig "$LAB_CLI" @192.0.2.53 set.example A >/dev/null
done
read -r to ex <<<"$(elem a4 192.0.2.10)"
check "a4 holds 192.0.2.10 again (timeout $to)" in_range "$to" 280 300
check "the new set was noticed (its handle changed)" \
	expect_eq "$(count_log 'nftset inet#lab#a4: was made again')" 1

# ---- an element that ran out comes back from a stale cache answer ----
conf2=$(lab_conf nftset.conf <<EOF
$base
nftset-min-timeout 1
serve-stale yes
$rules
EOF
)
lab_reload "$conf2" || exit 99
out=$(lab_dig "$LAB_CLI" @192.0.2.53 stale.set.example A)
read -r to ex <<<"$(elem a4 192.0.2.14)"
check "TTL 2 with nftset-min-timeout 1: timeout 2" expect_eq "$to" 2
sleep 3
check "it ran out" expect_eq "$(elem a4 192.0.2.14)" absent
out=$(lab_dig "$LAB_CLI" @192.0.2.53 stale.set.example A)
check "a stale answer from the cache (TTL 30)" expect_eq "$(dig_ttl "$out")" 30
read -r to ex <<<"$(elem a4 192.0.2.14)"
check "the stale answer put it back (timeout 30)" expect_eq "$to" 30

lab_sluice_exit
lab_finish
