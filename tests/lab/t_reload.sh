#!/bin/bash
# Signals, IPv4 and IPv6:
#  - SIGHUP with a changed config (a new `intercept udp 5301 relay`, and the
#    nft ruleset regenerated and reloaded): the new port goes through sluice
#    (before the reload it passed untouched: the server saw the client);
#  - flows that were running before the reload keep their session (the
#    server sees one and the same upstream port for all their datagrams)
#    and keep being answered across both reloads;
#  - SIGHUP with a broken config logs "reload failed, keeping the running
#    config: FILE:LINE: ..." and the running config (with 5301) keeps
#    serving; a fixed config then reloads again;
#  - SIGUSR1 logs "stats:" lines.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
lab_up || exit 99

base='listen 0.0.0.0:15000 [::]:15000
intercept udp 5300 relay timeout=30
metrics 127.0.0.1:9153
workers 2'
conf=$(lab_conf reload.conf <<<"$base")
for p in 5300 5301; do
	lab_server "srv4-$p" "$UP4" $p --log || exit 99
	lab_server "srv6-$p" "$UP6" $p --log || exit 99
done
lab_sluice "$conf" || exit 99
client() { in_cli "$LAB_PY" "$LAB_DIR/udptool.py" client "$@"; }
slog=$LAB_WORK/sluice.log

# Long flows (a datagram every 0.2 s until told to stop) that span both reloads.
lab_bg "$LAB_CLI" long4 "$LAB_PY" -u "$LAB_DIR/udptool.py" client --to "$UP4" --port 5300 \
	--msg long4 --count 300 --interval 0.2 --until-file "$LAB_WORK/long.stop"
long4=$LAB_LAST_PID
lab_bg "$LAB_CLI" long6 "$LAB_PY" -u "$LAB_DIR/udptool.py" client --to "$UP6" --port 5300 \
	--msg long6 --count 300 --interval 0.2 --until-file "$LAB_WORK/long.stop"
long6=$LAB_LAST_PID
lab_wait_log long4 "^from" 5 && lab_wait_log long6 "^from" 5

out=$(client --to "$UP4" --port 5301 --msg before4)
check "IPv4: before the reload 5301 is not intercepted (the server sees the client)" \
	expect_contains "$out" "from $UP4:5301 seen $CLI4:"
out=$(client --to "$UP6" --port 5301 --msg before6)
check "IPv6: before the reload 5301 is not intercepted (the server sees the client)" \
	expect_contains "$out" "from $UP6:5301 seen $CLI6:"

# 1. A good new config: 5301 added; ruleset reloaded; SIGHUP.
printf '%s\nintercept udp 5301 relay timeout=30\n' "$base" > "$conf"
lab_nft "$conf" || exit 99
kill -HUP "$SLUICE_PID"
lab_wait_log sluice "configuration reloaded from $conf" 5
check "SIGHUP: the new config is loaded" grep -q "configuration reloaded from $conf" "$slog"
out=$(client --to "$UP4" --port 5301 --msg after4)
check "IPv4: after the reload 5301 goes through sluice" expect_contains "$out" "from $UP4:5301 seen $GWU4:"
out=$(client --to "$UP6" --port 5301 --msg after6)
check "IPv6: after the reload 5301 goes through sluice" expect_contains "$out" "from $UP6:5301 seen $GWU6:"
out=$(client --to "$UP4" --port 5300 --msg new4)
check "IPv4: new flows on the old port still work" expect_contains "$out" "from $UP4:5300 seen $GWU4:"
out=$(client --to "$UP6" --port 5300 --msg new6)
check "IPv6: new flows on the old port still work" expect_contains "$out" "from $UP6:5300 seen $GWU6:"

# 2. A broken config (line 3): reported with FILE:LINE, the running one kept.
printf 'listen 0.0.0.0:15000 [::]:15000\nintercept udp 5300 relay\nintercept udp 99999 relay\n' > "$conf"
kill -HUP "$SLUICE_PID"
lab_wait_log sluice "reload failed" 5
check "SIGHUP with a broken config: 'reload failed, keeping the running config: FILE:LINE: ...'" \
	grep -q "reload failed, keeping the running config: $conf:3: .*99999" "$slog"
check "sluice is still running" kill -0 "$SLUICE_PID"
out=$(client --to "$UP4" --port 5301 --msg kept4)
check "IPv4: the running config (with 5301) still serves" expect_contains "$out" "from $UP4:5301 seen $GWU4:"
out=$(client --to "$UP6" --port 5301 --msg kept6)
check "IPv6: the running config (with 5301) still serves" expect_contains "$out" "from $UP6:5301 seen $GWU6:"
out=$(client --to "$UP4" --port 5300 --msg kept4)
check "IPv4: and a new flow on 5300 is answered" expect_contains "$out" "from $UP4:5300 seen $GWU4:"

# 3. Fixed again: reloads.
printf '%s\nintercept udp 5301 relay timeout=30\n' "$base" > "$conf"
kill -HUP "$SLUICE_PID"
for _ in $(seq 50); do
	[ "$(grep -c "configuration reloaded" "$slog")" -ge 2 ] && break
	sleep 0.1
done
check "a fixed config reloads again" expect_eq "$(grep -c "configuration reloaded" "$slog")" 2

# The long flows: every datagram answered, all through one session (the
# server saw one upstream port).
touch "$LAB_WORK/long.stop"
lab_wait "$long4" 10
lab_wait "$long6" 10
nlong=0
for v in 4 6; do
	if [ $v = 4 ]; then up=$UP4 gwu=$GWU4; else up=$UP6 gwu=$GWU6; fi
	n=$(sed -n 's/^done //p' "$LAB_WORK/long$v.log")
	nlong=$((nlong + ${n:-0}))
	check "IPv$v: the long flow got all its ${n:-?} answers across the reloads" \
		test "${n:-0}" -ge 3 -a "$(grep -c "^from $up:5300 seen $gwu:[0-9]* data long$v\$" "$LAB_WORK/long$v.log")" = "${n:-x}"
	ports=$(sed -n "s/^seen .*:\([0-9]*\) data long$v\$/\1/p" "$LAB_WORK/srv$v-5300.log" | sort -u | wc -l)
	check "IPv$v: it kept its session (one upstream port for all)" expect_eq "$ports" 1
done

# SIGUSR1: stats in the log.
kill -USR1 "$SLUICE_PID"
lab_wait_log sluice "stats: relay_tx" 5
check "SIGUSR1 logs stats: flows_active" grep -Eq "stats: flows_active [0-9]+" "$slog"
check "SIGUSR1 logs stats: flows_created" grep -Eq "stats: flows_created [0-9]+" "$slog"
check "SIGUSR1 logs stats: relay_tx (all $((nlong + 7)) relayed)" \
	expect_eq "$(sed -n 's/.*stats: relay_tx \([0-9]*\)$/\1/p' "$slog" | tail -n1)" $((nlong + 7))
check "sluice is still running after the signals" kill -0 "$SLUICE_PID"
lab_stop "$SLUICE_PID"
check "and stops with exit 0" expect_eq "$LAB_STOP_RC" 0
lab_finish
