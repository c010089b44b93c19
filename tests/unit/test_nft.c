#include "config.h"
/* test_nft.c - the ruleset `sluice rules` prints (nft.c) for a range of
 * configs: the tproxy rule per family with the listener's port, the early
 * return for sluice's own mark, the bypass sets, interfaces, the fail-closed
 * drop and the output chain. When nft is installed and we are root, each
 * ruleset is also checked by nft itself (`nft -c -f`) in a throw-away
 * network namespace; otherwise that part is skipped. */

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "nft.h"

struct tdir {
	char path[256];
};

static int group_setup(void **state)
{
	struct tdir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/sluice-test-nft-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	*state = d;
	return 0;
}

static int group_teardown(void **state)
{
	struct tdir *d = *state;
	char p[300];

	snprintf(p, sizeof(p), "%s/t.conf", d->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/t.nft", d->path);
	unlink(p);
	rmdir(d->path);
	free(d);
	return 0;
}

static struct cfg *load(const struct tdir *d, const char *text)
{
	char path[300], err[1024];
	FILE *f;
	struct cfg *c;

	snprintf(path, sizeof(path), "%s/t.conf", d->path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("config failed: %s", err);
	return c;
}

typedef void (*printer)(const struct cfg *c, FILE *out);

static char *render(const struct cfg *c, printer p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	p(c, f);
	fclose(f);
	assert_non_null(buf);
	return buf;
}

static char *rules_for(const struct tdir *d, const char *text)
{
	struct cfg *c = load(d, text);
	char *s = render(c, nft_print_rules);

	cfg_free(c);
	return s;
}

static void has(const char *out, const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("missing '%s' in:\n%s", needle, out);
}

static void lacks(const char *out, const char *needle)
{
	if (strstr(out, needle))
		fail_msg("unexpected '%s' in:\n%s", needle, out);
}

static size_t count(const char *out, const char *needle)
{
	size_t n = 0;

	for (const char *p = out; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* The text of "set NAME { ... }" (up to its closing brace line). */
static char *set_body(const char *out, const char *name)
{
	char hdr[64];
	const char *s, *e;

	snprintf(hdr, sizeof(hdr), "set %s {", name);
	s = strstr(out, hdr);
	if (!s)
		fail_msg("no '%s' in:\n%s", hdr, out);
	e = strstr(s, "\n\t}");
	assert_non_null(e);
	return strndup(s, (size_t)(e - s));
}

/* The line containing needle, as a new string. */
static char *line_with(const char *out, const char *needle)
{
	const char *p = strstr(out, needle), *s, *e;

	if (!p)
		fail_msg("missing '%s' in:\n%s", needle, out);
	for (s = p; s > out && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* nft -c -f FILE in a fresh network namespace: 1 ok, 0 rejected, -1 not possible here. */
static int nft_check(const struct tdir *d, const char *rules, char *why, size_t wlen)
{
	char path[300], cmd[700];
	FILE *f;
	int rc;

	if (geteuid() != 0) {
		snprintf(why, wlen, "not root");
		return -1;
	}
	if (system("command -v nft >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1") != 0) {
		snprintf(why, wlen, "nft or unshare not installed");
		return -1;
	}
	if (system("unshare -n true >/dev/null 2>&1") != 0) {
		snprintf(why, wlen, "cannot create a network namespace");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/t.nft", d->path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(rules, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "unshare -n nft -c -f '%s' >'%s.err' 2>&1", path, path);
	rc = system(cmd);
	if (rc != 0) {
		char line[512];
		size_t n = 0;

		snprintf(cmd, sizeof(cmd), "%s.err", path);
		f = fopen(cmd, "r");
		why[0] = '\0';
		while (f && fgets(line, sizeof(line), f) && n + strlen(line) < wlen) {
			strcpy(why + n, line);
			n += strlen(line);
		}
		if (f)
			fclose(f);
		unlink(cmd);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "%s.err", path);
	unlink(cmd);
	return 1;
}

#define BASE "listen 0.0.0.0:15000 [::]:15000\nintercept udp 53 relay\nintercept udp 123 relay\n"

static void test_basic(void **state)
{
	char *out = rules_for(*state, BASE);
	char *pre;

	has(out, "table inet sluice {\n");
	has(out, "\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy "
		 "accept;\n");
	has(out,
	    "\t\tmeta nfproto ipv4 udp dport { 53, 123 } tproxy ip to :15000 meta mark set 0x1 "
	    "accept\n");
	has(out,
	    "\t\tmeta nfproto ipv6 udp dport { 53, 123 } tproxy ip6 to :15000 meta mark set 0x1 "
	    "accept\n");
	/* sluice's own datagrams (mark 0xff) return before anything else. */
	pre = strstr(out, "chain prerouting");
	assert_non_null(pre);
	assert_true(strstr(pre, "meta mark { 0xff } return") < strstr(pre, "tproxy"));
	has(out, "\t\tfib daddr type { local, broadcast, multicast } return\n");
	has(out, "\t\tip daddr @bypass4 return\n");
	has(out, "\t\tip6 daddr @bypass6 return\n");
	/* Routing it needs, as comments. */
	has(out, "#   ip rule add fwmark 0x1 lookup 100\n");
	has(out, "#   ip -6 route add local ::/0 dev lo table 100\n");
	has(out, "# Mode: fail-open");
	/* Defaults: no drop, no output chain, no interface filter. */
	lacks(out, "} counter drop");
	lacks(out, "chain output");
	lacks(out, "iifname");
	assert_int_equal(count(out, "tproxy ip"), 2);
	free(out);
}

static void test_marks_and_table(void **state)
{
	char *out = rules_for(*state, BASE "mark 0x20\ntproxy-mark 7\nroute-table 4242\n");

	has(out, "\t\tmeta mark { 0x20 } return\n");
	lacks(out, "meta mark { 0xff");
	assert_int_equal(count(out, "meta mark set 0x7 accept"), 2);
	has(out, "#   ip rule add fwmark 0x7 lookup 4242\n");
	has(out, "#   ip route add local 0.0.0.0/0 dev lo table 4242\n");
	free(out);
}

static void test_families(void **state)
{
	char *out;

	/* IPv4 only: no IPv6 tproxy rule. */
	out = rules_for(*state, "listen 0.0.0.0:15000\nintercept udp 53 relay\n");
	has(out, "meta nfproto ipv4 udp dport { 53 } tproxy ip to :15000 ");
	lacks(out, "meta nfproto ipv6");
	free(out);
	/* A lone [::] listener takes both families. */
	out = rules_for(*state, "listen [::]:16000\nintercept udp 53 relay\n");
	has(out, "meta nfproto ipv4 udp dport { 53 } tproxy ip to :16000 ");
	has(out, "meta nfproto ipv6 udp dport { 53 } tproxy ip6 to :16000 ");
	free(out);
	/* Specific addresses, one port per family. */
	out = rules_for(*state, "listen 127.0.0.1:15001 [::1]:15002\nintercept udp 3478 relay\n");
	has(out, "meta nfproto ipv4 udp dport { 3478 } tproxy ip to 127.0.0.1:15001 ");
	has(out, "meta nfproto ipv6 udp dport { 3478 } tproxy ip6 to [::1]:15002 ");
	free(out);
	/* A specific IPv6 address does not take IPv4. */
	out = rules_for(*state, "listen [::1]:15002\nintercept udp 3478 relay\n");
	lacks(out, "meta nfproto ipv4");
	has(out, "tproxy ip6 to [::1]:15002 ");
	free(out);
}

static void test_bypass(void **state)
{
	char *out =
	    rules_for(*state, BASE "bypass 192.0.2.77/24 2001:db8::/32\nbypass 203.0.113.5\n");
	char *b4 = set_body(out, "bypass4"), *b6 = set_body(out, "bypass6");

	has(b4, "type ipv4_addr; flags interval");
	has(b4, "127.0.0.0/8");
	has(b4, ", 192.0.2.0/24");
	has(b4, ", 203.0.113.5/32");
	lacks(b4, "2001:db8");
	has(b6, "type ipv6_addr; flags interval");
	has(b6, "fe80::/10");
	has(b6, ", 2001:db8::/32");
	lacks(b6, "192.0.2");
	free(b4);
	free(b6);
	free(out);
	/* Without bypass lines the sets hold only the reserved ranges. */
	out = rules_for(*state, BASE);
	b4 = set_body(out, "bypass4");
	lacks(b4, "192.0.2");
	free(b4);
	free(out);
}

static void test_interfaces(void **state)
{
	char *out = rules_for(*state, BASE "interface lan0 wlan0\n");
	char *l4 = line_with(out, "tproxy ip to"), *l6 = line_with(out, "tproxy ip6 to");

	has(l4, "\t\tiifname { \"lan0\", \"wlan0\" } meta nfproto ipv4 ");
	has(l6, "\t\tiifname { \"lan0\", \"wlan0\" } meta nfproto ipv6 ");
	lacks(l4, "\"lo\"");
	free(l4);
	free(l6);
	free(out);
}

static void test_fail_closed(void **state)
{
	char *out = rules_for(*state, BASE "fail-closed yes\n");
	const char *drop, *tp;

	/* One drop per family sluice listens for (BASE has both). */
	has(out, "\t\tmeta nfproto ipv4 udp dport { 53, 123 } counter drop\n");
	has(out, "\t\tmeta nfproto ipv6 udp dport { 53, 123 } counter drop\n");
	has(out, "# Mode: fail-closed");
	assert_int_equal(count(out, "} counter drop\n"), 2);
	/* The drop comes after both tproxy rules, inside prerouting. */
	drop = strstr(out, "} counter drop");
	tp = strstr(out, "tproxy ip6 to");
	assert_non_null(tp);
	assert_true(drop > tp);
	free(out);
	out = rules_for(*state, BASE "fail-closed no\n");
	lacks(out, "} counter drop");
	free(out);
	out = rules_for(*state, BASE "fail-closed yes\ninterface lan0\n");
	has(out, "\t\tiifname { \"lan0\" } meta nfproto ipv4 udp dport { 53, 123 } counter drop\n");
	free(out);
}

/* The anti-spoofing drop (on by default) sits before tproxy, for each protocol. */
static void test_anti_spoof_and_tcp(void **state)
{
	char *out = rules_for(*state, BASE);
	const char *as, *tp;

	has(out, "\t\tiif != \"lo\" udp dport { 53, 123 } fib saddr . iif oif missing counter drop\n");
	has(out, "\t\tmeta l4proto != udp return\n");
	lacks(out, "tcp dport");
	as = strstr(out, "fib saddr");
	tp = strstr(out, "tproxy ip to");
	assert_true(as && tp && as < tp);
	free(out);
	out = rules_for(*state, BASE "anti-spoof no\n");
	lacks(out, "fib saddr");
	free(out);
	/* DNS over TCP: TCP tproxy to the same listeners, checked and failed closed too. */
	out = rules_for(*state, "listen 0.0.0.0:15000 [::]:15000\nintercept udp 53 dns\n"
				"intercept tcp 53 dns\nintercept udp 123 relay\nfail-closed yes\n"
				"intercept-local yes\n");
	has(out, "\t\tmeta l4proto != { udp, tcp } return\n");
	has(out, "\t\tiif != \"lo\" tcp dport { 53 } fib saddr . iif oif missing counter drop\n");
	has(out, "\t\tmeta nfproto ipv4 tcp dport { 53 } tproxy ip to :15000 meta mark set 0x1 accept\n");
	has(out, "\t\tmeta nfproto ipv6 tcp dport { 53 } tproxy ip6 to :15000 meta mark set 0x1 accept\n");
	has(out, "\t\tmeta nfproto ipv4 udp dport { 53, 123 } tproxy ip to :15000");
	has(out, "\t\tmeta nfproto ipv6 tcp dport { 53 } counter drop\n");
	has(out, "\t\ttcp dport { 53 } meta mark set 0x1\n");
	has(out, "\t\tudp dport { 53, 123 } meta mark set 0x1\n");
	free(out);
}

static void test_intercept_local(void **state)
{
	char *out = rules_for(*state, BASE "intercept-local yes\nmark 0x42\ntproxy-mark 3\n");
	const char *oc;

	has(out, "\tchain output {\n\t\ttype route hook output priority mangle; policy accept;\n");
	oc = strstr(out, "chain output");
	has(oc, "\t\tmeta mark { 0x42 } return\n");
	has(oc, "\t\tudp dport { 53, 123 } meta mark set 0x3\n");
	assert_true(strstr(oc, "meta mark 0x42 return") < strstr(oc, "meta mark set 0x3"));
	assert_int_equal(count(out, "chain output"), 1);
	free(out);
	out = rules_for(*state, BASE "intercept-local no\n");
	lacks(out, "chain output");
	free(out);
	/* With interfaces, lo is added: the rerouted local datagrams come in on it. */
	out = rules_for(*state, BASE "intercept-local yes\ninterface lan0\n");
	has(out, "iifname { \"lan0\", \"lo\" } meta nfproto ipv4 ");
	free(out);
}

static void test_routes_and_cleanup(void **state)
{
	struct cfg *c = load(*state, BASE "tproxy-mark 9\nroute-table 77\n");
	char *r = render(c, nft_print_routes), *x = render(c, nft_print_cleanup);

	assert_string_equal(r, "ip rule add fwmark 0x9 lookup 77\n"
			       "ip route add local 0.0.0.0/0 dev lo table 77\n"
			       "ip -6 rule add fwmark 0x9 lookup 77\n"
			       "ip -6 route add local ::/0 dev lo table 77\n");
	has(x, "nft delete table inet sluice\n");
	has(x, "ip rule del fwmark 0x9 lookup 77\n");
	has(x, "ip -6 rule del fwmark 0x9 lookup 77\n");
	has(x, "ip route flush table 77\n");
	has(x, "ip -6 route flush table 77\n");
	free(r);
	free(x);
	cfg_free(c);
}

/* QUIC and NTP as built (configure --disable-quic / --disable-ntp refuse
 * their intercept lines): the relay limit covers relay and quic ports, the
 * same ports either way, never ntp's. */
#ifdef SL_WITH_QUIC
#define RL_443 "intercept udp 443 quic\n"
#else
#define RL_443 "intercept udp 443 relay\n"
#endif
#ifdef SL_WITH_NTP
#define RL_123 "intercept udp 123 ntp\nntp-local yes\n"
#else
#define RL_123 ""
#endif

/* dns-rate-limit and relay-rate-limit per source in the kernel: intercepted
 * ports after the anti-spoofing check and before tproxy, dns-listen
 * addresses before the early return for local ones; never for lo. */
static void test_rate_limits(void **state)
{
	char *out = rules_for(*state, BASE);
	const char *l, *tp, *loc, *as;

	lacks(out, "limit rate");
	lacks(out, "dns_limit");
	free(out);
	out = rules_for(*state, "listen 0.0.0.0:15000 [::]:15000\nintercept udp 53 dns\n" RL_443
				"intercept udp 3478 relay\n" RL_123
				"upstream a udp://192.0.2.1\ndns-rule all forward a\n"
				"dns-rate-limit 200 400\nrelay-rate-limit 1000\n"
				"dns-listen 192.0.2.5 [2001:db8::5]:5353\n");
	has(out, "\tset dns_limit4 {\n\t\ttype ipv4_addr; size 65536; flags dynamic,timeout; "
		 "timeout 1m\n\t}\n");
	has(out, "\tset dns_limit6 {\n\t\ttype ipv6_addr;");
	has(out, "\tset relay_limit4 {\n");
	has(out, "\tset relay_limit6 {\n");
	has(out, "\t\tiif != \"lo\" meta nfproto ipv4 udp dport { 53 } update @dns_limit4 { ip saddr "
		 "limit rate over 200/second burst 400 packets } counter drop\n");
	has(out, "\t\tiif != \"lo\" meta nfproto ipv6 udp dport { 53 } update @dns_limit6 { ip6 saddr "
		 "& ffff:ffff:ffff:ffff:: limit rate over 200/second burst 400 packets } counter drop\n");
	/* relay and quic ports, not ntp's */
	has(out, "\t\tiif != \"lo\" meta nfproto ipv4 udp dport { 443, 3478 } update @relay_limit4 { "
		 "ip saddr limit rate over 1000/second burst 2000 packets } counter drop\n");
	has(out, "\t\tiif != \"lo\" ip daddr 192.0.2.5 udp dport 53 update @dns_limit4 ");
	has(out, "\t\tiif != \"lo\" ip6 daddr 2001:db8::5 udp dport 5353 update @dns_limit6 ");
	l = strstr(out, "udp dport { 53 } update @dns_limit4");
	as = strstr(out, "fib saddr . iif oif missing");
	tp = strstr(out, "tproxy ip to");
	loc = strstr(out, "fib daddr type { local");
	assert_true(l && as && tp && loc && as < l && l < tp);
	assert_true(strstr(out, "ip daddr 192.0.2.5 udp dport 53") < loc);
	free(out);
}

/* nft itself accepts every variant. */
static void test_nft_accepts(void **state)
{
	static const char *const confs[] = {
	    BASE,
	    BASE
	    "fail-closed yes\nintercept-local yes\ninterface lan0 eth1\n"
	    "bypass 192.0.2.0/24 2001:db8::/32 203.0.113.9 127.0.0.1\nmark 0x20\ntproxy-mark 2\n",
	    "listen 0.0.0.0:15000\nintercept udp 53 relay\nfail-closed yes\n",
	    "listen [::]:16000\nintercept udp 443 relay\nintercept-local yes\n",
	    "listen 127.0.0.1:15001 [::1]:15002\nintercept udp 3478 relay\n",
	    "listen [2001:db8::1]:15002\nintercept udp 3478 relay\nbypass 2001:db8::/32 "
	    "10.0.0.0/8\n",
	    /* Overlapping and repeated prefixes, and ones inside the reserved ranges. */
	    BASE "bypass 10.0.0.0/8 10.1.0.0/16 10.0.0.0/8 127.0.0.1 224.0.0.0/4\n"
		 "bypass ::ffff:192.0.2.1 fe80::1 2001:db8::/32 2001:db8:1::/48\n",
	    BASE "interface lan*\nintercept-local yes\nfail-closed yes\n",
	    "listen 0.0.0.0:15000 [::]:15000\nintercept udp 53 dns\nintercept tcp 53 dns\n"
	    "intercept-local yes\nfail-closed yes\ninterface lan0\n",
	    "listen 0.0.0.0:15000 [::]:15000\nintercept udp 53 dns\n" RL_443
	    "upstream a udp://192.0.2.1\ndns-rule all forward a\ndns-rate-limit 200 400\n"
	    "relay-rate-limit 1000\ndns-listen 192.0.2.5 [2001:db8::5]:5353\n"
	    "interface lan0\n",
	};
	char why[2048];

	for (size_t i = 0; i < SL_ARRAY_LEN(confs); i++) {
		char *out = rules_for(*state, confs[i]);
		int rc = nft_check(*state, out, why, sizeof(why));

		if (rc < 0) {
			free(out);
			print_message("nft check skipped: %s\n", why);
			skip();
		}
		if (rc == 0)
			fail_msg("nft -c rejected the ruleset for:\n%s\n%s\nnft said:\n%s",
				 confs[i], out, why);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),	    cmocka_unit_test(test_marks_and_table),
	    cmocka_unit_test(test_families),	    cmocka_unit_test(test_bypass),
	    cmocka_unit_test(test_interfaces),	    cmocka_unit_test(test_fail_closed),
	    cmocka_unit_test(test_intercept_local), cmocka_unit_test(test_routes_and_cleanup),
	    cmocka_unit_test(test_anti_spoof_and_tcp),
	    cmocka_unit_test(test_rate_limits),	    cmocka_unit_test(test_nft_accepts),
	};

	return cmocka_run_group_tests_name("nft", tests, group_setup, group_teardown);
}
