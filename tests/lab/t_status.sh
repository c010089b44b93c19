#!/bin/bash
# The status page at the metrics address (/), loaded in headless Chromium
# after traffic has flowed: IPv4 and IPv6 DNS clients (forwarded, cached,
# blocked names) against unbound "abroad" (203.0.113.3 and
# 2001:db8:113::3), and QUIC Initials (one passed, one blocked by SNI).
#  - every number on the page that stands for a metric (data-metric=NAME)
#    equals /metrics read at the same time (no traffic in between);
#  - the top names, clients and blocked tables and the QUIC verdicts show
#    what was sent, with its counts; both upstream servers are listed with
#    their answer counts, equal to the histograms' _count in /metrics;
#  - /metrics has a latency histogram per server (cumulative buckets, +Inf
#    = _count, _sum) and their counts add up to dns_upstream_answers;
#  - the queries-per-second plot is an inline SVG with points; the page
#    has no external asset (no src=/href= to anything) and reloads itself;
#  - a screenshot is taken (kept as status.png in the work directory and
#    copied to $STATUS_PNG when set) and is a real PNG of the page's size;
#  - an unknown path is 404.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
lab_require
for t in dig chromium; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done
lab_up || exit 99

lab_unbound abroad 203.0.113.3 2001:db8:113::3 'local-zone: "." redirect' \
	'local-data: ". 300 IN A 192.0.2.31"' 'local-data: ". 300 IN AAAA 2001:db8:31::31"' || exit 99
W=$LAB_WORK
# Long session timeouts: no flow may expire between the /metrics read and
# the page's, which a slow Chromium start on a busy machine puts seconds apart.
conf=$(lab_conf status.conf <<EOF
listen 0.0.0.0:15000 [::]:15000
intercept udp 53 dns timeout=600
intercept udp 443 quic timeout=600
metrics 127.0.0.1:9153
workers 2
upstream abroad udp://203.0.113.3 udp://[2001:db8:113::3]
upstream six udp://[2001:db8:113::3]
quic-rule full:blocked.quic.example block
dns-rule domain:ads.example block nxdomain
dns-rule domain:six.example forward six
dns-rule all forward abroad
EOF
)
lab_sluice "$conf" || exit 99

for v in 4 6; do
	if [ $v = 4 ]; then res=192.0.2.53; else res=2001:db8:53::53; fi
	for i in 1 2 3 4 5 6; do lab_dig "$LAB_CLI" @$res www.popular.example A >/dev/null; done
	for i in 1 2 3; do lab_dig "$LAB_CLI" @$res tracker.ads.example A >/dev/null; done
	lab_dig "$LAB_CLI" @$res v$v.six.example AAAA >/dev/null
	lab_dig "$LAB_CLI" @$res v$v.once.example A >/dev/null
done
lab_quic_hello "$LAB_CLI" 203.0.113.7 sni=blocked.quic.example timeout=0.5 >/dev/null
lab_quic_hello "$LAB_CLI" 2001:db8:113::7 sni=fine.quic.example timeout=0.5 >/dev/null
sleep 2.5 # a few seconds of history for the plot

