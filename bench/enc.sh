#!/bin/bash
# bench/enc.sh - cache misses over encrypted upstreams: QPS and daemon CPU
# per query for sluice with `upstream x tls://...` and `https://...`
# against dnsdist forwarding to a DoT and a DoH backend, in one run.
#
# The lab is the shared harness's (../shared/bench: lab.sh's three
# namespaces, nsd serving bench.example, dnsperf, CPU accounting, pinning
# through DAEMON_CPUS / LOAD_CPUS / UP_CPUS), under namespace names of its
# own (ENC_NS, default pe: pe-cli, pe-gw, pe-up) so it can run while the
# harness's pb-* lab is in use. In the upstream namespace an encrypted DNS
# server (the terminator) sits in front of nsd: dnsdist with a DoT frontend
# (203.0.113.2:853, out-of-order) and a DoH frontend (203.0.113.2:443,
# /dns-query) forwarding to nsd over UDP, no packet cache; or unbound
# (tls-service, https-port) forwarding bench.example to nsd. Its
# certificate comes from a throwaway CA made with openssl in the work dir.
#
# Each pass is one run of dnsperf over MISS_NAMES unique names (each once)
# against a fresh gateway daemon and a fresh terminator (caches empty:
# sluice `cache-size 0`, dnsdist without packet cache). Passes are
# interleaved (run 1 of every row, then run 2, ...) so background load
# falls on every row alike; each figure is the median of REPEATS runs.
#
#   sudo bench/enc.sh [-o FILE] [--rows LIST] [--term dnsdist|unbound]
#                     [--row 'NAME|MODE|CMD']... [--profile ROW] [--keep-lab]
#
#   --rows LIST   of sluice-dot, sluice-doh, dnsdist-dot, dnsdist-doh,
#                 sluice-udp, dnsdist-udp (default: the four encrypted ones)
#   --row         one more row, as the harness's --dns: MODE listen (the
#                 client asks 198.51.100.1) or tproxy (asks 203.0.113.2);
#                 CMD runs in the gateway namespace, pinned, in the
#                 foreground; $ENC (the work dir: ca.pem) is in its env.
#   --term        the encrypted server in front of nsd (default dnsdist)
#   --profile ROW perf record (software clock, call graphs) on ROW's daemon
#                 during its first pass; the report goes to the log dir
#   -o FILE       the markdown report (also $WORK/last-run.md, stdout); the
#                 raw per-pass numbers go next to it as FILE-passes.tsv
# Environment: REPEATS (3) MISS_NAMES (100000) MISS_LIMIT (60 s) DNSPERF_ARGS
# (-c 8 -q 100) DAEMON_CPUS (1) UP_CPUS (0: nsd) TERM_CPUS (UP_CPUS: the
# terminator) LOAD_CPUS (0,1) DD_INFLIGHT (100: dnsdist DoT backend
# maxInFlight, 0 = one query per connection at a time) TERM_INFLIGHT (100:
# the dnsdist terminator's maxInFlight toward nsd; DoT queries go to nsd over
# TCP, and without it one at a time per connection) SLUICE (the binary).
# Daemon CPU is utime+stime of its process tree; "waiting for a CPU" is the
# schedstat run delay of its threads (summed, so above 100 % for a daemon
# whose threads wait at once): how much the machine's other load held it.
# Needs root, the harness's packages, openssl; perf for --profile.
# Everything it starts it stops by PID; the namespaces go on exit.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH_HARNESS:-$top/../shared/bench}
BENCH=$(cd "$BENCH" && pwd)
WORK=${BENCH_WORK:-$top/bench/work/enc}
bin=${SLUICE:-$top/build/src/sluice}
# shellcheck source=/dev/null
. "$BENCH/lib/common.sh"
# shellcheck source=/dev/null
. "$BENCH/lib/rows.sh"
P=${ENC_NS:-pe}
NS_CLI=$P-cli NS_GW=$P-gw NS_UP=$P-up
MISS_NAMES=${MISS_NAMES:-100000}
TERM_CPUS=${TERM_CPUS:-$UP_CPUS}
TERM_INFLIGHT=${TERM_INFLIGHT-100}
DD_INFLIGHT=${DD_INFLIGHT:-100}
ENC=$WORK/enc
AUTH=up.enc.lab
export ENC

