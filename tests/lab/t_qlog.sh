#!/bin/bash
# query-log: one line per query, IPv4 and IPv6 clients, one unbound
# upstream "abroad" (203.0.113.3 / 2001:db8:113::3, every name 192.0.2.31).
#  - a forwarded name: client, name, type, action=forward, the rule's
#    FILE:LINE, group=abroad, the server that answered
#    (udp://203.0.113.3:53 or udp://[2001:db8:113::3]:53), NOERROR,
#    cache=miss, a latency; asked again: cache=hit, no server;
#  - a blocked name: action=block, its rule's line, NXDOMAIN; an address
#    rule: action=address, NOERROR; the default group (no rule line):
#    rule=-; a no-aaaa AAAA query: action=no-aaaa;
#  - dns_query_log_lines counts the lines;
#  - logrotate's way: the file renamed, SIGUSR2, the next queries go to a
#    new file at the path and none to the renamed one;
#  - `query-log syslog`: the lines reach /dev/log (a socket the test binds
#    over it in a private mount namespace), one datagram per query;
#  - a path that cannot be opened: sluice still answers, says so once,
#    and counts the lost lines (dns_query_log_dropped).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v dig >/dev/null || { echo "SKIP: dig not installed" >&2; exit 77; }
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99

W=$LAB_WORK
QL=$W/query.log
write_conf() { # write_conf QUERY-LOG-TARGET
	lab_conf qlog.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
metrics 127.0.0.1:9153
workers 2
upstream abroad udp://203.0.113.3 udp://[2001:db8:113::3]
upstream v6 udp://[2001:db8:113::3]
query-log $1
dns-rule domain:blocked.example block nxdomain
dns-rule full:addr.example address 192.0.2.77
dns-rule domain:noaaaa.example forward abroad no-aaaa
dns-rule domain:six.example forward v6
dns-rule domain:fwd.example forward abroad
EOF
}
conf=$(write_conf "$QL")
lab_sluice "$conf" || exit 99
line_of() { grep -n -- "$1" "$conf" | head -n1 | cut -d: -f1; }

# logged PATTERN [FILE] - the query log lines matching PATTERN, after the
# writers' one-second flush.
logged() { grep -E -- "$1" "${2:-$QL}" 2>/dev/null; }
# flush_wait [N] - until the file holds every line sluice counted (less N,
# lines in a renamed file), at most 5 s: a writer flushes once a second.
flush_wait() {
	local want i
	want=$(lab_metric dns_query_log_lines)
	case $want in '' | *[!0-9]*) sleep 1.5; return ;; esac
	want=$((want - ${1:-0}))
	for ((i = 0; i < 50; i++)); do
		[ -f "$QL" ] && [ "$(wc -l < "$QL")" -ge "$want" ] && return 0
		sleep 0.1
	done
}

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53 cli=$CLI4; else res=2001:db8:53::53 cli=$CLI6; fi
	lab_dig "$LAB_CLI" @$res a$v.fwd.example A >/dev/null
	lab_dig "$LAB_CLI" @$res a$v.fwd.example A >/dev/null
	lab_dig "$LAB_CLI" @$res x.blocked.example A >/dev/null
	lab_dig "$LAB_CLI" @$res addr.example A >/dev/null
	lab_dig "$LAB_CLI" @$res d$v.unruled.test A >/dev/null
	lab_dig "$LAB_CLI" @$res n$v.noaaaa.example AAAA >/dev/null
	lab_dig "$LAB_CLI" @$res s$v.six.example A >/dev/null
done
flush_wait
cat "$QL" >&2
for v in 4 6; do
	if [ $v = 4 ]; then cli=$CLI4; else cli=$CLI6; fi
	c="client=$(re_ip "$cli")"
	ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} '
	check "IPv$v forwarded: client, name, type, rule line, group, server, NOERROR, miss, ms" \
		expect_match "$(logged "name=a$v\.fwd\.example .*cache=miss")" \
		"${ts}$c name=a$v\.fwd\.example type=A action=forward rule=.*qlog\.conf:$(line_of domain:fwd.example) group=abroad server=udp://(203\.0\.113\.3|\[2001:db8:113::3\]):53 rcode=NOERROR cache=miss ms=[0-9]+\.[0-9]{3}$"
	check "IPv$v asked again: a cache hit, no server" \
		expect_match "$(logged "name=a$v\.fwd\.example .*cache=hit")" \
		"$c .* action=forward .* group=abroad server=- rcode=NOERROR cache=hit ms="
	check "IPv$v blocked: action=block, its rule's line, NXDOMAIN" \
		expect_match "$(logged "$c name=x\.blocked\.example ")" \
		"action=block rule=.*qlog\.conf:$(line_of domain:blocked.example) group=- server=- rcode=NXDOMAIN cache=-"
	check "IPv$v address rule: action=address" \
		expect_match "$(logged "$c name=addr\.example ")" "type=A action=address rule=.*:$(line_of full:addr.example) .* rcode=NOERROR"
	check "IPv$v default group: rule=-, group abroad" \
		expect_match "$(logged "$c name=d$v\.unruled\.test ")" "action=forward rule=- group=abroad server=udp://"
	check "IPv$v no-aaaa: action=no-aaaa, NOERROR without asking" \
		expect_match "$(logged "$c name=n$v\.noaaaa\.example ")" "type=AAAA action=no-aaaa .* server=- rcode=NOERROR"
	check "IPv$v an IPv6 server in the line" \
		expect_match "$(logged "$c name=s$v\.six\.example ")" "group=v6 server=udp://\[2001:db8:113::3\]:53 rcode=NOERROR"
