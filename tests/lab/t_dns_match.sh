#!/bin/bash
# `sluice match -c FILE NAME [TYPE]` explains which dns-rule decides a name
# (no namespaces needed, runs without root):
#  - a blocked name: the action, the rule as FILE:LINE, and the list entry
#    that matched with the list file and its line (the most specific entry
#    for a name under two entries; the active line, not the disabled one,
#    for webnovel.com);
#  - an adblock @@ exception is not blocked by its list;
#  - a routed name: forward GROUP, the rule's FILE:LINE, the dnsmasq list
#    entry FILE:LINE, or the geosite entry (geosite.dat from ../shared/data
#    when present; always geosite-dir with the demo's dlc excerpt), and the
#    group's policy and servers (its cache state against a running daemon:
#    t_ctl.sh);
#  - qtype: rules and the TYPE argument; address rules list their addresses;
#  - an unmatched name without an `all` rule: "no rule matches" and the
#    default (the first group, or passthrough without groups);
#  - NAME in presentation form: \DDD and \X escapes are read and the name is
#    explained in the canonical form a query for it gets (\065D -> ad, \. ->
#    \046); two 60-byte labels of byte 1 (\001) in front of a listed name
#    are blocked by the same entry, and a regexp sees the escapes as text;
#  - errors: an unknown TYPE, a missing NAME, and a NAME that is no domain
#    name (a label over 63 bytes, an empty label, a bad escape) exit 2.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lab/lab.sh"
[ -x "$SLUICE" ] || { echo "FAIL: no sluice binary at $SLUICE" >&2; exit 99; }
top=${top_srcdir:-$LAB_DIR/../..}
top=$(cd "$top" && pwd)
data=$top/tests/data/dns
dlc=$top/tests/data/demo/dlc
dat=$top/../shared/data/geosite.dat
W=$(mktemp -d "${TMPDIR:-/tmp}/sluice-match.XXXXXX") || exit 99
trap 'rm -rf "$W"' EXIT

# mkconf NAME GEOSITE-LINE - a config using the fixtures; prints its path.
mkconf() {
	cat > "$W/$1" <<EOF
listen 0.0.0.0:15000
intercept udp 53 dns
upstream domestic udp://203.0.113.4
upstream abroad udp://203.0.113.3
list ads adblock:$data/ads.txt
list china dnsmasq:$data/china.conf
$2
dns-rule list:ads block nxdomain
dns-rule list:china forward domestic
dns-rule geosite:cn forward abroad
dns-rule qtype:HTTPS block refused
dns-rule full:addr.example address 192.0.2.77 2001:db8:77::77
EOF
	echo "$W/$1"
}
# line CONF TEXT - the line number of TEXT in CONF.
line() { grep -nF -- "$2" "$1" | head -n1 | cut -d: -f1; }
m() { "$SLUICE" match -c "$conf" "$@" 2>/dev/null; }
# entry_on_line OUT - the "entry KIND:VALUE at FILE:LINE" of OUT names a line
# of FILE that holds VALUE as a whole entry (||VALUE^ or /VALUE/).
entry_on_line() {
	local v f l
	v=$(sed -n 's/.* entry [a-z]*:\([^ ]*\) at .*/\1/p' <<<"$1")
	f=$(sed -n 's/.* entry .* at \(.*\):[0-9]*$/\1/p' <<<"$1")
	l=$(sed -n 's/.* entry .* at .*:\([0-9]*\)$/\1/p' <<<"$1")
	[ -n "$v" ] && [ -n "$l" ] && sed -n "${l}p" "$f" | grep -Eq "(\|\||/)$(re_ip "$v")(\^|/|\$)" && return 0
	echo "  '$v' is not the entry on $f:$l: $(sed -n "${l:-0}p" "$f" 2>/dev/null)" >&2
	return 1
}

