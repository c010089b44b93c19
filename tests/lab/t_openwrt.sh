#!/bin/bash
# The OpenWrt package (contrib/openwrt), with the config it ships as its
# conffile (conf/sluice.conf):
#  - every shell script parses (sh -n; busybox ash too, OpenWrt's shell);
#  - the package Makefile installs the binary, the conffile, the init
#    script, the helper and the fw4 include, all of which exist;
#  - the init script, with procd's functions stubbed: start_service checks
#    the config first and, when it is bad, prints the FILE:LINE reason and
#    starts nothing (no rules, no instance); a good one gets its rules, then
#    an instance `sluice -s -c CONF` with respawn; reload_service checks,
#    reloads the rules and sends HUP (a bad config: no signal); stop_service
#    removes the rules; service_triggers reloads on config.change for sluice;
#  - in the gateway namespace, sluice-fw4: start loads table inet sluice and
#    the policy routes and writes the ruleset where the fw4 include finds it;
#    a fw4-style ruleset with the include passes `nft -c`; a firewall restart
#    (`fw4 flush` deletes every table, then fw4 loads its ruleset) brings
#    table inet sluice back unchanged, and sluice relays through it (the
#    server sees the gateway); start twice leaves one policy rule per
#    family; reload follows a changed config (a new port; a new routing
#    table moves the routes); stop removes everything, after which the
#    fw4 ruleset still loads (the include matches nothing) and a second stop
#    succeeds; a bad config makes start fail with nothing loaded.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
OW=$top_srcdir/contrib/openwrt
INIT=$OW/files/sluice.init
HELPER=$OW/files/sluice-fw4.sh
INCLUDE=$OW/files/fw4-include.nft
SHIPPED=$top_srcdir/conf/sluice.conf

# Static checks first: they need no root.
for f in "$INIT" "$HELPER"; do
	check "sh -n ${f##*/}" sh -n "$f"
	if command -v busybox >/dev/null; then
		check "busybox ash -n ${f##*/}" busybox ash -n "$f"
	fi
done
mk() { grep -qF -- "$1" "$OW/Makefile"; }
for want in 'include $(TOPDIR)/rules.mk' 'include $(INCLUDE_DIR)/package.mk' 'PKG_FIXUP:=autoreconf' \
	'$(INSTALL_BIN) $(PKG_INSTALL_DIR)/usr/sbin/sluice $(1)/usr/sbin/sluice' \
	'$(1)/etc/sluice/sluice.conf' '/etc/sluice/sluice.conf' \
	'./files/sluice.init $(1)/etc/init.d/sluice' './files/sluice-fw4.sh $(1)/usr/libexec/sluice-fw4' \
	'./files/fw4-include.nft $(1)/usr/share/nftables.d/ruleset-post/sluice.nft'; do
	check "Makefile: $want" mk "$want"
done
check "Makefile: the conffile is listed in Package/sluice/conffiles" \
	expect_eq "$(sed -n '/^define Package\/sluice\/conffiles/,/^endef/p' "$OW/Makefile" | sed -n 2p)" /etc/sluice/sluice.conf
for dep in libevent2-core libevent2-extra libevent2-openssl libevent2-pthreads libcares libsodium \
	libopenssl libpcre2 libldns libcap libnghttp2 kmod-nft-tproxy; do
	check "Makefile: DEPENDS +$dep" mk "+$dep"
done
for f in $(sed -n 's|.*\./files/\([^ ]*\) .*|\1|p' "$OW/Makefile"); do
	check "Makefile: files/$f exists" test -f "$OW/files/$f"
done

lab_require
lab_up || exit 99
W=$LAB_WORK

# The init script with procd stubbed: each call is logged to $W/procd.log.
# FW4 is a stub too (its calls logged); the real helper is tested below.
cat > "$W/fw4-stub" <<'EOF'
#!/bin/sh
echo "fw4 $*" >> "$PROCD_LOG"
EOF
chmod +x "$W/fw4-stub"
sed -e "s|^PROG=.*|PROG=$SLUICE|" -e "s|^CONF=.*|CONF=\$TEST_CONF|" -e "s|^FW4=.*|FW4=$W/fw4-stub|" \
	"$INIT" > "$W/sluice.init"
