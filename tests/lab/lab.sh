# lab.sh - the namespace lab, sourced by the integration tests and the demo.
#
#   client ns   c0 198.51.100.2/24   2001:db8:100::2/64
#      | veth
#   gateway ns  gc 198.51.100.1/24   2001:db8:100::1/64   sluice, nft tproxy rules
#               gu 203.0.113.1/24    2001:db8:113::1/64   forwarding on, rp_filter off
#      | veth
#   upstream ns u0 203.0.113.2-9/24  2001:db8:113::2-9/64 real servers
#
# Only documentation-range addresses, only inside these namespaces; no
# default route leaves the lab. lab_up registers a trap that stops every
# process the lab started (by PID) and deletes the namespaces, also when a
# test fails or is interrupted.
#
# Use:  . "$top_srcdir/tests/lab/lab.sh"; lab_require; lab_up; lab_sluice CONF
#       in_cli CMD..., in_gw CMD..., in_up CMD..., lab_bg NS LOG CMD... (background)

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SLUICE:=$LAB_DIR/../../src/sluice}"
LAB_TAG="sl$$"
LAB_CLI="$LAB_TAG-cli"
LAB_GW="$LAB_TAG-gw"
LAB_UP="$LAB_TAG-up"
LAB_PIDS=()
LAB_WORK=""
LAB_UP_DONE=0

# The real interpreter, resolved once: a version-manager shim (pyenv) in front
# of python3 costs about a second per call, and the tests call it often.
LAB_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "$LAB_PY" ] || LAB_PY=python3

CLI4=198.51.100.2 GWC4=198.51.100.1 GWU4=203.0.113.1 UP4=203.0.113.2
CLI6=2001:db8:100::2 GWC6=2001:db8:100::1 GWU6=2001:db8:113::1 UP6=2001:db8:113::2

in_cli() { ip netns exec "$LAB_CLI" "$@"; }
in_gw() { ip netns exec "$LAB_GW" "$@"; }
in_up() { ip netns exec "$LAB_UP" "$@"; }

lab_log() { printf '%s\n' "$*" >&2; }

# Exit 77 (skip) when the lab cannot run here: not root, or no netns/nft.
lab_require() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: the namespace lab needs root" >&2
		exit 77
	fi
	for t in ip nft python3; do
		command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
	done
	[ -x "$SLUICE" ] || { echo "FAIL: no sluice binary at $SLUICE" >&2; exit 99; }
}

# lab_need_svc SVC... - skip the test (77) unless this sluice has these
# services (configure --disable-ntp / --disable-quic leave them out).
lab_need_svc() {
	local have s
	have=" $("$SLUICE" --version | sed -n 's/^services://p') "
	for s in "$@"; do
		case "$have" in
		*" $s "*) ;;
		*) echo "SKIP: this sluice has no $s service (configured with --disable-$s)" >&2; exit 77 ;;
		esac
	done
}

# lab_ours PID - true while PID is still a child of this shell (so a PID the
# kernel has reused for someone else's process is never signalled).
lab_ours() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	[ "$2" = "$$" ]
}

