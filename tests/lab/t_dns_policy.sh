#!/bin/bash
# Group policies, ECS per group and leak accounting, IPv4 and IPv6 clients.
# A slow server (dnsresp.py, answers 800 ms late, 203.0.113.5 / ::5) and a
# fast one (dnsstub.py, 203.0.113.6 / ::6) in each group, slow first:
#  - policy=order (upstream-timeout 3000: 500 ms a try): the slow one is
#    asked first, the fast one answers after the try ran out;
#  - policy=parallel: both are asked at once, the fast answer comes back
#    well before the slow one could;
#  - policy=fastest: after a few queries the fast server goes first: of 24
#    queries the slow server sees only the first ones and the occasional
#    probe, and most answers come quickly;
#  - ecs=192.0.2.0/24: the upstream sees that subnet whatever the client
#    sends; ecs=strip: it sees none even when the client sends one; by
#    default the client's own option passes; a server that REFUSEs a query
#    with ECS is asked again without it (RFC 7871 7.1.3) and answers;
#  - leak-check with `foreign domain:foreign.example`: a rule sending such a
#    name to the group counts dns_leaked_foreign; other names do not.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

lab_bg "$LAB_UP" slow "$LAB_PY" -u "$LAB_DIR/dnsresp.py" --bind 203.0.113.5 \
	--bind 2001:db8:113::5 --delay 0.8 --a 192.0.2.5 --aaaa 2001:db8:5::5
lab_wait_log slow ready 10 || exit 99
zone=$LAB_WORK/fast.zone
: > "$zone"
for n in o p f e s c r lk ok; do
	for v in 4 6; do
		for i in $(seq 0 30); do
			echo "$n$i.$v.example A 192.0.2.6 300"
			echo "$n$i.$v.example AAAA 2001:db8:6::6 300"
		done
	done
done > "$zone"
for a in 203.0.113.6 2001:db8:113::6; do
	lab_bg "$LAB_UP" "fast-$a" "$LAB_PY" -u "$LAB_DIR/dnsstub.py" --bind "$a" --zone "$zone"
	lab_wait_log "fast-$a" ready 10 || exit 99
done
lab_bg "$LAB_UP" refuser "$LAB_PY" -u "$LAB_DIR/dnsstub.py" --bind 203.0.113.7 --zone "$zone" \
	--refuse-ecs
lab_wait_log refuser ready 10 || exit 99