OUT="" ROWS="sluice-dot,sluice-doh,dnsdist-dot,dnsdist-doh" TERM_KIND=dnsdist KEEP_LAB=0 PROFILE=""
EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) OUT=$2; shift 2 ;;
	--rows) ROWS=$2; shift 2 ;;
	--row) EXTRA+=("$2"); shift 2 ;;
	--term) TERM_KIND=$2; shift 2 ;;
	--profile) PROFILE=$2; shift 2 ;;
	--keep-lab) KEEP_LAB=1; shift ;;
	-h | --help) sed -n '2,47p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for t in dnsperf dig nft taskset openssl dnsdist; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "build sluice first ($bin)" >&2; exit 1; }
[ -z "$PROFILE" ] || command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
case $TERM_KIND in dnsdist | unbound) ;; *) echo "--term dnsdist|unbound" >&2; exit 2 ;; esac

# The harness's lab.sh with this run's namespace names.
lab() {
	local s=$WORK/lab.sh
	sed "s/^NS_CLI=pb-cli NS_GW=pb-gw NS_UP=pb-up\$/NS_CLI=$NS_CLI NS_GW=$NS_GW NS_UP=$NS_UP/" \
		"$BENCH/lab.sh" >"$s"
	grep -q "^NS_CLI=$NS_CLI NS_GW=$NS_GW NS_UP=$NS_UP\$" "$s" ||
		{ log "cannot rename the lab's namespaces in $BENCH/lab.sh"; return 1; }
	bash "$s" "$@"
}

