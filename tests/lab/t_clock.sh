#!/bin/bash
# Clocks, IPv4 and IPv6: TTLs and timeouts follow CLOCK_MONOTONIC, whatever
# the wall clock does and wherever the monotonic clock stands. Nothing here
# touches the machine's clock:
#  - wall clock steps: sluice runs with clockstep.so (LD_PRELOAD, built
#    here), which moves CLOCK_REALTIME, gettimeofday and time of that one
#    process by the seconds in a file; the battery below runs while its wall
#    clock jumps a day ahead, then two days back. (CLOCK_REALTIME cannot be
#    moved in a namespace; a time namespace only offsets the monotonic and
#    boot clocks, and only for processes started in it.)
#  - a monotonic clock just past 2 s at start (a router that just booted):
#    sluice starts in a time namespace (unshare --time --monotonic);
#  - a monotonic clock that passes 2^32 ms (49.7 days of uptime) about 6 s
#    after start, in the middle of the battery: any time kept in 32 bits
#    would wrap there.
# The battery, on each family: an answer with TTL 300 and one with TTL 6
# are cached; a second later both are cache hits with their TTLs counted
# down (not expired by a jump ahead); after the jump back the TTL 300 answer
# has not grown; 7 s after caching, the TTL 6 answer has expired (asked
# upstream again) and the TTL 300 one is 7-15 s older; an upstream that
# never answers right (dnsfault.py, wrong IDs) gives SERVFAIL after
# upstream-timeout 1000 ms (0.8-3.5 s); a relay flow keeps its session
# across the steps (the server sees one gateway port for both datagrams,
# 1.5 s apart) and the session ends by its 3 s timeout (within 8 s of the
# last datagram); an idle DNS-over-TCP connection is closed after
# dns-tcp-idle-timeout 2 (1.5-5 s). Each sluice exits 0 without a
# sanitizer report.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
command -v unshare >/dev/null || { echo "SKIP: unshare not installed" >&2; exit 77; }
lab_up || exit 99
W=$LAB_WORK

lab_unbound up 203.0.113.3 2001:db8:113::3 'local-zone: "example." static' \
	'local-data: "ttl300.example. 300 IN A 192.0.2.31"' 'local-data: "ttl300.example. 300 IN AAAA 2001:db8:31::31"' \
	'local-zone: "long.example." redirect' 'local-data: "long.example. 300 IN A 192.0.2.31"' \
	'local-data: "long.example. 300 IN AAAA 2001:db8:31::31"' \
	'local-zone: "short.example." redirect' 'local-data: "short.example. 6 IN A 192.0.2.32"' \
	'local-data: "short.example. 6 IN AAAA 2001:db8:32::32"' || exit 99
lab_bg "$LAB_UP" fault "$LAB_PY" -u "$LAB_DIR/dnsfault.py" --bind 203.0.113.5 --bind 2001:db8:113::5
lab_wait_log fault ready 10 || exit 99
lab_server srv4 "$UP4" 5300 || exit 99
lab_server srv6 "$UP6" 5300 || exit 99

conf=$(lab_conf clock.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 5300 relay timeout=3
metrics 127.0.0.1:9153
workers 2
upstream-timeout 1000
dns-tcp-idle-timeout 2
upstream up udp://203.0.113.3 udp://[2001:db8:113::3]
upstream bad udp://203.0.113.5 udp://[2001:db8:113::5]
dns-rule domain:bad.example forward bad
dns-rule all forward up
EOF
)
lab_rules "$conf" || exit 99

# The wall clock of the sluice under clockstep.so.
step_file=$W/clockstep
printf '%-31s\n' 0 > "$step_file"
step() { printf '%-31s\n' "$1" | dd of="$step_file" conv=notrunc status=none; }
nostep() { :; }

