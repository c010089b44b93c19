#!/bin/bash
# Running out of descriptors and a full flow table, IPv4 and IPv6. sluice
# (2 workers) starts under RLIMIT_NOFILE 40 (soft and hard: no raising it),
# below what its descriptor plan reserves, so the pools it plans (DNS 64,
# sessions 16) cannot all be had and socket() and accept() fail for real.
# Upstreams: unbound "up" (203.0.113.3 / ::3, every name), dnsresp.py
# "slow" (203.0.113.5 / ::5, answers after 1.5 s), udptool servers on port
# 5300 (relay, timeout=3).
#  - it starts, says it lowered max-sessions, and answers DNS over UDP and
#    TCP on both families;
#  - 300 queries a family to the slow upstream at once: each is answered
#    (NOERROR or SERVFAIL) or counted (dns_client_limited, reply_errors,
#    or dropped by the kernel: UDP receive errors in the namespaces);
#  - meanwhile a /metrics request is answered (within 8 s) and the log
#    stays short: an accept() that fails for want of a descriptor pauses
#    the listener until the next tick (before, libevent retried at once and
#    logged "Error from accept() call" ~100,000 times a second);
#  - 100 relay flows a family (the table holds 16 sessions): at least 195
#    of the 200 datagrams reach sluice, every one that did is answered on
#    its own socket or its session was refused or evicted (counted), no
#    flow gets another's answer, and never more than 16
#    sessions are held;
#  - afterwards DNS is answered again (UDP and TCP, both families), and once
#    the relay timeout has passed sessions, upstream sockets and the
#    process's descriptors are back to where they were before the load;
#  - sluice exits 0 on SIGTERM without a sanitizer report.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v prlimit >/dev/null || { echo "SKIP: prlimit not installed" >&2; exit 77; }
lab_up || exit 99
W=$LAB_WORK

lab_unbound up 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' \
	"verbosity: 0" "log-queries: no" || exit 99
lab_bg "$LAB_UP" slow "$LAB_PY" -u "$LAB_DIR/dnsresp.py" --bind 203.0.113.5 \
	--bind 2001:db8:113::5 --delay 1.5
lab_wait_log slow ready 10 || exit 99
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99

conf=$(lab_conf limits.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 5300 relay timeout=3
metrics 127.0.0.1:9153
workers 2
upstream up udp://203.0.113.3 udp://[2001:db8:113::3]
upstream slow udp://203.0.113.5 udp://[2001:db8:113::5]
dns-rule domain:slow.example forward slow
dns-rule all forward up
EOF
)
lab_rules "$conf" || exit 99
lab_bg "$LAB_GW" sluice prlimit --nofile=40:40 "$SLUICE" -c "$conf"
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice running 10 || exit 1
check "the log says max-sessions was lowered" grep -q "max-sessions 65536 lowered to 16: RLIMIT_NOFILE is 40" "$W/sluice.log"

