#!/bin/bash
# Authenticated NTP through sluice, IPv4 and IPv6: requests that carry NTS
# extension fields (RFC 8915) or a MAC must reach the server the client
# asked, unmodified, while plain requests are still redirected.
#  - upstream ns: chronyd as an NTS server with a symmetric key (nts.lab on
#    203.0.113.7 / 2001:db8:113::7, `local stratum 8`, a self-signed
#    certificate made here), and another chronyd (`local stratum 9`) on
#    203.0.113.6 / 2001:db8:113::6 that sluice's ntp-redirect names;
#  - client ns: chronyd as a client (`server nts.lab nts`, `server
#    nts6.lab nts`, ntstrustedcerts): NTS-KE (TCP 4460) is not intercepted,
#    NTP (UDP 123) is. Both NTS sources get cookies, become reachable and
#    are selectable, each sample authenticated (chronyc authdata/ntpdata
#    through the client's own command socket); a chrony client with a
#    SHA1 key (`chronyd -Q`, `server ... key 1`) gets an authenticated
#    measurement. A MAC or an NTS authenticator fails on a changed byte, so
#    the server accepting them proves the request arrived unmodified, and
#    the client accepting the answers proves they came back unmodified;
#  - the NTS server saw those requests from the gateway (nft counters),
#    never from the client; ntp_client_authenticated and
#    ntp_authenticated_passed count them;
#  - a plain request to the NTS server's address is still redirected
#    (stratum 9); one with an extension field of unknown type is passed
#    (stratum 8); the rate limit applies to authenticated requests;
#  - with ntp-local the NTS client keeps getting authenticated answers
#    from its server (they are never answered locally).
# chronyd never touches the clock (-x) and keeps its files in the work dir.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_need_svc ntp
for t in chronyd chronyc openssl; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
chronyd -v | grep -q '+NTS' || { echo "SKIP: chronyd built without NTS" >&2; exit 77; }
lab_up || exit 99
# note TEXT - a "# " comment line in the output, newlines folded.
note() { local t=$*; echo "# ${t//$'\n'/; }"; }

RED4=203.0.113.6 RED6=2001:db8:113::6 NTS4=203.0.113.7 NTS6=2001:db8:113::7
KEY="1 SHA1 HEX:8F3A2C6B1D0E4F5A6B7C8D9E0F1A2B3C4D5E6F70"
echo "$KEY" > "$LAB_WORK/keys"
chmod 600 "$LAB_WORK/keys"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$LAB_WORK/nts.key" -out "$LAB_WORK/nts.crt" -subj "/CN=nts.lab" \
	-addext "subjectAltName=DNS:nts.lab,DNS:nts6.lab" >/dev/null 2>&1 || exit 99
lab_hosts "$LAB_CLI" "$NTS4 nts.lab" "$NTS6 nts6.lab"

# chrony_server NAME STRATUM ADDR4 ADDR6 [LINE...] - a chronyd server with no
# sources in the upstream ns; waits until it answers.
chrony_server() {
	local name=$1 stratum=$2 a4=$3 a6=$4 i
	shift 4
	{
		printf '%s\n' "local stratum $stratum" "allow all" "bindaddress $a4" \
			"bindaddress $a6" "port 123" "cmdport 0" "bindcmdaddress /" \
			"pidfile $LAB_WORK/$name.pid" "driftfile $LAB_WORK/$name.drift" "$@"
	} > "$LAB_WORK/$name.conf"
	lab_bg "$LAB_UP" "$name" chronyd -d -x -u root -f "$LAB_WORK/$name.conf"
	for ((i = 0; i < 50; i++)); do
		lab_ntp "$LAB_UP" "$a4" timeout=0.2 | grep -q "answered 1" && return 0
		sleep 0.1
	done
	lab_log "$name does not answer"
	return 1
}
chrony_server redirect 9 "$RED4" "$RED6" || exit 99
chrony_server nts 8 "$NTS4" "$NTS6" "ntsserverkey $LAB_WORK/nts.key" \
	"ntsservercert $LAB_WORK/nts.crt" "ntsprocesses 0" "keyfile $LAB_WORK/keys" || exit 99

