#!/bin/bash
# DNS answers sluice makes itself, IPv4 and IPv6 clients (asking 192.0.2.53
# and 2001:db8:53::53); one unbound upstream "abroad" answers every other
# name with 192.0.2.31 / 2001:db8:31::31 and logs what it is asked.
#  - block modes, each for A, AAAA, HTTPS (65) and SVCB (64) alike:
#    nxdomain (NXDOMAIN + SOA with block-ttl), refused (REFUSED), zero (A
#    0.0.0.0, AAAA ::, HTTPS/SVCB NOERROR without answers), drop (no answer
#    at all); the upstream never hears of a blocked name; dns_blocked counts
#    each one;
#  - an adblock list (tests/data/dns/ads.txt: real lines and an @@
#    exception): listed names and their subdomains are blocked, the @@
#    exception and its subdomains are forwarded (the upstream answers), a
#    path rule is skipped, $third-party rules block;
#  - the full blocklistproject ads-ags.txt (when ../shared/data is there);
#  - names with binary labels: two 60-byte labels of byte 0x01 (about 500
#    characters in presentation form) in front of a blocked name (domain:
#    rules, the adblock list, the full list) get the very answer
#    "x.<blocked name>" gets; under hosts.example they fall through to the
#    next rule like an unknown name; under a name no rule blocks they are
#    forwarded and the upstream sees them;
#  - `address IP...` answers A and AAAA from its list, NODATA for HTTPS;
#  - `hosts` answers from a hosts file (several names a line, tabs,
#    comments, IPv6 entries, a name with only an IPv6 line, a real line of
#    nocoin hosts.txt), NODATA for a known name without an address of the
#    asked family, and a name the file does not know falls through to the
#    next rule.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
top=${top_srcdir:-$LAB_DIR/../..}
data=$top/tests/data/dns
adsfull=$top/../shared/data/blocklistproject/ads-ags.txt
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99

extra_list="" extra_rule=""
if [ -f "$adsfull" ]; then
	extra_list="list adsfull adblock:$adsfull"
	extra_rule="dns-rule list:adsfull block zero"
else
	echo "note: $adsfull is absent; the full-list checks are skipped"
fi
conf=$(lab_conf block.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:9153
workers 2
block-ttl 120
upstream abroad udp://203.0.113.3
list ads adblock:$data/ads.txt
$extra_list
hosts $data/hosts
dns-rule domain:nx.block.example block nxdomain
dns-rule domain:ref.block.example block refused
dns-rule domain:zero.block.example block zero
dns-rule domain:drop.block.example block drop
dns-rule list:ads block nxdomain
$extra_rule
dns-rule full:addr.example address 192.0.2.77 192.0.2.78 2001:db8:77::77
dns-rule domain:hosts.example hosts
dns-rule full:ashgrrwt.click hosts
dns-rule domain:hosts.example address 192.0.2.99 2001:db8:99::99
dns-rule all forward abroad
EOF
)
lab_sluice "$conf" || exit 99
slog=$LAB_WORK/sluice.log
check "the adblock fixture loaded: 6 entries, the path rule skipped" \
	expect_match "$(cat "$slog")" "list ads: 6 entries from .*ads\.txt \(0 bad lines, 1 unsupported rules skipped\)"