for kind in dir dat; do
	if [ $kind = dat ]; then
		if [ ! -f "$dat" ]; then
			echo "note: $dat is absent; the geosite.dat checks are skipped"
			continue
		fi
		conf=$(mkconf dat.conf "geosite $dat")
	else
		conf=$(mkconf dir.conf "geosite-dir $dlc")
	fi
	la=$(line "$conf" "dns-rule list:ads") lc=$(line "$conf" "dns-rule list:china")
	lg=$(line "$conf" "dns-rule geosite:cn") lq=$(line "$conf" "dns-rule qtype:HTTPS")
	ld=$(line "$conf" "dns-rule full:addr.example")

	out=$(m www.doubleclick.net)
	check "$kind: www.doubleclick.net: block nxdomain, rule $conf:$la" \
		expect_eq "$(sed -n 1,2p <<<"$out")" "www.doubleclick.net A: block nxdomain
  rule $conf:$la: dns-rule list:ads"
	check "$kind: www.doubleclick.net: entry ||doubleclick.net^ at ads.txt:4" \
		expect_eq "$(sed -n 3p <<<"$out")" \
		"  matched list 'ads' (adblock:$data/ads.txt) entry domain:doubleclick.net at $data/ads.txt:4"
	out=$(m AD.DoubleClick.NET.)
	check "$kind: AD.DoubleClick.NET.: lowercased, the dot dropped, block nxdomain" \
		expect_eq "$(sed -n 1p <<<"$out")" "ad.doubleclick.net A: block nxdomain"
	check "$kind: AD.DoubleClick.NET.: an entry of ads.txt that covers it (line 3 or 4)" \
		expect_match "$out" "entry domain:(ad\.)?doubleclick\.net at $data/ads\.txt:[34]$"
	# Lines 3 and 4 are ||ad.doubleclick.net^ and ||doubleclick.net^; the
	# set drops the redundant first one, but its line number sticks to the
	# entry that stays ("domain:doubleclick.net at ads.txt:3").
	check "$kind: AD.DoubleClick.NET.: the entry printed is the one on the line printed" \
		entry_on_line "$out"
	b60=$(printf '\\001%.0s' $(seq 60))
	out=$(m "$b60.$b60.WWW.doubleclick.net")
	check "$kind: 2 x 60 bytes 1 + .www.doubleclick.net: block nxdomain, rule $conf:$la" \
		expect_eq "$(sed -n 1,2p <<<"$out")" "$b60.$b60.www.doubleclick.net A: block nxdomain
  rule $conf:$la: dns-rule list:ads"
	check "$kind: 2 x 60 bytes 1 + .www.doubleclick.net: entry ||doubleclick.net^ at ads.txt:4" \
		expect_eq "$(sed -n 3p <<<"$out")" \
		"  matched list 'ads' (adblock:$data/ads.txt) entry domain:doubleclick.net at $data/ads.txt:4"
	out=$(m '\065D.DoubleClick.NET')
	check "$kind: \\065D.DoubleClick.NET reads as ad.doubleclick.net" \
		expect_eq "$(sed -n 1p <<<"$out")" "ad.doubleclick.net A: block nxdomain"
	out=$(m 'x\.ad.doubleclick.net')
	check "$kind: x\\.ad.doubleclick.net: one label x\\046ad, under doubleclick.net" \
		expect_eq "$(sed -n 1p <<<"$out")" "x\\046ad.doubleclick.net A: block nxdomain"
	out=$(m x.ads.example AAAA)
	check "$kind: x.ads.example AAAA: the synthetic entry at ads.txt:10" \
		expect_contains "$out" "entry domain:ads.example at $data/ads.txt:10"
	out=$(m sub.ok.ads.example)
	check "$kind: sub.ok.ads.example (@@ exception): not blocked, no rule matches" \
		expect_eq "$out" "sub.ok.ads.example A: no rule matches: default forward domestic (the first upstream group)
  group domestic: policy=order udp://203.0.113.4:53"

	out=$(m www.qq.com)
	check "$kind: www.qq.com: forward domestic, rule $conf:$lc, china.conf:3" \
		expect_eq "$out" "www.qq.com A: forward domestic
  rule $conf:$lc: dns-rule list:china
  matched list 'china' (dnsmasq:$data/china.conf) entry domain:qq.com at $data/china.conf:3
  group domestic: policy=order udp://203.0.113.4:53"
	out=$(m webnovel.com)
	check "$kind: webnovel.com: the active line china.conf:4, not the disabled one" \
		expect_contains "$out" "entry domain:webnovel.com at $data/china.conf:4"
	check "$kind: webnovel.com: that line holds that entry" entry_on_line "$out"
	out=$(m foo.gov.cn)
	check "$kind: foo.gov.cn: the whole-TLD entry cn at china.conf:2" \
		expect_contains "$out" "entry domain:cn at $data/china.conf:2"

	if [ $kind = dat ]; then
		out=$(m www.126.link)
		check "dat: www.126.link: forward abroad, rule $conf:$lg, entry domain:126.link in geosite.dat" \
			expect_eq "$out" "www.126.link A: forward abroad
  rule $conf:$lg: dns-rule geosite:cn
  matched geosite:cn entry domain:126.link in $dat
  group abroad: policy=order udp://203.0.113.3:53"
	else
		out=$(m img.bdstatic.com)
		check "dir: img.bdstatic.com: forward abroad, rule $conf:$lg, entry domain:bdstatic.com in $dlc" \
			expect_eq "$out" "img.bdstatic.com A: forward abroad
  rule $conf:$lg: dns-rule geosite:cn
  matched geosite:cn entry domain:bdstatic.com in $dlc
  group abroad: policy=order udp://203.0.113.3:53"
	fi

	out=$(m example.org)
	check "$kind: example.org: no rule matches, default forward domestic" \
		expect_eq "$out" "example.org A: no rule matches: default forward domestic (the first upstream group)
  group domestic: policy=order udp://203.0.113.4:53"
	out=$(m example.org HTTPS)
	check "$kind: example.org HTTPS: block refused by rule $conf:$lq (matched qtype:HTTPS)" \
		expect_eq "$out" "example.org HTTPS: block refused
  rule $conf:$lq: dns-rule qtype:HTTPS
  matched qtype:HTTPS"
	out=$(m example.org 65)
	check "$kind: TYPE as a number (65) is HTTPS too" expect_contains "$out" "example.org HTTPS: block refused"
	out=$(m addr.example AAAA)
	check "$kind: addr.example: address 192.0.2.77 2001:db8:77::77, rule $conf:$ld" \
		expect_eq "$(sed -n 1,2p <<<"$out")" "addr.example AAAA: address 192.0.2.77 2001:db8:77::77
  rule $conf:$ld: dns-rule full:addr.example"
