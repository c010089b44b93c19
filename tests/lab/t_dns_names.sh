#!/bin/bash
# Host names in the config, resolved with c-ares through the bootstrap
# group, IPv4 and IPv6:
#  - `upstream named udp://dnsup.lab`: at start sluice asks the bootstrap
#    server (dnsstub.py on 203.0.113.7 / 2001:db8:113::7, from the gateway,
#    A and AAAA), and queries routed to `named` go to the addresses it gave
#    (the unbound on .4 / ::4);
#  - `ntp-redirect ntp.lab` (a pool name): NTP requests go to its address
#    (chronyd on .6 / ::6);
#  - when the TTL (2 s, raised to the 10 s floor) runs out the name is asked
#    again: after the zone moves dnsup.lab to .5 / ::5, queries follow to the
#    other unbound within about 10 s;
#  - `sluice -t`: a bootstrap group that itself lists names is refused, with
#    FILE:LINE.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_need_svc ntp
command -v chronyd >/dev/null || { echo "SKIP: chronyd not installed" >&2; exit 77; }
lab_up || exit 99

zone=$LAB_WORK/stub.zone
write_zone() { # ADDRESS-SUFFIX for dnsup.lab
	cat > "$zone.tmp" <<EOF
dnsup.lab A 203.0.113.$1 2
dnsup.lab AAAA 2001:db8:113::$1 2
ntp.lab A 203.0.113.6 300
ntp.lab AAAA 2001:db8:113::6 300
EOF
	mv "$zone.tmp" "$zone"
}
write_zone 4
lab_bg "$LAB_UP" stub4 "$LAB_PY" -u "$LAB_DIR/dnsstub.py" --bind 203.0.113.7 --zone "$zone"
lab_wait_log stub4 ready 10 || exit 99
lab_bg "$LAB_UP" stub6 "$LAB_PY" -u "$LAB_DIR/dnsstub.py" --bind 2001:db8:113::7 --zone "$zone"
lab_wait_log stub6 ready 10 || exit 99
lab_unbound old 203.0.113.4 2001:db8:113::4 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.4"' 'local-data: ". 300 IN AAAA 2001:db8:4::4"' || exit 99
lab_unbound new 203.0.113.5 2001:db8:113::5 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.5"' 'local-data: ". 300 IN AAAA 2001:db8:5::5"' || exit 99
cat > "$LAB_WORK/chrony.conf" <<EOF
local stratum 8
allow all
bindaddress 203.0.113.6
bindaddress 2001:db8:113::6
port 123
cmdport 0
bindcmdaddress /
pidfile $LAB_WORK/chronyd.pid
driftfile $LAB_WORK/chrony.drift
EOF
lab_bg "$LAB_UP" chronyd chronyd -d -x -u root -f "$LAB_WORK/chrony.conf"

conf=$(lab_conf names.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 123 ntp
metrics 127.0.0.1:9153
cache-size 0
upstream boot udp://203.0.113.7 udp://[2001:db8:113::7]
upstream named udp://dnsup.lab
bootstrap boot
dns-rule all forward named
ntp-redirect ntp.lab
EOF
)
lab_sluice "$conf" || exit 99

check "the start resolved dnsup.lab (log)" grep -q "resolve dnsup.lab: 2 address" "$LAB_WORK/sluice.log"
check "the start resolved ntp.lab (log)" grep -q "resolve ntp.lab: 2 address" "$LAB_WORK/sluice.log"
check "the bootstrap server was asked by the gateway" \
	grep -Eq "^query from ($(re_ip $GWU4)|$GWU6) dnsup.lab (A|AAAA) ecs=none$" "$LAB_WORK/stub4.log" "$LAB_WORK/stub6.log"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A old="A 192.0.2.4" new="A 192.0.2.5" ntp=192.0.2.123
	else res=2001:db8:53::53 t=AAAA old="AAAA 2001:db8:4::4" new="AAAA 2001:db8:5::5" ntp=2001:db8:123::123; fi
	out=$(lab_dig "$LAB_CLI" @$res first$v.example $t)
	check "IPv$v: answered by the server dnsup.lab resolved to" expect_eq "$(dig_answers "$out")" "$old"
	check "IPv$v: that server saw the gateway" \
		expect_match "$(lab_unbound_seen old first$v.example $t)" "^($(re_ip $GWU4)|$GWU6)\$"
	out=$(lab_ntp "$LAB_CLI" $ntp count=1)
	check "IPv$v: ntp-redirect ntp.lab: answered from $ntp" expect_match "$out" "^answer from \\[?$(re_ip $ntp)"
done

# The TTL runs out: the name is asked again and queries follow.
write_zone 5
moved=
for ((i = 0; i < 30; i++)); do
	out=$(lab_dig "$LAB_CLI" @192.0.2.53 "poll$i.example" A)
	if [ "$(dig_answers "$out")" = "A 192.0.2.5" ]; then moved=$i; break; fi
	sleep 1
done
check "after its TTL, dnsup.lab was resolved again and queries moved (after ${moved:-?} s)" \
	test -n "$moved"
out=$(lab_dig "$LAB_CLI" @2001:db8:53::53 after6.example AAAA)
check "IPv6 too" expect_eq "$(dig_answers "$out")" "AAAA 2001:db8:5::5"

bad=$(lab_conf bad.conf <<EOF
listen 0.0.0.0:15000
intercept udp 53 dns
upstream named udp://dnsup.lab
upstream boot udp://203.0.113.7
bootstrap named
EOF
)
out=$("$SLUICE" -t -c "$bad" 2>&1)
check "sluice -t refuses a bootstrap group of names (FILE:LINE)" \
	expect_eq "$out" "$bad:3: bootstrap group 'named' must list server addresses over udp:// or tcp://, not names, tls:// or https://"
lab_sluice_exit
lab_finish