lab_down() {
	local pid
	for pid in "${LAB_PIDS[@]}"; do
		lab_ours "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		lab_ours "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LAB_PIDS=()
	if [ "$LAB_UP_DONE" = 1 ]; then
		ip netns del "$LAB_CLI" 2>/dev/null
		ip netns del "$LAB_GW" 2>/dev/null
		ip netns del "$LAB_UP" 2>/dev/null
		rm -rf "/etc/netns/$LAB_CLI" "/etc/netns/$LAB_GW" "/etc/netns/$LAB_UP"
		LAB_UP_DONE=0
	fi
	[ -n "$LAB_WORK" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$LAB_WORK"
}

lab_trap() {
	local rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$LAB_WORK" ]; then
		for f in "$LAB_WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
	lab_down
	exit "$rc"
}

# lab_udp_drops NS - datagrams the kernel dropped in NS because a receive
# buffer was full (UDP RcvbufErrors, IPv4 and IPv6).
lab_udp_drops() {
	ip netns exec "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { n += $6 } $1 == "Udp6RcvbufErrors" { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

# Pin every namespace's resolver to its own loopback so no lookup leaves the lab.
lab_resolv() {
	mkdir -p "/etc/netns/$1"
	echo "nameserver 127.0.0.1" > "/etc/netns/$1/resolv.conf"
}

# lab_lock - the tests that load the machine (floods, saturation, 10,000
# flows: LAB_EXCLUSIVE=1 before lab_up) run alone, every other lab test
# shares the lock. Under `make -j` a flood beside a test that waits on its
# answers made that test fail, and a flood test's latency bounds assume a
# machine otherwise quiet. The lock is held on descriptor 9 until the test
# ends; lab_bg closes it in the servers it starts (one that outlived its
# test must not keep the lock from the next), other background jobs close
# it themselves (9>&-). A gate on descriptor 8, held only while taking the
# lock, keeps new shared holders out while an exclusive test waits (flock
# alone lets readers starve a writer under make -j3 and up). In /run: only
# root may lock it (the lab needs root anyway).
lab_lock() {
	local mode=-s dir=/run
	[ "${LAB_EXCLUSIVE:-0}" = 1 ] && mode=-x
	command -v flock >/dev/null || return 0
	[ -w "$dir" ] || dir=${TMPDIR:-/tmp}
	exec 8>>"$dir/sluice-lab.gate" 9>>"$dir/sluice-lab.lock" || return 0
	flock -w 600 8 || lab_log "lab: note: the lab lock's gate was not had in 600 s"
	if ! flock -n "$mode" 9; then
		lab_log "lab: waiting for the lab lock (a test that loads the machine runs alone)"
		flock "$mode" -w 600 9 ||
			lab_log "lab: note: the lab lock was not had in 600 s; running beside others"
	fi
	exec 8>&-
}

lab_up() {
	lab_lock
	LAB_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-lab.XXXXXX")
	trap lab_trap EXIT
	trap 'exit 130' INT TERM
	# set first: a signal between the adds still takes down the ones made
	LAB_UP_DONE=1
	ip netns add "$LAB_CLI" && ip netns add "$LAB_GW" && ip netns add "$LAB_UP" || return 1
	lab_resolv "$LAB_CLI"; lab_resolv "$LAB_GW"; lab_resolv "$LAB_UP"
	ip link add c0 netns "$LAB_CLI" type veth peer name gc netns "$LAB_GW" || return 1
	ip link add u0 netns "$LAB_UP" type veth peer name gu netns "$LAB_GW" || return 1
	local ns
	for ns in "$LAB_CLI" "$LAB_GW" "$LAB_UP"; do
		ip -n "$ns" link set lo up
	done
	in_gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.gc.rp_filter=0 net.ipv4.conf.gu.rp_filter=0 \
		net.ipv4.conf.lo.rp_filter=0 >/dev/null || return 1
	ip -n "$LAB_CLI" addr add "$CLI4/24" dev c0
	ip -n "$LAB_CLI" addr add "$CLI6/64" dev c0 nodad
	ip -n "$LAB_GW" addr add "$GWC4/24" dev gc
	ip -n "$LAB_GW" addr add "$GWC6/64" dev gc nodad
	ip -n "$LAB_GW" addr add "$GWU4/24" dev gu
	ip -n "$LAB_GW" addr add "$GWU6/64" dev gu nodad
	local i
	for i in 2 3 4 5 6 7 8 9; do
		ip -n "$LAB_UP" addr add "203.0.113.$i/24" dev u0
		ip -n "$LAB_UP" addr add "2001:db8:113::$i/64" dev u0 nodad
	done
	for ns in "$LAB_CLI:c0" "$LAB_GW:gc" "$LAB_GW:gu" "$LAB_UP:u0"; do
		ip -n "${ns%%:*}" link set "${ns#*:}" up
	done
	ip -n "$LAB_CLI" route add default via "$GWC4"
	ip -n "$LAB_CLI" -6 route add default via "$GWC6"
	ip -n "$LAB_UP" route add default via "$GWU4"
	ip -n "$LAB_UP" -6 route add default via "$GWU6"
	# Reachability both ways through the gateway before anything else runs.
	in_cli ping -c1 -W2 "$UP4" >/dev/null 2>&1 || lab_log "lab: note: IPv4 ping through gw failed"
	in_cli ping -6 -c1 -W2 "$UP6" >/dev/null 2>&1 || lab_log "lab: note: IPv6 ping through gw failed"
	return 0
}

# lab_bg NS NAME CMD... - start CMD in the background in namespace NS,
# output in $LAB_WORK/NAME.log; its PID goes to LAB_PIDS and LAB_LAST_PID.
lab_bg() {
	local ns=$1 name=$2
	shift 2
	# Emptied here, not only by the background redirect: a restart under the
	# same NAME must not let lab_wait_log find the previous run's lines.
	: >"$LAB_WORK/$name.log"
	ip netns exec "$ns" "$@" >"$LAB_WORK/$name.log" 2>&1 9>&- &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_wait_log NAME PATTERN [SECONDS] - wait until NAME.log shows PATTERN.
lab_wait_log() {
	local i n=$(( ${3:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$2" "$LAB_WORK/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	lab_log "lab: '$2' did not appear in $1.log"
	return 1
}

# lab_server NAME ADDR PORT [udptool server options] - a udptool server in the upstream ns.
lab_server() {
	local name=$1 addr=$2 port=$3
	shift 3
	lab_bg "$LAB_UP" "$name" "$LAB_PY" -u "$LAB_DIR/udptool.py" server --bind "$addr" --port "$port" "$@"
	lab_wait_log "$name" ready 10
}

# lab_nft CONF - (re)load only the nft ruleset `sluice rules` prints (it replaces
# the table atomically, so this also serves after a config change). `sluice
# rules` runs in the gateway, where the config's interface names (a scoped
# dns-listen address: [fe80::1%gc]:53) exist.
lab_nft() {
	in_gw "$SLUICE" rules -c "$1" > "$LAB_WORK/rules.nft" || return 1
	in_gw nft -f "$LAB_WORK/rules.nft"
}

# lab_server_in NS NAME ADDR PORT [udptool server options] - a udptool server in
# any lab namespace (e.g. a local service in the gateway). 0 once it is ready,
# 1 when it could not bind (NAME.log then says "bind failed: ERRNO").
lab_server_in() {
	local ns=$1 name=$2 addr=$3 port=$4 i
	shift 4
	lab_bg "$ns" "$name" "$LAB_PY" -u "$LAB_DIR/udptool.py" server --bind "$addr" --port "$port" "$@"
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$LAB_WORK/$name.log" 2>/dev/null && return 0
		grep -q '^bind failed' "$LAB_WORK/$name.log" 2>/dev/null && break
		sleep 0.1
	done
	lab_stop "$LAB_LAST_PID"
	return 1
}

# lab_stop PID - stop one process the lab started (TERM, KILL after 2 s), reap
# it (its exit status in LAB_STOP_RC) and drop it from LAB_PIDS.
lab_stop() {
	local pid=$1 p i keep=()
	lab_ours "$pid" && kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		lab_ours "$pid" || break
		sleep 0.1
	done
	lab_ours "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	LAB_STOP_RC=$?
	for p in "${LAB_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	LAB_PIDS=("${keep[@]}")
}

# lab_wait PID [SECONDS] - wait (10 s by default) for a process the lab started
# to exit by itself, then lab_stop it; its exit status is in LAB_STOP_RC.
lab_wait() {
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		lab_ours "$1" || break
		sleep 0.1
	done
	lab_stop "$1"
}

# lab_rules CONF - load the ruleset and routes `sluice rules` prints into the gateway.
lab_rules() {
	lab_nft "$1" || return 1
	in_gw "$SLUICE" rules --routes -c "$1" > "$LAB_WORK/routes.sh" || return 1
	in_gw sh -e "$LAB_WORK/routes.sh"
}

# lab_sluice CONF - rules, routes, then sluice in the gateway; waits until it runs.
lab_sluice() {
	lab_rules "$1" || return 1
	lab_bg "$LAB_GW" sluice "$SLUICE" -c "$1"
	SLUICE_PID=$LAB_LAST_PID
	lab_wait_log sluice "running" 10
}

# lab_metric NAME - a counter from sluice's metrics endpoint (needs `metrics 127.0.0.1:9153`).
lab_metric() {
	in_gw "$LAB_PY" - "$1" "${LAB_METRICS:-127.0.0.1:9153}" <<'PY'
import sys, urllib.request
name, addr = sys.argv[1], sys.argv[2]
body = urllib.request.urlopen("http://%s/metrics" % addr, timeout=3).read().decode()
for line in body.splitlines():
    if line.split(" ")[0] in ("sluice_" + name, "sluice_" + name + "_total"):
        print(line.split(" ")[1]); break
else:
    print("missing"); sys.exit(1)
PY
}

# lab_metrics - every metric at once, one "NAME VALUE" a line (NAME without the
# sluice_ prefix and _total suffix): one request for several counters. Pick
# values with mval.
lab_metrics() {
	in_gw "$LAB_PY" - "${LAB_METRICS:-127.0.0.1:9153}" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=3).read().decode()
for line in body.splitlines():
    if line.startswith("sluice_"):
        name, value = line.split(" ")[:2]
        name = name[len("sluice_"):]
        if name.endswith("_total"):
            name = name[:-len("_total")]
        print(name, value)
PY
}

# mval SNAPSHOT NAME - NAME's value in the output of lab_metrics ("missing" if absent).
mval() {
	local v
	v=$(awk -v n="$2" '$1 == n { print $2; exit }' <<<"$1")
	echo "${v:-missing}"
}

# lab_conf NAME <<EOF - write a config into the work dir, print its path.
lab_conf() {
	cat > "$LAB_WORK/$1"
	echo "$LAB_WORK/$1"
}

# Simple assertions that name what failed.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "FAIL - $what"
		LAB_FAILED=1
	fi
}

# xcheck WHAT CMD... - a check for a known bug, reported to the lead: while it
# fails it prints "XFAIL" and does not fail the test; once it passes (the bug
# is fixed) it prints "XPASS" and fails, so the check gets turned into `check`.
xcheck() {
	local what=$1
	shift
	if "$@"; then
		echo "XPASS - $what (known bug fixed? make this a check)"
		LAB_FAILED=1
	else
		echo "XFAIL - $what (known bug)"
	fi
}

expect_contains() { case "$1" in *"$2"*) return 0 ;; esac; echo "  got: $1" >&2; return 1; }
# expect_match TEXT ERE - some line of TEXT matches the extended regexp ERE.
expect_match() { grep -Eq -- "$2" <<<"$1" && return 0; echo "  got: $1" >&2; echo "  want /$2/" >&2; return 1; }
# re_ip IP - IP with its dots escaped, for use in an ERE.
re_ip() { printf '%s' "${1//./\\.}"; }
expect_eq() { [ "$1" = "$2" ] && return 0; echo "  got '$1', want '$2'" >&2; return 1; }

lab_finish() {
	if [ "${LAB_FAILED:-0}" = 1 ]; then
		return 1
	fi
	return 0
}

# ---------------------------------------------------------------------------
# Helpers for the NTP and QUIC tests (usable by any test).
# ---------------------------------------------------------------------------

# lab_counter NS NAME HOOK MATCH - count packets matching the nft expression
# MATCH (e.g. "ip saddr 203.0.113.1 udp dport 123") in hook HOOK (input,
# output, forward, prerouting, postrouting) of namespace NS, in a named
# counter NAME of table inet lab_cnt (priority -300: before anything else, so
# it sees what the ruleset later changes). Read it with lab_counter_get.
lab_counter() {
	local ns=$1 name=$2 hook=$3 match=$4
	ip netns exec "$ns" nft -f - <<NFT
table inet lab_cnt {
	counter $name { }
	chain $hook { type filter hook $hook priority -300; policy accept; }
}
add rule inet lab_cnt $hook $match counter name $name
NFT
}

# lab_counter_get NS NAME - packets counted so far by lab_counter NAME.
lab_counter_get() {
	ip netns exec "$1" nft list counter inet lab_cnt "$2" |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}

# lab_reload CONF - SIGHUP the running sluice (SLUICE_PID) after pointing it
# at a changed CONF (the same path it was started with); waits for the log
# to say the new config is in. Reloads the nft ruleset first.
lab_reload() {
	local n i
	lab_nft "$1" || return 1
	n=$(grep -c "configuration reloaded" "$LAB_WORK/sluice.log")
	kill -HUP "$SLUICE_PID" || return 1
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c "configuration reloaded" "$LAB_WORK/sluice.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	lab_log "lab: sluice did not reload $1"
	return 1
}

# lab_sluice_args CONF ARGS... - lab_sluice with extra sluice options (e.g. -v).
lab_sluice_args() {
	local conf=$1
	shift
	lab_rules "$conf" || return 1
	lab_bg "$LAB_GW" sluice "$SLUICE" "$@" -c "$conf"
	SLUICE_PID=$LAB_LAST_PID
	lab_wait_log sluice "running" 10
}

# lab_hosts NS "ADDR NAME"... - the /etc/hosts that programs in NS see
# (ip netns exec bind-mounts /etc/netns/NS/hosts; rewritten on each call).
lab_hosts() {
	local ns=$1
	shift
	mkdir -p "/etc/netns/$ns"
	printf '%s\n' "$@" > "/etc/netns/$ns/hosts"
}

# lab_ntp NS ADDR [key=value...] - an NTP client in NS asking ADDR:123 from
# connected sockets (the kernel drops anything not from ADDR:123), so every
# answer it reports came from the address it asked. Keys:
#   count=N     requests (1), each with a random transmit timestamp
#   socks=one|many  one socket for all requests, or one each (one)
#   gap=S       seconds between requests (0)
#   timeout=S   how long to wait for answers after the last request (1.5;
#               less once every request has its answer)
#   sport=P     bind the (single) socket to source port P
#   raw=HEX     send these bytes instead of a mode-3 request
#   len=N version=V mode=M  shape the request (48, 4, 3); len < 48 cuts it
# Prints one line per answer:
#   answer from ADDR:PORT mode M stratum S leap L origin ok|bad
# then "sent N answered K errors E".
lab_ntp() {
	local ns=$1
	shift
	ip netns exec "$ns" "$LAB_PY" - "$@" <<'PY'
import os, select, socket, struct, sys, time
o = dict(count="1", socks="one", gap="0", timeout="1.5", sport="0", raw="",
         len="48", version="4", mode="3")
addr = sys.argv[1]
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    o[k] = v
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
n, many = int(o["count"]), o["socks"] == "many"

def sock():
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if int(o["sport"]):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", int(o["sport"])))
    s.connect((addr, 123))
    s.setblocking(False)
    return s

socks = [sock() for _ in range(n if many else 1)]
sent, tx = 0, set()
for i in range(n):
    s = socks[i if many else 0]
    if o["raw"]:
        pkt = bytes.fromhex(o["raw"])
    else:
        t = os.urandom(8)
        tx.add(t)
        pkt = bytes([int(o["version"]) << 3 | int(o["mode"])]) + bytes(39) + t
        pkt = (pkt + bytes(max(0, int(o["len"]) - 48)))[:int(o["len"])]
    try:
        s.send(pkt)
        sent += 1
    except OSError as e:
        print("send error", e)
    if float(o["gap"]) and i + 1 < n:
        time.sleep(float(o["gap"]))
answered = errors = 0
end = time.time() + float(o["timeout"])
while time.time() < end and answered < n:  # a request gets one answer at most
    r, _, _ = select.select(socks, [], [], max(0, end - time.time()))
    for s in r:
        try:
            data, peer = s.recvfrom(2048)
        except OSError as e:
            errors += 1
            print("recv error", e.strerror)
            continue
        answered += 1
        if len(data) < 48:
            print("answer from %s:%d short %d" % (peer[0], peer[1], len(data)))
            continue
        print("answer from %s:%d mode %d stratum %d leap %d origin %s" % (
            peer[0], peer[1], data[0] & 7, data[1], data[0] >> 6,
            "ok" if data[24:32] in tx else "bad"), flush=True)
print("sent %d answered %d errors %d" % (sent, answered, errors))
PY
}

# lab_clock_state - the kernel clock state as adjtimex(2) reports it (modes
# 0: read only, never changes the clock): "synced" or "unsynced" (return
# value TIME_ERROR, or STA_UNSYNC / STA_CLOCKERR set), then the raw values.
lab_clock_state() {
	"$LAB_PY" - <<'PY'
import ctypes, ctypes.util
L = ctypes.c_long
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", L), ("freq", L), ("maxerror", L),
                ("esterror", L), ("status", ctypes.c_int), ("constant", L),
                ("precision", L), ("tolerance", L), ("sec", L), ("usec", L), ("tick", L),
                ("ppsfreq", L), ("jitter", L), ("shift", ctypes.c_int), ("stabil", L),
                ("jitcnt", L), ("calcnt", L), ("errcnt", L), ("stbcnt", L),
                ("tai", ctypes.c_int), ("pad", ctypes.c_int * 11)]
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
t = Timex()  # modes 0
rc = libc.adjtimex(ctypes.byref(t))
unsynced = rc < 0 or rc == 5 or t.status & (0x40 | 0x1000)  # TIME_ERROR, STA_UNSYNC, STA_CLOCKERR
print("%s rc=%d status=0x%x" % ("unsynced" if unsynced else "synced", rc, t.status))
PY
}

# lab_quic_hello NS ADDR [key=value...] - a minimal QUIC client in NS: one
# client Initial (RFC 9001 keys and header protection, built with libcrypto
# through ctypes: OpenSSL is one of sluice's own dependencies) carrying a TLS
# 1.3 ClientHello with ALPN h3, sent from a socket connected to ADDR:port;
# reports what came back. Keys:
#   sni=NAME    the SNI to send; sni= (empty) sends no SNI extension
#   snihex=HEX  the SNI's bytes in hex instead (any bytes)
#   port=P      443;  version=1|2  QUIC v1 or v2 Initial keys (1)
#   split=N     spread the ClientHello over N Initial packets, one datagram
#               each (1);  send=first  sends only the first of them
#   timeout=S   give up after S seconds (2);  resend=S  send again every S (0.5)
#   forge=N     instead, one datagram of N small coalesced Initials, each
#               from its own DCID, with broken AEAD tags (a forger's)
#   ech=1       add an encrypted_client_hello extension (as an ECH client's outer hello)
# Prints "sent N datagrams" and then one of
#   "reply BYTES from ADDR:PORT after MS ms", "refused after MS ms"
#   (ECONNREFUSED: an ICMP port unreachable reached the socket) or
#   "timeout after MS ms".
lab_quic_hello() {
	local ns=$1
	shift
	ip netns exec "$ns" "$LAB_PY" - "$@" <<'PY'
import ctypes, ctypes.util, errno, hashlib, hmac, os, select, socket, struct, sys, time
o = dict(sni="quic.example", port="443", version="1", split="1", send="all",
         timeout="2", resend="0.5", forge="0")
addr = sys.argv[1]
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    o[k] = v
lc = ctypes.CDLL(ctypes.util.find_library("crypto"))
P = ctypes.c_void_p
for f, res, args in (("EVP_CIPHER_CTX_new", P, []), ("EVP_aes_128_gcm", P, []),
                     ("EVP_aes_128_ecb", P, []), ("EVP_CIPHER_CTX_free", None, [P]),
                     ("EVP_EncryptInit_ex", ctypes.c_int, [P, P, P, P, P]),
                     ("EVP_EncryptUpdate", ctypes.c_int, [P, P, P, P, ctypes.c_int]),
                     ("EVP_EncryptFinal_ex", ctypes.c_int, [P, P, P]),
                     ("EVP_CIPHER_CTX_ctrl", ctypes.c_int, [P, ctypes.c_int, ctypes.c_int, P]),
                     ("EVP_CIPHER_CTX_set_padding", ctypes.c_int, [P, ctypes.c_int])):
    getattr(lc, f).restype, getattr(lc, f).argtypes = res, args

def enc(cipher, key, iv, aad, data, tag):
    ctx = lc.EVP_CIPHER_CTX_new()
    n = ctypes.c_int()
    out = ctypes.create_string_buffer(len(data) + 32)
    lc.EVP_EncryptInit_ex(ctx, cipher, None, key, iv)
    lc.EVP_CIPHER_CTX_set_padding(ctx, 0)
    if aad:
        lc.EVP_EncryptUpdate(ctx, None, ctypes.byref(n), aad, len(aad))
    lc.EVP_EncryptUpdate(ctx, out, ctypes.byref(n), data, len(data))
    m = n.value
    lc.EVP_EncryptFinal_ex(ctx, ctypes.create_string_buffer(32), ctypes.byref(n))
    t = ctypes.create_string_buffer(16)
    if tag:
        lc.EVP_CIPHER_CTX_ctrl(ctx, 0x10, 16, t)  # EVP_CTRL_GCM_GET_TAG
    lc.EVP_CIPHER_CTX_free(ctx)
    return out.raw[:m] + (t.raw if tag else b"")

def label(secret, name, n):
    name = b"tls13 " + name
    info = struct.pack("!HB", n, len(name)) + name + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:n]

def varint(v):
    return bytes([v]) if v < 64 else struct.pack("!H", 0x4000 | v)

def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body

v2 = o["version"] == "2"
version, ptype = (0x6b3343cf, 1) if v2 else (1, 0)
salt = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9" if v2 else
                     "38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
pre = b"quicv2 " if v2 else b"quic "
dcid, scid = os.urandom(8), os.urandom(8)

def initial_keys(dcid):
    secret = label(hmac.new(salt, dcid, hashlib.sha256).digest(), b"client in", 32)
    return label(secret, pre + b"key", 16), label(secret, pre + b"iv", 12), label(secret, pre + b"hp", 16)
key, iv, hp = initial_keys(dcid)

exts = b""
name = bytes.fromhex(o["snihex"]) if o.get("snihex") else o["sni"].encode()
if name:
    entry = b"\x00" + struct.pack("!H", len(name)) + name
    exts += ext(0, struct.pack("!H", len(entry)) + entry)
exts += ext(10, b"\x00\x02\x00\x1d")  # supported_groups: x25519
exts += ext(13, b"\x00\x06\x04\x03\x08\x04\x04\x01")  # signature_algorithms
exts += ext(43, b"\x02\x03\x04")  # supported_versions: TLS 1.3
share = b"\x00\x1d\x00\x20" + os.urandom(32)
exts += ext(51, struct.pack("!H", len(share)) + share)  # key_share
exts += ext(16, b"\x00\x03\x02h3")  # ALPN
if o.get("ech") == "1":  # an encrypted_client_hello outer extension (its body is opaque here)
    exts += ext(0xfe0d, b"\x00\x00\x01\x00\x01\x07" + b"\x00\x20" + os.urandom(32) + b"\x00\x10" + os.urandom(16))
exts += ext(0x39, b"\x0f" + varint(len(scid)) + scid)  # transport params: initial_scid
body = (b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x06\x13\x01\x13\x02\x13\x03" +
        b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
hello = b"\x01" + struct.pack("!I", len(body))[1:] + body

def initial(pn, frames, dcid=dcid, key=key, iv=iv, hp=hp, size=1200):
    head = (bytes([0xc0 | ptype << 4 | 3]) + struct.pack("!I", version) +
            bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + b"\x00")
    payload = frames + bytes(max(0, size - len(head) - 2 - 4 - 16 - len(frames)))
    head += struct.pack("!H", 0x4000 | (4 + len(payload) + 16))
    pnb = struct.pack("!I", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, bytes(8) + pnb))
    ct = enc(lc.EVP_aes_128_gcm(), key, nonce, head + pnb, payload, True)
    mask = enc(lc.EVP_aes_128_ecb(), hp, None, None, ct[:16], False)
    first = bytes([head[0] ^ (mask[0] & 0x0f)])
    return first + head[1:] + bytes(a ^ b for a, b in zip(pnb, mask[1:5])) + ct

parts, step = int(o["split"]), -(-len(hello) // int(o["split"]))
dgrams = [initial(i, b"\x06" + varint(i * step) + varint(len(hello[i * step:(i + 1) * step])) +
                  hello[i * step:(i + 1) * step]) for i in range(parts)]
if o["send"] == "first":
    dgrams = dgrams[:1]
if int(o["forge"]):
    forged = b""
    for i in range(int(o["forge"])):
        d = os.urandom(8)
        p = initial(i, b"\x01", d, *initial_keys(d), size=1200 // int(o["forge"]))
        forged += p[:-1] + bytes([p[-1] ^ 0x5a])
    dgrams = [forged]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((addr, int(o["port"])))
start = time.monotonic()
end, nxt, sent, res = start + float(o["timeout"]), start, 0, None
while res is None:
    now = time.monotonic()
    if now >= end:
        res = "timeout after %d ms" % ((now - start) * 1000)
        break
    if now >= nxt:
        for d in dgrams:
            try:
                s.send(d)
                sent += 1
            except ConnectionRefusedError:
                res = "refused after %d ms" % ((time.monotonic() - start) * 1000)
                break
        nxt = now + float(o["resend"]) if float(o["resend"]) else end
    if res:
        break
    r, _, _ = select.select([s], [], [], max(0.001, min(end, nxt) - time.monotonic()))
    if r:
        try:
            data, peer = s.recvfrom(65535)
            res = "reply %d bytes from %s:%d after %d ms" % (
                len(data), peer[0], peer[1], (time.monotonic() - start) * 1000)
        except ConnectionRefusedError:
            res = "refused after %d ms" % ((time.monotonic() - start) * 1000)
print("sent %d datagrams" % sent)
print(res)
PY
}

# mdelta BEFORE AFTER NAME - how much counter NAME grew between two lab_metrics snapshots.
mdelta() { echo $(( $(mval "$2" "$3") - $(mval "$1" "$3") )); }
# expect_ge A B / expect_le A B - integer comparisons that say what they got.
expect_ge() { [ "$1" -ge "$2" ] 2>/dev/null && return 0; echo "  got $1, want >= $2" >&2; return 1; }
expect_le() { [ "$1" -le "$2" ] 2>/dev/null && return 0; echo "  got $1, want <= $2" >&2; return 1; }

# ---------------------------------------------------------------------------
# DNS helpers (t_dns_*.sh)
# ---------------------------------------------------------------------------

# lab_unbound NAME ADDR4 ADDR6 [LINE...] - unbound (foreground, under lab_bg)
# in the upstream ns on ADDR4 and ADDR6 port 53, UDP and TCP. It logs every
# query with the address it came from ("info: IP NAME. TYPE IN") to NAME.log.
# The LINEs are extra `server:` lines, e.g. 'local-data: "a.test. 300 IN A
# 192.0.2.1"'. Unless a LINE sets its own 'local-zone: "." ...', every name
# the LINEs do not answer gets NXDOMAIN from a static root zone with an SOA
# (negative TTL 60), so no query ever leaves the lab. Waits until it serves.
lab_unbound() {
	local name=$1 a4=$2 a6=$3 l root=1
	shift 3
	command -v unbound >/dev/null || { echo "SKIP: unbound not installed" >&2; exit 77; }
	for l in "$@"; do
		case $l in 'local-zone: "." '*) root=0 ;; esac
	done
	{
		printf 'server:\n'
		printf '\t%s\n' "interface: $a4" "interface: $a6" "port: 53" \
			"access-control: 0.0.0.0/0 allow" "access-control: ::/0 allow" \
			"do-daemonize: no" 'username: ""' 'chroot: ""' "directory: \"$LAB_WORK\"" \
			'pidfile: ""' "use-syslog: no" 'logfile: ""' "verbosity: 1" "log-queries: yes" \
			"num-threads: 1" 'module-config: "iterator"' "do-not-query-localhost: yes"
		if [ $root = 1 ]; then
			printf '\t%s\n' 'local-zone: "." static' \
				'local-data: ". 3600 IN SOA ns.lab. host.lab. 1 3600 600 86400 60"'
		fi
		for l in "$@"; do
			printf '\t%s\n' "$l"
		done
	} > "$LAB_WORK/$name.conf"
	lab_bg "$LAB_UP" "$name" unbound -d -c "$LAB_WORK/$name.conf"
	lab_wait_log "$name" "start of service" 10
}

# lab_slow_zone NAME ZONE ANSWER4 - a dnsresp.py NAME (203.0.113.2 port 5300)
# answering ANSWER4 500 ms late, and in LAB_SLOW_LINES the lab_unbound lines
# that send ZONE's names on to it (with a first timeout above the 500 ms, so
# unbound does not ask twice). A burst through that unbound that the client
# sends within about half a second is then all outstanding at once.
lab_slow_zone() {
	lab_bg "$LAB_UP" "$1" "$LAB_PY" -u "$LAB_DIR/dnsresp.py" --bind 203.0.113.2 --port 5300 \
		--delay 0.5 --a "$3" --lifetime 600
	lab_wait_log "$1" ready 10 || return 1
	LAB_SLOW_LINES=("local-zone: \"$2.\" transparent" 'unknown-server-time-limit: 1128'
		'forward-zone:' "	name: \"$2.\"" '	forward-addr: 203.0.113.2@5300')
}
# lab_slow_seen NAME ERE - how many distinct names matching ERE dnsresp.py
# NAME was asked for.
lab_slow_seen() {
	sed -n 's/^query [^ ]* \([^ ]*\) .*/\1/p' "$LAB_WORK/$1.log" | grep -E -- "$2" | sort -u | wc -l
}

# lab_unbound_seen NAME QNAME QTYPE - the source addresses unbound NAME logged
# for QNAME/QTYPE, one a line, in order.
lab_unbound_seen() {
	awk -v q="${2%.}." -v t="$3" '$0 ~ /info: / { for (i = 1; i < NF; i++)
		if ($i == "info:" && $(i + 2) == q && $(i + 3) == t) print $(i + 1) }' \
		"$LAB_WORK/$1.log"
}

# lab_dig NS ARGS... - dig in namespace NS, one try, 2 s (override with a
# later +time=/+tries=); prints dig's full output.
lab_dig() {
	local ns=$1
	shift
	ip netns exec "$ns" dig +time=2 +tries=1 +nocookie "$@" 2>&1
}

# dig_status OUT - the rcode dig printed (NOERROR, NXDOMAIN, ...), or "none".
dig_status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1" | head -n1 | grep . || echo none; }
# dig_server OUT - the SERVER: line's address#port.
dig_server() { sed -n 's/^;; SERVER: \([^(]*\)(.*/\1/p' <<<"$1" | head -n1; }
# dig_flags OUT - the header flags ("qr rd ra").
dig_flags() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$1" | head -n1; }
# dig_ms OUT - the query time dig measured (sent to answer read), in ms;
# 99999 when dig got no answer. Unlike a clock around the dig command it
# leaves out starting dig, which takes long on a busy machine.
dig_ms() { sed -n 's/^;; Query time: \([0-9]*\) msec.*/\1/p' <<<"$1" | head -n1 | grep . || echo 99999; }
# dig_answers OUT - the answer section's "TYPE DATA" lines, sorted.
dig_answers() {
	awk '/^;; ANSWER SECTION:/ { a = 1; next } a && /^$/ { a = 0 }
	     a && !/^;/ { d = $5; for (i = 6; i <= NF; i++) d = d " " $i; print $4, d }' <<<"$1" | sort
}
# lab_answers_until NS SERVER SUFFIX TYPE WANT SECS - ask SERVER for
# aN.SUFFIX (N = 1, 2, ...: fresh names, no cache) until the answers are WANT
# or SECS pass; prints the last answers. For "a server is used again": its
# failed connects put it in a backoff that a slow restart can outlast.
lab_answers_until() {
	local ns=$1 srv=$2 sfx=$3 t=$4 want=$5 end=$((SECONDS + $6)) i=0 got
	while :; do
		i=$((i + 1))
		got=$(dig_answers "$(lab_dig "$ns" "$srv" "a$i.$sfx" "$t")")
		[ "$got" = "$want" ] || [ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	printf '%s\n' "$got"
}
# dig_ttl OUT - the TTL of the first answer RR (of the authority SOA when
# there is no answer).
dig_ttl() {
	awk '/^;; (ANSWER|AUTHORITY) SECTION:/ { a = 1; next } a && /^$/ { a = 0 }
	     a && !/^;/ { print $2; exit }' <<<"$1"
}

# lab_dnsq NS SERVER [options] - one DNS query from a *connected* UDP socket
# in namespace NS: the kernel drops any datagram that does not come from
# SERVER:PORT (a link-local SERVER with its scope: fe80::1%c0). Options:
# -n NAME, -t TYPE (A AAAA TXT SVCB HTTPS or a number), --do, --cd, --edns
# SIZE (0: no OPT; default 1232), --port P, --timeout S, --hex HEX (send
# these bytes as they are instead of a query; the answer is read the same
# way). Prints
#   from IP:PORT id=ID opcode=N rcode=RCODE flags=qr,aa,tc,rd,ra,ad,cd qd=N an=N ns=N ar=N len=N
# and one "rr TYPE TTL DATA" line per answer RR (A/AAAA DATA as text), or
# "timeout" (and returns 1) when nothing came back.
lab_dnsq() {
	local ns=$1
	shift
	ip netns exec "$ns" "$LAB_PY" - "$@" <<'PY'
import argparse, os, socket, struct, sys
p = argparse.ArgumentParser()
p.add_argument("server"); p.add_argument("-n", default="www.example.org"); p.add_argument("-t", default="A")
p.add_argument("--do", action="store_true"); p.add_argument("--cd", action="store_true")
p.add_argument("--edns", type=int, default=1232); p.add_argument("--port", type=int, default=53)
p.add_argument("--timeout", type=float, default=2); p.add_argument("--hex", default="")
a = p.parse_args()
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "TXT": 16, "AAAA": 28, "SVCB": 64, "HTTPS": 65, "ANY": 255}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
if a.hex:
    q = bytes.fromhex(a.hex)
else:
    qt = TYPES.get(a.t.upper()) or int(a.t)
    qid = struct.unpack("!H", os.urandom(2))[0]
    flags = 0x0100 | (0x0010 if a.cd else 0)
    q = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if a.edns else 0)
    for label in a.n.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qt, 1)
    if a.edns:
        q += b"\0" + struct.pack("!HHIH", 41, a.edns, 0x8000 if a.do else 0, 0)
