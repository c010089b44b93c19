#!/bin/bash
# sluice started unprivileged, the way the systemd unit starts it: as nobody
# with exactly CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE as
# ambient capabilities (setpriv here, AmbientCapabilities= under systemd),
# no `user` in the config, and $NOTIFY_SOCKET set (an abstract socket a
# python listener holds in the gateway namespace, as systemd's Type=notify
# would). IPv4 and IPv6:
#  - it never tries to switch users: it runs as nobody (real, effective,
#    saved) with CapEff 0x3400 in every thread, and logs what it has;
#  - intercepted DNS (UDP and TCP) to a resolver that exists nowhere is
#    answered through unbound, which saw the gateway ask;
#  - dns-listen on the gateway's addresses, port 53 (CAP_NET_BIND_SERVICE),
#    answers over UDP and TCP;
#  - a UDP relay flow is answered from the server's address, the server saw
#    the gateway (transparent reply sockets: CAP_NET_ADMIN);
#  - sd_notify: READY=1 arrives once it serves; SIGHUP sends RELOADING=1
#    with MONOTONIC_USEC, then READY=1 once the workers switched (the
#    config is read as nobody); a bad config sends RELOADING=1 then READY=1
#    with "reload failed" and the old config keeps serving; SIGTERM sends
#    STOPPING=1 and exits 0;
#  - control: without the ambient capabilities it does not start, and says
#    which capability the transparent listener needs;
#  - the systemd unit's own ExecStartPre=, ExecReload= and ExecStopPost=
#    lines, run as nobody with the capabilities (as DynamicUser= does), load
#    the ruleset and policy routes (twice without duplicates), reload, refuse
#    a bad config before signalling, and remove everything (twice, fine);
#  - `user nobody` in the config while already nobody: it runs (only the
#    capabilities are trimmed); `user root`: the start fails, saying why.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
for t in setpriv dig; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody" >&2; exit 77; }
nobody_uid=$(id -u nobody)
nobody_grp=$(id -gn nobody)
lab_up || exit 99
# nobody reads its config from the work directory (also on SIGHUP).
chmod 755 "$LAB_WORK"

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99

# The notify socket: an abstract name (abstract sockets belong to a network
# namespace, so the listener runs in the gateway's). One line per datagram,
# its newlines shown as '|'. Bounded: it exits after 300 s.
notify_name="sluice-notify-$$"
lab_bg "$LAB_GW" notify "$LAB_PY" -u -c '
import select, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1])
print("listening", flush=True)
end = time.time() + 300
while time.time() < end:
    if select.select([s], [], [], 0.5)[0]:
        print(s.recv(4096).decode(errors="replace").replace("\n", "|"), flush=True)
' "$notify_name"
lab_wait_log notify listening 10 || exit 99

conf=$(lab_conf nonroot.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 5300 relay timeout=30
dns-listen 198.51.100.1 [2001:db8:100::1]:53
upstream abroad udp://203.0.113.3
dns-rule all forward abroad
metrics 127.0.0.1:9153
workers 2
EOF
)
chmod 644 "$conf"

