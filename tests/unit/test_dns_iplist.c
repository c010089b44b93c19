/* test_dns_iplist.c - ip-lists in the DNS config and on the answer path:
 * `ip-list`, `geoip`, `bogus-nxdomain` and the accept-ip rule option load
 * (bad CIDR lines skipped, sets merged across sources, geoip codes read
 * at the end) or fail with the exact FILE:LINE message; and the two
 * verdicts on upstream answers: trusted (the first address given for the
 * name asked, behind CNAMEs, is in the list, or there is none) and bogus
 * (any such address in a bogus-nxdomain list, NOERROR only); records of
 * other names, other classes, short RDATA and other sections do not count. */
#include "config.h"
#include "cfg.h"
#include "dns_conf.h"
#include "dns_iplist.h"
#include "dns_msg.h"
#include "iplist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define BASE                                                                                       \
	"listen 0.0.0.0:15000\nintercept udp 53 dns\nupstream dom udp://192.0.2.1\n"               \
	"upstream trust udp://198.51.100.1\n"

struct tdir {
	char path[128];
};

static int setup(void **state)
{
	static struct tdir d;
	char *src = getenv("top_srcdir"), cmd[PATH_MAX + 64];

	snprintf(d.path, sizeof(d.path), "/tmp/sluice-test-ipl-XXXXXX");
	if (!mkdtemp(d.path))
		return -1;
	/* the real excerpts, next to the configs */
	snprintf(cmd, sizeof(cmd), "cp %s/tests/data/iplist/private.dat %s/",
		 src && *src ? src : "..", d.path);
	if (system(cmd) != 0)
		return -1;
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	struct tdir *d = *state;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const struct tdir *d, const char *name, const char *text, char *path, size_t plen)
{
	char full[PATH_MAX];
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", d->path, name);
	f = fopen(full, "wb");
	if (!f || fwrite(text, 1, strlen(text), f) != strlen(text))
		fail_msg("cannot write %s", full);
	fclose(f);
	if (path)
		snprintf(path, plen, "%s", full);
}

static void expect_err(const struct tdir *d, const char *text, const char *suffix)
{
	char path[PATH_MAX], err[1024] = "", want[PATH_MAX + 600];
	struct cfg *c;

	put(d, "t.conf", text, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (c) {
		cfg_free(c);
		fail_msg("loaded, but expected error '%s' for:\n%s", suffix, text);
	}
	snprintf(want, sizeof(want), "%s%s", path, suffix);
	if (strcmp(err, want) != 0)
		fail_msg("for config:\n%s\n got: '%s'\nwant: '%s'", text, err, want);
}

static struct cfg *load_ok(const struct tdir *d, const char *text)
{
	char path[PATH_MAX], err[1024] = "";
	struct cfg *c;

	put(d, "ok.conf", text, path, sizeof(path));
	c = cfg_load(path, err, sizeof(err));
	if (!c)
		fail_msg("config failed: %s\n%s", err, text);
	return c;
}

static bool has(const struct iplist *l, const char *text)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, text, a) != 1)
		fail_msg("bad address in test: %s", text);
	return iplist_has(l, fam, a);
}

/* ---- config ---- */

