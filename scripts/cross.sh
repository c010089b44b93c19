#!/bin/sh
# cross.sh ARCH [CONFIGURE-ARGS] - cross build for a router's CPU and its tests under
# emulation, from a fresh Debian 12 machine (run as root).
#
#   ARCH    triplet             what
#   arm64   aarch64-linux-gnu   most current routers
#   mipsel  mipsel-linux-gnu    older MIPS routers (little-endian)
#   s390x   s390x-linux-gnu     the big-endian target Debian 12 builds
#   mips    mips-linux-gnu      not possible from Debian 12 (see below)
#
# It adds the Debian architecture, installs the cross toolchain
# (crossbuild-essential-ARCH), qemu-user-static and binfmt-support, and the
# ARCH -dev package of every dependency configure.ac names (the third
# argument of each SL_REQUIRE: that list is the one place). A -dev package
# that cannot be installed beside the native one (libevent-dev is not
# Multi-Arch: same) replaces it for the duration; the native packages apt
# removed are put back at the end, also when something fails (trap).
#
# Then it configures build-ARCH with --host=TRIPLET --enable-werror and
# PKG_CONFIG_LIBDIR set to ARCH's pkg-config directories, builds, and runs
# under qemu-user (binfmt_misc): the unit tests, the fuzz corpus replays
# (fuzz/ targets linked with fuzz/replay.c) and `sluice -t` on the config
# corpus (tests/conf/run.sh: conf/sluice.conf, good-*.conf, bad-*.conf).
# The lab tests (network namespaces, real daemons) are not run under
# emulation: they test the kernel and the peers more than the CPU.
#
# Gaps of Debian 12 (bookworm):
# - s390x, mipsel: bookworm-security (Debian LTS) is built for amd64 arm64
#   armhf i386 ppc64el only, so ARCH builds of the native libraries' security
#   versions do not exist and multiarch cannot install; the ARCH packages of
#   the point release then go into a sysroot (build-sysroot-ARCH) instead.
# - mips (32-bit big-endian): the port ended with Debian 10; bookworm has
#   the cross compiler (gcc-mips-linux-gnu) but none of the libraries
#   (libevent-dev:mips, libc-ares-dev:mips, ...). The script says so and
#   stops; s390x is the big-endian target.
#
# Arguments after ARCH go to configure: scripts/cross.sh arm64 --enable-small.
# Environment: JOBS (make -j, default nproc), KEEP_PACKAGES=1 leaves the
# ARCH packages installed instead of restoring the native ones.
set -eu
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "$0: run as root (or install sudo)" >&2; exit 1; }
	exec sudo -E sh "$0" "$@"
fi
arch=${1:-}
[ $# -eq 0 ] || shift
# What follows ARCH goes to configure (e.g. --enable-small); no spaces inside an argument.
extra="$*"
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# The -dev packages configure.ac requires: SL_REQUIRE([VAR], [modules], [package]).
devs=$(sed -n 's/^[[:space:]]*SL_REQUIRE(\[[^]]*\],[^,]*,[[:space:]]*\[\([^]]*\)\]).*/\1/p' configure.ac)
[ -n "$devs" ] || { echo "cross.sh: no SL_REQUIRE packages in configure.ac" >&2; exit 1; }
case $arch in
arm64) triplet=aarch64-linux-gnu qarch=aarch64 ;;
mipsel) triplet=mipsel-linux-gnu qarch=mipsel ;;
s390x) triplet=s390x-linux-gnu qarch=s390x ;;
mips)
	echo "cross.sh: Debian 12 has no mips (big-endian) port (it ended with Debian 10):" \
		"the compiler is there, but none of $(echo $devs | sed 's/\([^ ]*\)/\1:mips/g')." \
		"Use s390x for a big-endian build." >&2
	exit 2
	;;
*)
	echo "usage: $0 arm64|mipsel|s390x|mips" >&2
	exit 2
	;;
esac
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export DEBIAN_FRONTEND=noninteractive
apt_q() { apt-get -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "$@" >/dev/null; }
archdevs=$(for p in $devs; do printf '%s:%s ' "$p" "$arch"; done)

echo "== $arch: toolchain, qemu-user and the $arch -dev packages"
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	dpkg --add-architecture "$arch"
fi
apt-get update -qq
apt_q install build-essential autoconf automake pkg-config "crossbuild-essential-$arch" \
	qemu-user-static binfmt-support file

# Multiarch (the ARCH packages installed beside the native ones) needs the
# ARCH build of every Multi-Arch: same library at the version installed
# natively. Debian LTS builds security updates for fewer architectures than
# the release had (not s390x, not mipsel), so once the native libssl3,
# libevent-2.1-7, libpcre2-8-0... come from the security archive there is
# no matching ARCH build. Then the ARCH packages are unpacked into a sysroot
# of their own instead (mmdebstrap --variant=extract, no package scripts
# run), the compiler gets --sysroot and qemu QEMU_LD_PREFIX.
mode=multiarch
if ! apt-get -s -o Debug::NoLocking=1 install --no-install-recommends $archdevs \
	>"$top/.cross-$arch.apt" 2>&1; then
	mode=sysroot
	echo "   the $arch packages cannot be installed beside the native ones; apt-get says:"
	sed -n 's/^ *\([^ ]*:'"$arch"'\) *: *Depends: \(.*\)/     \1 needs \2/p' "$top/.cross-$arch.apt" |
		sed 's/ but it is not going to be installed//' | sort -u
	echo "   so they go into a sysroot: build-sysroot-$arch"