CAPS=+net_admin,+net_raw,+net_bind_service
# unit_run KEY - run the systemd unit's KEY= lines (ExecStartPre, ...) the
# way systemd runs them under DynamicUser= and AmbientCapabilities=: here as
# nobody with the three capabilities, in the gateway, with this test's
# binary, config and sluice PID. A line marked '-' may fail; another one
# failing stops the rest (as in systemd) and returns 1.
unit_run() {
	local line may
	while IFS= read -r line; do
		may=0
		case $line in -*) may=1 line=${line#-} ;; esac
		line=${line//@sbindir@\/sluice/$SLUICE}
		line=${line//@sysconfdir@\/sluice\/sluice.conf/$conf}
		line=${line//\$MAINPID/${SLUICE_PID:-0}}
		eval "set -- $line"
		in_gw setpriv --reuid=nobody --regid="$nobody_grp" --init-groups \
			--inh-caps=$CAPS --ambient-caps=$CAPS "$@" >>"$LAB_WORK/unit.log" 2>&1 ||
			[ $may = 1 ] || { lab_log "unit $1 failed: $line"; return 1; }
	done < <(sed -n "s/^$1=//p" "$top_srcdir/contrib/sluice.service.in")
	return 0
}
has_table() { in_gw nft list table inet sluice >/dev/null 2>&1; }

check "the unit's ExecStartPre= lines succeed as nobody with the capabilities" unit_run ExecStartPre
check "... they loaded table inet sluice" has_table
check "... and the policy routes (IPv4 and IPv6)" \
	expect_eq "$(in_gw ip route show table 100 | grep -c '^local default dev lo')/$(in_gw ip -6 route show table 100 | grep -c '^local default dev lo')" 1/1
check "... again (a stale ruleset from an unclean stop is replaced)" unit_run ExecStartPre
check "... with one policy rule per family, not two" \
	expect_eq "$(in_gw ip rule show | grep -c 'fwmark 0x1 lookup 100')/$(in_gw ip -6 rule show | grep -c 'fwmark 0x1 lookup 100')" 1/1
# unpriv LOGNAME [setpriv options] - sluice as nobody in the gateway.
unpriv() {
	local name=$1
	shift
	lab_bg "$LAB_GW" "$name" env NOTIFY_SOCKET="@$notify_name" \
		setpriv --reuid=nobody --regid="$nobody_grp" --init-groups "$@" "$SLUICE" -c "$conf"
}

# Control first: no capabilities, no start.
unpriv nocaps
lab_wait "$LAB_LAST_PID" 10
check "control: without capabilities sluice exits non-zero" test "$LAB_STOP_RC" -ne 0
check "control: it says the transparent listener needs CAP_NET_ADMIN" \
	grep -q "cannot listen on .*(transparent sockets need CAP_NET_ADMIN)" "$LAB_WORK/nocaps.log"
check "control: it names the capabilities it lacks" \
	grep -q "without CAP_NET_ADMIN (transparent sockets, SO_MARK), CAP_NET_RAW" "$LAB_WORK/nocaps.log"
check "control: no READY=1 from a process that did not start" \
	bash -c "! grep -q READY=1 '$LAB_WORK/notify.log'"

unpriv sluice --inh-caps=$CAPS --ambient-caps=$CAPS
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice running 10 || exit 99
check "READY=1 arrives, with a STATUS= line" lab_wait_log notify "^READY=1|STATUS=running: 2 worker(s)" 5
field() { sed -n "s/^$2:[[:space:]]*//p" "$1"; }
st=/proc/$SLUICE_PID/status
check "it runs as nobody (real, effective, saved, fs uid)" \
	expect_eq "$(field "$st" Uid | tr -s '\t ' ' ')" "$nobody_uid $nobody_uid $nobody_uid $nobody_uid"
check "CapEff is exactly CAP_NET_ADMIN|CAP_NET_RAW|CAP_NET_BIND_SERVICE" \
	expect_eq "$(field "$st" CapEff)" 0000000000003400
bad=""
for t in /proc/$SLUICE_PID/task/*/status; do
	[ "$(field "$t" CapEff)" = 0000000000003400 ] || bad="$bad $t"
done
check "every thread has CapEff 0x3400" test -z "$bad"
check "it logs the capabilities it runs with, none missing" \
	grep -q "running unprivileged (uid $nobody_uid) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE" \
	"$LAB_WORK/sluice.log"
check "it never tried to switch users" bash -c "! grep -qE 'cannot switch|without CAP' '$LAB_WORK/sluice.log'"

dnsq_sum() {
	sed -nE 's/^from ([^ ]*) .*rcode=([A-Z]*) .*/from \1 \2/p; s/^rr ([A-Z]+) [0-9]+ (.*)/\1 \2/p' <<<"$1" |
		tr '\n' ' ' | sed 's/ $//'
}
dig_via() { sed -n 's/^;; SERVER: .*(\([^)]*\)) (\([A-Z]*\))$/\1 \2/p' <<<"$1" | tail -n1; }
seen() { lab_unbound_seen abroad "$1" "$2" | tr '\n' ' ' | sed 's/ $//'; }

for fam in 4 6; do
	if [ $fam = 4 ]; then
		res=192.0.2.53 t=A ans=192.0.2.31 gw=$GWU4 lis=198.51.100.1 up=$UP4
	else
		res=2001:db8:53::53 t=AAAA ans=2001:db8:31::31 gw=$GWU6 lis=2001:db8:100::1 up=$UP6
	fi
	out=$(lab_dnsq "$LAB_CLI" $res -n u$fam.example -t $t)
	check "IPv$fam: intercepted DNS over UDP is answered from $res:53" \
		expect_eq "$(dnsq_sum "$out")" "from $res:53 NOERROR $t $ans"
	check "IPv$fam: unbound saw the gateway ask for u$fam.example" expect_eq "$(seen u$fam.example $t)" "$GWU4"
	out=$(lab_dig "$LAB_CLI" +tcp @$res t$fam.example $t)
	check "IPv$fam: intercepted DNS over TCP is answered on a connection to $res" \
		expect_eq "$(dig_answers "$out")|$(dig_via "$out")" "$t $ans|$res TCP"
	check "IPv$fam: unbound saw the gateway ask for t$fam.example" expect_eq "$(seen t$fam.example $t)" "$GWU4"
	out=$(lab_dnsq "$LAB_CLI" $lis -n l$fam.example -t $t)
	check "IPv$fam: dns-listen $lis:53 answers over UDP" \
		expect_eq "$(dnsq_sum "$out")" "from $lis:53 NOERROR $t $ans"
	out=$(lab_dig "$LAB_CLI" +tcp @$lis m$fam.example $t)
	check "IPv$fam: dns-listen $lis:53 answers over TCP" \
		expect_eq "$(dig_answers "$out")|$(dig_via "$out")" "$t $ans|$lis TCP"
	out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client --to $up --port 5300 --msg r$fam)
	check "IPv$fam: a relayed UDP flow is answered from $up:5300, the server saw the gateway" \
		expect_contains "$out" "from $up:5300 seen $gw:"
done

# `systemctl reload` (the unit's ExecReload= lines, as nobody): RELOADING=1
# with the monotonic clock, then READY=1.
nlines() { wc -l < "$LAB_WORK/notify.log"; }
mono_us() { "$LAB_PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'; }
n0=$(nlines)
lo=$(mono_us)
check "the unit's ExecReload= lines succeed as nobody" unit_run ExecReload
lab_wait_log notify "configuration reloaded" 5
hi=$(mono_us)
new=$(tail -n +$((n0 + 1)) "$LAB_WORK/notify.log")
check "SIGHUP: RELOADING=1 then READY=1, nothing else" \
	expect_match "$(tr '\n' '#' <<<"$new")" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+#READY=1\|STATUS=running; configuration reloaded#$'
usec=$(sed -n 's/^RELOADING=1|MONOTONIC_USEC=\([0-9]*\).*/\1/p' <<<"$new")
check "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds, taken during the reload" \
	test "${usec:-0}" -ge "$lo" -a "${usec:-0}" -le "$hi"

# A bad config: the unit's reload fails at `sluice -t`, before any signal;
# SIGHUP itself sends RELOADING=1, then READY=1 saying the reload failed.
cp "$conf" "$LAB_WORK/good.conf"
echo "no-such-directive 1" >> "$conf"
n0=$(nlines)
fails() { ! "$@"; }
check "the unit's ExecReload= fails on a bad config" fails unit_run ExecReload 2>/dev/null
check "... without signalling sluice" expect_eq "$(nlines)" "$n0"
kill -HUP "$SLUICE_PID"
lab_wait_log notify "reload failed" 5
new=$(tail -n +$((n0 + 1)) "$LAB_WORK/notify.log")
check "a failed reload: RELOADING=1, then READY=1 with the reason" \
	expect_match "$(tr '\n' '#' <<<"$new")" "^RELOADING=1\|MONOTONIC_USEC=[0-9]+#READY=1\|STATUS=reload failed, running the old config: $conf:10: "
cp "$LAB_WORK/good.conf" "$conf"
out=$(lab_dnsq "$LAB_CLI" 192.0.2.53 -n after.example -t A)
check "the old config still serves" expect_eq "$(dnsq_sum "$out")" "from 192.0.2.53:53 NOERROR A 192.0.2.31"

lab_stop "$SLUICE_PID"
check "SIGTERM: sluice exits 0" expect_eq "$LAB_STOP_RC" 0
check "SIGTERM: STOPPING=1 was sent" lab_wait_log notify "^STOPPING=1" 3
check "sluice's log has no sanitizer report" \
	bash -c "! grep -E 'Sanitizer|runtime error' '$LAB_WORK/sluice.log'"
check "the unit's ExecStopPost= lines succeed as nobody" unit_run ExecStopPost
check "... table inet sluice is gone" bash -c "! ip netns exec $LAB_GW nft list table inet sluice >/dev/null 2>&1"
check "... and the policy rules" expect_eq "$(in_gw ip rule show | grep -c fwmark)/$(in_gw ip -6 rule show | grep -c fwmark)" 0/0
check "... ExecStopPost= again, everything already gone: still no failure" unit_run ExecStopPost

# `user` in the config of an unprivileged start: naming the user it runs as
# only trims the capabilities; any other user fails the start, saying why.
cp "$LAB_WORK/good.conf" "$conf"
echo "user nobody" >> "$conf"
unpriv same --inh-caps=$CAPS --ambient-caps=$CAPS
pid=$LAB_LAST_PID
check "user nobody, started as nobody: it runs" lab_wait_log same running 10
check "... saying it already runs as nobody" grep -q "already running as nobody (uid $nobody_uid)" "$LAB_WORK/same.log"
check "... with CapEff 0x3400" expect_eq "$(field /proc/$pid/status CapEff)" 0000000000003400
lab_stop "$pid"
sed -i 's/^user nobody$/user root/' "$conf"
unpriv other --inh-caps=$CAPS --ambient-caps=$CAPS
lab_wait "$LAB_LAST_PID" 10
check "user root, started as nobody: exits non-zero" test "$LAB_STOP_RC" -ne 0
check "... saying it cannot switch without root" \
	grep -q "cannot switch to user 'root': not started as root (uid $nobody_uid); without root, leave \`user\` out" \
	"$LAB_WORK/other.log"
lab_finish