conf=$(lab_conf policy.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
workers 1
cache-size 0
upstream-timeout 3000
upstream ord udp://203.0.113.5 udp://203.0.113.6
upstream par policy=parallel udp://203.0.113.5 udp://[2001:db8:113::6]
upstream fst policy=fastest udp://[2001:db8:113::5] udp://203.0.113.6
upstream ecsset ecs=192.0.2.0/24 udp://203.0.113.6
upstream ecsstrip ecs=strip udp://203.0.113.6
upstream ecspass udp://[2001:db8:113::6]
upstream refuse ecs=198.51.100.0/24 udp://203.0.113.7
upstream domestic leak-check udp://203.0.113.6
foreign domain:foreign.example
dns-rule domain:foreign.example forward domestic
dns-rule regexp:^o[0-9]+\\. forward ord
dns-rule regexp:^p[0-9]+\\. forward par
dns-rule regexp:^f[0-9]+\\. forward fst
dns-rule regexp:^e[0-9]+\\. forward ecsset
dns-rule regexp:^s[0-9]+\\. forward ecsstrip
dns-rule regexp:^c[0-9]+\\. forward ecspass
dns-rule regexp:^r[0-9]+\\. forward refuse
dns-rule all forward domestic
EOF
)
lab_sluice "$conf" || exit 99
delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# timed NAME RES TYPE - "ANSWER MS" for one query, MS as dig measured it
# (query sent to answer read: not dig's start, slow on a busy machine).
timed() {
	local out
	out=$(lab_dig "$LAB_CLI" +time=4 @$2 "$1" $3)
	echo "$(dig_answers "$out" | head -n1 | awk '{print $2}') $(dig_ms "$out")"
}
slow_saw() { grep -c " ${1//./\\.}\\. " "$LAB_WORK/slow.log"; }
fast_saw() { cat "$LAB_WORK"/fast-*.log | grep -c " $1 "; }
ecs_seen() { cat "$LAB_WORK"/fast-*.log "$LAB_WORK/refuser.log" | grep " $1 " | tail -n1 | sed 's/.* ecs=//'; }

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 t=A fast=192.0.2.6
	else res=2001:db8:53::53 t=AAAA fast=2001:db8:6::6; fi
	read -r ans ms <<<"$(timed o1.$v.example $res $t)"
	check "IPv$v order: answered by the fast second server ($ms ms)" expect_eq "$ans" "$fast"
	check "IPv$v order: after the first server's try (>= 450 ms)" test "$ms" -ge 450
	check "IPv$v order: the slow first server was asked first" expect_eq "$(slow_saw o1.$v.example)" 1

	read -r ans ms <<<"$(timed p1.$v.example $res $t)"
	check "IPv$v parallel: the fast answer, at once ($ms ms < 400)" \
		bash -c "[ '$ans' = '$fast' ] && [ $ms -lt 400 ]"
	# the slow server logs the query when it reads it: maybe after the answer
	lab_wait_log slow " p1\.$v\.example\. " 3
	check "IPv$v parallel: both servers were asked" \
		expect_eq "$(slow_saw p1.$v.example)/$(fast_saw p1.$v.example)" 1/1

	for i in $(seq 1 24); do timed f$i.$v.example $res $t >/dev/null; done
	slowf=0
	for i in $(seq 1 24); do slowf=$((slowf + $(slow_saw f$i.$v.example))); done
	check "IPv$v fastest: the slow server saw $slowf of 24 (<= 8)" test "$slowf" -le 8
	# One query in 16 tries another server first (exploration), so of five
	# later queries most, not all, are quick.
	quick=0 all=""
	for i in 25 26 27 28 29; do
		read -r ans ms <<<"$(timed f$i.$v.example $res $t)"
		all="$all $ms"
		[ "$ans" = "$fast" ] && [ "$ms" -lt 400 ] && quick=$((quick + 1))
	done
	check "IPv$v fastest: later queries are quick (at least 3 of 5:$all ms)" test "$quick" -ge 3

	lab_dig "$LAB_CLI" @$res +subnet=198.51.100.0/24 e1.$v.example $t >/dev/null
	check "IPv$v ecs=192.0.2.0/24: the upstream saw that subnet, not the client's" \
		expect_eq "$(ecs_seen e1.$v.example)" "192.0.2.0/24"
	m0=$(lab_metrics)
	lab_dig "$LAB_CLI" @$res +subnet=198.51.100.0/24 s1.$v.example $t >/dev/null
	m1=$(lab_metrics)
	check "IPv$v ecs=strip: the upstream saw none" expect_eq "$(ecs_seen s1.$v.example)" none
	check "IPv$v ecs=strip: the removed option counted" expect_eq "$(delta dns_ecs_stripped)" 1
	lab_dig "$LAB_CLI" @$res +subnet=198.51.100.0/24 c1.$v.example $t >/dev/null
	check "IPv$v default: the client's ECS passes" \
		expect_eq "$(ecs_seen c1.$v.example)" "198.51.100.0/24"
	out=$(lab_dig "$LAB_CLI" @$res r1.$v.example $t)
	check "IPv$v REFUSED with ECS: asked again without it, answered" \
		expect_eq "$(dig_answers "$out" | awk '{print $2}')" "$fast"
	check "IPv$v REFUSED with ECS: the second query had none" \
		expect_eq "$(grep " r1.$v.example " "$LAB_WORK/refuser.log" | sed 's/.* ecs=//' | tr '\n' ' ')" \
		"198.51.100.0/24 none "

	m0=$(lab_metrics)
	lab_dig "$LAB_CLI" @$res x.foreign.example $t >/dev/null
	lab_dig "$LAB_CLI" @$res ok1.$v.example $t >/dev/null
	m1=$(lab_metrics)
	check "IPv$v leak-check: the foreign name counted, the other not" \
		expect_eq "$(delta dns_leaked_foreign)" 1
done
lab_sluice_exit
lab_finish