# initsh FUNCTION... - run init script functions under stubs; prints the log.
initsh() {
	: > "$W/procd.log"
	PROCD_LOG=$W/procd.log TEST_CONF=$conf sh -c '
		log() { echo "$*" >> "$PROCD_LOG"; }
		procd_open_instance() { log "open_instance"; }
		procd_close_instance() { log "close_instance"; }
		procd_set_param() { log "set_param $*"; }
		procd_send_signal() { log "send_signal $*"; }
		procd_add_reload_trigger() { log "reload_trigger $*"; }
		procd_running() { log "running? $*"; return 0; }
		logger() { log "logger $*"; }
		start() { log "start"; }
		. "$1"
		shift
		for f in "$@"; do "$f" || { log "$f: exit $?"; exit 1; }; done' sh "$W/sluice.init" "$@" 2>>"$W/procd.log"
	cat "$W/procd.log"
}
conf=$(lab_conf bad.conf <<EOF
listen 0.0.0.0:15353
intercept udp 3478 relay
bogus directive
EOF
)
out=$(initsh start_service)
check "init: a bad config stops the start, with the reason" \
	expect_contains "$out" "sluice: not started: $conf:3: unknown directive 'bogus'"
check "init: ... and the reason goes to syslog" expect_contains "$out" "logger -t sluice -p daemon.err not started: $conf:3:"
check "init: ... and nothing was started (no rules, no instance)" \
	bash -c "! grep -qE '^(fw4|open_instance)' <<<'$out'"
conf=$SHIPPED
out=$(initsh start_service)
check "init: a good config: rules first, then the instance" \
	expect_eq "$(grep -E '^(fw4|open_instance|close_instance)' <<<"$out" | tr '\n' '|')" \
	"fw4 start $conf|open_instance|close_instance|"
check "init: the instance runs sluice -s -c CONF" expect_contains "$out" "set_param command $SLUICE -s -c $conf"
check "init: with respawn" expect_contains "$out" "set_param respawn"
check "init: with a descriptor limit" expect_contains "$out" "set_param limits nofile=65536 65536"
out=$(initsh reload_service)
check "init: reload checks, reloads the rules, then sends HUP" \
	expect_eq "$(grep -E '^(fw4|send_signal)' <<<"$out" | tr '\n' '|')" "fw4 reload $conf|send_signal sluice * HUP|"
conf=$W/bad.conf
out=$(initsh reload_service)
check "init: reload with a bad config sends no signal and loads no rules" \
	bash -c "! grep -qE '^(fw4|send_signal)' <<<'$out'"
conf=$SHIPPED
out=$(initsh stop_service)
check "init: stop removes the rules" expect_eq "$(grep '^fw4' <<<"$out")" "fw4 stop $conf"
out=$(initsh service_triggers)
check "init: reload on config.change for sluice" expect_eq "$out" "reload_trigger sluice"

fails() { ! "$@"; }

# The real helper in the gateway.
RUN=$W/run
fw4() { in_gw env SLUICE_PROG="$SLUICE" SLUICE_RUNDIR="$RUN" sh "$HELPER" "$@"; }
sed "s|/var/run/sluice/|$RUN/|" "$INCLUDE" > "$W/include.nft"
# A ruleset as fw4 renders it: its own table, then the ruleset-post include.
cat > "$W/fw4.nft" <<EOF
table inet fw4
flush table inet fw4

table inet fw4 {
	chain input {
		type filter hook input priority filter; policy accept;
		iif "lo" accept comment "!fw4: Accept traffic from loopback"
		ct state vmap { established : accept, related : accept } comment "!fw4: Handle inbound flows"
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state vmap { established : accept, related : accept } comment "!fw4: Handle forwarded flows"
	}
	chain mangle_prerouting {
		type filter hook prerouting priority mangle; policy accept;
	}
}

