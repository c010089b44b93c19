#!/bin/bash
# `user nobody`: after opening the listeners sluice runs as nobody (65534)
# with exactly CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE (CapEff
# 0x3400) in every
# thread, and everything that happens per flow still works after the drop,
# IPv4 and IPv6:
#  - new flows get new transparent reply sockets (relay answers from the
#    server's address, the server sees the gateway);
#  - the raw-socket reply path (a local service owns the port) still works
#    (CAP_NET_RAW kept, the raw sockets opened);
#  - flows to a privileged port (443 here; DNS 53 and NTP 123 alike) work:
#    their reply sockets bind ORIGDST:443 with CAP_NET_BIND_SERVICE.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody" >&2; exit 77; }
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

conf=$(lab_conf priv.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=30
intercept udp 5302 relay timeout=30
intercept udp 443 relay timeout=30
user nobody
metrics 127.0.0.1:9153
workers 2
EOF
)
for p in 5300 5302 443; do
	lab_bg "$LAB_UP" "srv4-$p" "$LAB_PY" -u "$LAB_DIR/udptool.py" server --bind "$UP4" --port $p
	lab_bg "$LAB_UP" "srv6-$p" "$LAB_PY" -u "$LAB_DIR/udptool.py" server --bind "$UP6" --port $p
done
for p in 5300 5302 443; do
	lab_wait_log "srv4-$p" ready 10 && lab_wait_log "srv6-$p" ready 10 || exit 99
done
# Local services that own port 5302 on the gateway (started before any flow).
lab_server_in "$LAB_GW" loc4 0.0.0.0 5302 --tag local4 || exit 99
lab_server_in "$LAB_GW" loc6 :: 5302 --tag local6 --v6only || exit 99
lab_sluice "$conf" || exit 99
client() { in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client "$@"; }
field() { sed -n "s/^$2:[[:space:]]*//p" "$1"; }

check "it logs the drop" grep -q "running as nobody (uid $nobody_uid) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE" \
	"$LAB_WORK/sluice.log"
st=/proc/$SLUICE_PID/status
check "Uid is nobody (real, effective, saved, fs)" \
	expect_eq "$(field "$st" Uid | tr -s '\t ' ' ')" "$nobody_uid $nobody_uid $nobody_uid $nobody_uid"
check "Gid is nobody's group" \
	expect_eq "$(field "$st" Gid | tr -s '\t ' ' ')" "$nobody_gid $nobody_gid $nobody_gid $nobody_gid"
check "CapEff is exactly CAP_NET_ADMIN|CAP_NET_RAW|CAP_NET_BIND_SERVICE" expect_eq "$(field "$st" CapEff)" 0000000000003400
check "CapPrm is exactly CAP_NET_ADMIN|CAP_NET_RAW|CAP_NET_BIND_SERVICE" expect_eq "$(field "$st" CapPrm)" 0000000000003400
check "CapInh is empty" expect_eq "$(field "$st" CapInh)" 0000000000000000
ntask=0 bad=""
for t in /proc/$SLUICE_PID/task/*/status; do
	ntask=$((ntask + 1))
	[ "$(field "$t" CapEff)" = 0000000000003400 ] || bad="$bad $t"
	[ "$(field "$t" Uid | tr -s '\t ' ' ')" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] || bad="$bad $t"
done
check "every thread ($ntask: main + 2 workers at least) runs as nobody with CapEff 0x3400" \
	test "$ntask" -ge 3 -a -z "$bad"

# New flows after the drop: new transparent reply sockets.
m0=$(lab_metrics)
out=$(client --to "$UP4" --port 5300 --msg p4)
check "IPv4: a new flow is relayed and answered from $UP4:5300" expect_contains "$out" "from $UP4:5300 seen $GWU4:"
out=$(client --to "$UP6" --port 5300 --msg p6)
check "IPv6: a new flow is relayed and answered from [$UP6]:5300" expect_contains "$out" "from $UP6:5300 seen $GWU6:"
check "through two new transparent reply sockets" \
	expect_eq "$(lab_metric reply_sockets_opened)" $(($(mval "$m0" reply_sockets_opened) + 2))
out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --to "$UP4" --port 5300 --n 50)
check "IPv4: 50 concurrent new flows each get their own answer" expect_contains "$out" "answered 50/50 wrong 0 sources $GWU4"
out=$(in_cli "$LAB_PY" "$LAB_DIR/udptool.py" flows --to "$UP6" --port 5300 --n 50)
check "IPv6: 50 concurrent new flows each get their own answer" expect_contains "$out" "answered 50/50 wrong 0 sources $GWU6"

# The raw path after the drop: the local services own 5302.
raw0=$(lab_metric reply_raw)
out=$(client --to "$UP4" --port 5302 --msg r4)
check "IPv4: a flow to a locally owned port is answered from $UP4:5302" expect_contains "$out" "from $UP4:5302 seen $GWU4:"
out=$(client --to "$UP6" --port 5302 --msg r6)
check "IPv6: a flow to a locally owned port is answered from [$UP6]:5302" expect_contains "$out" "from $UP6:5302 seen $GWU6:"
check "both through the raw socket (reply_raw +2)" expect_eq "$(lab_metric reply_raw)" $((raw0 + 2))
out=$(client --to "$GWC4" --port 5302 --msg l4)
check "IPv4: the local service still has its port" expect_contains "$out" "from $GWC4:5302 local4 seen $CLI4:"

# A privileged port: binding a reply socket to ORIGDST:443 needs
# CAP_NET_BIND_SERVICE (ports below net.ipv4.ip_unprivileged_port_start), so
# the drop keeps it; the flows are answered like any other.
ref0=$(lab_metric flows_refused)
out=$(client --to "$UP4" --port 443 --msg q4 --timeout 2)
check "IPv4: a flow to port 443 is answered after the drop" expect_contains "$out" "from $UP4:443 seen $GWU4:"
out=$(client --to "$UP6" --port 443 --msg q6 --timeout 2)
check "IPv6: a flow to port 443 is answered after the drop" expect_contains "$out" "from $UP6:443 seen $GWU6:"
check "none refused (flows_refused unchanged)" expect_eq "$(lab_metric flows_refused)" "$ref0"
check "sluice is still running" kill -0 "$SLUICE_PID"
lab_finish
