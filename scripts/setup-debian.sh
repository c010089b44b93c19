#!/bin/sh
# Installs what building sluice and running its tests and demo need on
# Debian 12 (bookworm) or newer. Services the packages would start (unbound,
# chrony) are kept from starting: the tests run their own copies inside
# network namespaces.
set -e
if [ "$(id -u)" != 0 ]; then
	echo "setup-debian.sh: run as root (sudo)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting daemons during the install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod +x "$policy"
	made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config \
	libevent-dev libc-ares-dev libldns-dev libsodium-dev libssl-dev \
	libcmocka-dev libpcre2-dev libcap-dev libmnl-dev libnghttp2-dev \
	nftables iptables iproute2 iputils-ping procps python3 openssl \
	bind9-dnsutils knot-dnsutils unbound dnsdist chrony sntp ntpsec-ntpdig \
	ngtcp2-client ngtcp2-server clang libclang-rt-dev \
	systemd mandoc busybox dnsperf >/dev/null
echo "setup-debian.sh: packages installed"
