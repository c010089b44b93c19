#!/bin/sh
# The systemd unit (contrib/sluice.service.in, with ExecStart pointed at the
# built binary):
#  - `systemd-analyze verify` accepts it without a single warning (it exits
#    0 on unknown keys and system call groups, so any output fails);
#  - `systemd-analyze security --offline` rates its exposure at most 3.0;
#  - it starts sluice unprivileged (DynamicUser=yes) as Type=notify with
#    exactly the three network capabilities, ambient and bounding alike,
#    sandboxed as sluice.conf(5) and sluice(8) describe, and every
#    ExecStopPost= may fail (the rules may already be gone);
#  - the unit `make` generated has no @placeholder@ left.
# The ExecStartPre=/ExecStopPost= commands themselves run unprivileged in
# the namespace lab (tests/lab/t_nonroot.sh).
: "${top_srcdir:=$(dirname "$0")/../..}"
: "${top_builddir:=.}"
: "${SLUICE:=$top_builddir/src/sluice}"
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed" >&2; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-systemd.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fail=1; }

tmpl=$top_srcdir/contrib/sluice.service.in
bin=$(cd "$(dirname "$SLUICE")" && pwd)
sed -e "s|@sbindir@|$bin|g" -e "s|@sysconfdir@|$tmp/etc|g" "$tmpl" > "$tmp/sluice.service"

out=$(systemd-analyze verify --man=no "$tmp/sluice.service" 2>&1)
rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: no errors, no warnings"
else bad "systemd-analyze verify (exit $rc): $out"; fi

if systemd-analyze security --help 2>&1 | grep -q -- --offline; then
	out=$(systemd-analyze security --offline=true --threshold=30 "$tmp/sluice.service" 2>&1)
	rc=$?
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for sluice.service: \([0-9.]*\).*/\1/p')
	if [ $rc = 0 ] && [ -n "$level" ]; then ok "systemd-analyze security: exposure $level (at most 3.0)"
	else bad "systemd-analyze security: exposure '$level' (exit $rc)"; fi
else
	echo "# systemd-analyze has no security --offline: exposure not rated"
fi

# key KEY - the values of KEY= in the template, one a line.
key() { sed -n "s/^$1=//p" "$tmpl"; }
caps="CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE"
for kv in "Type=notify" "DynamicUser=yes" "AmbientCapabilities=$caps" \
	"CapabilityBoundingSet=$caps" "NoNewPrivileges=yes" "ProtectSystem=strict" \
	"ProtectHome=yes" "PrivateTmp=yes" "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX" \
	"SystemCallFilter=@system-service" "LimitNOFILE=262144" "StateDirectory=sluice"; do
	if [ "$(key "${kv%%=*}")" = "${kv#*=}" ]; then ok "$kv"
	else bad "$kv: got '$(key "${kv%%=*}")'"; fi
done
if key User | grep -q .; then bad "User= is set beside DynamicUser=yes"; else ok "no User="; fi
n=$(key ExecStopPost | wc -l)
m=$(key ExecStopPost | grep -c '^-')
if [ "$n" -ge 1 ] && [ "$n" = "$m" ]; then ok "every ExecStopPost= ($n) may fail ('-')"
else bad "ExecStopPost= lines without '-': $((n - m)) of $n"; fi
if key ExecStartPre | grep -q -- ' -t -c '; then ok "ExecStartPre= checks the config first"
else bad "no sluice -t in ExecStartPre="; fi
if [ "$(key ExecStartPre | head -n1 | grep -c -- ' -t -c ')" = 1 ]; then ok "... before anything else"
else bad "sluice -t is not the first ExecStartPre="; fi

built=$top_builddir/contrib/sluice.service
if [ -f "$built" ]; then
	if grep -q '@[a-z]*@' "$built"; then bad "$built keeps a placeholder: $(grep -o '@[a-z]*@' "$built" | head -n1)"
	else ok "the generated unit has no placeholder left"; fi
else
	bad "make did not generate $built"
fi
exit $fail