cleanup() {
	stop_all
	intercept_off 2>/dev/null
	[ "$KEEP_LAB" = 1 ] || lab down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{conf,run,log,bin} "$ENC"
rm -f "$WORK"/log/*.log "$WORK"/log/perf-*
PASSES=$WORK/passes.tsv
: >"$PASSES"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$BENCH/tools/gen-data.sh" "$WORK" 100000 1000 || exit 1
QFILE=$WORK/q-miss.txt
if [ "$MISS_NAMES" -lt 100000 ]; then
	QFILE=$WORK/q-miss-$MISS_NAMES.txt
	head -n "$MISS_NAMES" "$WORK/q-miss.txt" >"$QFILE"
fi

# ---- a throwaway CA and the terminator's certificate ----------------------
ossl() { openssl "$@" >>"$WORK/log/openssl.log" 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=sluice bench CA" -keyout "$ENC/ca.key" -out "$ENC/ca.pem" &&
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$AUTH" \
		-keyout "$ENC/up.key" -out "$ENC/up.csr" &&
	ossl x509 -req -in "$ENC/up.csr" -CA "$ENC/ca.pem" -CAkey "$ENC/ca.key" -CAcreateserial \
		-days 2 -extfile <(printf 'subjectAltName=DNS:%s,IP:%s\n' "$AUTH" "$UP_IP") \
		-out "$ENC/up.pem" || { log "openssl failed (see $WORK/log/openssl.log)"; exit 1; }

lab up >&2 || exit 1

# ---- the terminator in the upstream namespace ------------------------------
cat >"$ENC/term-dnsdist.conf" <<EOF
-- DoT and DoH in front of nsd, no packet cache (every query goes to nsd).
setSecurityPollSuffix("")
setLocal("$UP_IP:5300")
setACL({"0.0.0.0/0", "::/0"})
controlSocket("127.0.0.1:5199")  -- in its namespace: enc.sh reads counters
setKey("$(openssl rand -base64 32)")
newServer({address="$UP_IP:53", name="nsd", checkName="bench.example."${TERM_INFLIGHT:+, maxInFlight=$TERM_INFLIGHT}})
-- maxInFlight: answers on a connection out of order (a gateway pipelines)
addTLSLocal("$UP_IP:853", "$ENC/up.pem", "$ENC/up.key", {maxInFlight=1000})
addDOHLocal("$UP_IP:443", "$ENC/up.pem", "$ENC/up.key", "/dns-query")
EOF
cat >"$ENC/term-unbound.conf" <<EOF
# DoT and DoH in front of nsd: bench.example forwarded, one thread.
server:
    interface: $UP_IP@853
    interface: $UP_IP@443
    tls-port: 853
    https-port: 443
    tls-service-key: "$ENC/up.key"
    tls-service-pem: "$ENC/up.pem"
    http-endpoint: "/dns-query"
    http-notls-downstream: no
    num-threads: 1
    do-ip6: no
    access-control: 0.0.0.0/0 allow
    username: ""
    chroot: ""
    directory: "$ENC"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 0
    do-not-query-localhost: no
    incoming-num-tcp: 1000
    outgoing-range: 4096
    num-queries-per-thread: 4096
    msg-cache-size: 64m
    rrset-cache-size: 128m
    prefetch: no
    harden-referral-path: no
    qname-minimisation: no
    module-config: "iterator"
    local-zone: "bench.example." nodefault
    domain-insecure: "bench.example."
forward-zone:
    name: "bench.example."
    forward-addr: $UP_IP@53
remote-control:
    control-enable: no
EOF

term_start() {
	case $TERM_KIND in
	dnsdist) proc_start term "$NS_UP" "$TERM_CPUS" dnsdist --supervised --disable-syslog \
		-C "$ENC/term-dnsdist.conf" ;;
	unbound) proc_start term "$NS_UP" "$TERM_CPUS" unbound -d -c "$ENC/term-unbound.conf" ;;
	esac
	local i
	for i in $(seq 40); do # both ports take connections
		ip netns exec "$NS_UP" ss -Htln "( sport = :853 or sport = :443 )" 2>/dev/null |
			grep -c LISTEN | grep -qx 2 && return 0
		proc_alive term || break
		sleep 0.25
	done
	log "the terminator ($TERM_KIND) did not come up (see $WORK/log/term.log)"
	return 1
}

# Answers nsd gave the upstream side so far: dnsdist forwards queries that
# came over DoT to nsd over TCP, which the harness's udp/53 counter misses,
# so with dnsdist its own count of backend responses is used.
# A row over UDP bypasses the terminator: the larger of the two counts.
nsd_answers() {
	local t=0
	[ "$TERM_KIND" = dnsdist ] && proc_alive term &&
		t=$(ip netns exec "$NS_UP" dnsdist -C "$ENC/term-dnsdist.conf" -c \
			-e 'getStatisticsCounters()["responses"]' 2>/dev/null | awk 'NR == 1 { print $1 + 0 }')
	echo "$(up_count) ${t:-0}"
}

# ---- the rows ----------------------------------------------------------------
sluice_conf() { # NAME URL -> config path
	local f=$ENC/$1.conf
	cat >"$f" <<EOF
# sluice in tproxy mode (the script loads the tproxy rule to :$TPROXY_PORT)
listen 0.0.0.0:$TPROXY_PORT
intercept udp 53 dns
workers 1
cache-size 0
metrics 127.0.0.1:9153
tls-ca $ENC/ca.pem
upstream up $2
dns-rule all forward up
EOF
	echo "$f"
}
dnsdist_conf() { # NAME BACKEND-OPTIONS -> config path
	local f=$ENC/$1.conf
	cat >"$f" <<EOF
-- dnsdist on the gateway, no packet cache: every query goes to the backend.
setSecurityPollSuffix("")
setLocal("$GW_IP:53")
setACL({"0.0.0.0/0", "::/0"})
newServer({$2, name="up", checkName="bench.example."})
EOF
	echo "$f"
}
tls_opts="tls=\"openssl\", subjectName=\"$AUTH\", caStore=\"$ENC/ca.pem\", validateCertificates=true"
row_spec() { # ROW -> NAME|MODE|CMD
	local dd="dnsdist --supervised --disable-syslog -C"
	case $1 in
	sluice-dot) echo "sluice tls://|tproxy|$bin -f -c $(sluice_conf "$1" "tls://$UP_IP#$AUTH")" ;;
	sluice-doh) echo "sluice https://|tproxy|$bin -f -c $(sluice_conf "$1" "https://$UP_IP/dns-query#$AUTH")" ;;
	sluice-udp) echo "sluice udp://|tproxy|$bin -f -c $(sluice_conf "$1" "udp://$UP_IP")" ;;
	dnsdist-dot) echo "dnsdist DoT backend|listen|$dd $(dnsdist_conf "$1" "address=\"$UP_IP:853\", $tls_opts, maxInFlight=$DD_INFLIGHT")" ;;
	dnsdist-doh) echo "dnsdist DoH backend|listen|$dd $(dnsdist_conf "$1" "address=\"$UP_IP:443\", $tls_opts, dohPath=\"/dns-query\"")" ;;
	dnsdist-udp) echo "dnsdist UDP backend|listen|$dd $(dnsdist_conf "$1" "address=\"$UP_IP:53\"")" ;;
	*) return 1 ;;
	esac
}
SPECS=()
for r in ${ROWS//,/ }; do
	s=$(row_spec "$r") || { echo "unknown row $r" >&2; exit 2; }
	SPECS+=("$s")
done
SPECS+=("${EXTRA[@]}")

# Time the process tree's threads spent runnable but waiting for a CPU
# (schedstat run_delay), ns: how much the machine's other load held it back.
run_wait() { # NAME
	local p=${PID[$1]:-} s=0 q t
	[ -n "$p" ] || { echo 0; return; }
	for q in $(proc_tree "$p"); do
		for t in /proc/"$q"/task/*/schedstat; do
			s=$((s + $(awk '{print $2}' "$t" 2>/dev/null || echo 0)))
		done
	done
	echo "$s"
}

