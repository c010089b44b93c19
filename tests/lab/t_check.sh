#!/bin/bash
# The command line and the generated ruleset:
#  - `sluice -t -c` reports each kind of bad config as FILE:LINE: message
#    (FILE: message for whole-file problems) and exits 1; good configs
#    (and the shipped conf/sluice.conf) exit 0;
#  - --version and --help exit 0, --help lists every directive of
#    sluice.conf(5); an unknown option exits non-zero;
#  - `sluice rules --iptables/--ip6tables` for the same configs passes
#    iptables-restore --test / ip6tables-restore --test (dns-rate-limit and
#    relay-rate-limit as per-source meters / hashlimits too);
#  - `sluice rules` output for several configs passes `nft -c -f` in the
#    gateway namespace; `rules --routes` prints the IPv4 and IPv6 ip
#    rule/route commands with the configured mark and table, they run, and
#    `rules --cleanup` undoes them;
#  - with sluice NOT running, IPv4 and IPv6: the fail-open ruleset lets a
#    datagram to 203.0.113.2:5300 pass untouched (the server sees the
#    CLIENT's address), the fail-closed one drops it (no answer, the server
#    sees nothing, the drop rule counted it); with sluice started on the
#    fail-closed ruleset the datagram goes through sluice (the server sees
#    the gateway).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99
top=${top_srcdir:-$LAB_DIR/../..}
W=$LAB_WORK

# bad NAME LINE_PREFIX MESSAGE_PART <<CONFIG - `sluice -t` must exit 1 and
# print LINE_PREFIX (a FILE:LINE: or FILE: prefix) followed by MESSAGE_PART.
bad() {
	local name=$1 prefix=$2 msg=$3 f out rc
	f=$(lab_conf "$name")
	out=$("$SLUICE" -t -c "$f" 2>&1)
	rc=$?
	check "bad config $name: exit 1" expect_eq "$rc" 1
	check "bad config $name: '$(basename "$prefix") $msg'" expect_contains "$out" "$prefix $msg"
}
L='listen 0.0.0.0:15000 [::]:15000'

bad unknown.conf "$W/unknown.conf:2:" "unknown directive 'frobnicate'" <<EOF
$L
frobnicate 1
intercept udp 5300 relay
EOF
bad port.conf "$W/port.conf:3:" "intercept port: '70000' is not a number from 1 to 65535" <<EOF
$L
# a comment line still counts
intercept udp 70000 relay
EOF
bad service.conf "$W/service.conf:2:" "intercept: unknown service 'smtp'" <<EOF
$L
intercept udp 25 smtp
EOF
bad proto.conf "$W/proto.conf:2:" "intercept: only the dns service takes tcp" <<EOF
$L
intercept tcp 443 relay
EOF
bad dup.conf "$W/dup.conf:3:" "intercept: udp port 5300 is already intercepted" <<EOF
$L
intercept udp 5300 relay
intercept udp 5300 relay timeout=5
EOF
bad listen.conf "$W/listen.conf:1:" "listen: '0.0.0.0' is not ADDR:PORT" <<EOF
listen 0.0.0.0
intercept udp 5300 relay
EOF
bad args.conf "$W/args.conf:3:" "usage: mark N" <<EOF
$L
intercept udp 5300 relay
mark
EOF
bad bool.conf "$W/bool.conf:3:" "'maybe' is not yes or no" <<EOF
$L
intercept udp 5300 relay
fail-closed maybe
EOF
bad timeout.conf "$W/timeout.conf:2:" "intercept: unknown option 'idle=5'" <<EOF
$L
intercept udp 5300 relay idle=5
EOF
bad marks.conf "$W/marks.conf:" "'mark' and 'tproxy-mark' must differ" <<EOF
$L
intercept udp 5300 relay
mark 1
EOF
bad nolisten.conf "$W/nolisten.conf:" "no 'listen' address given" <<EOF
intercept udp 5300 relay
EOF
bad lport.conf "$W/lport.conf:" "listen port 5300 is also an intercepted port" <<EOF
listen 0.0.0.0:5300
intercept udp 5300 relay
EOF
bad noinc.conf "$W/noinc.conf:2:" "cannot open $W/missing.conf" <<EOF
$L
include missing.conf
intercept udp 5300 relay
EOF
lab_conf inner.conf >/dev/null <<EOF
intercept udp 5300 relay
bypass 203.0.113.0/33
EOF
bad outer.conf "$W/inner.conf:2:" "bypass: '203.0.113.0/33' is not an address or prefix" <<EOF
$L
include inner.conf
EOF
bad loop.conf "$W/loop.conf:1:" "include nested more than" <<EOF
include loop.conf
EOF
out=$("$SLUICE" -t -c "$W/does-not-exist.conf" 2>&1)
check "a missing config file: exit 1" expect_eq "$?" 1
check "a missing config file: 'FILE: cannot open'" expect_contains "$out" "$W/does-not-exist.conf: cannot open"