# binq TYPE NAME - hex of a query (RD, no EDNS) for two labels of 60 bytes
# 0x01 in front of NAME.
binq() {
	"$LAB_PY" - "$1" "$2" <<'PY'
import struct, sys
q = struct.pack("!HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0) + (bytes([60]) + b"\x01" * 60) * 2
for l in sys.argv[2].split("."):
    q += bytes([len(l)]) + l.encode()
print((q + b"\0" + struct.pack("!HH", {"A": 1, "AAAA": 28}[sys.argv[1]], 1)).hex())
PY
}
# dnsq_norm OUT - lab_dnsq's output without the ID and length.
dnsq_norm() { sed -E 's/ id=[0-9]+//; s/ len=[0-9]+//' <<<"$1"; }
BIN60='(\\001|\?){60}' # unbound writes a byte it cannot print as ?

# delta NAME - how much counter NAME grew from snapshot m0 to m1.
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# never_asked NAME - the upstream has no query for NAME (any type).
never_asked() { ! grep -qE "[ .]$(re_ip "${1%.}")\. " "$LAB_WORK/abroad.log"; }
TYPES="A AAAA TYPE65 TYPE64"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	m0=$(lab_metrics)
	for t in $TYPES; do
		name=c$v.nx.block.example
		out=$(lab_dig "$LAB_CLI" @$res $name $t)
		check "IPv$v block nxdomain $t: NXDOMAIN" expect_eq "$(dig_status "$out")" NXDOMAIN
		check "IPv$v block nxdomain $t: from $res#53, no answer RR, SOA TTL = block-ttl 120" \
			expect_eq "$(dig_server "$out") $(dig_answers "$out")$(dig_ttl "$out")" "$res#53 120"

		name=c$v.ref.block.example
		out=$(lab_dig "$LAB_CLI" @$res $name $t)
		check "IPv$v block refused $t: REFUSED from $res#53" \
			expect_eq "$(dig_status "$out") $(dig_server "$out")" "REFUSED $res#53"

		name=c$v.zero.block.example
		out=$(lab_dig "$LAB_CLI" @$res $name $t)
		case $t in
		A) want="A 0.0.0.0" ;;
		AAAA) want="AAAA ::" ;;
		*) want="" ;;
		esac
		check "IPv$v block zero $t: NOERROR, answer '${want:-none}'" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|$want"
		[ -n "$want" ] && check "IPv$v block zero $t: TTL = block-ttl" expect_eq "$(dig_ttl "$out")" 120
	done
	# drop: the four types at once, each from its own connected socket.
	pids=()
	for t in $TYPES; do
		lab_dnsq "$LAB_CLI" $res -n c$v.drop.block.example -t ${t#TYPE} --timeout 1 \
			> "$LAB_WORK/drop$v-$t.out" 9>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	for t in $TYPES; do
		check "IPv$v block drop $t: no answer within 1 s" \
			expect_eq "$(cat "$LAB_WORK/drop$v-$t.out")" timeout
	done
	out=$(lab_dig "$LAB_CLI" +time=1 @$res c$v.drop.block.example A)
	check "IPv$v block drop: dig +time=1 +tries=1 times out" expect_contains "$out" "timed out"
	m1=$(lab_metrics)
	check "IPv$v: 17 blocked queries counted (dns_blocked), none forwarded or cached" \
		expect_eq "$(delta dns_blocked)/$(delta dns_forwarded)/$(delta dns_cache_misses)" 17/0/0
	for n in nx ref zero drop; do
		check "IPv$v: the upstream never heard of c$v.$n.block.example" never_asked c$v.$n.block.example
	done

	# The adblock list.
	for name in ad.doubleclick.net c$v.doubleclick.net www.google-analytics.com \
		c$v.ads.example 2miners.com nyda.pro; do
		for t in A TYPE65; do
			out=$(lab_dig "$LAB_CLI" @$res $name $t)
			check "IPv$v adblock: $name $t blocked (NXDOMAIN)" expect_eq "$(dig_status "$out")" NXDOMAIN
		done
	done
	for name in c$v.ok.ads.example api.nyda.pro ok.ads.example uptostream.com; do
		[ $v = 6 ] && name=v6.$name
		out=$(lab_dig "$LAB_CLI" @$res $name A)
		check "IPv$v adblock: $name (exception or skipped rule) is forwarded, abroad answers" \
			expect_eq "$(dig_answers "$out")" "A 192.0.2.31"
		check "IPv$v adblock: abroad was asked for $name" \
			expect_eq "$(lab_unbound_seen abroad $name A)" 203.0.113.1
	done
	if [ -n "$extra_list" ]; then
		out=$(lab_dig "$LAB_CLI" @$res 0001-cab8-4c8c-43de.reporo.net A)
		check "IPv$v full ads-ags.txt: 0001-cab8-4c8c-43de.reporo.net -> block zero" \
			expect_eq "$(dig_answers "$out")" "A 0.0.0.0"
		out=$(lab_dig "$LAB_CLI" @$res c$v.www.baidu.com A)
		check "IPv$v full ads-ags.txt: www.baidu.com is not blocked" \
			expect_eq "$(dig_answers "$out")" "A 192.0.2.31"
	fi

	# Binary labels in front of a blocked name: the same answer as x.NAME.
	m0=$(lab_metrics)
	blocked="nx.block.example zero.block.example doubleclick.net"
	[ -n "$extra_list" ] && blocked="$blocked 0001-cab8-4c8c-43de.reporo.net"
	nb=0
	for name in $blocked; do
		for t in A AAAA; do
			want=$(lab_dnsq "$LAB_CLI" $res -n x.$name -t $t --edns 0)
			out=$(lab_dnsq "$LAB_CLI" $res --hex "$(binq $t c$v.$name)")
			check "IPv$v: 2 x 60 bytes 0x01 + .c$v.$name $t: blocked like x.$name" \
				expect_eq "$(dnsq_norm "$out")" "$(dnsq_norm "$want")"
			check "IPv$v: ... and the answer is a block ($(sed -n 's/.*\(rcode=[A-Z]*\).*/\1/p' <<<"$want"))" \
				expect_match "$(dnsq_norm "$out")" "rcode=NXDOMAIN|rr A [0-9]+ 0\.0\.0\.0|rr AAAA [0-9]+ ::$"
			nb=$((nb + 2))
		done
		check "IPv$v: the upstream never heard of c$v.$name" never_asked c$v.$name
	done
	out=$(lab_dnsq "$LAB_CLI" $res --hex "$(binq A c$v.nothere.hosts.example)" | tr '\n' ' ')
	check "IPv$v: binary labels + .c$v.nothere.hosts.example: not in the hosts file, next rule" \
		expect_match "$out" "rcode=NOERROR .* an=1 .* rr A [0-9]+ 192\.0\.2\.99 $"
	out=$(lab_dnsq "$LAB_CLI" $res --hex "$(binq A c$v.fwd.example)" | tr '\n' ' ')
	check "IPv$v: binary labels + .c$v.fwd.example (no rule blocks it): forwarded, abroad answers" \
		expect_match "$out" "rcode=NOERROR .* an=1 .* rr A [0-9]+ 192\.0\.2\.31 $"
	check "IPv$v: abroad was asked for the whole name, binary labels and all" \
		grep -qE "info: [0-9a-f.:]+ $BIN60\.$BIN60\.c$v\.fwd\.example\. A IN" "$LAB_WORK/abroad.log"
	m1=$(lab_metrics)
	check "IPv$v: $nb blocked (half of them x.NAME), 1 forwarded" \
		expect_eq "$(delta dns_blocked)/$(delta dns_forwarded)" $nb/1

	# address and hosts.
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res addr.example A)
	check "IPv$v address: A 192.0.2.77 and 192.0.2.78, TTL 120" \
		expect_eq "$(dig_answers "$out" | tr '\n' ' ')$(dig_ttl "$out")" "A 192.0.2.77 A 192.0.2.78 120"
	out=$(lab_dig "$LAB_CLI" @$res addr.example AAAA)
	check "IPv$v address: AAAA 2001:db8:77::77" expect_eq "$(dig_answers "$out")" "AAAA 2001:db8:77::77"
	out=$(lab_dig "$LAB_CLI" @$res addr.example TYPE65)
	check "IPv$v address: HTTPS is NODATA" expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|"
	for q in "h1.hosts.example A A 192.0.2.80" "h1.hosts.example AAAA AAAA 2001:db8:80::80" \
		"h1alias.hosts.example A A 192.0.2.80" "h2.hosts.example A A 192.0.2.81" \
		"ashgrrwt.click A A 0.0.0.0" "h2.hosts.example AAAA" \
		"c$v.nothere.hosts.example A A 192.0.2.99" "c$v.nothere.hosts.example AAAA AAAA 2001:db8:99::99"; do
		set -- $q
		out=$(lab_dig "$LAB_CLI" @$res $1 $2)
		want=${3:+$3 $4}
		check "IPv$v hosts: $1 $2 -> ${want:-NODATA}" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|$want"
	done
	out=$(lab_dig "$LAB_CLI" @$res v6only.hosts.example AAAA)
	check "IPv$v hosts: v6only.hosts.example (only an IPv6 line) AAAA -> 2001:db8:82::82" \
		expect_eq "$(dig_answers "$out")" "AAAA 2001:db8:82::82"
	m1=$(lab_metrics)
	check "IPv$v: address and hosts answers never reach the upstream" \
		expect_eq "$(delta dns_forwarded)" 0
	check "IPv$v: all 12 counted as local answers" expect_eq "$(delta dns_local_answers)" 12
done
for n in addr.example h1.hosts.example nothere.hosts.example ashgrrwt.click; do
	check "the upstream never heard of $n" never_asked $n
done
check "no SERVFAIL" expect_eq "$(lab_metric dns_servfail)" 0
lab_finish