done

# Without upstream groups the default is passthrough.
conf=$W/nogroups.conf
printf 'listen 0.0.0.0:15000\nintercept udp 53 dns\ndns-rule full:a.example block zero\n' > "$conf"
out=$(m b.example)
check "no groups: b.example: no rule matches, default passthrough" \
	expect_eq "$out" "b.example A: no rule matches: default passthrough (to the resolver the client asked)"
out=$(m a.example)
check "no groups: a.example: block zero, rule $conf:3, matched full:a.example" \
	expect_eq "$out" "a.example A: block zero
  rule $conf:3: dns-rule full:a.example
  matched full:a.example"
"$SLUICE" match -c "$conf" a.example NOSUCHTYPE >/dev/null 2>&1
check "an unknown TYPE exits 2" expect_eq "$?" 2
"$SLUICE" match -c "$conf" >/dev/null 2>&1
check "no NAME exits 2" expect_eq "$?" 2
"$SLUICE" match -c "$conf" a.example >/dev/null 2>&1
check "a match exits 0" expect_eq "$?" 0
for bad in "$(printf 'a%.0s' $(seq 64)).example" a..example 'a\25.example' ''; do
	"$SLUICE" match -c "$conf" "$bad" >/dev/null 2>&1
	check "'$bad' (not a domain name) exits 2" expect_eq "$?" 2
done
# A regexp sees a byte written \DDD as those four characters, at any length.
conf=$W/escapes.conf
printf '%s\n' 'listen 0.0.0.0:15000' 'intercept udp 53 dns' 'dns-rule regexp:^\\001\. block refused' \
	'dns-rule regexp:\.\\001\.b\.example$ block zero' > "$conf"
b63=$(printf '\\001%.0s' $(seq 63))
out=$(m '\001.B.example')
check "regexp:^\\\\001\\. matches \\001.b.example" \
	expect_eq "$(sed -n 1p <<<"$out")" "\\001.b.example A: block refused"
out=$(m "$b63.b.example")
check "... not a name whose first label is 63 bytes 1" expect_contains "$out" "no rule matches"
out=$(m "$b63.\\001.b.example")
check "regexp:\\.\\\\001\\.b\\.example\$ matches 63 bytes 1 + .\\001.b.example (267 characters)" \
	expect_eq "$(sed -n 1,3p <<<"$out")" "$b63.\\001.b.example A: block zero
  rule $conf:4: dns-rule regexp:\\.\\\\001\\.b\\.example\$
  matched regexp:\\.\\\\001\\.b\\.example\$"
lab_finish
