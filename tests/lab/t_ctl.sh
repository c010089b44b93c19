#!/bin/bash
# `control PATH` and `sluice ctl`, IPv4 and IPv6 clients, one unbound
# upstream "abroad" (203.0.113.3, every name 192.0.2.31) that logs what it
# is asked.
#  - the socket is mode 0600; an unprivileged user cannot use it;
#  - help lists every verb; stats matches /metrics;
#  - top: the most asked name first with its count, both clients, the
#    blocked name; top N bounds the rows; a bad N is an error;
#  - flush NAME drops that name (the upstream is asked again), another
#    cached name stays a hit; flush empties the cache;
#  - dump lists cached entries with their records; cache NAME [TYPE] says
#    whether a name is cached and its TTL left (a word longer than any name
#    is refused), and `sluice match` shows it with the group's policy and
#    servers;
#  - reload: a new rule applies, "configuration reloaded"; a broken config
#    answers "FILE:LINE: message", exit 1, and the old config keeps serving;
#    a reload moves metrics to a new port and the control socket to a new
#    path (the old path is gone);
#  - sluice ctl finds the socket from the config's `control` line (-c);
#  - an unknown verb, a missing daemon: exit 1 with a message;
#  - a second sluice with the same control path exits, the first keeps its
#    socket; a stale socket file is replaced at start.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99

W=$LAB_WORK
SOCK=$W/ctl.sock
write_conf() { # write_conf METRICS-PORT SOCKET [EXTRA RULE]
	lab_conf ctl.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:$1
control $2
workers 2
upstream abroad udp://203.0.113.3
$3
dns-rule domain:blocked.example block nxdomain
dns-rule all forward abroad
EOF
}
conf=$(write_conf 9153 "$SOCK")
# A stale socket file from an earlier run: replaced at start.
"$LAB_PY" -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
lab_sluice "$conf" || exit 99

ctl() { in_gw "$SLUICE" ctl -s "$SOCK" "$@"; }
asked() { lab_unbound_seen abroad "$1" A | wc -l; }

check "the socket is mode 0600" expect_eq "$(stat -c %a "$SOCK")" 600
out=$(in_gw setpriv --reuid=65534 --regid=65534 --clear-groups "$SLUICE" ctl -s "$SOCK" stats 2>&1)
check "an unprivileged user cannot use it" expect_match "$out" "cannot connect .*Permission denied"

out=$(ctl help)
check "help lists every verb" expect_match "$(tr '\n' ' ' <<<"$out")" \
	"stats .*flush \[NAME\].*dump .*reload .*top \[N\]"

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	for i in 1 2 3 4 5; do lab_dig "$LAB_CLI" @$res popular.example A >/dev/null; done
	lab_dig "$LAB_CLI" @$res other.example A >/dev/null
	lab_dig "$LAB_CLI" @$res x.blocked.example A >/dev/null
done

out=$(ctl stats)
check "stats: dns_queries_total as /metrics has it" \
	expect_eq "$(awk '$1 == "dns_queries_total" { print $2 }' <<<"$out")" "$(lab_metric dns_queries)"
check "stats: the cache gauge too" expect_match "$out" "^dns_cache_entries [0-9]+$"

out=$(ctl top)
names=$(sed -n '/^names:/,/^clients:/p' <<<"$out")
check "top: the most asked name first, asked 10 times" \
	expect_match "$(sed -n 2p <<<"$names")" "^ +10 popular\.example$"
check "top: both clients, 14 queries each" \
	expect_match "$(sed -n '/^clients:/,/^blocked:/p' <<<"$out" | tr '\n' ' ')" \
	" 7 (198\.51\.100\.2|2001:db8:100::2) .* 7 (198\.51\.100\.2|2001:db8:100::2) "
check "top: the blocked name" \
	expect_match "$(sed -n '/^blocked:/,/^quic:/p' <<<"$out")" " 2 x\.blocked\.example"
check "top 1: one row a table" expect_eq "$(ctl top 1 | grep -c '^  ')" 3
out=$(ctl top 0 2>&1); rc=$?
check "top 0: an error, exit 1" expect_eq "$rc|$(grep -c 'N is a number' <<<"$out")" "1|1"

n0=$(asked popular.example)
out=$(ctl cache popular.example)
check "cache NAME: cached, its TTL left and rcode" expect_match "$out" "^ttl=(2[0-9][0-9]|300) rcode=NOERROR age=[0-9]+$"
out=$(ctl cache popular.example AAAA)
check "cache NAME AAAA: not cached" expect_eq "$out" "not cached"
# A word as long as a request may be (a label of 500 bytes): refused, and
# the daemon lives on. (Its sscanf width once exceeded the name buffer;
# under ASan any `cache` request aborted the daemon.)
long=$(printf 'a%.0s' $(seq 500))
out=$(ctl cache "$long" 2>&1)
check "cache with a 500-byte word: a usage error" expect_contains "$out" "usage: cache NAME [TYPE]"
check "... and the daemon still answers" expect_match "$(ctl cache popular.example)" "^ttl="
out=$(in_gw "$SLUICE" match -c "$conf" popular.example)
check "sluice match: the group, its policy and servers" \
	expect_match "$out" "  group abroad: policy=order udp://203\.0\.113\.3:53"