# getaddrinfo keeps the scope of a link-local SERVER (fe80::1%c0).
ai = socket.getaddrinfo(a.server, a.port, 0, socket.SOCK_DGRAM, 0, socket.AI_NUMERICHOST)[0]
s = socket.socket(ai[0], socket.SOCK_DGRAM)
s.connect(ai[4])
s.settimeout(a.timeout)
s.send(q)
try:
    r, peer = s.recvfrom(65535)
except (socket.timeout, ConnectionRefusedError):
    print("timeout"); sys.exit(1)
if len(peer) > 3 and peer[3]:
    peer = ("%s%%%s" % (peer[0], socket.if_indextoname(peer[3])), peer[1])
def skip_name(m, o):
    for _ in range(128):
        if o >= len(m): raise ValueError("short")
        l = m[o]
        if l == 0: return o + 1
        if l >= 0xc0: return o + 2
        o += 1 + l
    raise ValueError("long name")
if len(r) < 12:
    print("from %s:%d short len=%d" % (peer[0], peer[1], len(r))); sys.exit(0)
rid, fl, qd, an, ns_, ar = struct.unpack("!HHHHHH", r[:12])
names = [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"), (0x0020, "ad"), (0x0010, "cd")]
print("from %s:%d id=%d opcode=%d rcode=%s flags=%s qd=%d an=%d ns=%d ar=%d len=%d" % (
    peer[0], peer[1], rid, (fl >> 11) & 15, RCODES.get(fl & 15, str(fl & 15)),
    ",".join(n for b, n in names if fl & b), qd, an, ns_, ar, len(r)))
try:
    o = 12
    for _ in range(qd):
        o = skip_name(r, o) + 4
    for _ in range(an):
        o = skip_name(r, o)
        t, c, ttl, rdl = struct.unpack("!HHIH", r[o:o + 10]); o += 10
        rd = r[o:o + rdl]; o += rdl
        if t == 1 and rdl == 4: d = socket.inet_ntop(socket.AF_INET, rd)
        elif t == 28 and rdl == 16: d = socket.inet_ntop(socket.AF_INET6, rd)
        else: d = rd.hex()
        tn = {v: k for k, v in TYPES.items()}.get(t, str(t))
        print("rr %s %d %s" % (tn, ttl, d))
except (ValueError, struct.error) as e:
    print("parse error: %s" % e)
PY
}

