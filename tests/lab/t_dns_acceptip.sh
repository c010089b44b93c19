#!/bin/bash
# accept-ip and bogus-nxdomain, IPv4 and IPv6 clients, against two unbound
# upstream groups: "domestic" (203.0.113.4, asked over IPv4) that poisons
# foreign names with addresses outside the `cn` ip-list, and "trusted"
# (2001:db8:113::3, asked over IPv6). The rule under test:
#   dns-rule all forward domestic accept-ip cn else trusted
# cn is a CIDR file (192.0.2.0/24, 2001:db8:41::/48, 2001:db8:99::/48, with
# a bad line that is reported and skipped), isp a geoip.dat code plus a
# CIDR file (203.0.113.99, 192.0.2.99, 2001:db8:99::99) for bogus-nxdomain.
#  - a domestic answer inside cn is used; trusted never hears of the name
#    (A and AAAA; dns_accept_ip_accepted);
#  - a poisoned answer (outside cn) is replaced by trusted's; both upstreams
#    saw the query once, the client got trusted's address, and again from
#    the cache without any upstream asked (dns_accept_ip_rejected);
#  - only the first address counts: in-list first then outside is used,
#    outside first then in-list is not;
#  - nothing to judge is accepted: NXDOMAIN, NODATA and a CNAME alone from
#    domestic reach the client, trusted not asked (a CNAME chain ending in
#    a poisoned address is test_dns_iplist's: unbound's local data does not
#    follow CNAMEs);
#  - domestic refusing (REFUSED) sends the query to trusted
#    (dns_accept_ip_fallback);
#  - bogus-nxdomain: an answer with an isp address becomes NXDOMAIN with an
#    SOA, through accept-ip and through a plain forward rule, also from the
#    cache (dns_bogus_nxdomain); an answer without one is untouched.
#  - reloads while a query waits: a "slow" domestic group (dnsresp.py,
#    5 s, a poisoned address) is asked; meanwhile SIGHUP points group
#    `trusted` at another server (trusted2): the waiting query asks
#    trusted2, the group found by name in the running config (IPv4 client).
#    Then a reload drops the list and the group: the waiting query gets
#    SERVFAIL, the untrusted answer is not served (IPv6 client); sluice
#    exits cleanly (no sanitizer report).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
top=${top_srcdir:-$LAB_DIR/../..}
lab_up || exit 99

dom=() tru=()
for v in 4 6; do
	dom+=("local-data: 'cn$v.example. 300 IN A 192.0.2.41'"
		"local-data: 'cn$v.example. 300 IN AAAA 2001:db8:41::41'"
		"local-data: 'foreign$v.example. 300 IN A 198.51.100.66'"
		"local-data: 'foreign$v.example. 300 IN AAAA 2001:db8:66::66'"
		"local-data: 'first$v.example. 300 IN A 192.0.2.42'"
		"local-data: 'first$v.example. 300 IN A 198.51.100.42'"
		"local-data: 'second$v.example. 300 IN A 198.51.100.43'"
		"local-data: 'second$v.example. 300 IN A 192.0.2.43'"
		"local-data: 'nodata$v.example. 300 IN TXT \"no address\"'"
		"local-data: 'alias$v.example. 300 IN CNAME target$v.example.'"
		"local-data: 'target$v.example. 300 IN A 198.51.100.44'"
		"local-data: 'bogus$v.example. 300 IN A 192.0.2.99'"
		"local-data: 'bogus$v.example. 300 IN AAAA 2001:db8:99::99'"
		"local-data: 'clean$v.example. 300 IN A 192.0.2.45'")
	tru+=("local-data: 'cn$v.example. 300 IN A 192.0.2.31'"
		"local-data: 'foreign$v.example. 300 IN A 198.51.100.77'"
		"local-data: 'foreign$v.example. 300 IN AAAA 2001:db8:77::77'"
		"local-data: 'second$v.example. 300 IN A 198.51.100.78'"
		"local-data: 'alias$v.example. 300 IN A 198.51.100.79'"
		"local-data: 'refused$v.example. 300 IN A 198.51.100.80'"
		"local-data: 'direct$v.example. 300 IN A 203.0.113.99'")
done
# rrset-roundrobin off: the order of first/second's addresses is the test.
lab_unbound domestic 203.0.113.4 2001:db8:113::4 'rrset-roundrobin: no' 'local-zone: "example." static' \
	'local-zone: "refused4.example." refuse' 'local-zone: "refused6.example." refuse' \
	"${dom[@]}" || exit 99
lab_unbound trusted 203.0.113.3 2001:db8:113::3 'local-zone: "example." static' \
	"${tru[@]}" || exit 99
lab_unbound trusted2 203.0.113.6 2001:db8:113::6 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 198.51.100.91"' || exit 99
lab_bg "$LAB_UP" slow "$LAB_PY" -u "$LAB_DIR/dnsresp.py" --bind 203.0.113.5 \
	--bind 2001:db8:113::5 --delay 5 --a 198.51.100.90 --lifetime 200
lab_wait_log slow ready 10 || exit 99