static void test_config_ok(void **state)
{
	struct tdir *d = *state;
	const struct dns_conf *dc;
	const struct dns_iplist *cn, *priv;
	struct cfg *c;

	put(d, "cn4.txt", "# v4\n192.0.2.0/25\nnot-an-address\n192.0.2.128/25\n", NULL, 0);
	put(d, "cn6.txt", "2001:db8:1::/48\n2001:db8:1::/129\n", NULL, 0);
	c = load_ok(d, BASE "geoip private.dat\n"
			    "ip-list cn cidr:cn4.txt cidr:cn6.txt\n"
			    "ip-list priv geoip:PRIVATE\n"
			    "ip-list both cidr:cn4.txt geoip:private\n"
			    "bogus-nxdomain priv\n"
			    "bogus-nxdomain cn both\n"
			    "dns-rule domain:example forward dom accept-ip cn else trust no-ech\n"
			    "dns-rule all forward trust\n");
	dc = dns_conf_get(c);
	assert_int_equal(dc->n_iplists, 3);
	cn = dns_iplist_find(dc, "cn");
	priv = dns_iplist_find(dc, "priv");
	assert_non_null(cn);
	assert_non_null(priv);
	assert_null(dns_iplist_find(dc, "nope"));
	/* two files merged; the bad lines skipped, not fatal */
	assert_true(has(cn->set, "192.0.2.1"));
	assert_true(has(cn->set, "192.0.2.200"));
	assert_true(has(cn->set, "2001:db8:1::53"));
	assert_false(has(cn->set, "2001:db8:2::53"));
	assert_false(has(cn->set, "198.51.100.1"));
	assert_true(has(priv->set, "10.0.0.1"));
	assert_true(has(priv->set, "fe80::1"));
	assert_true(has(dns_iplist_find(dc, "both")->set, "192.168.0.1"));
	assert_int_equal(dc->n_bogus, 3);
	assert_int_equal(dc->bogus[0], 1);
	assert_int_equal(dc->bogus[1], 0);
	assert_int_equal(dc->bogus[2], 2);
	assert_ptr_equal(dc->rules[0].accept_ip, cn);
	assert_string_equal(dc->rules[0].accept_else->name, "trust");
	assert_true(dc->rules[0].no_ech);
	assert_null(dc->rules[1].accept_ip);
	cfg_free(c);
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *text, *suffix;
	} cs[] = {
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward dom accept-ip nope else trust\n",
	     ":6: accept-ip: no ip-list named 'nope' (define it with `ip-list` first)"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward dom accept-ip cn else nope\n",
	     ":6: accept-ip: no upstream group named 'nope'"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward dom accept-ip cn or trust\n",
	     ":6: usage: accept-ip LIST else GROUP"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward dom accept-ip cn else\n",
	     ":6: usage: accept-ip LIST else GROUP"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward dom accept-ip cn else dom\n",
	     ":6: accept-ip: the else group must not be the rule's own group"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all block nxdomain accept-ip cn else trust\n",
	     ":6: accept-ip does not go with this action"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all passthrough accept-ip cn else trust\n",
	     ":6: accept-ip does not go with this action"},
	    {BASE "ip-list cn cidr:cn4.txt\n"
		  "dns-rule all forward dom accept-ip cn else trust accept-ip cn else trust\n",
	     ":6: accept-ip given twice"},
	    {BASE "ip-list cn cidr:cn4.txt\ndns-rule all forward accept-ip cn else trust\n",
	     ":6: usage: forward GROUP [OPTIONS]"},
	    {BASE "bogus-nxdomain cn\n",
	     ":5: bogus-nxdomain: no ip-list named 'cn' (define it with `ip-list` first)"},
	    {BASE "ip-list x foo:bar\n", ":5: ip-list: unknown format 'foo' (cidr, geoip)"},
	    {BASE "ip-list x cn4.txt\n", ":5: ip-list: 'cn4.txt' is not cidr:FILE or geoip:CODE"},
	    {BASE "ip-list x cidr:\n", ":5: ip-list: 'cidr:' is not cidr:FILE or geoip:CODE"},
	    {BASE "ip-list x geoip:cn\n", ":5: ip-list: geoip:cn needs a `geoip FILE` line above it"},
	    {BASE "ip-list cn cidr:cn4.txt\nip-list cn cidr:cn4.txt\n",
	     ":6: ip-list: 'cn' is defined twice"},
	    {BASE "dns-rule all forward dom\nip-list cn cidr:cn4.txt\n",
	     ":6: ip-list: define ip lists before the first rule"},
	    {BASE "ip-list nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn "
		  "cidr:cn4.txt\n",
	     ":5: ip-list: names are at most 64 characters"},
	    {BASE "ip-list x\n", ":5: usage: ip-list NAME SOURCE..."},
	};
	struct tdir *d = *state;
	char path[PATH_MAX], want[PATH_MAX + 200];

	put(d, "cn4.txt", "192.0.2.0/24\n", NULL, 0);
	for (size_t i = 0; i < SL_ARRAY_LEN(cs); i++)
		expect_err(d, cs[i].text, cs[i].suffix);
	/* a missing file names its path */
	snprintf(path, sizeof(path), "%s/none.txt", d->path);
	snprintf(want, sizeof(want), ":5: ip-list x: cannot read %s: No such file or directory",
		 path);
	expect_err(d, BASE "ip-list x cidr:none.txt\n", want);
	/* geoip codes are read at the end: the error names the ip-list's line */
	snprintf(want, sizeof(want), ":7: ip-list y: no code 'xx' in %s/private.dat", d->path);
	expect_err(d, BASE "geoip private.dat\nip-list x geoip:private\nip-list y geoip:xx\n", want);
	snprintf(want, sizeof(want), ":6: ip-list x: geoip file %s/cn4.txt: malformed protobuf near "
				     "byte 10",
		 d->path);
	expect_err(d, BASE "geoip cn4.txt\nip-list x geoip:cn\n", want);
	snprintf(want, sizeof(want), ":6: ip-list x: geoip file %s/gone.dat: No such file or "
				     "directory",
		 d->path);
	expect_err(d, BASE "geoip gone.dat\nip-list x geoip:cn\n", want);
}

