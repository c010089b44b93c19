# bench/lab-dns.sh - sourced by profile.sh and compare.sh (with BENCH and
# WORK set): the shared harness's lab with nsd upstream and udp/53
# tproxied on the gateway, taken down (and everything started through
# gw_start stopped by PID) on exit.
. "$BENCH/lib/common.sh"
. "$BENCH/lib/rows.sh"
mkdir -p "$WORK"/{conf,run,log,bin}
lab_dns_cleanup() {
	for n in "${!PID[@]}"; do proc_stop "$n"; done
	intercept_off 2>/dev/null
	"$BENCH/lab.sh" down >/dev/null 2>&1
}
trap lab_dns_cleanup EXIT
trap 'exit 130' INT TERM
[ -s "$WORK/q-miss.txt" ] || "$BENCH/tools/gen-data.sh" "$WORK" 100000 1000
"$BENCH/lab.sh" up >/dev/null || exit 1
nsd_start "$UP_CPUS" || exit 1
tproxy_on 53