printf '# the "china" routes of the lab\n192.0.2.0/24\n2001:db8:41::/48\nnot a prefix\n2001:db8:99::/48\n' \
	> "$LAB_WORK/cn.txt"
printf '192.0.2.99\n2001:db8:99::99/128\n203.0.113.99\n' > "$LAB_WORK/isp.txt"
# upstream-timeout well above the slow server's 5 s: its answer, not a
# timeout, is what the reload tests wait for (5 s: room for the reload to
# land first on a busy machine).
head="listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
upstream-timeout 8000"
conf=$(lab_conf acceptip.conf <<EOF
$head
upstream domestic udp://203.0.113.4
upstream trusted udp://[2001:db8:113::3]
upstream slow udp://203.0.113.5
# isp also takes TEST (127.0.0.0/8) from a geoip.dat: two sources, one set
geoip $top/tests/data/iplist/test.dat
ip-list cn cidr:$LAB_WORK/cn.txt
ip-list isp cidr:$LAB_WORK/isp.txt geoip:test
bogus-nxdomain isp
dns-rule domain:direct4.example forward trusted
dns-rule domain:direct6.example forward trusted
dns-rule domain:slow.example forward slow accept-ip cn else trusted
dns-rule all forward domestic accept-ip cn else trusted
EOF
)
lab_sluice "$conf" || exit 99
slog=$LAB_WORK/sluice.log
check "the bad line of cn.txt was reported with its line and skipped" \
	expect_contains "$(cat "$slog")" "cn.txt:4: expected one address or prefix, got 'not a prefix' (line skipped)"
check "ip-list cn: 3 prefixes" expect_contains "$(cat "$slog")" "ip-list cn: 3 prefixes from"

delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
seen() { lab_unbound_seen "$1" "$2" "$3" | wc -l; }

for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53

	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res cn$v.example A)
	check "IPv$v in the list: domestic's A is used" expect_eq "$(dig_answers "$out")" "A 192.0.2.41"
	out=$(lab_dig "$LAB_CLI" @$res cn$v.example AAAA)
	check "IPv$v in the list: domestic's AAAA is used" \
		expect_eq "$(dig_answers "$out")" "AAAA 2001:db8:41::41"
	m1=$(lab_metrics)
	check "IPv$v in the list: domestic asked (A, AAAA), trusted never" \
		expect_eq "$(seen domestic cn$v.example A)$(seen domestic cn$v.example AAAA)/$(seen trusted cn$v.example A)$(seen trusted cn$v.example AAAA)" "11/00"
	check "IPv$v in the list: dns_accept_ip_accepted +2, rejected +0" \
		expect_eq "$(delta dns_accept_ip_accepted)/$(delta dns_accept_ip_rejected)" 2/0

	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res foreign$v.example A)
	check "IPv$v poisoned A: the client gets trusted's answer" \
		expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|A 198.51.100.77"
	out=$(lab_dig "$LAB_CLI" @$res foreign$v.example AAAA)
	check "IPv$v poisoned AAAA: the client gets trusted's answer" \
		expect_eq "$(dig_answers "$out")" "AAAA 2001:db8:77::77"
	m1=$(lab_metrics)
	check "IPv$v poisoned: each upstream asked once per type" \
		expect_eq "$(seen domestic foreign$v.example A)$(seen domestic foreign$v.example AAAA)/$(seen trusted foreign$v.example A)$(seen trusted foreign$v.example AAAA)" "11/11"
	check "IPv$v poisoned: trusted was asked by the gateway (2001:db8:113::1)" \
		expect_eq "$(lab_unbound_seen trusted foreign$v.example A)" "2001:db8:113::1"
	check "IPv$v poisoned: dns_accept_ip_rejected +2, 4 upstream answers" \
		expect_eq "$(delta dns_accept_ip_rejected)/$(delta dns_upstream_answers)" 2/4
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res foreign$v.example A)
	m1=$(lab_metrics)
	check "IPv$v poisoned, again: trusted's answer from the cache" \
		expect_eq "$(dig_answers "$out")" "A 198.51.100.77"
	check "IPv$v poisoned, again: a cache hit, no upstream asked" \
		expect_eq "$(delta dns_cache_hits)/$(delta dns_upstream_sent)" 1/0

	out=$(lab_dig "$LAB_CLI" @$res first$v.example A)
	check "IPv$v first address in the list, second not: domestic's answer" \
		expect_eq "$(dig_answers "$out" | tr '\n' ' ')" "A 192.0.2.42 A 198.51.100.42 "
	check "IPv$v ... and trusted never asked" expect_eq "$(seen trusted first$v.example A)" 0
	out=$(lab_dig "$LAB_CLI" @$res second$v.example A)
	check "IPv$v first address outside, second inside: trusted's answer" \
		expect_eq "$(dig_answers "$out")" "A 198.51.100.78"

	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res nx$v.example A)
	check "IPv$v NXDOMAIN from domestic is accepted" expect_eq "$(dig_status "$out")" NXDOMAIN
	out=$(lab_dig "$LAB_CLI" @$res nodata$v.example A)
	check "IPv$v NODATA from domestic is accepted" \
		expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|"
	m1=$(lab_metrics)
	check "IPv$v NXDOMAIN, NODATA: trusted never asked" \
		expect_eq "$(seen trusted nx$v.example A)$(seen trusted nodata$v.example A)" 00
	check "IPv$v NXDOMAIN, NODATA: dns_accept_ip_accepted +2" \
		expect_eq "$(delta dns_accept_ip_accepted)" 2
	out=$(lab_dig "$LAB_CLI" @$res alias$v.example A)
	check "IPv$v a CNAME alone (unbound does not follow local CNAMEs) is accepted" \
		expect_eq "$(dig_answers "$out")" "CNAME target$v.example."
	check "IPv$v ... trusted never asked" expect_eq "$(seen trusted alias$v.example A)" 0

	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res refused$v.example A)
	m1=$(lab_metrics)
	check "IPv$v domestic refuses: trusted answers" expect_eq "$(dig_answers "$out")" "A 198.51.100.80"
	check "IPv$v domestic refuses: dns_accept_ip_fallback +1" \
		expect_eq "$(delta dns_accept_ip_fallback)" 1

	# bogus-nxdomain, through accept-ip (the address is in cn, so accepted)
	for t in A AAAA; do
		m0=$(lab_metrics)
		out=$(lab_dig "$LAB_CLI" @$res bogus$v.example $t)
		m1=$(lab_metrics)
		check "IPv$v bogus $t: NXDOMAIN with an SOA" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NXDOMAIN|"
		check "IPv$v bogus $t: the SOA is there" expect_match "$out" 'IN[[:space:]]+SOA'
		check "IPv$v bogus $t: dns_bogus_nxdomain +1" expect_eq "$(delta dns_bogus_nxdomain)" 1
		m0=$m1
		out=$(lab_dig "$LAB_CLI" @$res bogus$v.example $t)
		m1=$(lab_metrics)
		check "IPv$v bogus $t, again: NXDOMAIN from the cache" \
			expect_eq "$(dig_status "$out")|$(delta dns_cache_hits)|$(delta dns_upstream_sent)" \
			"NXDOMAIN|1|0"
	done
	out=$(lab_dig "$LAB_CLI" @$res direct$v.example A)
	check "IPv$v bogus through a plain forward rule: NXDOMAIN" expect_eq "$(dig_status "$out")" NXDOMAIN
	check "IPv$v ... which trusted answered" expect_eq "$(seen trusted direct$v.example A)" 1
	out=$(lab_dig "$LAB_CLI" @$res clean$v.example A)
	check "IPv$v no listed address: untouched" \
		expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|A 192.0.2.45"