/* ---- answers ---- */

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void put16(struct msg *m, uint16_t v)
{
	m->b[m->n++] = (uint8_t)(v >> 8);
	m->b[m->n++] = (uint8_t)v;
}

/* Header and question (example.org, qtype), with an, ns, ar counts. */
static void msg_start(struct msg *m, uint16_t qtype, int rcode, uint16_t an, uint16_t ns,
		      uint16_t ar)
{
	static const uint8_t qname[] = "\7example\3org";

	m->n = 0;
	put16(m, 0x1234);
	put16(m, (uint16_t)(0x8180 | rcode));
	put16(m, 1);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
	memcpy(m->b + m->n, qname, sizeof(qname));
	m->n += sizeof(qname);
	put16(m, qtype);
	put16(m, 1);
}

/* An RR owned by the question name (pointer to offset 12). */
static void msg_rr(struct msg *m, uint16_t type, uint16_t class, const void *rdata, size_t rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, class);
	put16(m, 0);
	put16(m, 300);
	put16(m, (uint16_t)rdlen);
	memcpy(m->b + m->n, rdata, rdlen);
	m->n += rdlen;
}

static void msg_addr(struct msg *m, const char *text)
{
	uint8_t a[16];
	bool v6 = strchr(text, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, text, a), 1);
	msg_rr(m, v6 ? DNS_TYPE_AAAA : DNS_TYPE_A, 1, a, v6 ? 16 : 4);
}

static void inspect(const struct msg *m, struct dns_answer_info *ai)
{
	assert_int_equal(dns_answer_inspect(m->b, m->n, ai), 0);
}

/* An RR owned by another name. */
static void msg_rr_other(struct msg *m, const char *text)
{
	static const uint8_t owner[] = "\5other\7example\3org";
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, text, a), 1);
	memcpy(m->b + m->n, owner, sizeof(owner));
	m->n += sizeof(owner);
	put16(m, DNS_TYPE_A);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	put16(m, 4);
	memcpy(m->b + m->n, a, 4);
	m->n += 4;
}

