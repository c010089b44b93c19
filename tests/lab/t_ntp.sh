#!/bin/bash
# NTP through sluice, IPv4 and IPv6, against a real server (chronyd in the
# upstream namespace, `local stratum 8`, never touching the clock):
#  - ntp-redirect: a real client (ntpdig) asking a made-up server
#    (192.0.2.123, 2001:db8:123::123) gets chronyd's time; a client with a
#    connected socket proves the answer comes from the address it asked and
#    answers its own request (origin timestamp); chronyd saw the gateway
#    (nft counter in the upstream ns), never the client; ntp_client_requests
#    and ntp_redirected count it;
#  - mode 6 (ntpq), mode 7 (ntpdc monlist) and 47-byte packets get nothing,
#    are never relayed, and are counted (ntp_drop_control/private/short);
#  - ntp-rate-limit 2 burst=2: of 10 fast requests at most 3 are answered,
#    the rest counted in ntp_rate_limited, whatever worker each flow lands on;
#  - ntp-local: the kernel clock state (adjtimex, read only) decides: synced
#    -> answered with `ntp-stratum 5`; unsynchronised -> no answer and
#    ntp_local_unsynced counts it;
#  - a flow that started under ntp-local is redirected after a reload to
#    ntp-redirect (a client polling from a fixed port keeps its flow).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_need_svc ntp
for t in chronyd ntpdig; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
lab_up || exit 99

NTP4=203.0.113.6 NTP6=2001:db8:113::6 FAKE4=192.0.2.123 FAKE6=2001:db8:123::123

# A server with no sources that never touches the clock (-x) and keeps its
# files in the work dir (no command socket, nothing under /run).
cat > "$LAB_WORK/chrony.conf" <<CHRONY
local stratum 8
allow all
bindaddress $NTP4
bindaddress $NTP6
port 123
cmdport 0
bindcmdaddress /
pidfile $LAB_WORK/chronyd.pid
driftfile $LAB_WORK/chrony.drift
CHRONY
lab_bg "$LAB_UP" chronyd chronyd -d -x -u root -f "$LAB_WORK/chrony.conf"
for ((i = 0; i < 50; i++)); do
	lab_ntp "$LAB_UP" "$NTP4" timeout=0.2 | grep -q "answered 1" && break
	sleep 0.1
done
[ "$i" -lt 50 ] || { lab_log "chronyd does not answer"; exit 99; }

# Who reaches chronyd: the gateway (through sluice) or the client (around it).
lab_counter "$LAB_UP" gw4 input "ip saddr $GWU4 udp dport 123" || exit 99
lab_counter "$LAB_UP" gw6 input "ip6 saddr $GWU6 udp dport 123" || exit 99
lab_counter "$LAB_UP" cli4 input "ip saddr $CLI4 udp dport 123" || exit 99
lab_counter "$LAB_UP" cli6 input "ip6 saddr $CLI6 udp dport 123" || exit 99
upstream() { echo $(( $(lab_counter_get "$LAB_UP" gw4) + $(lab_counter_get "$LAB_UP" gw6) )); }

