#!/bin/bash
# The README demo: a client, a gateway running sluice, and an "internet"
# with two DNS servers, an NTP server, a QUIC server and a UDP echo server,
# each in its own network namespace. Prints what happened in plain words.
# Everything it starts is stopped and every namespace removed on exit.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lab/lab.sh"
lab_require
lab_up || exit 1
DATA="$LAB_DIR/../data/demo"

say() { printf '\n== %s\n' "$*"; }
tell() { printf '   %s\n' "$*"; }

unbound_conf() { # NAME ADDR4 ADDR6 ANSWER4 ANSWER6
	cat > "$LAB_WORK/$1.conf" <<EOF
server:
  interface: $2
  interface: $3
  port: 53
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$LAB_WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  log-queries: yes
  verbosity: 1
  module-config: "iterator"
  local-zone: "." static
  local-data: "www.baidu.com. 300 IN A $4"
  local-data: "www.baidu.com. 300 IN AAAA $5"
  local-data: "www.example.org. 300 IN A $4"
  local-data: "www.example.org. 300 IN AAAA $5"
EOF
	lab_bg "$LAB_UP" "$1" unbound -d -c "$LAB_WORK/$1.conf"
}

# The "internet": two resolvers that answer the same names differently, so
# the demo can tell which one answered.
unbound_conf domestic 203.0.113.3 2001:db8:113::3 192.0.2.31 2001:db8:31::1
unbound_conf abroad 203.0.113.4 2001:db8:113::4 192.0.2.41 2001:db8:41::1
cat > "$LAB_WORK/chrony.conf" <<EOF
local stratum 8
allow all
bindaddress 203.0.113.6
port 123
cmdport 0
pidfile $LAB_WORK/chronyd.pid
driftfile $LAB_WORK/chrony.drift
EOF
lab_bg "$LAB_UP" chronyd chronyd -d -x -f "$LAB_WORK/chrony.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=quic.example \
	-addext subjectAltName=DNS:quic.example -keyout "$LAB_WORK/key.pem" \
	-out "$LAB_WORK/cert.pem" >/dev/null 2>&1
mkdir -p "$LAB_WORK/htdocs"
echo "hello over QUIC through sluice" > "$LAB_WORK/htdocs/hello.txt"
lab_bg "$LAB_UP" gtlsserver gtlsserver -q -d "$LAB_WORK/htdocs" 203.0.113.7 443 \
	"$LAB_WORK/key.pem" "$LAB_WORK/cert.pem"
lab_server echo 203.0.113.2 5300 >/dev/null || exit 1

conf=$(lab_conf sluice.conf <<EOF
listen 0.0.0.0:15353 [::]:15353
intercept udp 53 dns
intercept tcp 53 dns
intercept udp 123 ntp
intercept udp 443 quic
intercept udp 5300 relay
metrics 127.0.0.1:9153

upstream domestic udp://203.0.113.3 [2001:db8:113::3]
upstream abroad   udp://203.0.113.4 [2001:db8:113::4]
geosite-dir $DATA/dlc
dns-rule geosite:category-ads-all block nxdomain
dns-rule geosite:cn forward domestic
dns-rule all forward abroad

ntp-redirect 203.0.113.6
quic-rule all pass
EOF
)
lab_rules "$conf" || exit 1
lab_bg "$LAB_GW" sluice "$SLUICE" -v -c "$conf"
lab_wait_log sluice running 10 || exit 1
sleep 1 # let unbound and chronyd finish starting

cat <<EOF
The lab:
   client   198.51.100.2  2001:db8:100::2
   gateway  198.51.100.1 / 203.0.113.1   (sluice + nftables tproxy)
   internet 203.0.113.x  resolvers "domestic" (.3) and "abroad" (.4),
            NTP server (.6), QUIC server (.7), UDP echo server (.2)
The client asks resolvers that do not exist (192.0.2.53, 2001:db8:53::53)
and an NTP server that does not exist (192.0.2.123): sluice answers anyway.
EOF

dig_a() { in_cli dig +time=2 +tries=1 "$@" 2>&1; }
answer() { awk '/^;; ANSWER SECTION/{f=1;next} f&&NF{print $NF; exit}'; }
status() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
server() { sed -n 's/^;; SERVER: \([^#]*\)#.*/\1/p'; }

