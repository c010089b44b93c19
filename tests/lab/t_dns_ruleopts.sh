#!/bin/bash
# Rule options, IPv4 and IPv6 clients:
#  - no-aaaa: AAAA queries get NODATA (with an SOA) without asking the
#    upstream; A queries go on; an HTTPS answer loses ipv6hint only;
#  - no-ech: an HTTPS answer loses ech and keeps alpn, port, ipv4hint and
#    ipv6hint, from the upstream path and from the cache; without the
#    option the same answer keeps ech (control);
#  - ttl=N on an address rule sets its answers' TTL;
#  - the QUIC sniffer counts a ClientHello carrying ECH (quic_ech) and logs
#    its outer name once.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_need_svc quic
lab_up || exit 99

svc='1 . alpn=h2,h3 ech=AQIDBAUG port=8443 ipv4hint=192.0.2.80 ipv6hint=2001:db8::80'
lab_unbound up 203.0.113.3 2001:db8:113::3 \
	'local-zone: "ech.example." static' "local-data: 'ech.example. 300 IN HTTPS $svc'" \
	'local-zone: "keep.example." static' "local-data: 'keep.example. 300 IN HTTPS $svc'" \
	'local-zone: "v6.example." static' "local-data: 'v6.example. 300 IN HTTPS $svc'" \
	"local-data: 'v6.example. 300 IN A 192.0.2.66'" \
	"local-data: 'v6.example. 300 IN AAAA 2001:db8::66'" || exit 99

conf=$(lab_conf opts.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 443 quic
metrics 127.0.0.1:9153
upstream up udp://203.0.113.3
dns-rule full:ech.example forward up no-ech
dns-rule full:v6.example forward up no-aaaa
dns-rule full:fixed.example address 192.0.2.7 2001:db8::7 ttl=42
dns-rule all forward up
EOF
)
lab_sluice "$conf" || exit 99
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
https() { grep -v '^;' <<<"$1" | sed -n 's/.*IN[[:space:]]*HTTPS[[:space:]]*//p' | head -n1; }

for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53
	for pass in upstream cache; do
		out=$(lab_dig "$LAB_CLI" @$res ech.example HTTPS)
		h=$(https "$out")
		check "IPv$v no-ech ($pass): ech removed" bash -c "! grep -q 'ech=' <<<'$h'"
		check "IPv$v no-ech ($pass): the rest kept ($h)" \
			expect_match "$h" 'alpn="?h2,h3"? port=8443 ipv4hint=192.0.2.80 ipv6hint=2001:db8::80'
	done
	out=$(lab_dig "$LAB_CLI" @$res keep.example HTTPS)
	check "IPv$v control: without no-ech the answer keeps ech" expect_match "$(https "$out")" 'ech='

	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" @$res v6.example AAAA)
	m1=$(lab_metrics)
	check "IPv$v no-aaaa: AAAA is NODATA" \
		expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|"
	check "IPv$v no-aaaa: with an SOA" expect_match "$out" 'IN[[:space:]]+SOA'
	check "IPv$v no-aaaa: no upstream asked" expect_eq "$(delta dns_upstream_sent)" 0
	check "IPv$v no-aaaa: counted" expect_eq "$(delta dns_no_aaaa)" 1
	out=$(lab_dig "$LAB_CLI" @$res v6.example A)
	check "IPv$v no-aaaa: A still answered" expect_eq "$(dig_answers "$out")" "A 192.0.2.66"
	out=$(lab_dig "$LAB_CLI" @$res v6.example HTTPS)
	h=$(https "$out")
	check "IPv$v no-aaaa: HTTPS keeps ech and ipv4hint, loses ipv6hint ($h)" \
		bash -c "grep -q 'ech=' <<<'$h' && grep -q 'ipv4hint' <<<'$h' && ! grep -q 'ipv6hint' <<<'$h'"

	out=$(lab_dig "$LAB_CLI" @$res fixed.example A)
	check "IPv$v ttl=42 on an address rule" expect_eq "$(dig_ttl "$out")|$(dig_answers "$out")" \
		"42|A 192.0.2.7"
done
unb=$(lab_unbound_seen up v6.example AAAA | wc -l)
check "the upstream never saw an AAAA query for the no-aaaa name" expect_eq "$unb" 0

# QUIC: a ClientHello with an ECH extension is counted, its outer name logged once.
m0=$(lab_metrics)
for i in 1 2; do
	lab_quic_hello "$LAB_CLI" 203.0.113.9 sni=public.example ech=1 timeout=0.5 >/dev/null
done
m1=$(lab_metrics)
check "QUIC: ClientHellos with ECH counted (quic_ech +2)" expect_eq "$(delta quic_ech)" 2
check "QUIC: the outer name logged once" \
	expect_eq "$(grep -c 'Encrypted ClientHello .*outer name public.example' "$LAB_WORK/sluice.log")" 1
lab_quic_hello "$LAB_CLI" 203.0.113.9 sni=plain.example timeout=0.5 >/dev/null
m0=$m1
m1=$(lab_metrics)
check "QUIC: a hello without ECH is not counted" expect_eq "$(delta quic_ech)" 0
lab_sluice_exit
lab_finish