# lab_quic_servers NAME ADDR... - ngtcp2's gtlsserver (HTTP/3) in the upstream
# ns on ADDR:443 for each ADDR, with a self-signed certificate for NAME and
# one file, /file, whose content is in QUIC_BODY. 0 once each one answers a
# client Initial (asked from inside the upstream ns, around the gateway).
lab_quic_servers() {
	local name=$1 a i
	shift
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$LAB_WORK/quic.key" -out "$LAB_WORK/quic.crt" -subj "/CN=$name" \
		-addext "subjectAltName=DNS:$name" >/dev/null 2>&1 || return 1
	mkdir -p "$LAB_WORK/htdocs"
	QUIC_BODY="sluice lab $name $$ $RANDOM"
	echo "$QUIC_BODY" > "$LAB_WORK/htdocs/file"
	for a in "$@"; do
		lab_bg "$LAB_UP" "gtlsserver-$a" gtlsserver -q -d "$LAB_WORK/htdocs" "$a" 443 \
			"$LAB_WORK/quic.key" "$LAB_WORK/quic.crt"
	done
	for a in "$@"; do
		for ((i = 0; i < 30; i++)); do
			lab_quic_hello "$LAB_UP" "$a" timeout=0.3 | grep -q '^reply' && break
			sleep 0.1
		done
		[ "$i" -lt 30 ] || { lab_log "lab: gtlsserver on $a does not answer"; return 1; }
	done
}