# One pass: fresh terminator and daemon, MISS_NAMES unique names once.
# -> passes.tsv: 1 name 2 mode 3 run 4 qps 5 lat_ms 6 lost% 7 completed
#    8 daemon_ticks 9 term_ticks 10 nsd_ticks 11 nsd_answers 12 guard_drops
#    13 load1 14 load5 15 load15 16 secs 17 daemon_runq_wait_ns 18 term_runq_wait_ns
enc_pass() { # NAME MODE CMD RUN
	local name=$1 mode=$2 cmd=$3 run=$4 addr key=gw
	case $mode in
	listen) addr=$GW_IP ;;
	tproxy) addr=$UP_IP; tproxy_on 53; guard_on 53 ;;
	*) log "unknown mode $mode"; return 1 ;;
	esac
	if ! term_start || ! { gw_start "$key" "$cmd" && dns_wait "$addr" 20; }; then
		log "$name: no answer through $addr (see $WORK/log/gw.log, term.log)"
		printf '%s\t%s\t%s\tFAILED\n' "$name" "$mode" "$run" >>"$PASSES"
		proc_stop "$key"; proc_stop term; intercept_off
		return 1
	fi
	sleep 1
	local prof=""
	if [ "$PROFILE" = "$name" ] || [ "$PROFILE" = "${ROW_OF[$name]:-}" ]; then
		if [ "$run" = 1 ]; then
			prof=$WORK/log/perf-${name//[^A-Za-z0-9._-]/_}
			perf record -F 2999 -g -o "$prof.data" -p "${PID[$key]}" -- sleep "$MISS_LIMIT" \
				>/dev/null 2>&1 &
			PID[perf]=$!
			sleep 0.3
		fi
	fi
	local load c0 t0 n0 u0 g0 line c1 t1 n1 u1 g1
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	c0=$(cpu_ticks "$key"); t0=$(cpu_ticks term); n0=$(cpu_ticks nsd); u0=$(nsd_answers)
	g0=$(guard_count); g0=${g0:-0}
	local w0 v0 w1 v1
	w0=$(run_wait "$key"); v0=$(run_wait term)
	line=$(dnsperf_run "$addr" "$QFILE" -n 1 -l "$MISS_LIMIT" $DNSPERF_ARGS)
	c1=$(cpu_ticks "$key"); t1=$(cpu_ticks term); n1=$(cpu_ticks nsd); u1=$(nsd_answers)
	local a0 b0 a1 b1 # udp/53 counted at nsd, the terminator's backend responses
	read -r a0 b0 <<<"$u0"; read -r a1 b1 <<<"$u1"
	u0=0; u1=$((a1 - a0 > b1 - b0 ? a1 - a0 : b1 - b0))
	g1=$(guard_count); g1=${g1:-0}
	w1=$(run_wait "$key"); v1=$(run_wait term)
	if [ -n "$prof" ]; then
		proc_stop perf # SIGTERM to perf's sleep: perf writes its file and ends
		perf report -i "$prof.data" --no-children --percent-limit 0.5 --stdio 2>/dev/null |
			grep -E '^ +[0-9]' >"$prof.txt"
		perf report -i "$prof.data" --no-children --sort dso --stdio 2>/dev/null |
			grep -E '^ +[0-9]' >"$prof-dso.txt"
		log "  profile: $prof.txt, $prof-dso.txt"
	fi
	local m=""
	if [[ $cmd == *"$bin "* ]] || [[ $cmd == *sluice* ]]; then # sluice's own counters, for the log
		m=$(ip netns exec "$NS_GW" curl -s --max-time 3 http://127.0.0.1:9153/metrics 2>/dev/null |
			awk '/^sluice_dns_(upstream_(sent|answers|timeouts|ignored|tls_handshakes)|servfail)/ {
				sub(/^sluice_dns_/, ""); sub(/_total/, ""); printf " %s=%s", $1, $2 }')
	fi
	proc_stop "$key"; proc_stop term; intercept_off
	local secs
	secs=$(awk '{ printf "%.3f", ($1 > 0 ? $4 / $1 : 0) }' <<<"$line")
	log "  $name run $run: qps lat lost done = $line; cpu ticks daemon $((c1 - c0)) terminator $((t1 - t0)) nsd $((n1 - n0)); nsd answers $((u1 - u0)); runqueue wait ms daemon $(((w1 - w0) / 1000000)) terminator $(((v1 - v0) / 1000000)); load $load${m:+;$m}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mode" "$run" \
		"$(tr ' ' '\t' <<<"$line")" "$((c1 - c0))" "$((t1 - t0))" "$((n1 - n0))" "$((u1 - u0))" \
		"$((g1 - g0))" "$(tr ' ' '\t' <<<"$load")" "$secs" "$((w1 - w0))" "$((v1 - v0))" >>"$PASSES"
}

