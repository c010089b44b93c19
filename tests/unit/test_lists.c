/* test_lists.c - text list parsers (dnsmasq, hosts, adblock, plain), the
 * hosts table and the domain-list-community loader: synthetic fixtures in
 * tests/data/list/ with exact counts, warnings and tags, then the real
 * lists in ../shared/data with the counts and verdicts its README gives. */
#include "config.h"
#include "list_text.h"
#include "match.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- helpers ---- */

struct warns {
	int n;
	unsigned lines[64];
	char msg[64][160];
};

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct warns *w = ctx;

	(void)file;
	if (w->n < 64) {
		w->lines[w->n] = line;
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	}
	w->n++;
}

static bool warned(const struct warns *w, unsigned line, const char *part)
{
	for (int i = 0; i < w->n && i < 64; i++)
		if (w->lines[i] == line && strstr(w->msg[i], part))
			return true;
	return false;
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s ? s : ".";
}

static void fixture(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/tests/data/list/%s", srcdir(), name);
}

/* Path in ../shared/data, or NULL (test skips) when it is not there. */
static const char *shared(char *out, size_t len, const char *name)
{
	struct stat st;

	snprintf(out, len, "%s/../shared/data/%s", srcdir(), name);
	if (stat(out, &st) == 0)
		return out;
	printf("shared data missing: %s (skipping)\n", out);
	return NULL;
}

static struct match_set *finish(struct match_builder *b)
{
	char err[128];
	struct match_set *s = match_builder_finish(b, err, sizeof(err));

	assert_non_null(s);
	return s;
}

static long look(const struct match_set *s, const char *name)
{
	uint32_t tag = 0;

	return match_lookup(s, name, strlen(name), &tag) ? (long)tag : -1;
}

static const char *hit_value(const struct match_set *s, const char *name, char *buf)
{
	struct match_hit h;

	if (!match_lookup_ex(s, name, strlen(name), &h))
		return "-";
	memcpy(buf, h.value, h.len);
	buf[h.len] = '\0';
	return buf;
}

/* ---- dnsmasq ---- */

static void test_dnsmasq_fixture(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_hosts *h = list_hosts_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct in_addr a4[4];
	struct in6_addr a6[4];
	struct match_set *s;
	char path[4096];

	(void)state;
	fixture(path, sizeof(path), "dnsmasq.conf");
	assert_int_equal(list_text_load(path, LIST_DNSMASQ, b, NULL, h, &st, on_warn, &w), 0);
	assert_int_equal(st.lines, 23);
	assert_int_equal(st.entries, 14);
	assert_int_equal(st.bad, 4);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(st.comments, 3);
	assert_int_equal(st.hosts, 4);
	assert_int_equal(w.n, 4);
	assert_true(warned(&w, 14, "bad..example"));
	assert_true(warned(&w, 15, "1.2.3"));
	assert_true(warned(&w, 16, "closing"));
	assert_true(warned(&w, 22, "notip"));
	s = finish(b);
	assert_int_equal(look(s, "www.baidu.com"), 2); /* tag = line */
	assert_int_equal(look(s, "a.example"), 3);
	assert_int_equal(look(s, "x.b.example"), 3);
	assert_int_equal(look(s, "webnovel.com"), -1); /* disabled line */
	assert_int_equal(look(s, "qq.com"), 5);
	assert_int_equal(look(s, "x.lan"), 12);
	assert_int_equal(look(s, "upper.example"), 19);
	assert_int_equal(look(s, "x.dot.example"), 23);
	assert_int_equal(look(s, "bad.example"), -1);
	assert_int_equal(look(s, "set.example"), 18);
	assert_int_equal(look(s, "def.example"), 20);
	assert_int_equal(look(s, "nx.example"), 9);
	/* address= answers */
	assert_int_equal(list_hosts_lookup(h, "ads.example", 11, AF_INET, a4, 4), 1);
	assert_int_equal(a4[0].s_addr, 0);
	assert_int_equal(list_hosts_lookup(h, "blk.example", 11, AF_INET, a4, 4), 1);
	assert_int_equal(list_hosts_lookup(h, "blk.example", 11, AF_INET6, a6, 4), 1);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&a6[0]));
	assert_int_equal(list_hosts_lookup(h, "v6.example", 10, AF_INET, a4, 4), 0);
	assert_int_equal(list_hosts_lookup(h, "v6.example", 10, AF_INET6, a6, 4), 1);
	assert_int_equal(list_hosts_lookup(h, "nx.example", 10, AF_INET, a4, 4), -ENOENT);
	match_set_free(s);
	list_hosts_free(h);
}

