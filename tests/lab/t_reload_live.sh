#!/bin/bash
# A reload changes what used to need a restart: `listen`, `workers` and
# `cache-size` (metrics and control: t_ctl.sh). IPv4 and IPv6 clients ask
# through the tproxy ruleset; unbound "abroad" (203.0.113.3) answers every
# name with 192.0.2.31 / 2001:db8:31::31.
#  - listen moves from port 15000 to 15001 (ruleset reloaded with it):
#    answers on both families, port 15000 no longer bound, 15001 bound by
#    each worker (SO_REUSEPORT);
#  - workers 2 -> 4 -> 1: the threads follow, answers on both families at
#    each step, the log says what started and stopped, and counters never
#    go down (a stopped worker's counts stay in the totals);
#  - cache-size 100 -> 20: at most 20 entries right after the reload;
#    cache-size 0: the cache is emptied and not used; back to 100: used;
#  - started without CAP_NET_BIND_SERVICE (as nobody with CAP_NET_ADMIN
#    and CAP_NET_RAW), a reload to listen port 999 is refused with
#    "listen 0.0.0.0:999: Permission denied" and the capability named;
#    the running listeners keep answering.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
for t in dig setpriv ss; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
W=$LAB_WORK
SOCK=$W/ctl.sock
write_conf() { # write_conf PORT WORKERS CACHE-SIZE
	lab_conf live.conf <<EOF
listen 0.0.0.0:$1 [::]:$1
intercept udp 53 dns
metrics 127.0.0.1:9153
control $SOCK
workers $2
cache-size $3
upstream abroad udp://203.0.113.3
dns-rule all forward abroad
EOF
}
ctl() { in_gw "$SLUICE" ctl -s "$SOCK" "$@"; }
answers() { # answers TAG - both families answer a fresh name
	local a4 a6
	a4=$(lab_dig "$LAB_CLI" @192.0.2.53 "$1-4.live.example" A)
	a6=$(lab_dig "$LAB_CLI" @2001:db8:53::53 "$1-6.live.example" AAAA)
	[ "$(dig_answers "$a4")|$(dig_answers "$a6")" = "A 192.0.2.31|AAAA 2001:db8:31::31" ] ||
		{ echo "  got: $(dig_status "$a4") $(dig_status "$a6")" >&2; return 1; }
}
bound() { # bound PORT - UDP sockets bound to PORT in the gateway
	in_gw ss -Hlun "sport = :$1" | wc -l
}
threads() { ls "/proc/$SLUICE_PID/task" | wc -l; }

conf=$(write_conf 15000 2 100)
lab_sluice "$conf" || exit 99
check "start: answers on port 15000" answers start
check "start: 2 workers x 2 families bound to 15000" expect_eq "$(bound 15000)" 4

conf=$(write_conf 15001 2 100)
lab_nft "$conf" || exit 99
check "listen 15000 -> 15001: the reload is ok" expect_match "$(ctl reload)" "^configuration reloaded"
check "listen: answers through port 15001" answers moved
check "listen: 15000 is no longer bound" expect_eq "$(bound 15000)" 0
check "listen: 15001 bound by each worker, both families" expect_eq "$(bound 15001)" 4

t0=$(threads) q0=$(lab_metric dns_queries)
conf=$(write_conf 15001 4 100)
check "workers 2 -> 4: the reload is ok" expect_match "$(ctl reload)" "^configuration reloaded"
check "workers 2 -> 4: two more threads" expect_eq "$(threads)" $((t0 + 2))
check "workers 2 -> 4: the log says so" grep -q "workers: 4 now (2 started)" "$W/sluice.log"
for i in 1 2 3 4 5 6; do answers "four$i" || break; done
check "workers 4: answers (six names, both families)" answers four
check "workers 4: still 2 x 2 sockets on 15001 (the new workers share the kept ones)" \
	expect_eq "$(bound 15001)" 4
q1=$(lab_metric dns_queries)
conf=$(write_conf 15001 1 100)
check "workers 4 -> 1: the reload is ok" expect_match "$(ctl reload)" "^configuration reloaded"
check "workers 4 -> 1: three threads fewer" expect_eq "$(threads)" $((t0 - 1))
check "workers 4 -> 1: the log says so" grep -q "workers: 1 now (3 stopped" "$W/sluice.log"
check "workers 1: answers" answers one
q2=$(lab_metric dns_queries)
check "counters never went down ($q0 <= $q1 <= $q2, the stopped workers' counts kept)" \
	test "$q0" -le "$q1" -a "$((q1 + 2))" -le "$q2"

for i in $(seq 1 40); do lab_dig "$LAB_CLI" @192.0.2.53 "c$i.cache.example" A >/dev/null; done
check "cache-size 100: forty entries (at least)" expect_ge "$(lab_metric dns_cache_entries)" 40
conf=$(write_conf 15001 1 20)
ctl reload >/dev/null
check "cache-size 100 -> 20: at most 20 entries at once" expect_le "$(lab_metric dns_cache_entries)" 20
conf=$(write_conf 15001 1 0)
ctl reload >/dev/null
m0=$(lab_metrics)
lab_dig "$LAB_CLI" @192.0.2.53 c41.cache.example A >/dev/null
lab_dig "$LAB_CLI" @192.0.2.53 c41.cache.example A >/dev/null
m1=$(lab_metrics)
check "cache-size 0: empty, and no hits" \
	expect_eq "$(mval "$m1" dns_cache_entries)/$(mdelta "$m0" "$m1" dns_cache_hits)" 0/0
conf=$(write_conf 15001 1 100)
ctl reload >/dev/null
lab_dig "$LAB_CLI" @192.0.2.53 c42.cache.example A >/dev/null
m0=$(lab_metrics)
lab_dig "$LAB_CLI" @192.0.2.53 c42.cache.example A >/dev/null
m1=$(lab_metrics)
check "cache-size back to 100: hits again" expect_eq "$(mdelta "$m0" "$m1" dns_cache_hits)" 1
lab_stop "$SLUICE_PID"

# Without CAP_NET_BIND_SERVICE: a port below 1024 is refused on reload.
CAPS=+net_admin,+net_raw
nobody_grp=$(id -gn nobody 2>/dev/null || echo nogroup)
conf=$(write_conf 15000 2 100)
sed -i "s|^control .*|control $W/np/ctl.sock|" "$conf"
mkdir -p "$W/np" && chown nobody "$W/np"
chmod 755 "$W"
lab_nft "$conf" || exit 99
lab_bg "$LAB_GW" sluice-np setpriv --reuid=nobody --regid="$nobody_grp" --init-groups \
	--inh-caps=$CAPS --ambient-caps=$CAPS "$SLUICE" -c "$conf"
NP=$LAB_LAST_PID
lab_wait_log sluice-np running 10 || exit 99
check "nobody with CAP_NET_ADMIN and CAP_NET_RAW: answers" answers np
sed -i 's/^listen .*/listen 0.0.0.0:999 [::]:999/' "$conf"
out=$(in_gw "$SLUICE" ctl -s "$W/np/ctl.sock" reload 2>&1); rc=$?
check "a reload to port 999 is refused, exit 1" expect_eq "$rc" 1
check "... saying why and naming the capability" \
	expect_match "$out" "listen 0\.0\.0\.0:999: Permission denied \(.*CAP_NET_BIND_SERVICE"
check "... and the running listeners keep answering" answers still
check "... on port 15000" expect_eq "$(bound 15000)" 4
lab_stop "$NP"
lab_finish