check "sluice match: the running daemon's cache for the name" \
	expect_match "$out" "  cache: ttl=[0-9]+ rcode=NOERROR age=[0-9]+$"
out=$(ctl flush popular.example)
check "flush NAME: one entry dropped" expect_eq "$out" "flushed 1 entries for popular.example"
lab_dig "$LAB_CLI" @192.0.2.53 popular.example A >/dev/null
check "flush NAME: the upstream is asked again" expect_eq "$(asked popular.example)" $((n0 + 1))
m0=$(lab_metrics)
lab_dig "$LAB_CLI" @192.0.2.53 other.example A >/dev/null
m1=$(lab_metrics)
check "flush NAME: another name stays cached" expect_eq "$(mdelta "$m0" "$m1" dns_cache_hits)" 1

out=$(ctl dump)
check "dump: the cached entries with their records" \
	expect_match "$out" "other\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.31"
check "dump: one header per entry (name, type, rcode, TTL left)" \
	expect_match "$out" "^; popular\.example A NOERROR ttl=[0-9]+"

out=$(ctl flush)
check "flush: the whole cache" expect_match "$out" "^flushed [1-9][0-9]* entries$"
check "flush: the cache is empty" expect_eq "$(lab_metric dns_cache_entries)" 0

# reload: a new rule.
conf=$(write_conf 9153 "$SOCK" "dns-rule full:new.example address 192.0.2.99")
out=$(ctl reload); rc=$?
check "reload: ok, exit 0" expect_eq "$rc|$out" "0|configuration reloaded from $conf"
out=$(lab_dig "$LAB_CLI" @2001:db8:53::53 new.example A)
check "reload: the new rule answers" expect_eq "$(dig_answers "$out")" "A 192.0.2.99"
echo "dns-rule bogus:x block" >> "$conf"
out=$(ctl reload 2>&1); rc=$?
check "reload of a broken config: FILE:LINE: message, exit 1" \
	expect_match "$rc|$out" "^1\|sluice ctl: $(re_ip "$conf"):[0-9]+: "
out=$(lab_dig "$LAB_CLI" @192.0.2.53 new.example A)
check "and the running config keeps serving" expect_eq "$(dig_answers "$out")" "A 192.0.2.99"

out=$(in_gw "$SLUICE" ctl -c "$conf" top 1)
check "ctl -c CONF finds the socket from its control line" expect_match "$out" "^names:"

# reload moves metrics and the control socket.
SOCK2=$W/ctl2.sock
conf=$(write_conf 9154 "$SOCK2")
out=$(ctl reload); rc=$?
check "reload with new metrics and control: ok" expect_eq "$rc" 0
sleep 0.3
check "metrics now on the new port" expect_match "$(LAB_METRICS=127.0.0.1:9154 lab_metric dns_queries)" "^[0-9]+$"
check "and not on the old one" expect_eq "$(lab_metric dns_queries 2>/dev/null)" ""
check "control now at the new path" expect_match "$(in_gw "$SLUICE" ctl -s "$SOCK2" top 1)" "^names:"
check "the old socket file is gone" expect_eq "$(test -e "$SOCK" && echo there)" ""

out=$(in_gw "$SLUICE" ctl -s "$SOCK2" frobnicate 2>&1); rc=$?
check "an unknown verb: exit 1 and a message" expect_match "$rc|$out" "^1\|sluice ctl: unknown command or arguments: 'frobnicate'"
out=$(in_gw "$SLUICE" ctl -s "$W/none.sock" stats 2>&1); rc=$?
check "no daemon: exit 1 and a message" expect_match "$rc|$out" "^1\|sluice ctl: cannot connect to .*none\.sock"

# A second daemon with the same control path must not take it over.
conf2=$(sed 's/^metrics .*/metrics 127.0.0.1:9155/' "$conf" | lab_conf second.conf)
lab_bg "$LAB_GW" second "$SLUICE" -c "$conf2"
lab_wait "$LAB_LAST_PID" 10
check "a second sluice on the same control path exits non-zero" expect_eq "$((LAB_STOP_RC != 0))" 1
check "saying the socket is in use" expect_match "$(cat "$W/second.log")" "control: .*ctl2\.sock is in use"
check "the first keeps its socket" expect_match "$(in_gw "$SLUICE" ctl -s "$SOCK2" top 1)" "^names:"
lab_finish
