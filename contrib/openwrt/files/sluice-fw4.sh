#!/bin/sh
# sluice-fw4 - sluice's nftables ruleset and policy routes on OpenWrt, for
# /etc/init.d/sluice. Runs as root.
#
#   sluice-fw4 start CONF    write `sluice rules` to $RUNDIR/sluice.nft (the
#                            fw4 include loads it on every firewall reload),
#                            load it now, add the policy routes; whatever an
#                            earlier run left behind is removed first
#   sluice-fw4 reload CONF   load the new ruleset (and, when the mark or the
#                            routing table changed, new routes)
#   sluice-fw4 stop [CONF]   remove the table, the rules and the routes that
#                            start added (its saved undo script); never fails
#
# SLUICE_PROG (/usr/sbin/sluice) and SLUICE_RUNDIR (/var/run/sluice) may be
# set for tests.
PROG=${SLUICE_PROG:-/usr/sbin/sluice}
RUNDIR=${SLUICE_RUNDIR:-/var/run/sluice}
CONF=${2:-/etc/sluice/sluice.conf}

msg() {
	echo "sluice-fw4: $*" >&2
	command -v logger >/dev/null && logger -t sluice -p daemon.err "$*"
	return 0
}

# gen - the ruleset, the routes and their undo for CONF, as *.new files.
gen() {
	mkdir -p "$RUNDIR" || return 1
	"$PROG" rules -c "$CONF" > "$RUNDIR/sluice.nft.new" &&
		"$PROG" rules --routes -c "$CONF" > "$RUNDIR/routes.sh.new" &&
		"$PROG" rules --cleanup -c "$CONF" > "$RUNDIR/cleanup.sh.new" && return 0
	msg "sluice rules -c $CONF failed"
	rm -f "$RUNDIR"/*.new
	return 1
}

# commit - the *.new files become the current ones (the .nft last but one:
# fw4 includes only *.nft, never a half-written file).
commit() {
	mv -f "$RUNDIR/routes.sh.new" "$RUNDIR/routes.sh"
	mv -f "$RUNDIR/cleanup.sh.new" "$RUNDIR/cleanup.sh"
	mv -f "$RUNDIR/sluice.nft.new" "$RUNDIR/sluice.nft"
}

# undo [FILE] - run an undo script quietly (what it removes may be gone).
undo() {
	[ -f "${1:-$RUNDIR/cleanup.sh}" ] && sh "${1:-$RUNDIR/cleanup.sh}" >/dev/null 2>&1
	return 0
}

start() {
	gen || return 1
	undo
	undo "$RUNDIR/cleanup.sh.new"
	if ! nft -f "$RUNDIR/sluice.nft.new"; then
		msg "nft refused the ruleset of $CONF"
		rm -f "$RUNDIR"/*.new
		return 1
	fi
	commit
	if ! sh -e "$RUNDIR/routes.sh"; then
		msg "the policy routes of $CONF could not be added"
		stop
		return 1
	fi
	return 0
}

reload() {
	[ -f "$RUNDIR/sluice.nft" ] || { start; return; }
	gen || return 1
	if cmp -s "$RUNDIR/routes.sh" "$RUNDIR/routes.sh.new"; then
		if ! nft -f "$RUNDIR/sluice.nft.new"; then
			msg "nft refused the ruleset of $CONF"
			rm -f "$RUNDIR"/*.new
			return 1
		fi
		commit
		return 0
	fi
	# The mark or the routing table changed: the old routes go first.
	stop
	start
}

stop() {
	if [ -f "$RUNDIR/cleanup.sh" ]; then
		undo
	elif [ -f "$CONF" ]; then
		"$PROG" rules --cleanup -c "$CONF" 2>/dev/null | sh >/dev/null 2>&1
	fi
	rm -f "$RUNDIR/sluice.nft" "$RUNDIR/routes.sh" "$RUNDIR/cleanup.sh" "$RUNDIR"/*.new
	return 0
}

case "$1" in
start | reload | stop) "$1" ;;
*)
	echo "usage: sluice-fw4 start|reload|stop [CONF]" >&2
	exit 2
	;;
esac