declare -A ROW_OF=()
for r in ${ROWS//,/ }; do ROW_OF[$(row_spec "$r" | cut -d'|' -f1)]=$r; done

START=$(date -u +%Y-%m-%dT%H:%MZ)
UPTIME_START=$(uptime)
nsd_start "$UP_CPUS" || exit 1
up_counter_on
for run in $(seq "$REPEATS"); do
	for spec in "${SPECS[@]}"; do
		IFS='|' read -r n m c <<<"$spec"
		log "pass $run/$REPEATS: $n ($m)"
		enc_pass "$n" "$m" "$c" "$run"
	done
done
UPTIME_END=$(uptime)

# ---- report ------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
report() {
	echo "# Cache misses over encrypted upstreams — $START"
	echo
	echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
	echo "- versions: sluice $(cd "$top" && git describe --always --dirty 2>/dev/null || echo '?'), dnsdist $(ver dnsdist), unbound $(ver unbound), nsd $(ver nsd), dnsperf $(ver dnsperf), openssl $(ver openssl), libevent $(ver libevent-2.1-7), libnghttp2 $(ver libnghttp2-14)"
	echo "- terminator in front of nsd: $TERM_KIND (DoT $UP_IP:853, DoH $UP_IP:443 /dns-query), certificate for $AUTH from a throwaway CA"
	echo "- pinning: gateway daemon on CPU $DAEMON_CPUS, terminator on CPU $TERM_CPUS, nsd on CPU $UP_CPUS, dnsperf on CPU $LOAD_CPUS"
	echo "- each pass: fresh daemon and terminator, dnsperf $DNSPERF_ARGS over $MISS_NAMES unique names, each once (limit ${MISS_LIMIT} s); passes interleaved, median of $REPEATS (by QPS)"
	echo "- load averages: at start \`${UPTIME_START##*load average: }\`, at end \`${UPTIME_END##*load average: }\`"
	echo
	echo "| gateway | path | QPS | runs | daemon µs/query | daemon CPU % | terminator CPU % | terminator µs/query | nsd CPU % | nsd answers/query | lost % | avg latency ms | daemon waiting for a CPU % | load avg (1 min) per run |"
	echo "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	local n
	while IFS= read -r n; do
		awk -F'\t' -v N="$n" -v T="$CLK_TCK" '
			$1 != N { next }
			$4 == "FAILED" { f++; next }
			{ k++; q[k] = $4; line[k] = $0; runs = runs (runs == "" ? "" : "/") $4; ld = ld (ld == "" ? "" : "/") $13 }
			END {
				if (!k) { printf "| %s | | failed: no answer |||||||||||\n", N; exit }
				# median by QPS
				for (i = 1; i <= k; i++) { r = 0; for (j = 1; j <= k; j++) if (q[j] < q[i] || (q[j] == q[i] && j < i)) r++; if (r == int((k - 1) / 2)) m = i }
				split(line[m], a, "\t")
				s = a[16]; c = a[7]
				path = a[2] == "listen" ? "listens on 198.51.100.1" : "TPROXY, client asks 203.0.113.2"
				if (f) runs = runs " (" f " failed)"
				printf "| %s | %s | %d | %s | %.1f | %.0f | %.0f | %.1f | %.0f | %.3f | %s | %.3f | %.0f | %s |\n", N, path, a[4], runs,
					(c > 0 ? 1e6 * a[8] / T / c : 0), (s > 0 ? 100 * a[8] / T / s : 0),
					(s > 0 ? 100 * a[9] / T / s : 0), (c > 0 ? 1e6 * a[9] / T / c : 0),
					(s > 0 ? 100 * a[10] / T / s : 0), (c > 0 ? a[11] / c : 0), a[6], a[5], (s > 0 ? a[17] / 1e7 / s : 0), ld }' "$PASSES"
	done < <(cut -f1 "$PASSES" | awk '!seen[$0]++')
	echo
}
report >"$WORK/last-run.md"
cat "$WORK/last-run.md"
if [ -n "$OUT" ]; then
	cp "$WORK/last-run.md" "$OUT"
	cp "$PASSES" "${OUT%.md}-passes.tsv"
	log "report written to $OUT"
fi
exit 0
