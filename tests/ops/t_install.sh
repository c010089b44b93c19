#!/bin/sh
# `make install DESTDIR=TMP` puts the binary, the config, the man pages and
# the systemd unit under the configured prefix, and what it installed works
# together:
#  - the installed sluice checks the installed config: `sluice -t -c
#    PREFIX/etc/sluice/sluice.conf` exits 0 and prints "configuration OK";
#  - the installed unit names the installed binary and config (ExecStart=),
#    and `systemd-analyze verify --man=yes` (paths moved under TMP, MANPATH
#    at the installed man pages) finds both man pages it documents.
: "${top_builddir:=.}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fail=1; }

# mkvar NAME - a variable of the build's Makefile (its configured value).
mkvar() { sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -n1; }
prefix=$(mkvar prefix)
exec_prefix=$(mkvar exec_prefix | sed "s|\${prefix}|$prefix|")
sbindir=$(mkvar sbindir | sed -e "s|\${exec_prefix}|$exec_prefix|" -e "s|\${prefix}|$prefix|")
sysconfdir=$(mkvar sysconfdir | sed "s|\${prefix}|$prefix|")
unitdir=$(mkvar systemdsystemunitdir | sed "s|\${prefix}|$prefix|")
mandir=$(mkvar mandir | sed -e "s|\${datarootdir}|$(mkvar datarootdir)|" -e "s|\${prefix}|$prefix|")
case "$sbindir$sysconfdir$unitdir$mandir" in
*'$'*) echo "FAIL: could not resolve the install directories: $sbindir $sysconfdir $unitdir $mandir"; exit 99 ;;
esac

# Out of the calling make's jobserver: a plain sequential install.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -C "$top_builddir" install \
	DESTDIR="$tmp" >"$tmp.log" 2>&1; then
	ok "make install DESTDIR=$tmp"
else
	bad "make install failed:"; sed 's/^/  /' "$tmp.log"
fi
rm -f "$tmp.log"

bin=$tmp$sbindir/sluice conf=$tmp$sysconfdir/sluice/sluice.conf unit=$tmp$unitdir/sluice.service
for f in "$bin" "$conf" "$unit" "$tmp$mandir/man8/sluice.8" "$tmp$mandir/man5/sluice.conf.5"; do
	if [ -f "$f" ]; then ok "installed ${f#"$tmp"}"; else bad "not installed: ${f#"$tmp"}"; fi
done
out=$("$bin" -t -c "$conf" 2>&1)
rc=$?
if [ $rc = 0 ] && [ "$out" = "$conf: configuration OK" ]; then
	ok "the installed sluice -t accepts the installed config"
else
	bad "sluice -t -c ${conf#"$tmp"}: exit $rc: $out"
fi
if grep -qx "ExecStart=$sbindir/sluice -s -c $sysconfdir/sluice/sluice.conf" "$unit"; then
	ok "the installed unit starts $sbindir/sluice with $sysconfdir/sluice/sluice.conf"
else
	bad "ExecStart= of the installed unit: $(grep '^ExecStart=' "$unit")"
fi
if command -v systemd-analyze >/dev/null && command -v man >/dev/null; then
	mkdir "$tmp/verify"
	sed -e "s|$sbindir/|$tmp$sbindir/|g" -e "s|$sysconfdir/|$tmp$sysconfdir/|g" "$unit" \
		> "$tmp/verify/sluice.service"
	out=$(MANPATH=$tmp$mandir systemd-analyze verify --man=yes "$tmp/verify/sluice.service" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify --man=yes on the installed unit"
	else bad "systemd-analyze verify --man=yes (exit $rc): $out"; fi
else
	echo "# no systemd-analyze or man: the installed unit is not verified"
fi
exit $fail