done
# Reload while a query waits for the slow group: the else group is found by
# name when the answer comes, in whatever config runs then.
reconf() {
	lab_conf acceptip.conf >/dev/null <<EOF
$head
upstream domestic udp://203.0.113.4
$1
upstream slow udp://203.0.113.5
$2
EOF
}
lab_dig "$LAB_CLI" @192.0.2.53 r1.slow.example A +time=12 > "$LAB_WORK/r1.out" 9>&- &
dig_pid=$!
lab_wait_log slow "r1.slow.example" 5
reconf "upstream trusted udp://203.0.113.6" "ip-list cn cidr:$LAB_WORK/cn.txt
dns-rule domain:slow.example forward slow accept-ip cn else trusted"
lab_reload "$conf"
wait $dig_pid
out=$(cat "$LAB_WORK/r1.out")
check "reload while waiting: the poisoned slow answer replaced by the new trusted's (trusted2)" \
	expect_eq "$(dig_answers "$out")" "A 198.51.100.91"
check "reload while waiting: trusted2 asked, the old trusted not" \
	expect_eq "$(seen trusted2 r1.slow.example A)/$(seen trusted r1.slow.example A)" 1/0
m0=$(lab_metrics)
lab_dig "$LAB_CLI" @2001:db8:53::53 r2.slow.example A +time=12 > "$LAB_WORK/r2.out" 9>&- &
dig_pid=$!
lab_wait_log slow "r2.slow.example" 5
reconf "" "dns-rule all forward domestic"
lab_reload "$conf"
wait $dig_pid
m1=$(lab_metrics)
out=$(cat "$LAB_WORK/r2.out")
check "reload dropped the list and the group: the waiting IPv6 client gets SERVFAIL" \
	expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "SERVFAIL|"
check "... counted as rejected (the list is gone), nothing else asked" \
	expect_eq "$(delta dns_accept_ip_rejected)/$(seen trusted2 r2.slow.example A)" 1/0
out=$(lab_dig "$LAB_CLI" @2001:db8:53::53 cn6.example A)
check "after the reload: served by the new config (domestic, no accept-ip)" \
	expect_eq "$(dig_answers "$out")" "A 192.0.2.41"

check "no upstream ever saw a client address" \
	bash -c "! grep -E 'info: ($(re_ip $CLI4)|$CLI6) ' $LAB_WORK/domestic.log $LAB_WORK/trusted.log"
lab_sluice_exit
lab_finish