chrome() { # chrome ARGS... - headless Chromium in the gateway (root: no sandbox)
	in_gw timeout 90 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$W/chrome" "$@" 2>>"$W/chrome.log"
}
metrics=$(in_gw "$LAB_PY" -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9153/metrics", timeout=3).read().decode())')
chrome --dump-dom http://127.0.0.1:9153/ > "$W/page.html"
chrome --window-size=1280,1800 --screenshot="$W/status.png" http://127.0.0.1:9153/ >/dev/null
page=$(cat "$W/page.html")

# Every data-metric number on the page against /metrics.
printf '%s\n' "$metrics" > "$W/metrics.txt"
cmp=$("$LAB_PY" - "$W/page.html" "$W/metrics.txt" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
m = {}
for line in open(sys.argv[2]):
    if line.startswith("sluice_") and "{" not in line:
        k, v = line.split()[:2]
        m[k] = v
bad = [(k, v, m.get(k)) for k, v in re.findall(r'data-metric="([^"]+)"[^>]*>([0-9]+)<', page)
       if m.get(k) != v]
n = len(re.findall(r'data-metric=', page))
print("%d %s" % (n, bad if bad else "ok"))
PY
)
check "every metric number on the page equals /metrics (${cmp%% *} of them)" expect_match "$cmp" "^[1-9][0-9]+ ok$"
check "dns_queries on the page" expect_match "$page" "data-metric=\"sluice_dns_queries_total\">22<"

row() { # row TABLE-ID TEXT - the count in TABLE-ID's row for TEXT
	"$LAB_PY" - "$W/page.html" "$1" "$2" <<'PY'
import re, sys
page, tid, text = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
t = re.search(r'<table id="?%s"?>(.*?)</table>' % re.escape(tid), page, re.S)
for c, name in re.findall(r'<td class="?n"?>([0-9]+)</td><td>(.*?)</td>', t.group(1) if t else ""):
    if name == text:
        print(c); break
else:
    print("none")
PY
}
check "top names: www.popular.example 12" expect_eq "$(row top-names www.popular.example)" 12
check "top clients: the IPv4 client, 11 queries" expect_eq "$(row top-clients "$CLI4")" 11
check "top clients: the IPv6 client, 11 queries" expect_eq "$(row top-clients "$CLI6")" 11
check "most blocked: tracker.ads.example 6" expect_eq "$(row top-blocked tracker.ads.example)" 6
check "QUIC verdicts: the blocked name" expect_eq "$(row top-quic "block blocked.quic.example")" 1
check "QUIC verdicts: the passed name" expect_eq "$(row top-quic "pass fine.quic.example")" 1

# Upstream latency: the page's rows, the histograms.
hist=$(grep '^sluice_dns_upstream_latency_seconds' <<<"$metrics")
cnt() { awk -v s="$1" -F'[{}]' '$1 == "sluice_dns_upstream_latency_seconds_count" && $2 == "server=\"" s "\"" { split($3, a, " "); print a[1] }' <<<"$hist"; }
inf() { awk -v s="$1" -F'[{}]' '$1 == "sluice_dns_upstream_latency_seconds_bucket" && $2 == "server=\"" s "\",le=\"+Inf\"" { split($3, a, " "); print a[1] }' <<<"$hist"; }
s4=udp://203.0.113.3:53 s6='udp://[2001:db8:113::3]:53'
check "a histogram per server, +Inf = _count" \
	expect_eq "$(inf $s4)/$(inf "$s6")" "$(cnt $s4)/$(cnt "$s6")"
check "the servers' counts add up to dns_upstream_answers" \
	expect_eq "$(( $(cnt $s4) + $(cnt "$s6") ))" "$(awk '$1 == "sluice_dns_upstream_answers_total" { print $2 }' <<<"$metrics")"
check "buckets are cumulative" expect_eq "$(awk -F'[{}]' '/_bucket/ && $2 ~ /203\.0\.113\.3/ { split($3, a, " "); if (a[1] + 0 < last) bad = 1; last = a[1] + 0 } END { print bad ? "no" : "yes" }' <<<"$hist")" yes
check "_sum per server" expect_match "$hist" "sluice_dns_upstream_latency_seconds_sum\{server=\"udp://203\.0\.113\.3:53\"\} [0-9]+\.[0-9]+"
up_row() { "$LAB_PY" - "$W/page.html" "$1" <<'PY'
import html, re, sys
page, sv = open(sys.argv[1]).read(), sys.argv[2]
for name, c in re.findall(r'<tr><td>([^<]*)</td><td class="?n"? data-server-count="?"?>([0-9]+)<', page):
    if html.unescape(name) == sv:
        print(c); break
else:
    print("none")
PY
}
check "the page lists udp://203.0.113.3:53 with its answers" expect_eq "$(up_row $s4)" "$(cnt $s4)"
check "the page lists the IPv6 server with its answers" expect_eq "$(up_row "$s6")" "$(cnt "$s6")"

check "the plot is inline SVG with points" expect_match "$page" '<svg id="?qps-plot"?[^>]*>.*<polyline [^>]*points="[0-9.]+,[0-9.]+ [0-9.]+,[0-9.]+'
check "no external assets" expect_eq "$(grep -Eo '(src|href)=' <<<"$page" | wc -l)" 0
check "the page reloads itself" expect_match "$page" '<meta http-equiv="refresh" content="5">'

sz=$("$LAB_PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%d %dx%d" % ((d[:8] == b"\x89PNG\r\n\x1a\n",) + struct.unpack(">II", d[16:24])))' "$W/status.png" 2>/dev/null)
check "a screenshot: a PNG of 1280x1800" expect_eq "$sz" "1 1280x1800"
[ -n "$STATUS_PNG" ] && cp "$W/status.png" "$STATUS_PNG"
echo "# screenshot: $W/status.png (kept while the test runs; set STATUS_PNG=FILE to keep a copy)"

code=$(in_gw "$LAB_PY" -c '
import urllib.request, urllib.error
try: urllib.request.urlopen("http://127.0.0.1:9153/nothing", timeout=3); print(200)
except urllib.error.HTTPError as e: print(e.code)')
check "an unknown path is 404" expect_eq "$code" 404
lab_finish
