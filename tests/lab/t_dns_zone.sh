#!/bin/bash
# local-zone: tests/data/zone/lan.zone served by sluice, IPv4 and IPv6
# clients asking 192.0.2.53 / 2001:db8:53::53 (resolvers that exist
# nowhere), over UDP and TCP (`intercept tcp 53 dns`). One unbound upstream
# (every name 192.0.2.31) behind `dns-rule all forward up`, placed BEFORE
# the local-zone line on purpose: local zones are answered before the rules.
#  - A, AAAA, TXT, MX, SRV answers with AA set, the upstream never asked for
#    a name under lan. (its log holds none);
#  - NXDOMAIN with the zone's SOA (TTL min(300, 120)) for a missing name,
#    NODATA with the SOA for an existing name without the type and for an
#    empty non-terminal (c.lan, under a.b.c.lan);
#  - a CNAME inside the zone is followed (www -> printer: CNAME + A), a
#    wildcard answers with the name asked;
#  - a name outside the zone still goes upstream;
#  - TC=1 over UDP without EDNS for an answer over 512 bytes, the whole
#    answer over TCP;
#  - dns_local_zone_answers counts every zone answer; the query log says
#    action=local-zone with the local-zone line as the rule;
#  - `sluice -t` reports a bad zone file as FILE:LINE: message (exit 1), and
#    a second zone with the same apex at the config line; `sluice match`
#    says a name under the apex is answered by the zone, before any rule;
#  - SIGHUP with a broken zone file keeps the running zone (reload failed,
#    FILE:LINE in the log), SIGHUP with a changed one serves the change.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99
top=${top_srcdir:-$LAB_DIR/../..}

lab_unbound up 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99

zone=$LAB_WORK/lan.zone
cp "$top/tests/data/zone/lan.zone" "$zone"
conf=$(lab_conf zone.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2
upstream up udp://203.0.113.3 udp://[2001:db8:113::3]
query-log $LAB_WORK/query.log
dns-rule all forward up
local-zone $zone
EOF
)

# `sluice -t` on a zone file with a bad record at line 5 (blank and comment
# lines before it, a multi-line SOA).
cat > "$LAB_WORK/bad.zone" <<'EOF'
$ORIGIN lan.
@ IN SOA ns hm ( 1 3600 600
                 86400 120 )
; a comment
printer IN A 192.0.2.300
EOF
sed "s#^local-zone .*#local-zone $LAB_WORK/bad.zone#" "$conf" > "$LAB_WORK/bad.conf"
out=$("$SLUICE" -t -c "$LAB_WORK/bad.conf" 2>&1)
rc=$?
check "sluice -t: a bad zone file exits 1" expect_eq "$rc" 1
check "sluice -t: the error is FILE:LINE: message" \
	expect_contains "$out" "$LAB_WORK/bad.zone:5: Syntax error, could not parse the RR's rdata"
printf '$ORIGIN lan.\n@ SOA ns hm 1 2 3 4 5\nx.example. A 192.0.2.1\n' > "$LAB_WORK/bad2.zone"
sed "s#^local-zone .*#local-zone $LAB_WORK/bad2.zone#" "$conf" > "$LAB_WORK/bad2.conf"
check "sluice -t: a record outside the zone is reported at its line" \
	expect_contains "$("$SLUICE" -t -c "$LAB_WORK/bad2.conf" 2>&1)" \
	"$LAB_WORK/bad2.zone:3: x.example. is outside the zone lan."
printf 'local-zone %s\n' "$zone" >> "$LAB_WORK/bad2.conf"
sed -i "s#^local-zone $LAB_WORK/bad2.zone#local-zone $zone#" "$LAB_WORK/bad2.conf"
check "sluice -t: two zones with one apex are refused at the second line" \
	expect_contains "$("$SLUICE" -t -c "$LAB_WORK/bad2.conf" 2>&1)" \
	"$LAB_WORK/bad2.conf:$(wc -l < "$LAB_WORK/bad2.conf"): local-zone $zone: a zone for 'lan.' is already loaded"
check "sluice -t: the good config passes" "$SLUICE" -t -c "$conf"
check "sluice match: a name under the apex is the zone's, not the rule's" \
	expect_eq "$("$SLUICE" match -c "$conf" Printer.LAN 2>/dev/null)" \
	"printer.lan A: local-zone lan. (answered from the zone file, before any dns-rule)"
check "sluice match: a name outside it goes to the rules" \
	expect_eq "$("$SLUICE" match -c "$conf" printer.lan.example 2>/dev/null | head -n1)" \
	"printer.lan.example A: forward up"

lab_sluice "$conf" || exit 99