done
check "dns_query_log_lines counts every line" \
	expect_eq "$(lab_metric dns_query_log_lines)" "$(wc -l < "$QL")"

# logrotate: rename, SIGUSR2, new lines in a new file.
mv "$QL" "$QL.1"
n1=$(wc -l < "$QL.1")
kill -USR2 "$SLUICE_PID"
lab_wait_log sluice "SIGUSR2: reopening the query log" 5
lab_dig "$LAB_CLI" @192.0.2.53 after.fwd.example A >/dev/null
lab_dig "$LAB_CLI" @2001:db8:53::53 after6.fwd.example A >/dev/null
flush_wait "$n1"
check "after SIGUSR2 the lines go to a new file at the path" \
	expect_eq "$(logged 'name=after6?\.fwd\.example ' | wc -l)" 2
check "and none to the renamed one" expect_eq "$(wc -l < "$QL.1")" "$n1"
lab_stop "$SLUICE_PID"

# syslog: a socket of the test's at /dev/log, in a mount namespace of
# sluice's own (a directory with the socket and /dev/null bound over /dev).
DEV=$W/dev
mkdir -p "$DEV" && touch "$DEV/null"
lab_bg "$LAB_GW" devlog "$LAB_PY" -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); print("ready", flush=True)
while True:
    print(s.recv(65536).decode(errors="replace"), flush=True)
' "$DEV/log"
lab_wait_log devlog ready 5 || exit 99
conf=$(write_conf syslog)
lab_bg "$LAB_GW" sluice-syslog unshare -m --propagation private sh -c \
	'mount --bind /dev/null "$1/null" && mount --bind "$1" /dev && exec "$2" -c "$3"' \
	sh "$DEV" "$SLUICE" "$conf"
SPID=$LAB_LAST_PID
lab_wait_log sluice-syslog running 10 || exit 99
lab_dig "$LAB_CLI" @192.0.2.53 sys.fwd.example A >/dev/null
lab_dig "$LAB_CLI" @2001:db8:53::53 x.blocked.example AAAA >/dev/null
lab_wait_log devlog 'name=x\.blocked\.example ' 5
lab_wait_log devlog 'name=sys\.fwd\.example ' 5
check "syslog: one message per query, LOG_DAEMON|LOG_INFO (<30>)" \
	expect_match "$(grep 'name=sys\.fwd\.example ' "$W/devlog.log")" \
	"^<30>.*client=198\.51\.100\.2 name=sys\.fwd\.example type=A action=forward .*rcode=NOERROR"
check "syslog: the IPv6 client's blocked query" \
	expect_match "$(grep 'name=x\.blocked\.example ' "$W/devlog.log")" \
	"client=2001:db8:100::2 .*type=AAAA action=block"
lab_stop "$SPID"

# A path that cannot be opened: answers go on, the lines are counted lost.
conf=$(write_conf "$W/no-such-dir/query.log")
lab_bg "$LAB_GW" sluice-bad "$SLUICE" -c "$conf"
SPID=$LAB_LAST_PID
lab_wait_log sluice-bad running 10 || exit 99
out=$(lab_dig "$LAB_CLI" @192.0.2.53 lost.fwd.example A)
check "an unwritable query log does not stop answers" expect_eq "$(dig_status "$out")" NOERROR
check "it is said once per worker at most" \
	expect_le "$(grep -c 'query-log: cannot open' "$W/sluice-bad.log")" 2
check "lost lines are counted (dns_query_log_dropped)" \
	expect_ge "$(lab_metric dns_query_log_dropped)" 1
lab_stop "$SPID"
lab_finish
