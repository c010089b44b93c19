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

# Pin every namespace's resolver to its own loopback so no lookup leaves the lab.
lab_resolv() {
	mkdir -p "/etc/netns/$1"
	echo "nameserver 127.0.0.1" > "/etc/netns/$1/resolv.conf"
}

lab_up() {
	LAB_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-lab.XXXXXX")
	trap lab_trap EXIT
	trap 'exit 130' INT TERM
	ip netns add "$LAB_CLI" && ip netns add "$LAB_GW" && ip netns add "$LAB_UP" || return 1
	LAB_UP_DONE=1
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
	ip netns exec "$ns" "$@" >"$LAB_WORK/$name.log" 2>&1 &
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
# the table atomically, so this also serves after a config change).
lab_nft() {
	"$SLUICE" rules -c "$1" > "$LAB_WORK/rules.nft" || return 1
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
	"$SLUICE" rules --routes -c "$1" > "$LAB_WORK/routes.sh" || return 1
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
