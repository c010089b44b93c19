#include "config.h"
/* test_policy.c - the rule matchers every service shares (policy.c,
 * cfg_policy.c, policy_geosite.c): dns-rule, quic-rule and foreign lines
 * get their matchers from one policy; each service keeps its own rules
 * (quic-rule lines in the QUIC settings, not the DNS ones); lists stay put
 * while later lines add more; geosite codes named by every service load in
 * one pass, and an error names the same line it did before the policy was
 * a module of its own. Config files are written into a mkdtemp directory. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "dns_conf.h"
#include "match.h"
#include "policy.h"
#include "quic_svc.h"

/* Three lines whatever is built, so the line numbers below hold: without
 * the QUIC service (configure --disable-quic) its intercept line would be
 * refused, and the cases that need quic-rule are skipped. */
#ifdef SL_WITH_QUIC
#define BASE "listen 0.0.0.0:15000\nintercept udp 53 dns\nintercept udp 443 quic\n"
#define NEED_QUIC() ((void)0)
#else
#define BASE "listen 0.0.0.0:15000\nintercept udp 53 dns\n# no quic in this build\n"
#define NEED_QUIC() skip()
#endif

static char dir[64];

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s ? s : ".";
}

static void put(const char *name, const char *text, char *path, size_t plen)
{
	FILE *f;

	snprintf(path, plen, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

/* Load BASE + body (with @L replaced by the list file's path); NULL with err set. */
static struct cfg *load(const char *body, char *err, size_t errlen)
{
	char text[4096], conf[128], list[128];
	size_t n;

	put("list.txt", "ads.example\nsub.ads.example\n", list, sizeof(list));
	n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	for (const char *p = body; *p && n < sizeof(text) - 128; p++) {
		if (p[0] == '@' && p[1] == 'L') {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", list);
			p++;
		} else if (p[0] == '@' && p[1] == 'G') {
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "%s/tests/data/dns/geosite-cn.dat", srcdir());
			p++;
		} else {
			text[n++] = *p;
		}
	}
	text[n] = '\0';
	put("t.conf", text, conf, sizeof(conf));
	err[0] = '\0';
	return cfg_load(conf, err, errlen);
}

/* The message after "FILE:" (the line number and text). */
static const char *after_file(const char *err)
{
	const char *c = strstr(err, ".conf:");

	return c ? c + 6 : err;
}

static bool hit(const struct policy_matcher *m, const char *name, uint16_t qtype,
		const struct addr *client)
{
	return policy_match(m, name, strlen(name), qtype, client, NULL);
}

static void test_matchers(void **state)
{
	char err[512];
	struct cfg *c =
	    load("upstream g udp://192.0.2.1\nlist ads plain:@L\n"
		 "dns-rule list:ads block\ndns-rule qtype:AAAA block\n"
		 "dns-rule client:10.0.0.0/8 forward g\ndns-rule regexp:^x[0-9]+\\. block\n"
		 "quic-rule full:a.example block\nquic-rule nosni reject\n"
		 "quic-rule list:ads mark 7\nquic-rule all pass\n",
		 err, sizeof(err));
	const struct dns_conf *d;
	const struct quic_conf *q;
	struct addr in, out;

	(void)state;
	NEED_QUIC();
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	q = quic_conf_get(c);
	assert_int_equal(d->n_rules, 4);
	assert_int_equal(q->n_rules, 4);
	assert_int_equal(policy_get(c)->n_matchers, 8);
	assert_int_equal(policy_get(c)->n_rules, 8);
	assert_int_equal(addr_parse("10.1.2.3", false, 0, &in), 0);
	assert_int_equal(addr_parse("192.0.2.9", false, 0, &out), 0);

	assert_true(hit(d->rules[0].m, "sub.ads.example", 1, NULL));
	assert_false(hit(d->rules[0].m, "ads.example.org", 1, NULL));
	assert_false(hit(d->rules[0].m, "", 1, NULL));
	assert_true(hit(d->rules[1].m, "x.example", 28, NULL));
	assert_false(hit(d->rules[1].m, "x.example", 1, NULL));
	assert_true(hit(d->rules[2].m, "x.example", 1, &in));
	assert_false(hit(d->rules[2].m, "x.example", 1, &out));
	assert_false(hit(d->rules[2].m, "x.example", 1, NULL));
	assert_true(hit(d->rules[3].m, "x42.example", 1, NULL));
	assert_false(hit(d->rules[3].m, "xy.example", 1, NULL));

	/* the same list object serves both services */
	assert_ptr_equal(q->rules[2].m->list, d->rules[0].m->list);
	assert_int_equal(q->rules[0].action, QUIC_BLOCK);
	assert_int_equal(q->rules[1].action, QUIC_REJECT);
	assert_int_equal(q->rules[2].action, QUIC_MARK);
	assert_int_equal(q->rules[2].mark, 7);
	assert_true(hit(q->rules[0].m, "a.example", 0, NULL));
	assert_false(hit(q->rules[0].m, "b.a.example", 0, NULL));
	assert_true(hit(q->rules[1].m, "", 0, NULL));
	assert_false(hit(q->rules[1].m, "a.example", 0, NULL));
	assert_true(hit(q->rules[3].m, "", 0, NULL));
	assert_int_equal(q->sniff_ms, 300);
	cfg_free(c);
}

/* A matcher keeps pointing at its list while later lines add lists (foreign
 * is no rule, so lists may follow it). */
static void test_lists_stay(void **state)
{
	char err[512];
	struct cfg *c = load("upstream g leak-check udp://192.0.2.1\nlist a plain:@L\n"
			     "foreign list:a\nlist b plain:@L\nlist c plain:@L\nlist d plain:@L\n"
			     "list e plain:@L\nquic-sniff-timeout 50\n",
			     err, sizeof(err));
	const struct dns_conf *d;

	(void)state;
	NEED_QUIC();
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	assert_non_null(d->foreign);
	assert_ptr_equal(d->foreign->list, policy_list_find(policy_get(c), "a"));
	assert_true(hit(d->foreign, "ads.example", 1, NULL));
	assert_int_equal(policy_get(c)->n_lists, 5);
	assert_int_equal(policy_get(c)->n_rules, 0);
	assert_int_equal(quic_conf_get(c)->sniff_ms, 50);
	cfg_free(c);
}

/* Both services' geosite codes load in one pass over geosite.dat. */
static void test_geosite(void **state)
{
	char err[512];
	struct cfg *c = load("geosite @G\nupstream g udp://192.0.2.1\nquic-rule geosite:cn block\n"
			     "dns-rule geosite:cn forward g\nforeign geosite:cn\n",
			     err, sizeof(err));
	const struct dns_conf *d;
	const struct quic_conf *q;

	(void)state;
	NEED_QUIC();
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	q = quic_conf_get(c);
	assert_int_equal(q->rules[0].m->src, POLICY_SRC_GEOSITE_DAT);
	assert_true(match_set_entries(q->rules[0].m->set) > 0);
	assert_int_equal(match_set_entries(q->rules[0].m->set),
			 match_set_entries(d->rules[0].m->set));
	assert_true(hit(d->foreign, "www.126.link", 1, NULL));
	assert_true(hit(q->rules[0].m, "www.126.link", 0, NULL));
	cfg_free(c);
}

static void expect_error(const char *body, const char *want)
{
	char err[512];
	struct cfg *c = load(body, err, sizeof(err));

	if (c)
		fail_msg("loaded: %s", body);
	if (strcmp(after_file(err), want) != 0)
		fail_msg("got '%s', want '%s'", err, want);
}

/* Messages and lines as they were when the matchers were the DNS module's. */
static void test_errors(void **state)
{
	(void)state;
	NEED_QUIC();
	expect_error("quic-rule all block\nupstream h udp://192.0.2.2\n",
		     "5: upstream: define groups before the first rule");
	expect_error("quic-rule all pass\nlist a plain:@L\n",
		     "5: list: define lists before the first rule");
	expect_error("quic-rule qtype:A block\n", "4: quic-rule: qtype: means nothing for QUIC");
	expect_error(
	    "dns-rule nosni block\n",
	    "4: unknown matcher 'nosni' (geosite:, list:, full:, domain:, keyword:, regexp:, "
	    "qtype:, client:, all)");
	expect_error("foreign full:a.example\nforeign full:b.example\n", "5: foreign: given twice");
	expect_error("foreign all\n",
		     "4: foreign: needs a name matcher (geosite:, list:, domain:, ...)");
	expect_error("quic-rule list:nope block\n",
		     "4: list:nope: no list named 'nope' (define it with `list` first)");
	expect_error("quic-rule geosite:cn block\n",
		     "4: geosite:cn needs a `geosite FILE` or `geosite-dir DIR` line above it");
	expect_error("list a plain:@L\nlist a plain:@L\n", "5: list: 'a' is defined twice");
	expect_error("tproxy-mark 0x5\nquic-rule all mark 5\n",
		     "5: quic-rule: mark 0x5 is the tproxy-mark");
	/* an unreadable geosite.dat: the first dns-rule naming a code, though
	 * a quic-rule and foreign come before it */
	expect_error("geosite /nonexistent.dat\nupstream g udp://192.0.2.1\nforeign geosite:cn\n"
		     "quic-rule geosite:cn block\ndns-rule geosite:cn forward g\n",
		     "8: geosite:cn: cannot read: No such file or directory");
	expect_error("geosite /nonexistent.dat\nforeign geosite:cn\nquic-rule geosite:cn block\n",
		     "6: geosite:cn: cannot read: No such file or directory");
	/* a missing code: the last matcher naming it, foreign last */
	expect_error("geosite @G\nforeign geosite:nope\nquic-rule geosite:nope block\n",
		     "5: geosite:nope: no list 'nope' in geosite file");
}

/* What the DNS service alone gets from the policy (every build): its
 * rules' matchers, a list shared by a rule and foreign, geosite codes in
 * one pass, and the errors that name no quic-rule. */
static void test_dns_alone(void **state)
{
	char err[512];
	struct cfg *c =
	    load("geosite @G\nupstream g leak-check udp://192.0.2.1\nlist ads plain:@L\n"
		 "foreign geosite:cn\ndns-rule list:ads block\n"
		 "dns-rule geosite:cn forward g\ndns-rule all forward g\n",
		 err, sizeof(err));
	const struct dns_conf *d;

	(void)state;
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	assert_int_equal(d->n_rules, 3);
	assert_int_equal(policy_get(c)->n_rules, 3);
	assert_ptr_equal(d->rules[0].m->list, policy_list_find(policy_get(c), "ads"));
	assert_true(hit(d->rules[0].m, "sub.ads.example", 1, NULL));
	assert_false(hit(d->rules[0].m, "ads.example.org", 1, NULL));
	assert_int_equal(d->rules[1].m->src, POLICY_SRC_GEOSITE_DAT);
	assert_true(hit(d->rules[1].m, "www.126.link", 1, NULL));
	assert_true(hit(d->foreign, "www.126.link", 1, NULL));
	assert_true(hit(d->rules[2].m, "x.example", 1, NULL));
	cfg_free(c);
	expect_error("dns-rule all block\nupstream h udp://192.0.2.2\n",
		     "5: upstream: define groups before the first rule");
	expect_error("dns-rule all block\nlist a plain:@L\n",
		     "5: list: define lists before the first rule");
	expect_error("foreign full:a.example\nforeign full:b.example\n", "5: foreign: given twice");
	expect_error("dns-rule list:nope block\n",
		     "4: list:nope: no list named 'nope' (define it with `list` first)");
	expect_error("geosite @G\nupstream g udp://192.0.2.1\ndns-rule geosite:nope forward g\n",
		     "6: geosite:nope: no list 'nope' in geosite file");
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-test-policy-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/list.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matchers),  cmocka_unit_test(test_lists_stay),
	    cmocka_unit_test(test_geosite),   cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_dns_alone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