/* ---- hosts ---- */

static void test_hosts_fixture(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_hosts *h = list_hosts_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct in_addr a4[4];
	struct in6_addr a6[4];
	struct match_set *s;
	char path[4096], txt[64];

	(void)state;
	fixture(path, sizeof(path), "hosts.txt");
	assert_int_equal(list_text_load(path, LIST_HOSTS, b, NULL, h, &st, on_warn, &w), 0);
	assert_int_equal(st.lines, 13);
	assert_int_equal(st.entries, 11);
	assert_int_equal(st.hosts, 11);
	assert_int_equal(st.bad, 3);
	assert_int_equal(st.comments, 3);
	assert_true(warned(&w, 8, "not-an-ip"));
	assert_true(warned(&w, 9, "without a name"));
	assert_true(warned(&w, 10, "bad..name"));
	s = finish(b);
	assert_int_equal(look(s, "localhost"), 2);
	assert_int_equal(look(s, "example.com"), 5);
	assert_int_equal(look(s, "www.example.com"), 5);
	assert_int_equal(look(s, "sub.www.example.com"), -1); /* hosts names are full names */
	assert_int_equal(look(s, "good.example"), 10);
	assert_int_equal(look(s, "ip6-localhost"), 3);
	match_set_free(s);

	assert_int_equal(list_hosts_names(h), 8);
	assert_int_equal(list_hosts_lookup(h, "LOCALHOST.", 10, AF_INET, a4, 4), 1);
	assert_string_equal(inet_ntop(AF_INET, &a4[0], txt, sizeof(txt)), "127.0.0.1");
	assert_int_equal(list_hosts_lookup(h, "localhost", 9, AF_INET6, a6, 4), 1);
	assert_string_equal(inet_ntop(AF_INET6, &a6[0], txt, sizeof(txt)), "::1");
	assert_int_equal(list_hosts_lookup(h, "www.example.com", 15, AF_INET, a4, 4), 1);
	assert_string_equal(inet_ntop(AF_INET, &a4[0], txt, sizeof(txt)), "192.0.2.10");
	assert_int_equal(list_hosts_lookup(h, "www.example.com", 15, AF_INET6, a6, 4), 1);
	assert_string_equal(inet_ntop(AF_INET6, &a6[0], txt, sizeof(txt)), "2001:db8::10");
	assert_int_equal(list_hosts_lookup(h, "ads.example", 11, AF_INET, a4, 4), 1); /* deduped */
	assert_int_equal(list_hosts_lookup(h, "linklocal.example", 17, AF_INET6, a6, 4), 1);
	assert_int_equal(list_hosts_lookup(h, "foo.example", 11, AF_INET, a4, 4), -ENOENT);
	assert_true(list_hosts_bytes(h) > 0);
	list_hosts_free(h);
}