ttl() { awk '$1 == "rr" { print $3; exit }' <<<"$1"; }
rcode() { sed -n 's/.* rcode=\([A-Z]*\) .*/\1/p' <<<"$1" | head -n1; }
asked() { lab_unbound_seen up "$1" "$2" | wc -l; }
# timed_q RES NAME TYPE - "MS RCODE": one query and how long its answer took
# (timed where it is sent, so a slow start of the client does not count).
timed_q() {
	in_cli "$LAB_PY" -c '
import os, socket, struct, sys, time
res, name, t = sys.argv[1:]
s = socket.socket(socket.AF_INET6 if ":" in res else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((res, 53))
s.settimeout(6)
q = struct.pack("!HHHHHH", struct.unpack("!H", os.urandom(2))[0], 0x0100, 1, 0, 0, 0)
for l in name.split("."):
    q += bytes([len(l)]) + l.encode()
t0 = time.monotonic()
s.send(q + b"\0" + struct.pack("!HH", 28 if t == "AAAA" else 1, 1))
try:
    m = s.recv(4096)
    rc = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN"}.get(m[3] & 15, str(m[3] & 15))
except OSError:
    rc = "none"
print("%d %s" % ((time.monotonic() - t0) * 1000, rc))' "$@"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# battery TAG STEP - the checks above; STEP N moves the wall clock to N s off.
battery() {
	local tag=$1 stepf=$2 v res t out t0 tc
	declare -A long short cached
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
		out=$(lab_dnsq "$LAB_CLI" $res -n $tag$v.long.example -t $t)
		check "$tag IPv$v: TTL 300 answer" expect_eq "$(ttl "$out")" 300
		out=$(lab_dnsq "$LAB_CLI" $res -n $tag$v.short.example -t $t)
		check "$tag IPv$v: TTL 6 answer" expect_eq "$(ttl "$out")" 6
		cached[$v]=$(date +%s%N)
	done
	# In the background: an idle TCP connection, a relay flow 1.5 s apart.
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
		lab_bg "$LAB_CLI" tcpidle-$tag$v "$LAB_PY" -c "
import socket, time
s = socket.create_connection(('$res', 53), timeout=10)
t = time.monotonic()
try:
    s.recv(10)
except OSError:
    pass
print('closed after %d ms' % ((time.monotonic() - t) * 1000))"
		lab_bg "$LAB_CLI" flow-$tag$v "$LAB_PY" "$LAB_DIR/udptool.py" client \
			--to "$([ $v = 4 ] && echo "$UP4" || echo "$UP6")" --port 5300 --count 2 --interval 1.5 --msg $tag
		echo "$LAB_LAST_PID" > "$W/flow-$tag$v.pid"
	done
	$stepf 86400
	sleep 1
	m0=$(lab_metrics)
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
		long[$v]=$(ttl "$(lab_dnsq "$LAB_CLI" $res -n $tag$v.long.example -t $t)")
		short[$v]=$(ttl "$(lab_dnsq "$LAB_CLI" $res -n $tag$v.short.example -t $t)")
		check "$tag IPv$v: a second on (wall clock +1 day), TTL 300 counted down (${long[$v]}: 290-299)" \
			test "${long[$v]:-0}" -ge 290 -a "${long[$v]:-0}" -le 299
		check "$tag IPv$v: and TTL 6 not expired (${short[$v]}: 1-5)" \
			test "${short[$v]:-0}" -ge 1 -a "${short[$v]:-0}" -le 5
	done
	m1=$(lab_metrics)
	check "$tag: those four were cache hits" expect_eq "$(mdelta "$m0" "$m1" dns_cache_hits)" 4
	$stepf -86400
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
		out=$(ttl "$(lab_dnsq "$LAB_CLI" $res -n $tag$v.long.example -t $t)")
		check "$tag IPv$v: after the wall clock went 2 days back, TTL 300 has not grown ($out <= ${long[$v]})" \
			test "${out:-999}" -le "${long[$v]:-0}"
		read -r tc out <<<"$(timed_q $res wrongid-$tag$v.bad.example $t)"
		check "$tag IPv$v: an upstream that never answers right: SERVFAIL" expect_eq "$out" SERVFAIL
		check "$tag IPv$v: after upstream-timeout 1000 ($tc ms: 800-3500)" \
			test "$tc" -ge 800 -a "$tc" -le 3500
	done
	for v in 4 6; do
		lab_wait_log tcpidle-$tag$v closed 8
		out=$(sed -n 's/^closed after \([0-9]*\) ms$/\1/p' "$W/tcpidle-$tag$v.log")
		check "$tag IPv$v: idle TCP connection closed after dns-tcp-idle-timeout 2 (${out:-never} ms: 1500-5000)" \
			test "${out:-0}" -ge 1500 -a "${out:-0}" -le 5000
		lab_wait "$(cat "$W/flow-$tag$v.pid")" 5
		out=$(grep -c " data $tag\$" "$W/flow-$tag$v.log")
		ports=$(sed -n "s/.* seen .*:\([0-9]*\) data $tag\$/\1/p" "$W/flow-$tag$v.log" | sort -u | wc -l)
		check "$tag IPv$v: relay flow answered twice ($out), one session across the steps ($ports port)" \
			expect_eq "$out $ports" "2 1"
	done
	# 7 s after caching: TTL 6 gone, TTL 300 seven to fifteen seconds older.
	while (($(ms_since "${cached[6]}") < 7200)); do sleep 0.2; done
	for v in 4 6; do
		if [ $v = 4 ]; then res=192.0.2.53 t=A; else res=2001:db8:53::53 t=AAAA; fi
		out=$(ttl "$(lab_dnsq "$LAB_CLI" $res -n $tag$v.short.example -t $t)")
		check "$tag IPv$v: 7 s on, the TTL 6 answer expired: asked upstream again (TTL $out)" \
			expect_eq "$out $(asked $tag$v.short.example $t)" "6 2"
		out=$(ttl "$(lab_dnsq "$LAB_CLI" $res -n $tag$v.long.example -t $t)")
		check "$tag IPv$v: and the TTL 300 one is 7-15 s older ($out: 285-293)" \
			test "${out:-0}" -ge 285 -a "${out:-0}" -le 293
	done
	for ((i = 0; i < 40; i++)); do
		[ "$(mval "$(lab_metrics)" flows_active)" = 0 ] && break
		sleep 0.2
	done
	check "$tag: the relay sessions ended by their timeout (within 8 s)" \
		expect_eq "$(mval "$(lab_metrics)" flows_active)" 0
}

phases=" ${CLOCK_PHASES:-wall boot wrap} "
# 1. The wall clock steps.
if [[ $phases != *" wall "* ]]; then
	:
elif cc -shared -fPIC -O2 -o "$W/clockstep.so" "$LAB_DIR/clockstep.c" -ldl 2>"$W/cc.log"; then
	lab_bg "$LAB_GW" sluice env LD_PRELOAD="$W/clockstep.so" CLOCKSTEP_FILE="$step_file" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$SLUICE" -c "$conf"
	SLUICE_PID=$LAB_LAST_PID
	lab_wait_log sluice running 10 || exit 1
	step 3600
	check "clockstep.so moves sluice's wall clock (its /proc/PID/environ names it)" \
		grep -q clockstep.so "/proc/$SLUICE_PID/environ"
	battery wall step
	lab_sluice_exit
else
	echo "# no C compiler: the wall-clock steps are not tested" >&2
	cat "$W/cc.log" >&2
fi

# mono_s - CLOCK_MONOTONIC here, in seconds.
mono_s() { "$LAB_PY" -c 'import time; print(int(time.monotonic()))'; }

# start_mono OFFSET - sluice in a time namespace whose monotonic clock is OFFSET s ahead.
start_mono() {
	lab_bg "$LAB_GW" sluice unshare --time --monotonic="$1" "$SLUICE" -c "$conf"
	SLUICE_PID=$LAB_LAST_PID
	lab_wait_log sluice running 10 || return 1
	check "sluice runs with a monotonic offset of $1 s" \
		expect_eq "$(awk '$1 == "monotonic" { print $2 }' "/proc/$SLUICE_PID/timens_offsets")" "$1"
}

# 2. A monotonic clock just past 2 s at start.
if [[ $phases = *" boot "* ]]; then
	start_mono $((2 - $(mono_s))) || exit 1
	battery boot nostep
	lab_sluice_exit
fi

# 3. A monotonic clock passing 2^32 ms (4294967.296 s) about 6 s after start
# (CLOCK_WRAP_AT moves the point; CLOCK_PHASES picks phases: wall boot wrap).
if [[ $phases = *" wrap "* ]]; then
	start_mono $((${CLOCK_WRAP_AT:-4294967} - 6 - $(mono_s))) || exit 1
	battery wrap nostep
	lab_sluice_exit
fi
lab_finish