# Who reaches the NTS server's NTP port: the gateway (sluice) or the client;
# what reaches the redirect server.
lab_counter "$LAB_UP" gw4 input "ip saddr $GWU4 ip daddr $NTS4 udp dport 123" || exit 99
lab_counter "$LAB_UP" gw6 input "ip6 saddr $GWU6 ip6 daddr $NTS6 udp dport 123" || exit 99
lab_counter "$LAB_UP" cli4 input "ip saddr $CLI4 udp dport 123" || exit 99
lab_counter "$LAB_UP" cli6 input "ip6 saddr $CLI6 udp dport 123" || exit 99
lab_counter "$LAB_UP" red4 input "ip daddr $RED4 udp dport 123" || exit 99
lab_counter "$LAB_UP" red6 input "ip6 daddr $RED6 udp dport 123" || exit 99
cnt() { lab_counter_get "$LAB_UP" "$1"; }
red() { echo $(( $(cnt red4) + $(cnt red6) )); }

base="listen 0.0.0.0:15000 [::]:15000
intercept udp 123 ntp
metrics 127.0.0.1:9153
workers 2"
redirect="ntp-redirect $RED4 [$RED6]"
conf=$(lab_conf ntp.conf <<<"$base
$redirect")
lab_sluice "$conf" || exit 99

# ef_request [TYPE] - a v4 request with one 28-byte extension field of TYPE
# (f0f0: a type nobody defines) and a random transmit timestamp, as hex.
ef_request() {
	printf '23000620%072x%s' 0 "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
	printf '%s001c%048x' "${1:-f0f0}" 0
}

# 1. A plain request to the NTS server's address is redirected (stratum 9);
#    one with an extension field of a type nobody knows means the client
#    expects that server too: passed (the NTS server answers, stratum 8).
for a in "$NTS4" "$NTS6"; do
	check "a plain request to $a is redirected (stratum 9)" \
		expect_match "$(lab_ntp "$LAB_CLI" "$a")" \
		"^answer from $(re_ip "$a"):123 mode 4 stratum 9 .* origin ok"
	m0=$(lab_metrics)
	check "a request with an unknown extension field to $a is passed (stratum 8)" \
		expect_match "$(lab_ntp "$LAB_CLI" "$a" raw="$(ef_request)")" \
		"^answer from $(re_ip "$a"):123 mode 4 stratum 8 "
	m1=$(lab_metrics)
	check "... counted in ntp_client_authenticated" \
		expect_eq "$(mdelta "$m0" "$m1" ntp_client_authenticated)" 1
	check "... and ntp_authenticated_passed" \
		expect_eq "$(mdelta "$m0" "$m1" ntp_authenticated_passed)" 1
done

# 2. The rate limit applies to authenticated requests.
printf '%s\n%s\nntp-rate-limit 2 burst=2\n' "$base" "$redirect" > "$conf"
lab_reload "$conf" || exit 99
m0=$(lab_metrics)
out=$(lab_ntp "$LAB_CLI" "$NTS4" raw="$(ef_request)" count=10 socks=many timeout=1)
m1=$(lab_metrics)
n=$(grep -c "^answer from $NTS4:123 mode 4 stratum 8" <<<"$out")
check "rate limit: at most 3 of 10 fast authenticated requests answered" expect_le "$n" 3
check "rate limit: and at least 1" expect_ge "$n" 1
check "rate limit: ntp_rate_limited counts the rest" \
	expect_ge "$(mdelta "$m0" "$m1" ntp_rate_limited)" 7
printf '%s\n%s\n' "$base" "$redirect" > "$conf"
lab_reload "$conf" || exit 99

# 3. A legacy MAC (SHA1 key 1): chronyd -Q takes two samples from the
#    address and accepts only answers that carry a valid MAC.
for a in "$NTS4" "$NTS6"; do
	m0=$(lab_metrics) r0=$(red)
	out=$(in_cli timeout 20 chronyd -Q -t 10 -u root "keyfile $LAB_WORK/keys" \
		"pidfile $LAB_WORK/q.pid" "server $a key 1 iburst maxsamples 2" 2>&1)
	m1=$(lab_metrics)
	note "chronyd -Q, server $a key 1: $out"
	check "MAC (SHA1) to $a: chronyd -Q gets an authenticated measurement" \
		expect_match "$out" "System clock wrong by"
	check "MAC (SHA1) to $a: ntp_client_authenticated counts the requests" \
		expect_ge "$(mdelta "$m0" "$m1" ntp_client_authenticated)" 2
	check "MAC (SHA1) to $a: ntp_authenticated_passed counts the answers" \
		expect_ge "$(mdelta "$m0" "$m1" ntp_authenticated_passed)" 2
	check "MAC (SHA1) to $a: nothing redirected" expect_eq "$(red)" "$r0"
done

# 4. A real NTS client, IPv4 and IPv6 sources, polling every second.
mkdir -m 700 "$LAB_WORK/run"
csock="$LAB_WORK/run/client.sock"
cat > "$LAB_WORK/client.conf" <<CHRONY
server nts.lab nts iburst minpoll 0 maxpoll 0
server nts6.lab nts iburst minpoll 0 maxpoll 0
ntstrustedcerts $LAB_WORK/nts.crt
nosystemcert
cmdport 0
bindcmdaddress $csock
pidfile $LAB_WORK/client.pid
driftfile $LAB_WORK/client.drift
CHRONY
m0=$(lab_metrics) r0=$(red)
lab_bg "$LAB_CLI" client chronyd -d -x -u root -f "$LAB_WORK/client.conf"
CLIENT_PID=$LAB_LAST_PID
chronyc_cli() { in_cli chronyc -h "$csock" -n -c "$@" 2>&1; }
# auth_row ADDR - chronyc authdata's CSV row for ADDR:
#   addr,mode,keyid,type,klen,last,attempts,naks,cookies,cookie_len
auth_row() { chronyc_cli authdata | awk -F, -v a="$1" '$1 == a'; }
# ntpdata ADDR FIELD - a field of chronyc ntpdata for ADDR ("Total good RX").
ntpdata() { in_cli chronyc -h "$csock" -n ntpdata "$1" 2>&1 | sed -n "s/^$2 *: //p"; }
good_rx() { ntpdata "$1" "Total good RX"; }
for ((i = 0; i < 60; i++)); do
	src=$(chronyc_cli sources)
	n=$(awk -F, '($3 == a || $3 == b) && $2 ~ /[*+]/' a="$NTS4" b="$NTS6" <<<"$src" | wc -l)
	[ "$n" = 2 ] && break
	sleep 0.5
done
m1=$(lab_metrics)
note "sources: $src"
note "authdata: $(chronyc_cli authdata)"
for a in "$NTS4" "$NTS6"; do
	row=$(auth_row "$a")
	check "NTS source $a: NTS mode, cookies held, no NAK" \
		expect_match "$row" "^$(re_ip "$a"),NTS,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,0,[1-8],[0-9]+$"
	check "NTS source $a: reachable and selected or selectable (* or +)" \
		expect_match "$src" "^\^,[*+],$(re_ip "$a"),8,"
	check "NTS source $a: answers authenticated (ntpdata)" \
		expect_eq "$(ntpdata "$a" Authenticated)" Yes
	check "NTS source $a: at least 3 good answers" expect_ge "$(good_rx "$a")" 3
done
check "the NTS server saw the client's requests from the gateway ($GWU4)" expect_ge "$(cnt gw4)" 3
check "the NTS server saw the client's requests from the gateway ($GWU6)" expect_ge "$(cnt gw6)" 3
check "the NTS server never saw the client itself" expect_eq "$(cnt cli4)/$(cnt cli6)" 0/0
check "ntp_client_authenticated counts the NTS requests" \
	expect_ge "$(mdelta "$m0" "$m1" ntp_client_authenticated)" 6
check "ntp_authenticated_passed counts the NTS answers" \
	expect_ge "$(mdelta "$m0" "$m1" ntp_authenticated_passed)" 6
check "no NTS request reached the redirect server" expect_eq "$(red)" "$r0"

# 5. ntp-local: authenticated requests still go to the server asked.
printf '%s\nntp-local yes\nntp-stratum 5\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
m0=$(lab_metrics) g4=$(good_rx "$NTS4") g6=$(good_rx "$NTS6") r0=$(red)
sleep 4
m1=$(lab_metrics)
for a in "$NTS4" "$NTS6"; do
	if [ "$a" = "$NTS4" ]; then g=$g4; else g=$g6; fi
	check "ntp-local: the NTS client keeps getting answers from $a" \
		expect_ge "$(( $(good_rx "$a") - g ))" 2
	check "ntp-local: $a: no NAK, cookies held" \
		expect_match "$(auth_row "$a")" "^$(re_ip "$a"),NTS,.*,0,[1-8],[0-9]+$"
done
check "ntp-local: ntp_authenticated_passed counts them" \
	expect_ge "$(mdelta "$m0" "$m1" ntp_authenticated_passed)" 4
check "ntp-local: none answered locally" expect_eq "$(mdelta "$m0" "$m1" ntp_local_answers)" 0
check "ntp-local: the redirect server got nothing" expect_eq "$(red)" "$r0"
lab_stop "$CLIENT_PID"
lab_sluice_exit
lab_finish