static void test_hosts_table(void **state)
{
	struct list_hosts *h = list_hosts_new();
	struct in_addr a4[8], x4;
	struct in6_addr x6;
	char name[32];

	(void)state;
	for (int i = 0; i < 5; i++) {
		x4.s_addr = htonl(0xc0000200u + (uint32_t)i);
		assert_int_equal(list_hosts_add(h, "multi.example", 13, AF_INET, &x4), 0);
	}
	x4.s_addr = htonl(0xc0000201u); /* repeat */
	assert_int_equal(list_hosts_add(h, "multi.example", 13, AF_INET, &x4), 0);
	inet_pton(AF_INET6, "2001:db8::5", &x6);
	assert_int_equal(list_hosts_add(h, "Multi.Example.", 14, AF_INET6, &x6), 0);
	assert_int_equal(list_hosts_lookup(h, "multi.example", 13, AF_INET, a4, 8), 5);
	for (int i = 0; i < 5; i++) /* in the order added */
		assert_int_equal(ntohl(a4[i].s_addr), 0xc0000200u + (uint32_t)i);
	assert_int_equal(list_hosts_lookup(h, "multi.example", 13, AF_INET, a4, 2), 5);
	assert_int_equal(list_hosts_lookup(h, "multi.example", 13, AF_INET, NULL, 0), 5);
	assert_int_equal(list_hosts_lookup(h, "multi.example", 13, AF_INET6, NULL, 0), 1);
	assert_int_equal(list_hosts_add(h, "bad name", 8, AF_INET, &x4), -EINVAL);
	assert_int_equal(list_hosts_add(h, "ok.example", 10, AF_UNIX, &x4), -EINVAL);
	/* growth: many names sharing one pooled address */
	x4.s_addr = 0;
	for (int i = 0; i < 3000; i++) {
		int n = snprintf(name, sizeof(name), "n%d.example", i);

		assert_int_equal(list_hosts_add(h, name, (size_t)n, AF_INET, &x4), 0);
	}
	assert_int_equal(list_hosts_names(h), 3001);
	assert_int_equal(list_hosts_lookup(h, "n2999.example", 13, AF_INET, a4, 8), 1);
	assert_int_equal(list_hosts_lookup(h, "n3000.example", 13, AF_INET, a4, 8), -ENOENT);
	list_hosts_free(h);
}

/* ---- adblock ---- */

static void test_adblock_fixture(void **state)
{
	struct match_builder *b = match_builder_new(), *n = match_builder_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct match_set *s, *ns;
	struct match_hit hit;
	char path[4096];

	(void)state;
	fixture(path, sizeof(path), "adblock.txt");
	assert_int_equal(list_text_load(path, LIST_ADBLOCK, b, n, NULL, &st, on_warn, &w), 0);
	assert_int_equal(st.lines, 27);
	assert_int_equal(st.entries, 9);
	assert_int_equal(st.allow, 1);
	assert_int_equal(st.skipped, 11);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.comments, 4);
	assert_true(warned(&w, 18, "empty host"));
	assert_true(warned(&w, 27, "a..b"));
	s = finish(b);
	ns = finish(n);
	assert_int_equal(look(s, "ads.example"), 3);
	assert_int_equal(look(s, "x.ads.example"), 3);
	assert_int_equal(look(s, "tracker.example"), 4);
	assert_int_equal(look(s, "noanchor.example"), 5);
	assert_int_equal(look(s, "opts.example"), 6);
	assert_true(match_lookup_ex(s, "45.15.156.210", 13, &hit));
	assert_int_equal(hit.kind, MATCH_FULL);
	assert_int_equal(look(s, "1.45.15.156.210"), -1);
	assert_int_equal(look(s, "_thums.ero-advertising.com"), 15);
	assert_int_equal(look(s, "upper.example"), 17);
	assert_int_equal(look(s, "end.example"), 19);
	assert_int_equal(look(s, "dot.example"), 26);
	assert_int_equal(look(s, "bad.example"), -1);
	assert_int_equal(look(s, "ddns.net"), -1);
	assert_int_equal(look(s, "x.wild.example"), -1);
	assert_int_equal(look(s, "allowed.example"), -1);
	assert_int_equal(look(ns, "allowed.example"), 7);
	assert_int_equal(look(ns, "path.example"), -1);
	match_set_free(s);
	match_set_free(ns);

	/* without a negative builder @@ rules are skipped */
	memset(&st, 0, sizeof(st));
	b = match_builder_new();
	assert_int_equal(list_text_load(path, LIST_ADBLOCK, b, NULL, NULL, &st, NULL, NULL), 0);
	assert_int_equal(st.allow, 0);
	assert_int_equal(st.skipped, 12);
	match_builder_free(b);
}

/* ---- plain ---- */