fi
rm -f "$top/.cross-$arch.apt"

restore=
restored=0
put_back() {
	[ "$restored" = 0 ] || return 0
	restored=1
	[ -n "$restore" ] || return 0
	if [ "${KEEP_PACKAGES:-0}" = 1 ]; then
		echo "== KEEP_PACKAGES=1: not reinstalling $restore"
		return 0
	fi
	echo "== putting back the native $restore"
	apt_q install $restore || echo "cross.sh: could not reinstall $restore" >&2
}
trap 'rc=$?; put_back; exit $rc' EXIT
trap 'exit 130' INT TERM

if [ "$mode" = multiarch ]; then
	# Native packages apt removes to make room for the ARCH ones.
	restore=$(apt-get -s -o Debug::NoLocking=1 install --no-install-recommends $archdevs |
		sed -n 's/^Remv \([^ ]*\) .*/\1/p' | tr '\n' ' ')
	[ -z "$restore" ] || echo "   (replaces the native $restore until the end)"
	# Multi-Arch: same packages must ship identical shared files, but some
	# documentation is not reproducible (libldns-dev's doxygen pages differ
	# between its amd64 and arm64 builds): leave /usr/share/doc out of the
	# ARCH packages, copyright files aside.
	if ! apt_q -o Dpkg::Options::=--path-exclude=/usr/share/doc/* \
		-o Dpkg::Options::=--path-include=/usr/share/doc/*/copyright install $archdevs; then
		echo "cross.sh: the $arch -dev packages do not install: apt-get install $archdevs" >&2
		exit 1
	fi
	sysroot=
	pcdir=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
	# The loader and the libraries both come from the multiarch paths
	# (libc6:ARCH comes with the -dev packages). QEMU_LD_PREFIX=/usr/TRIPLET
	# would take ld.so from libc6-ARCH-cross but libc.so.6 from libc6:ARCH:
	# two glibc builds whose private layouts differ (pthread_create then
	# loops forever).
	unset QEMU_LD_PREFIX
else
	apt_q install mmdebstrap
	sysroot=$top/build-sysroot-$arch
	want="libc6-dev $devs"
	if [ "$(cat "$sysroot/.packages" 2>/dev/null)" != "$want" ]; then
		. /etc/os-release
		mirror=${MIRROR:-http://deb.debian.org/debian}
		rm -rf "$sysroot"
		mmdebstrap --quiet --variant=extract --architectures="$arch" \
			--include="$(echo "$want" | tr ' ' ,)" "$VERSION_CODENAME" "$sysroot" \
			"deb $mirror $VERSION_CODENAME main" "deb $mirror $VERSION_CODENAME-updates main" \
			"deb ${SECURITY_MIRROR:-http://deb.debian.org/debian-security} $VERSION_CODENAME-security main"
		echo "$want" > "$sysroot/.packages"
	fi
	pcdir=$sysroot/usr/lib/$triplet/pkgconfig:$sysroot/usr/share/pkgconfig
	export PKG_CONFIG_SYSROOT_DIR="$sysroot"
	export QEMU_LD_PREFIX="$sysroot"
fi

# Run ARCH binaries through binfmt_misc (make check starts them directly).
mountpoint -q /proc/sys/fs/binfmt_misc ||
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable "qemu-$qarch" 2>/dev/null || true

echo "== $arch: configure --host=$triplet and build in build-$arch"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
rm -rf "build-$arch"
mkdir -p "build-$arch"
cd "build-$arch"
start=$(date +%s)
set --
[ -z "$sysroot" ] || set -- CC="$triplet-gcc --sysroot=$sysroot"
PKG_CONFIG=pkg-config PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$pcdir \
	../configure -q --host="$triplet" --enable-werror $extra "$@"
make -s -j"$jobs"
make -s -j"$jobs" check TESTS= >/dev/null
file src/sluice | sed 's/^/   /'
"$triplet-strip" -o stripped.tmp src/sluice && echo "   stripped: $(wc -c < stripped.tmp) bytes" && rm -f stripped.tmp
echo "   built in $(($(date +%s) - start)) s"
./src/sluice --version >/dev/null 2>&1 || {
	echo "cross.sh: src/sluice does not run under qemu-$qarch (binfmt_misc)" >&2
	exit 1
}

echo "== $arch: unit tests, fuzz corpus replays and the config corpus under qemu-$qarch"
echo "   (the lab tests are not run under emulation)"
start=$(date +%s)
if ! make -s -j"$jobs" check LAB_TESTS=; then
	for f in tests/*/*.log fuzz/*.log; do
		[ -f "$f" ] || continue
		grep -qE '^:test-result: (FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null || continue
		echo "==== $f"
		tail -n 60 "$f"
	done
	exit 1
fi
echo "   tests ran in $(($(date +%s) - start)) s"
echo "== $arch: sluice -t on the sample configs"
for f in ../conf/sluice.conf ../tests/conf/good-*.conf; do
	(cd "$(dirname "$f")" && "$top/build-$arch/src/sluice" -t -c "$(basename "$f")" >/dev/null) || {
		echo "cross.sh: sluice -t -c $f failed under qemu-$qarch" >&2
		exit 1
	}
done
echo "   $(ls ../conf/sluice.conf ../tests/conf/good-*.conf | wc -l) configs accepted"
echo "== $arch: all passed"
