#!/bin/bash
# cache-file across restarts, IPv4 and IPv6 clients (each with its own
# names). One unbound upstream; sluice with `cache-file` and a short
# upstream-timeout, so a name that is not cached gets SERVFAIL quickly once
# the upstream is gone.
#  - SIGTERM saves the cache (log line, the file there, no FILE.tmp left,
#    mode 0600, exit 0);
#  - with the upstream stopped and sluice started again, a cached name is
#    answered from the cache (dns_cache_hits, no SERVFAIL) with a TTL lower
#    than before by at least the time sluice was down; an answer whose TTL
#    ran out while sluice was down is not restored (SERVFAIL);
#  - with serve-stale on, an expired answer within the window comes back and
#    is served stale (TTL 30);
#  - a damaged file (one byte changed) is ignored with a log line: nothing
#    is restored, sluice runs, and the names are SERVFAIL.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99

up() {
	lab_unbound up 203.0.113.3 2001:db8:113::3 \
		'local-data: "keep4.example. 300 IN A 192.0.2.41"' \
		'local-data: "keep6.example. 300 IN AAAA 2001:db8:41::41"' \
		'local-data: "short4.example. 2 IN A 192.0.2.42"' \
		'local-data: "short6.example. 2 IN AAAA 2001:db8:42::42"'
	UP_PID=$LAB_LAST_PID
}
up || exit 99

cache=$LAB_WORK/dns.cache
base="listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:9153
workers 2
upstream up udp://203.0.113.3 udp://[2001:db8:113::3]
upstream-timeout 400
dns-rule all forward up
cache-file $cache"
conf=$(lab_conf cf.conf <<<"$base")

q() { lab_dig "$LAB_CLI" @$res "$@"; }
res4=192.0.2.53 res6=2001:db8:53::53
# start - sluice again (the ruleset and routes lab_sluice loaded stay).
start() {
	lab_bg "$LAB_GW" sluice "$SLUICE" -c "$conf"
	SLUICE_PID=$LAB_LAST_PID
	lab_wait_log sluice "running" 10
}

lab_sluice "$conf" || exit 99
declare -A ttl0 t_cached
for v in 4 6; do
	[ $v = 4 ] && res=$res4 || res=$res6
	[ $v = 4 ] && t=A || t=AAAA
	out=$(q keep$v.example $t)
	ttl0[$v]=$(dig_ttl "$out")
	t_cached[$v]=$(date +%s)
	check "IPv$v: keep$v.example from the upstream" \
		expect_eq "$(dig_status "$out")|${ttl0[$v]}" "NOERROR|300"
	q short$v.example $t >/dev/null
done
lab_sluice_exit
check "SIGTERM: the cache is saved (4 answers)" \
	expect_match "$(cat "$LAB_WORK/sluice.log")" "cache-file $cache: 4 answers saved"
check "the file is there, mode 0600, no $cache.tmp left" \
	expect_eq "$(stat -c %a "$cache" 2>&1)|$(ls "$cache.tmp" 2>/dev/null)" "600|"

# The upstream goes; sluice comes back after the short answers expired.
lab_stop "$UP_PID"
sleep 3
start || exit 99
check "start: 2 answers restored, 2 expired" \
	expect_match "$(cat "$LAB_WORK/sluice.log")" "cache-file $cache: 2 answers restored, 2 expired, 0 refused"
for v in 4 6; do
	[ $v = 4 ] && res=$res4 || res=$res6
	[ $v = 4 ] && t=A || t=AAAA
	m0=$(lab_metrics)
	out=$(q keep$v.example $t)
	m1=$(lab_metrics)
	# the time since it was cached: the time down, and the queries around it
	down=$(($(date +%s) - t_cached[$v]))
	ttl=$(dig_ttl "$out")
	check "IPv$v: keep$v.example answered from the cache with the upstream gone" \
		expect_eq "$(dig_status "$out")|$(dig_answers "$out" | cut -d' ' -f1)|$(mdelta "$m0" "$m1" dns_cache_hits)" \
		"NOERROR|$t|1"
	check "IPv$v: ... its TTL ($ttl) lower than before (${ttl0[$v]}) by the $down s since, or more" \
		test "$ttl" -le $((ttl0[$v] - 3)) -a "$ttl" -ge $((ttl0[$v] - down - 2))
	out=$(q short$v.example $t)
	check "IPv$v: short$v.example (expired while down) did not come back: SERVFAIL" \
		expect_eq "$(dig_status "$out")" "SERVFAIL"
done

# serve-stale: an answer that expired while sluice was down comes back stale.
cat > "$conf" <<EOF
$base
serve-stale yes
EOF
lab_sluice_exit
up || exit 99
start || exit 99
for v in 4 6; do
	[ $v = 4 ] && res=$res4 || res=$res6
	[ $v = 4 ] && t=A || t=AAAA
	q short$v.example $t >/dev/null
done
lab_sluice_exit
lab_stop "$UP_PID"
sleep 3
start || exit 99
for v in 4 6; do
	[ $v = 4 ] && res=$res4 || res=$res6
	[ $v = 4 ] && t=A || t=AAAA
	out=$(q short$v.example $t)
	check "IPv$v serve-stale: short$v.example restored expired, served stale (TTL 30)" \
		expect_eq "$(dig_status "$out")|$(dig_ttl "$out")" "NOERROR|30"
done

# A damaged file: ignored, logged, sluice runs with an empty cache.
lab_sluice_exit
size=$(stat -c %s "$cache")
printf 'X' | dd of="$cache" bs=1 seek=$((size / 2)) conv=notrunc status=none
start || exit 99
check "a damaged file is logged and ignored" \
	expect_match "$(cat "$LAB_WORK/sluice.log")" "cache-file $cache: damaged or not a sluice cache file .*; ignored"
for v in 4 6; do
	[ $v = 4 ] && res=$res4 || res=$res6
	[ $v = 4 ] && t=A || t=AAAA
	out=$(q keep$v.example $t)
	check "IPv$v: nothing restored from it: keep$v.example is SERVFAIL" \
		expect_eq "$(dig_status "$out")" "SERVFAIL"
done
check "no answers restored from the damaged file" \
	bash -c "! grep -q 'answers restored' '$LAB_WORK/sluice.log'"
lab_sluice_exit
lab_finish