static void test_plain_fixture(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct match_set *s;
	char path[4096];

	(void)state;
	fixture(path, sizeof(path), "plain.txt");
	assert_int_equal(list_text_load(path, LIST_PLAIN, b, NULL, NULL, &st, on_warn, &w), 0);
	assert_int_equal(st.entries, 8);
	assert_int_equal(st.bad, 3);
	assert_int_equal(st.comments, 2);
	assert_true(warned(&w, 9, "text after"));
	assert_true(warned(&w, 10, "bad..example"));
	assert_true(warned(&w, 11, "regexp"));
	s = finish(b);
	assert_int_equal(look(s, "www.example.com"), 2);
	assert_int_equal(look(s, "exact.example"), 3);
	assert_int_equal(look(s, "a.exact.example"), -1);
	assert_int_equal(look(s, "x.sub.example"), 4);
	assert_int_equal(look(s, "mytracker.net"), 5);
	assert_int_equal(look(s, "ad12.foo"), 6);
	assert_int_equal(look(s, "wild.example"), 7);
	assert_int_equal(look(s, "a.dot.example"), 8);
	assert_int_equal(look(s, "www.xn--fiqs8s"), 13);
	match_set_free(s);
}

/* ---- buffers, odd input, errors ---- */

static void test_buffers(void **state)
{
	static const char in[] = "\xef\xbb\xbf"
				 "a.example\r\n"
				 "b.example\n"
				 "c.ex\0ample\n"
				 "d.example"; /* no final newline */
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct list_sink k = {.pos = b, .st = &st, .warn = on_warn, .warn_ctx = &w, .tag = 100};
	struct match_set *s;

	(void)state;
	assert_int_equal(list_text_parse_buf("buf", in, sizeof(in) - 1, LIST_PLAIN, &k), 0);
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.bad, 1);
	assert_true(warned(&w, 3, "NUL"));
	s = finish(b);
	assert_int_equal(look(s, "a.example"), 100); /* one tag for the whole list */
	assert_int_equal(look(s, "d.example"), 100);
	match_set_free(s);
	assert_int_equal(list_text_parse_buf("buf", in, 4, (enum list_format)42, &k), -EINVAL);
	assert_int_equal(list_text_parse_buf("buf", "", 0, LIST_HOSTS, &k), 0);
}

/* Files are read in chunks: lines across chunk ends, a line longer than a
 * chunk, a BOM, no final newline. */
static void test_chunked_file(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct warns w = {0};
	char path[] = "/tmp/test-lists-XXXXXX";
	struct match_set *s;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("\xef\xbb\xbf", f);
	for (int i = 0; i < 20000; i++) /* about 300 kB */
		fprintf(f, "d%05d.example.com\n", i);
	for (int i = 0; i < 100000; i++) /* one 100 kB line */
		fputc('x', f);
	fputs("\nlast.example", f);
	fclose(f);
	assert_int_equal(list_text_load(path, LIST_PLAIN, b, NULL, NULL, &st, on_warn, &w), 0);
	unlink(path);
	assert_int_equal(st.lines, 20002);
	assert_int_equal(st.entries, 20001);
	assert_int_equal(st.bad, 1);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.lines[0], 20001);
	s = finish(b);
	assert_int_equal(look(s, "d00000.example.com"), 1);
	assert_int_equal(look(s, "x.d12345.example.com"), 12346);
	assert_int_equal(look(s, "d19999.example.com"), 20000);
	assert_int_equal(look(s, "last.example"), 20002);
	match_set_free(s);
}

static void test_errors(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	enum list_format f;

	(void)state;
	assert_int_equal(
	    list_text_load("/nonexistent/list.txt", LIST_PLAIN, b, NULL, NULL, &st, NULL, NULL),
	    -ENOENT);
	assert_int_equal(list_text_load("/", LIST_PLAIN, b, NULL, NULL, &st, NULL, NULL), -EISDIR);
	assert_int_equal(list_format_parse("adblock", &f), 0);
	assert_int_equal(f, LIST_ADBLOCK);
	assert_string_equal(list_format_name(LIST_DNSMASQ), "dnsmasq");
	assert_int_equal(list_format_parse("bogus", &f), -EINVAL);
	match_builder_free(b);
}