good=$(lab_conf good.conf <<EOF
# every engine directive
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=5
intercept udp 5301 relay
mark 0xff
tproxy-mark 0x1
route-table 100
user nobody
workers 2
max-sessions 1000
max-sessions-per-client 100
recv-batch 16
fail-closed no
intercept-local no
interface gc
bypass 192.0.2.0/24 2001:db8:ffff::/48
metrics 127.0.0.1:9153
EOF
)
out=$("$SLUICE" -t -c "$good" 2>&1)
check "a good config: exit 0" expect_eq "$?" 0
check "a good config: 'configuration OK'" expect_contains "$out" "$good: configuration OK"
out=$("$SLUICE" -t -c "$top/conf/sluice.conf" 2>&1)
check "the shipped conf/sluice.conf: exit 0" expect_eq "$?" 0

# --version, --help, a bad option.
out=$("$SLUICE" --version)
check "--version: exit 0" expect_eq "$?" 0
check "--version prints 'sluice VERSION'" expect_match "$out" '^sluice [0-9]+\.[0-9]+'
help=$("$SLUICE" --help)
check "--help: exit 0" expect_eq "$?" 0
# The tag line after each .TP names one directive, or several separated by
# ", " (".BI min-ttl " SECONDS" ", " max-ttl " SECONDS"").
dirs=$(awk '/^\.TP/ { getline; sub(/^\.B[IR]* /, ""); n = split($0, part, /", "/)
	for (i = 1; i <= n; i++) { split(part[i], w, " "); gsub(/"/, "", w[1])
		if (w[1] ~ /^[a-z][a-z-]*$/) print w[1] } }' "$top/man/sluice.conf.5")
check "sluice.conf(5) lists directives ($(wc -w <<<"$dirs"))" test "$(wc -w <<<"$dirs")" -ge 15
missing=""
for d in $dirs; do
	grep -q "^  $d " <<<"$help" || missing="$missing $d"
done
check "--help lists every directive of sluice.conf(5)" expect_eq "$missing" ""
# Every `sluice ctl` verb --help names has its entry in sluice(8).
verbs=$(sed -n '/^ *sluice ctl \[-s SOCKET\] \[-c FILE\] /,/help$/p' <<<"$help" |
	sed 's/^ *sluice ctl \[-s SOCKET\] \[-c FILE\] //; s/^ *//' | tr '|' '\n' | awk 'NF { print $1 }')
check "--help names the ctl verbs ($(wc -w <<<"$verbs"))" test "$(wc -w <<<"$verbs")" -ge 7
missing=""
for v in $verbs; do
	grep -Eq "^\.BI? $v( |\$)" "$top/man/sluice.8" || missing="$missing $v"
done
check "sluice(8) documents every ctl verb" expect_eq "$missing" ""
"$SLUICE" --no-such-option >/dev/null 2>&1
check "an unknown option exits non-zero" test "$?" -ne 0

# `sluice rules` variants all load (nft -c: checked, not applied).
rules_ok() {
	local f
	f=$(lab_conf "$1")
	"$SLUICE" rules -c "$f" > "$W/$1.nft" && in_gw nft -c -f "$W/$1.nft"
}
check "rules: the good config passes nft -c" rules_ok good2.conf < "$good"
check "rules: fail-closed + intercept-local pass nft -c" rules_ok fc.conf <<EOF
$L
intercept udp 53 relay
intercept udp 123 relay
intercept udp 443 relay
fail-closed yes
intercept-local yes
interface gc gu
bypass 198.51.100.0/24 2001:db8:100::/64
EOF
check "rules: an IPv4-only specific listener passes nft -c" rules_ok v4.conf <<EOF
listen 127.0.0.1:15000
intercept udp 5300 relay
EOF
check "rules: a lone dual-stack [::] listener passes nft -c" rules_ok v6.conf <<EOF
listen [::]:15000
intercept udp 5300 relay
EOF
check "rules: a lone [::] listener serves IPv4 too" grep -q "nfproto ipv4 .*tproxy ip to :15000" "$W/v6.conf.nft"
check "rules: a specific IPv6 listener passes nft -c" rules_ok v6s.conf <<EOF
listen [::1]:15000 127.0.0.1:15000
intercept udp 5300 relay
EOF
check "rules: ... with tproxy ip6 to [::1]:15000" grep -q "tproxy ip6 to \[::1\]:15000" "$W/v6s.conf.nft"

check "rules: dns-rate-limit and relay-rate-limit per source pass nft -c" rules_ok rl.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept udp 443 quic
intercept udp 5300 relay
upstream a udp://203.0.113.2
dns-rule all forward a
dns-rate-limit 200 400
relay-rate-limit 1000
dns-listen 198.51.100.1 [2001:db8:100::1]:5353
interface gc
EOF
check "rules: ... a meter per /64 for IPv6" grep -q "update @dns_limit6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate over 200/second" "$W/rl.conf.nft"

# --iptables / --ip6tables: the same configs load with iptables-restore --test.
ipt_ok() {
	local f=$W/$1 fam
	for fam in iptables ip6tables; do
		"$SLUICE" rules --$fam -c "$f" > "$f.$fam" &&
			in_gw $fam-restore --test --noflush < "$f.$fam" || return 1
	done
}
if command -v iptables-restore >/dev/null; then
	for f in good2.conf fc.conf v4.conf v6.conf v6s.conf rl.conf; do
		check "rules --iptables/--ip6tables: $f loads (iptables-restore --test)" ipt_ok $f
	done
	check "rules --ip6tables: dns-rate-limit as a hashlimit per /64" \
		grep -q -- "--hashlimit-name sluice-dns6 --hashlimit-mode srcip --hashlimit-srcmask 64 --hashlimit-above 200/sec" "$W/rl.conf.ip6tables"
	check "rules --iptables: TPROXY to the listener" grep -q -- "-j TPROXY --on-ip 0.0.0.0 --on-port 15000" "$W/fc.conf.iptables"
	check "rules --ip6tables: the interfaces, lo for intercept-local" \
		bash -c "grep -q -- '-A PREROUTING -i gu -j SLUICE' '$W/fc.conf.ip6tables' && grep -q -- '-A PREROUTING -i lo -j SLUICE' '$W/fc.conf.ip6tables'"
else
	check "iptables-restore is installed (scripts/setup-debian.sh)" false
fi

# --routes: v4 and v6 with the configured mark and table; run them; undo.
rt=$(lab_conf rt.conf <<EOF
$L
intercept udp 5300 relay
tproxy-mark 0x5
route-table 200
EOF
)
routes=$("$SLUICE" rules --routes -c "$rt")
check "--routes: IPv4 ip rule" expect_contains "$routes" "ip rule add fwmark 0x5 lookup 200"
check "--routes: IPv4 local route" expect_contains "$routes" "ip route add local 0.0.0.0/0 dev lo table 200"
check "--routes: IPv6 ip rule" expect_contains "$routes" "ip -6 rule add fwmark 0x5 lookup 200"
check "--routes: IPv6 local route" expect_contains "$routes" "ip -6 route add local ::/0 dev lo table 200"
check "--routes: they run in the gateway" in_gw sh -e -c "$routes"
check "--routes: the IPv4 rule is there" expect_contains "$(in_gw ip rule list)" "fwmark 0x5 lookup 200"
check "--routes: the IPv6 rule is there" expect_contains "$(in_gw ip -6 rule list)" "fwmark 0x5 lookup 200"
check "--routes: the IPv6 local route is there" expect_contains "$(in_gw ip -6 route list table 200 type local)" "local default dev lo"
in_gw nft -f - < <("$SLUICE" rules -c "$rt")
check "--cleanup: its commands run" in_gw sh -e -c "$("$SLUICE" rules --cleanup -c "$rt")"
check "--cleanup: no rule left" bash -c "! ip -n $LAB_GW rule list | grep -q 'lookup 200'; ! ip -n $LAB_GW -6 rule list | grep -q 'lookup 200'"
check "--cleanup: no table left" bash -c "! ip netns exec $LAB_GW nft list table inet sluice >/dev/null 2>&1"

# Fail-open and fail-closed, sluice not running.
lab_server srv4 "$UP4" 5300 --log || exit 99
lab_server srv6 "$UP6" 5300 --log || exit 99
client() { in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client "$@"; }
open=$(lab_conf open.conf <<EOF
$L
intercept udp 5300 relay
EOF
)
closed=$(lab_conf closed.conf <<EOF
$L
intercept udp 5300 relay
fail-closed yes
EOF
)
lab_rules "$open" || exit 99
check "sluice is not running (nothing on the tproxy port)" bash -c "! ip netns exec $LAB_GW ss -Hlun | grep -q ':15000 '"
out=$(client --to "$UP4" --port 5300 --msg open4 --timeout 1)
check "fail-open, IPv4: the datagram passes untouched (the server sees the client $CLI4)" \
	expect_contains "$out" "from $UP4:5300 seen $CLI4:"
out=$(client --to "$UP6" --port 5300 --msg open6 --timeout 1)
check "fail-open, IPv6: the datagram passes untouched (the server sees the client $CLI6)" \
	expect_contains "$out" "from $UP6:5300 seen $CLI6:"

lab_nft "$closed" || exit 99
s4=$(grep -c seen "$W/srv4.log") s6=$(grep -c seen "$W/srv6.log")
out=$(client --to "$UP4" --port 5300 --msg closed4 --timeout 1)
check "fail-closed, IPv4: no answer" expect_eq "$out" timeout
out=$(client --to "$UP6" --port 5300 --msg closed6 --timeout 1)
check "fail-closed, IPv6: no answer" expect_eq "$out" timeout
check "fail-closed, IPv4: the server saw nothing" expect_eq "$(grep -c seen "$W/srv4.log")" "$s4"
check "fail-closed, IPv6: the server saw nothing" expect_eq "$(grep -c seen "$W/srv6.log")" "$s6"
dropped=$(in_gw nft list chain inet sluice prerouting | awk '/counter packets .* drop/ {
	for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }')
check "fail-closed: the drop rule(s) counted both" expect_eq "$dropped" 2

# The same fail-closed ruleset with sluice running: through sluice.
lab_bg "$LAB_GW" sluice "$SLUICE" -c "$closed"
lab_wait_log sluice running 10 || exit 99
out=$(client --to "$UP4" --port 5300 --msg run4)
check "fail-closed with sluice running, IPv4: through sluice (the server sees $GWU4)" \
	expect_contains "$out" "from $UP4:5300 seen $GWU4:"
out=$(client --to "$UP6" --port 5300 --msg run6)
check "fail-closed with sluice running, IPv6: through sluice (the server sees $GWU6)" \
	expect_contains "$out" "from $UP6:5300 seen $GWU6:"
lab_finish