static void test_verdicts(void **state)
{
	struct tdir *d = *state;
	struct dns_answer_info *ai = malloc(sizeof(*ai));
	static const uint8_t cname[] = "\3cdn\7example\3net";
	static const uint8_t soa[] = "\2ns\0\4host\0\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\x3c";
	const struct dns_iplist *cn;
	const struct dns_conf *dc;
	struct cfg *c;
	struct msg m;

	put(d, "cn.txt", "192.0.2.0/24\n2001:db8:1::/48\n", NULL, 0);
	put(d, "isp.txt", "203.0.113.99\n2001:db8:99::99\n", NULL, 0);
	c = load_ok(d, BASE "ip-list cn cidr:cn.txt\nip-list isp cidr:isp.txt\n"
			    "bogus-nxdomain isp\n");
	dc = dns_conf_get(c);
	cn = dns_iplist_find(dc, "cn");

	/* the first address decides, whatever follows */
	msg_start(&m, DNS_TYPE_A, 0, 2, 0, 0);
	msg_addr(&m, "192.0.2.5");
	msg_addr(&m, "198.51.100.5");
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));
	assert_false(dns_iplist_bogus(dc, m.b, m.n, ai));
	msg_start(&m, DNS_TYPE_A, 0, 2, 0, 0);
	msg_addr(&m, "198.51.100.5");
	msg_addr(&m, "192.0.2.5");
	inspect(&m, ai);
	assert_false(dns_iplist_trusted(cn, m.b, m.n));
	/* behind a CNAME; IPv6 */
	msg_start(&m, DNS_TYPE_AAAA, 0, 2, 0, 0);
	msg_rr(&m, DNS_TYPE_CNAME, 1, cname, sizeof(cname));
	msg_addr(&m, "2001:db8:1::5");
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));
	msg_start(&m, DNS_TYPE_AAAA, 0, 1, 0, 0);
	msg_addr(&m, "2001:db8:2::5");
	inspect(&m, ai);
	assert_false(dns_iplist_trusted(cn, m.b, m.n));
	/* what is not an address of the name asked does not count: another
	 * owner's A, a TXT, an A of class CH, a short A; an A in the
	 * additional section */
	msg_start(&m, DNS_TYPE_A, 0, 6, 0, 1);
	msg_rr_other(&m, "198.51.100.1");
	msg_rr(&m, DNS_TYPE_TXT, 1, "\3abc", 4);
	msg_rr(&m, DNS_TYPE_A, 3, "\xc6\x33\x64\x02", 4);
	msg_rr(&m, DNS_TYPE_A, 1, "\xc6\x33\x64", 3);
	msg_addr(&m, "192.0.2.7");
	msg_addr(&m, "198.51.100.7");
	msg_addr(&m, "203.0.113.99"); /* additional */
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));
	assert_false(dns_iplist_bogus(dc, m.b, m.n, ai));
	msg_start(&m, DNS_TYPE_A, 0, 2, 0, 0);
	msg_rr_other(&m, "192.0.2.8");
	msg_addr(&m, "198.51.100.8");
	inspect(&m, ai);
	assert_false(dns_iplist_trusted(cn, m.b, m.n));
	msg_start(&m, DNS_TYPE_A, 0, 1, 0, 0);
	msg_rr_other(&m, "203.0.113.99");
	inspect(&m, ai);
	assert_false(dns_iplist_bogus(dc, m.b, m.n, ai));
	assert_true(dns_iplist_trusted(cn, m.b, m.n)); /* no address of its own */
	msg_start(&m, DNS_TYPE_A, 0, 3, 0, 0);
	msg_rr(&m, DNS_TYPE_CNAME, 1, cname, sizeof(cname));
	msg_addr(&m, "198.51.100.9"); /* after the CNAME, outside */
	msg_addr(&m, "192.0.2.9");
	inspect(&m, ai);
	assert_false(dns_iplist_trusted(cn, m.b, m.n));
	/* nothing to judge: NXDOMAIN, NODATA, a CNAME alone */
	msg_start(&m, DNS_TYPE_A, DNS_RCODE_NXDOMAIN, 0, 1, 0);
	msg_rr(&m, DNS_TYPE_SOA, 1, soa, sizeof(soa) - 1);
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));
	msg_start(&m, DNS_TYPE_AAAA, 0, 0, 1, 0);
	msg_rr(&m, DNS_TYPE_SOA, 1, soa, sizeof(soa) - 1);
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));
	msg_start(&m, DNS_TYPE_A, 0, 1, 0, 0);
	msg_rr(&m, DNS_TYPE_CNAME, 1, cname, sizeof(cname));
	inspect(&m, ai);
	assert_true(dns_iplist_trusted(cn, m.b, m.n));

	/* bogus: any listed address of the answer section, NOERROR only */
	msg_start(&m, DNS_TYPE_A, 0, 2, 0, 0);
	msg_addr(&m, "192.0.2.5");
	msg_addr(&m, "203.0.113.99");
	inspect(&m, ai);
	assert_true(dns_iplist_bogus(dc, m.b, m.n, ai));
	msg_start(&m, DNS_TYPE_AAAA, 0, 1, 0, 0);
	msg_addr(&m, "2001:db8:99::99");
	inspect(&m, ai);
	assert_true(dns_iplist_bogus(dc, m.b, m.n, ai));
	msg_start(&m, DNS_TYPE_A, 0, 1, 0, 1);
	msg_addr(&m, "203.0.113.98");
	msg_addr(&m, "203.0.113.99"); /* additional: not looked at */
	inspect(&m, ai);
	assert_false(dns_iplist_bogus(dc, m.b, m.n, ai));
	cfg_free(c);

	/* no bogus-nxdomain line: nothing is bogus */
	c = load_ok(d, BASE "ip-list isp cidr:isp.txt\n");
	msg_start(&m, DNS_TYPE_A, 0, 1, 0, 0);
	msg_addr(&m, "203.0.113.99");
	inspect(&m, ai);
	assert_false(dns_iplist_bogus(dns_conf_get(c), m.b, m.n, ai));
	cfg_free(c);
	free(ai);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_ok),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_verdicts),
	};

	return cmocka_run_group_tests_name("dns_iplist", tests, setup, teardown);
}