/* ---- domain-list-community fixtures ---- */

static struct match_set *dlc(const char *code, const char *attr, int want_rc, struct warns *w)
{
	struct match_builder *b = match_builder_new();
	char dir[4096];

	fixture(dir, sizeof(dir), "dlc");
	assert_int_equal(list_dlc_load(dir, code, attr, b, on_warn, w), want_rc);
	return finish(b);
}

static void test_dlc_fixture(void **state)
{
	struct warns w = {0};
	struct match_set *s;

	(void)state;
	s = dlc("main", NULL, 14, &w);
	assert_int_equal(w.n, 2);
	assert_true(warned(&w, 10, "unknown rule type"));
	assert_true(warned(&w, 11, "bad..name"));
	assert_int_equal(look(s, "x.a.example"), 0);
	assert_int_equal(look(s, "e.example"), 0);
	assert_int_equal(look(s, "x.e.example"), -1); /* full: */
	assert_int_equal(look(s, "exact.example.com"), 0);
	assert_int_equal(look(s, "www.exact.example.com"), -1);
	assert_int_equal(look(s, "a.tracking.net"), 0); /* keyword: */
	assert_int_equal(look(s, "ad12.example.net"), 0);
	assert_int_equal(look(s, "x.ad12.example.net"), -1);
	assert_int_equal(look(s, "x:y"), 0);
	assert_int_equal(look(s, "plain.example"), 0);
	assert_int_equal(look(s, "spaced.example"), 0);
	assert_int_equal(look(s, "foo.example"), 0);
	assert_int_equal(look(s, "www.xn--80aglfyfk.xn--p1ai"), 0);
	assert_int_equal(look(s, "other.example"), -1);
	match_set_free(s);

	s = dlc("main", "cn", 3, &w); /* c, d from base and dom.example */
	assert_int_equal(look(s, "c.example"), 0);
	assert_int_equal(look(s, "d.example"), 0);
	assert_int_equal(look(s, "dom.example"), 0);
	assert_int_equal(look(s, "a.example"), -1);
	match_set_free(s);
}

static void test_dlc_attrs(void **state)
{
	static const struct {
		const char *code, *attr;
		const char *in; /* which of a..e match */
	} cases[] = {
	    {"base", NULL, "abcde"}, {"withads", NULL, "bd"},	{"noads", NULL, "ace"},
	    {"adsnocn", NULL, "b"},  {"nested", NULL, "abcde"}, {"NESTED", "cn", "cd"},
	    {"nested", "!cn", "e"},  {"nested", "-ads", "ace"}, {"withads", "-cn", "b"},
	    {"noads", "ads", ""},    {"base", "ADS", "bd"},
	};
	struct warns w = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct match_set *s =
		    dlc(cases[i].code, cases[i].attr, (int)strlen(cases[i].in), &w);

		for (char c = 'a'; c <= 'e'; c++) {
			char name[16];

			snprintf(name, sizeof(name), "%c.example", c);
			if ((look(s, name) == 0) != (strchr(cases[i].in, c) != NULL))
				fail_msg("%s@%s: %s", cases[i].code,
					 cases[i].attr ? cases[i].attr : "", name);
		}
		match_set_free(s);
	}
	assert_int_equal(w.n, 0);
}