base="listen 0.0.0.0:15000 [::]:15000
intercept udp 123 ntp
metrics 127.0.0.1:9153
workers 2"
conf=$(lab_conf ntp.conf <<<"$base
ntp-redirect $NTP4 [$NTP6]")
lab_sluice "$conf" || exit 99

# 1. Redirect, with a real client and with a connected-socket client.
m0=$(lab_metrics)
for fake in "$FAKE4" "$FAKE6"; do
	out=$(in_cli ntpdig -j -t 2 "$fake")
	check "ntpdig asking $fake gets chronyd's time (stratum 8)" \
		expect_match "$out" "\"ip\":\"$(re_ip "$fake")\".*\"stratum\":8,"
	out=$(lab_ntp "$LAB_CLI" "$fake")
	check "the answer comes from $fake:123 and answers this request (origin)" \
		expect_match "$out" "^answer from $(re_ip "$fake"):123 mode 4 stratum 8 leap 0 origin ok"
done
m1=$(lab_metrics)
check "chronyd saw the gateway ($GWU4) over IPv4" expect_ge "$(lab_counter_get "$LAB_UP" gw4)" 1
check "chronyd saw the gateway ($GWU6) over IPv6" expect_ge "$(lab_counter_get "$LAB_UP" gw6)" 1
check "chronyd never saw the client itself" \
	expect_eq "$(lab_counter_get "$LAB_UP" cli4)/$(lab_counter_get "$LAB_UP" cli6)" 0/0
check "ntp_client_requests counts the 4 requests" expect_eq "$(mdelta "$m0" "$m1" ntp_client_requests)" 4
check "ntp_redirected counts the 4 answers" expect_eq "$(mdelta "$m0" "$m1" ntp_redirected)" 4

# 2. What NTP amplification uses is dropped, never relayed, and counted.
m0=$(lab_metrics) u0=$(upstream)
mode6=160200010000000000000000 # ntpq "rv": VN 2, mode 6, opcode 2 (read variables)
mode7=1700032a00000000         # ntpdc monlist: VN 2, mode 7, request code 42
for fake in "$FAKE4" "$FAKE6"; do
	check "mode 6 to $fake gets nothing" \
		expect_contains "$(lab_ntp "$LAB_CLI" "$fake" raw=$mode6 timeout=0.5)" "answered 0"
	check "mode 7 to $fake gets nothing" \
		expect_contains "$(lab_ntp "$LAB_CLI" "$fake" raw=$mode7 timeout=0.5)" "answered 0"
done
check "a 47-byte request gets nothing" \
	expect_contains "$(lab_ntp "$LAB_CLI" "$FAKE4" len=47 timeout=0.5)" "answered 0"
m1=$(lab_metrics)
check "ntp_drop_control counts mode 6" expect_eq "$(mdelta "$m0" "$m1" ntp_drop_control)" 2
check "ntp_drop_private counts mode 7" expect_eq "$(mdelta "$m0" "$m1" ntp_drop_private)" 2
check "ntp_drop_short counts the 47-byte packet" expect_eq "$(mdelta "$m0" "$m1" ntp_drop_short)" 1
check "none of them reached chronyd" expect_eq "$(upstream)" "$u0"

# 3. Rate limit: 10 fast requests from one client, each from its own socket
#    (so its own flow, on whichever worker the kernel picks), then 10 from one.
printf '%s\nntp-redirect %s [%s]\nntp-rate-limit 2 burst=2\n' "$base" "$NTP4" "$NTP6" > "$conf"
lab_reload "$conf" || exit 99
for socks in many one; do
	m0=$(lab_metrics)
	out=$(lab_ntp "$LAB_CLI" "$FAKE4" count=10 socks=$socks timeout=1)
	m1=$(lab_metrics)
	n=$(grep -c "^answer from $FAKE4:123 mode 4 .* origin ok" <<<"$out")
	check "rate limit ($socks socket(s)): at most 3 of 10 fast requests answered" expect_le "$n" 3
	check "rate limit ($socks socket(s)): and at least 1" expect_ge "$n" 1
	check "rate limit ($socks socket(s)): ntp_rate_limited counts the rest" \
		expect_ge "$(mdelta "$m0" "$m1" ntp_rate_limited)" 7
	sleep 1.1 # refill the bucket
done

# 4. ntp-local: the kernel clock state decides (read, never changed).
printf '%s\nntp-local yes\nntp-stratum 5\n' "$base" > "$conf"
lab_reload "$conf" || exit 99
state=$(lab_clock_state)
echo "# kernel clock: $state"
for fake in "$FAKE4" "$FAKE6"; do
	m0=$(lab_metrics) u0=$(upstream)
	out=$(lab_ntp "$LAB_CLI" "$fake" timeout=0.7)
	m1=$(lab_metrics)
	if [ "${state%% *}" = synced ]; then
		check "ntp-local, clock synced: $fake answers with stratum 5" \
			expect_match "$out" "^answer from $(re_ip "$fake"):123 mode 4 stratum 5 leap [012] origin ok"
		check "ntp-local, clock synced: ntp_local_answers counts it" \
			expect_eq "$(mdelta "$m0" "$m1" ntp_local_answers)" 1
	else
		check "ntp-local, clock unsynchronised: $fake gets no answer" expect_contains "$out" "answered 0"
		check "ntp-local, clock unsynchronised: ntp_local_unsynced counts it" \
			expect_eq "$(mdelta "$m0" "$m1" ntp_local_unsynced)" 1
		check "ntp-local, clock unsynchronised: no local answer counted" \
			expect_eq "$(mdelta "$m0" "$m1" ntp_local_answers)" 0
	fi
	check "ntp-local: nothing went to chronyd" expect_eq "$(upstream)" "$u0"
done
check "the kernel clock state is unchanged" expect_eq "$(lab_clock_state)" "$state"

# 5. A client polling from a fixed port (as ntpd does from 123) keeps its
#    flow across a reload from ntp-local to ntp-redirect: it must be redirected.
lab_ntp "$LAB_CLI" "$FAKE4" sport=12123 timeout=0.3 >/dev/null
printf '%s\nntp-redirect %s\n' "$base" "$NTP4" > "$conf"
lab_reload "$conf" || exit 99
check "after ntp-local -> ntp-redirect the same flow is redirected" \
	expect_match "$(lab_ntp "$LAB_CLI" "$FAKE4" sport=12123)" \
	"^answer from $(re_ip "$FAKE4"):123 mode 4 stratum 8 .* origin ok"
lab_sluice_exit
lab_finish