q() { lab_dig "$LAB_CLI" @$res $tcp "$@"; }
m0=$(lab_metrics)
nq=0
for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53
	for tcp in "" +tcp; do
		t="IPv$v ${tcp:-udp}"
		out=$(q printer.lan A)
		check "$t: printer.lan A, authoritative" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")|$(dig_flags "$out" | grep -ow aa)" \
			"NOERROR|A 192.0.2.10|aa"
		check "$t: the answer came from $res#53" expect_eq "$(dig_server "$out")" "$res#53"
		out=$(q printer.lan AAAA)
		check "$t: printer.lan AAAA" expect_eq "$(dig_answers "$out")" "AAAA 2001:db8::10"
		out=$(q printer.lan TXT)
		check "$t: printer.lan TXT" expect_eq "$(dig_answers "$out")" 'TXT "model=lab" "floor=2"'
		out=$(q lan MX)
		check "$t: lan MX" expect_eq "$(dig_answers "$out")" "MX 10 mail.lan."
		out=$(q _ipp._tcp.lan SRV)
		check "$t: _ipp._tcp.lan SRV" expect_eq "$(dig_answers "$out")" "SRV 0 5 631 printer.lan."
		out=$(q nothere.lan A)
		check "$t: a missing name is NXDOMAIN with the SOA (TTL 120)" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")|$(dig_ttl "$out")" "NXDOMAIN||120"
		check "$t: ... in the authority section" \
			expect_match "$out" "^lan\.[[:space:]]+120[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns\.lan\. hostmaster\.lan\. 2024010101"
		out=$(q printer.lan MX)
		check "$t: printer.lan MX is NODATA with the SOA" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")|$(dig_ttl "$out")" "NOERROR||120"
		out=$(q c.lan A)
		check "$t: c.lan (an empty non-terminal) is NODATA, not NXDOMAIN" \
			expect_eq "$(dig_status "$out")|$(dig_answers "$out")" "NOERROR|"
		out=$(q www.lan A)
		check "$t: www.lan A follows the CNAME inside the zone" \
			expect_eq "$(dig_answers "$out" | tr '\n' '|')" "A 192.0.2.10|CNAME printer.lan.|"
		out=$(q host$v.wild.lan A)
		check "$t: a wildcard answers with the name asked" \
			expect_match "$out" "^host$v\.wild\.lan\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.77$"
		nq=$((nq + 10))
	done
	tcp=""
	out=$(q big.lan TXT +noedns +ignore)
	check "IPv$v udp: big.lan TXT (over 512 bytes) without EDNS is truncated" \
		expect_eq "$(dig_flags "$out" | grep -ow tc)|$(dig_answers "$out" | wc -l)" "tc|0"
	tcp=+tcp
	out=$(q big.lan TXT +noedns)
	check "IPv$v tcp: big.lan TXT whole over TCP" \
		expect_eq "$(dig_flags "$out" | grep -ow tc)|$(dig_answers "$out" | wc -l)" "|6"
	tcp=""
	out=$(q outside$v.example A)
	check "IPv$v: a name outside the zone is forwarded" \
		expect_eq "$(dig_answers "$out")|$(lab_unbound_seen up outside$v.example A | wc -l)" "A 192.0.2.31|1"
	nq=$((nq + 2))
done
m1=$(lab_metrics)
check "dns_local_zone_answers counted every zone answer ($nq)" \
	expect_eq "$(mdelta "$m0" "$m1" dns_local_zone_answers)" "$nq"
check "dns_forwarded: only the two names outside the zone" \
	expect_eq "$(mdelta "$m0" "$m1" dns_forwarded)" 2
check "the upstream was never asked for a name under lan." \
	expect_eq "$(grep -c 'info: .* [^ ]*lan\. ' "$LAB_WORK/up.log")" 0
zline=$(grep -n '^local-zone ' "$conf" | cut -d: -f1)
check "the query log names the local-zone line as the deciding rule" \
	expect_match "$(cat "$LAB_WORK/query.log")" \
	"name=printer\.lan type=A action=local-zone rule=.*zone\.conf:$zline group=- server=- rcode=NOERROR cache=-"
check "... and NXDOMAIN for a missing name" \
	expect_match "$(cat "$LAB_WORK/query.log")" "name=nothere\.lan type=A action=local-zone .* rcode=NXDOMAIN"

# Reload with a broken zone file: refused, the running zone stays.
cp "$zone" "$LAB_WORK/lan.zone.good"
printf 'printer2 IN AAAA 2001:db8::zz\n' >> "$zone"
bad_line=$(wc -l < "$zone")
n=$(grep -c "reload failed" "$LAB_WORK/sluice.log")
kill -HUP "$SLUICE_PID"
for _ in $(seq 50); do
	[ "$(grep -c "reload failed" "$LAB_WORK/sluice.log")" -gt "$n" ] && break
	sleep 0.1
done
check "SIGHUP with a bad zone file: the reload fails with FILE:LINE" \
	expect_contains "$(cat "$LAB_WORK/sluice.log")" "reload failed, keeping the running config: $zone:$bad_line: "
res=192.0.2.53
out=$(q printer.lan A)
check "... and the running zone still answers" expect_eq "$(dig_answers "$out")" "A 192.0.2.10"

# Reload with a changed zone: the change is served.
sed 's/^printer\t\tIN A\t192.0.2.10$/printer\t\tIN A\t192.0.2.11/' "$LAB_WORK/lan.zone.good" > "$zone"
lab_reload "$conf" || exit 1
for v in 4 6; do
	[ $v = 4 ] && res=192.0.2.53 || res=2001:db8:53::53
	out=$(q printer.lan A)
	check "IPv$v: after a reload the changed zone answers" expect_eq "$(dig_answers "$out")" "A 192.0.2.11"
done
lab_sluice_exit
lab_finish
