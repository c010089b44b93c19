#!/bin/bash
# Off-path spoofing of upstream answers (the DNSpooq class of attacks on
# forwarders), IPv4 and IPv6. The upstream is dnsspoof.py on 203.0.113.5 /
# 2001:db8:113::5: a server that, for spray-* names, also plays the spoofer
# from its own address and port (the strongest off-path position: only the
# source port, the ID and the question protect the cache).
#  - 200 upstream queries leave from at least 150 distinct source ports,
#    with (nearly) 200 distinct IDs;
#  - a spoofer who learned an earlier query's port sprays all 65,536 IDs at
#    it: the port is closed (a socket per query), nothing is taken, the
#    real answer is cached;
#  - control: with dns-0x20 off, a spoofer who knows the current port and
#    the name wins (this is what the other checks defend against, and it
#    shows the spray really arrives);
#  - with dns-0x20 on, the same spray (the right port, every ID, the name
#    in the wrong case) is ignored, counted in dns_upstream_ignored, and the
#    real answer is cached;
#  - answers echo the client's question bytes exactly (its case), on the
#    upstream path and from the cache.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

for v in 4 6; do
	addr=203.0.113.5
	[ $v = 6 ] && addr=2001:db8:113::5
	lab_bg "$LAB_UP" spoof$v "$LAB_PY" -u "$LAB_DIR/dnsspoof.py" --bind "$addr" --delay 0.3
	lab_wait_log spoof$v ready 10 || exit 99
done

conf=$(lab_conf spoof.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
metrics 127.0.0.1:9153
upstream-timeout 9000
dns-0x20 no
upstream s4 udp://203.0.113.5
upstream s6 udp://[2001:db8:113::5]
dns-rule domain:v4.example forward s4
dns-rule domain:v6.example forward s6
EOF
)
lab_sluice "$conf" || exit 99

delta() { echo $(($(mval "$m1" "$1") - $(mval "$m0" "$1"))); }
# queried V PATTERN - the "query" lines spoofV.log has for names matching PATTERN.
queried() { grep -iE "^query .* name=$2\$" "$LAB_WORK/spoof$1.log"; }

# burst N SUFFIX RES - N queries n0.SUFFIX..n(N-1).SUFFIX to RES at once (not
# waiting for each answer), then collect the answers; prints how many came.
burst() {
	in_cli "$LAB_PY" - "$@" <<'PY'
import os, select, socket, struct, sys, time
n, suffix, res = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fam = socket.AF_INET6 if ":" in res else socket.AF_INET
socks = []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.connect((res, 53))
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    for l in ("n%d.%s" % (i, suffix)).split("."):
        q += bytes([len(l)]) + l.encode()
    s.send(q + b"\0\0\1\0\1")
    socks.append(s)
got, end = 0, time.time() + 10
while socks and time.time() < end:
    r, _, _ = select.select(socks, [], [], 0.5)
    for s in r:
        s.recv(4096)
        got += 1
        socks.remove(s)
        s.close()
print(got)
PY
}

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 poison="A 198.51.100.66" real="A 192.0.2.80" t=A
	else res=2001:db8:53::53 poison="AAAA 2001:db8:66::66" real="AAAA 2001:db8:80::80" t=AAAA; fi

	# Fresh source ports and IDs.
	check "IPv$v: 200 queries answered" expect_eq "$(burst 200 p.v$v.example $res)" 200
	lines=$(queried $v 'n[0-9]+\.p\.v'$v'\.example')
	ports=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"$lines" | sort -u | wc -l)
	ids=$(sed -n 's/.* id=\([0-9]*\) .*/\1/p' <<<"$lines" | sort -u | wc -l)
	check "IPv$v: the upstream saw 200 queries" expect_eq "$(wc -l <<<"$lines")" 200
	check "IPv$v: from $ports distinct source ports (>= 150)" test "$ports" -ge 150
	check "IPv$v: with $ids distinct IDs (>= 190)" test "$ids" -ge 190

	# A spoofer spraying every ID at a port it learned from an earlier query.
	lab_dig "$LAB_CLI" @$res learn.v$v.example $t >/dev/null
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +time=12 @$res spray-old.v$v.example $t)
	m1=$(lab_metrics)
	check "IPv$v spray at an old port: the spoofer sent 65536" \
		expect_match "$(grep '^sprayed' "$LAB_WORK/spoof$v.log" | tail -n1)" '^sprayed 65536 to '
	check "IPv$v spray at an old port: the real answer" expect_eq "$(dig_answers "$out")" "$real"
	check "IPv$v spray at an old port: nothing reached a socket of sluice's" \
		expect_eq "$(delta dns_upstream_ignored)" 0
	out=$(lab_dig "$LAB_CLI" @$res spray-old.v$v.example $t)
	check "IPv$v spray at an old port: the cache holds the real answer" \
		expect_eq "$(dig_answers "$out")" "$real"

	# Control: the port is known, the case is not checked (dns-0x20 off).
	out=$(lab_dig "$LAB_CLI" +time=12 @$res spray-now.control.v$v.example $t)
	check "IPv$v control (dns-0x20 off, port known): the spoofer wins" \
		expect_eq "$(dig_answers "$out")" "$poison"
done

# The same attack with dns-0x20 on.
sed -i 's/^dns-0x20 no$/dns-0x20 yes/' "$conf"
lab_reload "$conf" || exit 1
for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 real="A 192.0.2.80" t=A
	else res=2001:db8:53::53 real="AAAA 2001:db8:80::80" t=AAAA; fi
	name=spray-now.abcdefghijklmnopqrstuvwxyz.v$v.example
	m0=$(lab_metrics)
	out=$(lab_dig "$LAB_CLI" +time=12 @$res $name $t)
	m1=$(lab_metrics)
	check "IPv$v dns-0x20, port known, every ID: the real answer" \
		expect_eq "$(dig_answers "$out")" "$real"
	ign=$(delta dns_upstream_ignored)
	check "IPv$v dns-0x20: the forged answers reached sluice and were ignored ($ign)" \
		test "$ign" -ge 60000
	sent=$(queried $v "$name" | tail -n1 | sed -n 's/.* name=//p')
	check "IPv$v dns-0x20: the name went out in mixed case ($sent)" \
		expect_match "$sent" '[A-Z]'
	out=$(lab_dig "$LAB_CLI" @$res $name $t)
	check "IPv$v dns-0x20: the cache holds the real answer" expect_eq "$(dig_answers "$out")" "$real"

	# The client's own case comes back, from the upstream path and the cache.
	for pass in upstream cache; do
		out=$(lab_dig "$LAB_CLI" @$res MiXeD.CaSe.v$v.example $t)
		check "IPv$v: the question is echoed as the client wrote it ($pass)" \
			expect_match "$out" "^;MiXeD\\.CaSe\\.v$v\\.example\\.[[:space:]]"
		check "IPv$v: answered ($pass)" expect_eq "$(dig_answers "$out")" "$real"
	done
done
lab_sluice_exit
lab_finish