static void test_dlc_errors(void **state)
{
	struct match_builder *b = match_builder_new();
	struct warns w = {0};
	char dir[4096], tmpl[] = "/tmp/dlc-deep-XXXXXX", path[4200];
	FILE *f;

	(void)state;
	fixture(dir, sizeof(dir), "dlc");
	assert_int_equal(list_dlc_load(dir, "cyc-a", NULL, b, on_warn, &w), -ELOOP);
	assert_true(warned(&w, 2, "include cycle: cyc-a -> cyc-b -> cyc-a"));
	assert_int_equal(list_dlc_load(dir, "missing-inc", NULL, b, on_warn, &w), -ENOENT);
	assert_true(warned(&w, 1, "no list 'does-not-exist'"));
	assert_int_equal(list_dlc_load(dir, "nope", NULL, b, on_warn, &w), -ENOENT);
	assert_int_equal(list_dlc_load(dir, "../dlc/base", NULL, b, on_warn, &w), -EINVAL);
	assert_int_equal(list_dlc_load(dir, ".hidden", NULL, b, on_warn, &w), -EINVAL);

	/* a chain of 20 includes is deeper than the bound */
	assert_non_null(mkdtemp(tmpl));
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "%s/l%d", tmpl, i);
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "d%d.example\ninclude:l%d\n", i, i + 1);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/l20", tmpl);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	w.n = 0;
	assert_int_equal(list_dlc_load(tmpl, "l0", NULL, b, on_warn, &w), -ELOOP);
	assert_true(w.n == 1 && strstr(w.msg[0], "deeper"));
	assert_int_equal(list_dlc_load(tmpl, "l8", NULL, b, on_warn, &w), 12); /* 8..19: fine */
	for (int i = 0; i <= 20; i++) {
		snprintf(path, sizeof(path), "%s/l%d", tmpl, i);
		unlink(path);
	}
	rmdir(tmpl);
	match_builder_free(b);
}

/* ---- real lists (../shared/data) ---- */

static void test_real_china(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct list_sink k = {.pos = b, .st = &st, .warn = on_warn, .warn_ctx = &w, .tag = 1};
	struct match_set *s;
	char path[4096], v[300];

	(void)state;
	if (!shared(path, sizeof(path), "dnsmasq-china-list/accelerated-domains.china.conf")) {
		match_builder_free(b);
		skip();
	}
	assert_int_equal(list_text_load_sink(path, LIST_DNSMASQ, &k), 0);
	assert_int_equal(st.lines, 110775);
	assert_int_equal(st.entries, 110769);
	assert_int_equal(st.comments, 6);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(match_builder_entries(b), 110769);
	s = finish(b);
	/* 21 active entries sit below another entry with the same tag */
	assert_int_equal(match_set_entries(s), 110769 - 21);
	assert_string_equal(hit_value(s, "www.baidu.com", v), "baidu.com");
	assert_string_equal(hit_value(s, "foo.gov.cn", v), "cn");
	assert_string_equal(hit_value(s, "www.qq.com", v), "qq.com");
	assert_string_equal(hit_value(s, "webnovel.com", v), "webnovel.com");
	assert_string_equal(hit_value(s, "www.bing.com", v), "-");
	assert_string_equal(hit_value(s, "example.org", v), "-");
	assert_string_equal(hit_value(s, "a.b.0.xn--czrs0t", v), "0.xn--czrs0t");
	match_set_free(s);
}

static void test_real_ads(void **state)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct list_sink k = {.pos = b, .st = &st, .tag = 2};
	struct match_set *s;
	char path[4096];

	(void)state;
	if (!shared(path, sizeof(path), "blocklistproject/ads-ags.txt")) {
		match_builder_free(b);
		skip();
	}
	assert_int_equal(list_text_load_sink(path, LIST_ADBLOCK, &k), 0);
	assert_int_equal(st.lines, 154377);
	assert_int_equal(st.entries, 154364);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.comments, 13);
	s = finish(b);
	assert_int_equal(match_set_entries(s), 154364 - 84660); /* redundant subdomains */
	assert_int_equal(look(s, "ad.doubleclick.net"), 2);
	assert_int_equal(look(s, "doubleclick.net"), 2);
	assert_int_equal(look(s, "www.google-analytics.com"), 2);
	assert_int_equal(look(s, "_thums.ero-advertising.com"), 2);
	assert_int_equal(look(s, "www.baidu.com"), -1);
	assert_int_equal(look(s, "example.com"), -1);
	match_set_free(s);
}