include "$W/include.nft"
EOF
nrules() { echo "$(in_gw ip rule show | grep -c "fwmark $1 lookup $2")/$(in_gw ip -6 rule show | grep -c "fwmark $1 lookup $2")"; }
nroutes() { echo "$(in_gw ip route show table "$1" | grep -c '^local default dev lo')/$(in_gw ip -6 route show table "$1" | grep -c '^local default dev lo')"; }
table() { in_gw nft list table inet sluice 2>/dev/null; }

check "fw4 helper: start with the shipped config" fw4 start "$SHIPPED"
check "... loads table inet sluice" bash -c "ip netns exec $LAB_GW nft list table inet sluice >/dev/null"
check "... and the policy rules and routes (IPv4/IPv6)" expect_eq "$(nrules 0x1 100) $(nroutes 100)" "1/1 1/1"
check "... and writes the ruleset for the fw4 include" test -s "$RUN/sluice.nft"
check "nft -c accepts the fw4 ruleset with the include" in_gw nft -c -f "$W/fw4.nft"
before=$(table)
in_gw nft flush ruleset
check "fw4 flush (firewall stop) deletes table inet sluice" expect_eq "$(table)" ""
check "the firewall start (fw4 ruleset with the include) loads" in_gw nft -f "$W/fw4.nft"
check "... and table inet sluice is back, unchanged" expect_eq "$(table)" "$before"

# sluice relays through the re-included table (the server sees the gateway).
lab_server srv "$UP4" 3478 || exit 99
lab_bg "$LAB_GW" sluice "$SLUICE" -c "$SHIPPED"
SLUICE_PID=$LAB_LAST_PID
lab_wait_log sluice running 10 || exit 99
out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client --to "$UP4" --port 3478 --msg ow)
check "a relay flow goes through sluice after the firewall restart" expect_contains "$out" "from $UP4:3478 seen $GWU4:"
lab_stop "$SLUICE_PID"

check "fw4 helper: start again (after a crash)" fw4 start "$SHIPPED"
check "... one policy rule and route per family, not two" expect_eq "$(nrules 0x1 100) $(nroutes 100)" "1/1 1/1"

has5300() { grep -Eq 'udp dport \{[^}]*\<5300\>[^}]*\} tproxy'; }
check "control: port 5300 is not intercepted yet" fails has5300 <<<"$(table)"
conf=$(lab_conf changed.conf <<EOF
$(cat "$SHIPPED")
intercept udp 5300 relay
EOF
)
check "fw4 helper: reload with a new intercepted port" fw4 reload "$conf"
check "... the loaded table has it" has5300 <<<"$(table)"
check "... the fw4 include has it too" has5300 < "$RUN/sluice.nft"
echo "route-table 200" >> "$conf"
check "fw4 helper: reload with a new routing table" fw4 reload "$conf"
check "... the routes moved from table 100 to 200" \
	expect_eq "$(nrules 0x1 100) $(nroutes 100) $(nrules 0x1 200) $(nroutes 200)" "0/0 0/0 1/1 1/1"

check "fw4 helper: stop" fw4 stop "$conf"
check "... table inet sluice is gone" expect_eq "$(table)" ""
check "... and the policy rules and routes" expect_eq "$(nrules 0x1 200) $(nroutes 200)" "0/0 0/0"
check "... and the ruleset for the include" test ! -e "$RUN/sluice.nft"
check "the fw4 ruleset still passes nft -c (the include matches nothing)" in_gw nft -c -f "$W/fw4.nft"
check "... and loads, without table inet sluice" bash -c "ip netns exec $LAB_GW nft -f $W/fw4.nft &&
	! ip netns exec $LAB_GW nft list table inet sluice >/dev/null 2>&1"
check "fw4 helper: a second stop succeeds" fw4 stop "$conf"

check "fw4 helper: start with a bad config fails" fails fw4 start "$W/bad.conf" 2>/dev/null
check "... with nothing loaded" expect_eq "$(table)|$(nrules 0x1 100)|$(ls "$RUN")" "|0/0|"
lab_finish
