#!/bin/bash
# Upstream groups are found by name in the running config, IPv4 and IPv6
# clients. Group a is an unbound on 203.0.113.3 (answers 192.0.2.31),
# group b one on 203.0.113.4 (answers 192.0.2.41); each logs who asked what.
#  - config 1: a, then b; `domain:x.example forward a`; other names go to
#    the first group (a);
#  - config 2 (SIGHUP): b first, then a; the same x.example rule, a new
#    `domain:y.example forward b`. x.example still goes to a's server
#    (control, by reasoning: when rules pointed at groups by position, the
#    reordered config sent it to b, the group now at a's old place), y
#    follows its new rule to b, and unmatched names go to the new first
#    group, b. Every name is new, so no answer comes from the cache (which
#    survives reloads and does not key on the group).
#  - an upstream `udp://[fe80::1]` (link-local without a scope): `sluice -t`
#    rejects it with FILE:LINE (the same parser as the daemon; with a scope,
#    `%lo`, it passes: control); the running daemon, sent SIGHUP with it,
#    logs the very same FILE:LINE message and keeps serving config 2.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

lab_unbound ua 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_unbound ub 203.0.113.4 2001:db8:113::4 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.41"' 'local-data: ". 300 IN AAAA 2001:db8:41::41"' || exit 99

head="listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 2"
conf1="$head
upstream a udp://203.0.113.3
upstream b udp://203.0.113.4
dns-rule domain:x.example forward a"
conf2="$head
upstream b udp://203.0.113.4
upstream a udp://203.0.113.3
dns-rule domain:x.example forward a
dns-rule domain:y.example forward b"
conf=$(lab_conf order.conf <<<"$conf1")
lab_sluice "$conf" || exit 99
slog=$LAB_WORK/sluice.log

# where NAME - "ANSWER by SERVERS": the client's answer and which unbound(s)
# logged NAME (a, b, or both), asked from the client ns of family $v.
where() {
	local out by=""
	out=$(dig_answers "$(lab_dig "$LAB_CLI" @$res "$1" A)")
	[ -n "$(lab_unbound_seen ua "$1" A)" ] && by="a"
	[ -n "$(lab_unbound_seen ub "$1" A)" ] && by="$by${by:+ }b"
	echo "$out by ${by:-none}"
}
A="A 192.0.2.31 by a" B="A 192.0.2.41 by b"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v config 1: n1-$v.x.example -> a (rule)" expect_eq "$(where n1-$v.x.example)" "$A"
	check "IPv$v config 1: n1-$v.y.example -> a (no rule: the first group)" \
		expect_eq "$(where n1-$v.y.example)" "$A"
	check "IPv$v config 1: n1-$v.other.example -> a (the first group)" \
		expect_eq "$(where n1-$v.other.example)" "$A"
done

printf '%s\n' "$conf2" > "$conf"
lab_reload "$conf" || exit 99
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v config 2 (b first): n2-$v.x.example still -> a, by name" \
		expect_eq "$(where n2-$v.x.example)" "$A"
	check "IPv$v config 2: n2-$v.y.example -> b (the new rule)" expect_eq "$(where n2-$v.y.example)" "$B"
	check "IPv$v config 2: n2-$v.other.example -> b (the new first group)" \
		expect_eq "$(where n2-$v.other.example)" "$B"
done

# A link-local upstream without its interface.
bad="$head
upstream b udp://203.0.113.4
upstream a udp://203.0.113.3
upstream ll udp://[fe80::1]
dns-rule domain:x.example forward a
dns-rule domain:y.example forward b
dns-rule domain:ll.example forward ll"
msg="$conf:8: upstream: 'udp://[fe80::1]': a link-local server needs its interface ([fe80::1%eth0]:53)"
printf '%s\n' "${bad/fe80::1]/fe80::1%lo]}" > "$LAB_WORK/scoped.conf"
out=$("$SLUICE" -t -c "$LAB_WORK/scoped.conf" 2>&1)
check "control: sluice -t takes udp://[fe80::1%lo] (a scope)" expect_contains "$out" "configuration OK"
printf '%s\n' "$bad" > "$conf"
out=$("$SLUICE" -t -c "$conf" 2>&1)
rc=$?
check "sluice -t rejects udp://[fe80::1] (exit $rc)" expect_eq "$rc" 1
check "... with FILE:LINE: the message" expect_eq "$(grep -F "$conf:" <<<"$out")" "$msg"
nfail=$(grep -c "reload failed" "$slog")
kill -HUP "$SLUICE_PID"
for _ in $(seq 50); do
	[ "$(grep -c "reload failed" "$slog")" -gt "$nfail" ] && break
	sleep 0.1
done
check "SIGHUP with it: the daemon logs the same FILE:LINE message" \
	expect_eq "$(sed -n 's/.*reload failed, keeping the running config: //p' "$slog" | tail -n1)" "$msg"
check "... and reloads nothing" expect_eq "$(grep -c "configuration reloaded" "$slog")" 1
check "sluice is still running" kill -0 "$SLUICE_PID"
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	check "IPv$v kept config 2: n3-$v.x.example -> a" expect_eq "$(where n3-$v.x.example)" "$A"
	check "IPv$v kept config 2: n3-$v.y.example -> b" expect_eq "$(where n3-$v.y.example)" "$B"
	check "IPv$v kept config 2: n3-$v.other.example -> b" expect_eq "$(where n3-$v.other.example)" "$B"
	check "IPv$v kept config 2: n3-$v.ll.example (the rejected rule) -> b, the first group" \
		expect_eq "$(where n3-$v.ll.example)" "$B"
done
lab_sluice_exit
lab_finish