status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n1; }
answers() {
	local tag=$1 v res
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
		check "IPv$v $tag: UDP answered" expect_eq "$(status "$(lab_dig "$LAB_CLI" @$res u$v-$tag.example)")" NOERROR
		check "IPv$v $tag: TCP answered" expect_eq "$(status "$(lab_dig "$LAB_CLI" +tcp @$res t$v-$tag.example)")" NOERROR
	done
}
answers before
fds() { ls "/proc/$SLUICE_PID/fd" | wc -l; }
sleep 1
fd0=$(fds)
m0=$(lab_metrics)
d0=$(($(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI")))
lines0=$(wc -l < "$W/sluice.log")

# The burst: 300 queries a family for the slow upstream, each from its own
# socket, answers collected for 6 s.
cat > "$W/burst.py" <<'PY'
import select, socket, struct, sys, time
socks = []
for fam, res in ((socket.AF_INET, "192.0.2.53"), (socket.AF_INET6, "2001:db8:53::53")):
    for i in range(300):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((res, 53))
        q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
        for l in ("b%d-%d.slow.example" % (fam, i)).split("."):
            q += bytes([len(l)]) + l.encode()
        s.send(q + b"\0" + struct.pack("!HH", 1 if fam == socket.AF_INET else 28, 1))
        socks.append(s)
sent, rc, end = len(socks), {}, time.monotonic() + 6
while socks and time.monotonic() < end:
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        try:
            m = s.recv(4096)
            rc[m[3] & 15] = rc.get(m[3] & 15, 0) + 1
        except OSError:
            pass
        socks.remove(s)
        s.close()
print("sent %d answered %d noerror %d servfail %d" % (sent, sum(rc.values()), rc.get(0, 0), rc.get(2, 0)))
PY
lab_bg "$LAB_CLI" burst "$LAB_PY" "$W/burst.py"
burst_pid=$LAB_LAST_PID
sleep 0.5
# A metrics request while descriptors are short.
t0=$(date +%s%N)
scrape=$(in_gw "$LAB_PY" -c '
import urllib.request
b = urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=8).read().decode()
print("got" if "sluice_dns_queries_total" in b else "bad")' 2>&1 | tail -n1)
t1=$(date +%s%N)
lab_wait "$burst_pid" 15
check "a /metrics request while descriptors run out is answered ($(((t1 - t0) / 1000000)) ms)" \
	expect_eq "$scrape" got
lines=$(($(wc -l < "$W/sluice.log") - lines0))
check "no flood of accept errors in the log ($lines new lines <= 20)" expect_le "$lines" 20
m1=$(lab_metrics)
d1=$(($(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI")))
res=$(cat "$W/burst.log")
echo "burst: $res; dns_client_limited $(mdelta "$m0" "$m1" dns_client_limited)," \
	"reply_errors $(mdelta "$m0" "$m1" reply_errors), dns_upstream_nofd $(mdelta "$m0" "$m1" dns_upstream_nofd)," \
	"kernel drops $((d1 - d0))"
set -- $res
counted=$(($(mdelta "$m0" "$m1" dns_client_limited) + $(mdelta "$m0" "$m1" reply_errors) + d1 - d0))
check "burst: each of the $2 queries answered ($4) or counted as dropped ($counted)" \
	expect_ge $(($4 + counted)) "$2"
check "burst: some were answered" expect_ge "${4:-0}" 1

# The full flow table: 100 relay flows a family, 16 sessions at most.
m0=$(lab_metrics)
d0=$(($(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI")))
peak=0
for v in 4 6; do
	if [ $v = 4 ]; then to=$UP4; else to=$UP6; fi
	out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --to "$to" --port 5300 --n 100 --timeout 5 2>&1 | tail -n1)
	echo "IPv$v flows: $out"
	set -- $out
	got=${2%%/*}
	check "IPv$v relay: no flow got another flow's answer" expect_eq "$4" 0
	a=$(mval "$(lab_metrics)" flows_active)
	((a > peak)) && peak=$a
	flows_got=$((${flows_got:-0} + got))
	# a send the client's kernel refused never left: not sluice's to answer
	[[ $out =~ unsent\ ([0-9]+) ]] && unsent=$((${unsent:-0} + BASH_REMATCH[1]))
done
m1=$(lab_metrics)
lost=$(($(mdelta "$m0" "$m1" flows_refused) + $(mdelta "$m0" "$m1" flows_evicted) + $(mdelta "$m0" "$m1" flows_evicted_client)))
# a datagram that could not go up (no descriptor), whose echo could not be
# sent back, or that a kernel dropped, is counted there
errs=$(($(mdelta "$m0" "$m1" relay_tx_errors) + $(mdelta "$m0" "$m1" relay_rx_errors) +
	$(mdelta "$m0" "$m1" reply_errors) +
	$(lab_udp_drops "$LAB_GW") + $(lab_udp_drops "$LAB_CLI") - d0 + ${unsent:-0}))
echo "relay: $(for c in flows_created flows_refused flows_evicted flows_evicted_client flows_closed \
	relay_tx relay_rx relay_tx_errors relay_rx_errors reply_sent reply_errors rx_datagrams; do
	printf '%s %s ' $c "$(mdelta "$m0" "$m1" $c)"; done)"
# Every datagram that reached sluice is accounted for; one lost on the way
# there (a busy 2-vCPU machine) is no fault of sluice's, but most must arrive.
rx=$(mdelta "$m0" "$m1" rx_datagrams)
check "relay: of the 200 flows' datagrams, $rx reached sluice (at least 195)" expect_ge "$rx" 195
check "relay: each flow that reached sluice answered ($flows_got) or its session refused or evicted ($lost) or its datagram counted as dropped ($errs)" \
	expect_ge $((flows_got + lost + errs)) "$rx"
check "relay: at most 16 sessions held ($peak)" expect_le "$peak" 16

answers after
fd1=$fd0
for ((i = 0; i < 40; i++)); do
	m=$(lab_metrics)
	fd1=$(fds)
	[ "$(mval "$m" flows_active)" = 0 ] && [ "$(mval "$m" dns_upstream_sockets)" = 0 ] &&
		[ "$fd1" -le "$fd0" ] && break
	sleep 0.5
done
check "sessions back to 0 after the timeouts" expect_eq "$(mval "$m" flows_active)" 0
check "upstream sockets back to 0" expect_eq "$(mval "$m" dns_upstream_sockets)" 0
check "descriptors back to where they were ($fd1 <= $fd0)" expect_le "$fd1" "$fd0"
lab_sluice_exit
lab_finish