static void test_real_nocoin(void **state)
{
	struct match_builder *b = match_builder_new(), *n = match_builder_new();
	struct list_hosts *h = list_hosts_new();
	struct list_stats st = {0};
	struct warns w = {0};
	struct match_set *s, *ns;
	struct in_addr a4;
	char path[4096];

	(void)state;
	if (!shared(path, sizeof(path), "adblock-nocoin-list/nocoin.txt")) {
		match_builder_free(b);
		match_builder_free(n);
		list_hosts_free(h);
		skip();
	}
	assert_int_equal(list_text_load(path, LIST_ADBLOCK, b, n, NULL, &st, on_warn, &w), 0);
	assert_int_equal(st.lines, 358);
	assert_int_equal(st.entries, 48 + 137 + 11 + 2);
	assert_int_equal(st.allow, 5); /* 8 @@ rules, 3 of them with a path */
	assert_int_equal(st.skipped, 14 + 97 + 3);
	assert_int_equal(st.comments, 1 + 24 + 16);
	assert_int_equal(st.bad, 0);
	assert_int_equal(w.n, 0);
	s = finish(b);
	ns = finish(n);
	assert_true(look(s, "acbp0020171456.page.tl") > 0);
	assert_true(look(s, "belicimo.pw") > 0);
	assert_true(look(s, "2miners.com") > 0); /* $third-party kept */
	assert_true(look(s, "45.15.156.210") > 0);
	assert_true(look(ns, "api.nyda.pro") > 0);
	assert_int_equal(look(ns, "broadcastt.xyz"), -1);
	assert_int_equal(look(s, "example.com"), -1);
	match_set_free(s);
	match_set_free(ns);

	memset(&st, 0, sizeof(st));
	b = match_builder_new();
	if (!shared(path, sizeof(path), "adblock-nocoin-list/hosts.txt"))
		skip();
	assert_int_equal(list_text_load(path, LIST_HOSTS, b, NULL, h, &st, on_warn, &w), 0);
	assert_int_equal(st.lines, 324);
	assert_int_equal(st.entries, 313);
	assert_int_equal(st.hosts, 313);
	assert_int_equal(st.comments, 11);
	assert_int_equal(st.bad, 0);
	assert_int_equal(list_hosts_names(h), 313);
	assert_int_equal(list_hosts_lookup(h, "1q2w3.fun", 9, AF_INET, &a4, 1), 1);
	assert_int_equal(a4.s_addr, 0);
	s = finish(b);
	assert_true(look(s, "abc.pema.cl") > 0);
	assert_int_equal(look(s, "x.abc.pema.cl"), -1);
	match_set_free(s);
	list_hosts_free(h);
}

static void test_real_dlc(void **state)
{
	struct match_builder *b = match_builder_new();
	struct warns w = {0};
	struct match_set *s;
	char dir[4096];
	int n;

	(void)state;
	if (!shared(dir, sizeof(dir), "domain-list-community/data")) {
		match_builder_free(b);
		skip();
	}
	n = list_dlc_load(dir, "CN", NULL, b, on_warn, &w);
	assert_true(n > 6000);
	assert_int_equal(w.n, 0);
	s = finish(b);
	assert_int_equal(look(s, "www.baidu.com"), 0);
	assert_int_equal(look(s, "foo.gov.cn"), 0);
	assert_int_equal(look(s, "example.org"), -1);
	match_set_free(s);

	b = match_builder_new();
	n = list_dlc_load(dir, "google", "ads", b, on_warn, &w);
	assert_true(n > 10);
	s = finish(b);
	assert_int_equal(look(s, "ad.doubleclick.net"), 0);
	assert_int_equal(look(s, "www.google.com"), -1);
	match_set_free(s);
	assert_int_equal(w.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dnsmasq_fixture), cmocka_unit_test(test_hosts_fixture),
	    cmocka_unit_test(test_hosts_table),	    cmocka_unit_test(test_adblock_fixture),
	    cmocka_unit_test(test_plain_fixture),   cmocka_unit_test(test_buffers),
	    cmocka_unit_test(test_errors),	    cmocka_unit_test(test_chunked_file),
	    cmocka_unit_test(test_dlc_fixture),	    cmocka_unit_test(test_dlc_attrs),
	    cmocka_unit_test(test_dlc_errors),	    cmocka_unit_test(test_real_china),
	    cmocka_unit_test(test_real_ads),	    cmocka_unit_test(test_real_nocoin),
	    cmocka_unit_test(test_real_dlc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