say "DNS: www.baidu.com is in geosite:cn"
out=$(dig_a @192.0.2.53 www.baidu.com A)
tell "asked 192.0.2.53; the answer came from $(server <<<"$out") with $(answer <<<"$out")"
tell "192.0.2.31 is what the \"domestic\" resolver says: routed by geosite:cn"

say "DNS: www.example.org matches no list"
out=$(dig_a @2001:db8:53::53 www.example.org AAAA)
tell "asked 2001:db8:53::53 over IPv6; answer $(answer <<<"$out") from $(server <<<"$out")"
tell "2001:db8:41::1 is what the \"abroad\" resolver says"

say "DNS: ad.doubleclick.net is in geosite:category-ads-all"
out=$(dig_a @192.0.2.53 ad.doubleclick.net A)
tell "status $(status <<<"$out"): blocked by sluice, no resolver was asked"

say "DNS over TCP: dig +tcp for ad.doubleclick.net"
out=$(dig_a +tcp @192.0.2.53 ad.doubleclick.net A)
tell "status $(status <<<"$out") over TCP too: the same rules, no way around them"

say "DNS: asking www.baidu.com again"
sleep 1
out=$(dig_a @192.0.2.53 www.baidu.com A)
ttl=$(awk '/^;; ANSWER SECTION/{f=1;next} f&&NF{print $2; exit}' <<<"$out")
tell "answer $(answer <<<"$out"), TTL $ttl (the resolver said 300): served from sluice's cache"
tell "cache hits so far: $(lab_metric dns_cache_hits)"
tell "explained by \`sluice match\`:"
"$SLUICE" match -c "$conf" ad.doubleclick.net 2>/dev/null | sed 's/^/      /'

say "NTP: the client asks 192.0.2.123 for the time"
out=$(in_cli python3 - <<'PY'
import socket, struct, time
s = socket.socket(); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("192.0.2.123", 123)); s.settimeout(3)
req = bytearray(48); req[0] = 0x23  # LI 0, version 4, mode 3 (client)
req[40:48] = struct.pack("!II", int(time.time()) + 2208988800, 0)
s.send(bytes(req))
try:
    d = s.recv(512)
    secs = struct.unpack("!I", d[40:44])[0] - 2208988800
    print("answered by 192.0.2.123 (stratum %d), server time %s UTC" % (d[1], time.strftime("%H:%M:%S", time.gmtime(secs))))
except socket.timeout:
    print("no answer")
PY
)
tell "$out"
tell "stratum 8 is the NTP server at 203.0.113.6 (chronyd, \`local stratum 8\`): redirected $(lab_metric ntp_redirected) time(s)"

say "QUIC: a handshake to quic.example (203.0.113.7) port 443"
# The client namespace's own hosts file names the server, so the client
# connects by name and sends it as SNI.
echo "203.0.113.7 quic.example" > "/etc/netns/$LAB_CLI/hosts"
if in_cli timeout 10 gtlsclient -q --exit-on-all-streams-close \
	quic.example 443 https://quic.example/hello.txt >"$LAB_WORK/quic.out" 2>&1; then
	tell "the handshake completed and the transfer ended cleanly"
else
	tell "the QUIC client failed (see $LAB_WORK/quic.out)"
fi
tell "sluice read from the encrypted Initial packets: $(grep -o 'sni=[^ ]* alpn=[^:]*' "$LAB_WORK/sluice.log" | head -1)"

say "Relay: any other UDP port, here 5300"
out=$(in_cli python3 "$LAB_DIR/udptool.py" client --to 203.0.113.2 --port 5300 --msg hi)
tell "the answer came from ${out#from }"
tell "(the echo server saw the gateway, 203.0.113.1: the datagram went through sluice)"

say "sluice's counters"
for m in dns_queries dns_blocked dns_cache_hits dns_forwarded ntp_client_requests quic_sni quic_passed relay_tx flows_created; do
	tell "$m $(lab_metric "$m")"
done
echo
echo "Done: every namespace and process of the demo is being removed."