# lab_h3get ADDR NAME [gtlsclient options...] - fetch https://NAME/file with
# gtlsclient from the client ns, NAME resolving to ADDR only (a numeric HOST
# would make gtlsclient send the SNI "localhost"; with ADDR = "-" it is
# asked by address instead). Prints "got CONTENT in MS ms" or "failed in MS
# ms"; the client's output is in $LAB_WORK/h3get.log.
lab_h3get() {
	local addr=$1 name=$2 host=$2 dir="$LAB_WORK/h3get" t0 t1
	shift 2
	if [ "$addr" = - ]; then
		host=$name
	else
		lab_hosts "$LAB_CLI" "$addr $name"
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	t0=$(date +%s%N)
	in_cli timeout 15 gtlsclient --exit-on-all-streams-close --timeout=5s --download="$dir" \
		"$@" "$host" 443 "https://$name/file" >"$LAB_WORK/h3get.log" 2>&1
	t1=$(date +%s%N)
	if [ -s "$dir/file" ]; then
		echo "got $(cat "$dir/file") in $(((t1 - t0) / 1000000)) ms"
	else
		echo "failed in $(((t1 - t0) / 1000000)) ms"
	fi
}

# lab_sluice_exit - SIGTERM the running sluice (SLUICE_PID) and check that
# it exits 0 and its log holds no sanitizer report (ASan, LSan, UBSan).
lab_sluice_exit() {
	lab_stop "$SLUICE_PID"
	check "sluice exits 0 on SIGTERM" expect_eq "$LAB_STOP_RC" 0
	check "sluice's log has no sanitizer report" \
		bash -c "! grep -E 'Sanitizer|runtime error' '$LAB_WORK/sluice.log'"
}

# lab_ca NAME CN - a throwaway CA in the work dir: NAME.key, NAME.pem.
lab_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$2" -keyout "$LAB_WORK/$1.key" -out "$LAB_WORK/$1.pem" >/dev/null 2>&1
}

# lab_cert NAME SAN CA - a certificate for CN=NAME with subjectAltName SAN
# ("DNS:x,IP:y"), signed by lab_ca CA: NAME.key, NAME.pem in the work dir.
lab_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
		-keyout "$LAB_WORK/$1.key" -out "$LAB_WORK/$1.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$LAB_WORK/$1.csr" -CA "$LAB_WORK/$3.pem" \
			-CAkey "$LAB_WORK/$3.key" -CAcreateserial -days 2 \
			-extfile <(printf 'subjectAltName=%s\n' "$2") -out "$LAB_WORK/$1.pem" >/dev/null 2>&1
}
