/* test_match.c - the compiled domain set: kinds, precedence, tags,
 * normalisation, limits, redundancy dropping, and concurrent lookups, with
 * a brute-force reference matcher for random sets. */
#include "config.h"
#include "match.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static struct match_set *finish(struct match_builder *b)
{
	char err[128];
	struct match_set *s = match_builder_finish(b, err, sizeof(err));

	assert_non_null(s);
	return s;
}

static void add(struct match_builder *b, enum match_kind k, const char *v, uint32_t tag)
{
	assert_int_equal(match_builder_add(b, k, v, strlen(v), tag), 0);
}

/* Lookup of a C string: tag, or -1 for no match. */
static long look(const struct match_set *s, const char *name)
{
	uint32_t tag = 0;

	return match_lookup(s, name, strlen(name), &tag) ? (long)tag : -1;
}

static void test_domain_suffix(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;

	(void)state;
	add(b, MATCH_DOMAIN, "cn", 1);
	add(b, MATCH_FULL, "example.com", 2);
	add(b, MATCH_DOMAIN, "xn--fiqs8s", 3);
	s = finish(b);
	assert_int_equal(look(s, "cn"), 1);
	assert_int_equal(look(s, "a.cn"), 1);
	assert_int_equal(look(s, "foo.gov.cn"), 1);
	assert_int_equal(look(s, "notcn.com"), -1);
	assert_int_equal(look(s, "cnn"), -1);
	assert_int_equal(look(s, "acn"), -1);
	assert_int_equal(look(s, "cn.com"), -1);
	assert_int_equal(look(s, "example.com"), 2);
	assert_int_equal(look(s, "www.example.com"), -1);
	assert_int_equal(look(s, "xample.com"), -1);
	assert_int_equal(look(s, "www.XN--FIQS8S."), 3);
	assert_int_equal(look(s, ""), -1);
	assert_int_equal(look(s, "."), -1);
	assert_int_equal(match_set_entries(s), 3);
	assert_true(match_set_bytes(s) > 0);
	match_set_free(s);
}

static void test_case_and_dot(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	char name[] = "WWW.Baidu.COM.";

	(void)state;
	add(b, MATCH_DOMAIN, "BaiDu.Com.", 7);
	add(b, MATCH_KEYWORD, "GooGle", 8);
	s = finish(b);
	assert_int_equal(look(s, name), 7);
	assert_string_equal(name, "WWW.Baidu.COM."); /* not modified */
	assert_int_equal(look(s, "baidu.com"), 7);
	assert_int_equal(look(s, "baidu.com.."), -1); /* only one dot is stripped */
	assert_int_equal(look(s, "www.GOOGLE.de"), 8);
	/* len is honoured: the name need not be NUL-terminated */
	assert_true(match_lookup(s, "baidu.comXYZ", 9, NULL));
	assert_false(match_lookup(s, "baidu.comXYZ", 8, NULL));
	match_set_free(s);
}

static void test_invalid(void **state)
{
	struct match_builder *b = match_builder_new();
	char lab[80], name[300];

	(void)state;
	memset(lab, 'a', 64);
	lab[64] = 0;
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, "", 0, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, ".", 1, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, "a..b", 4, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, ".a", 2, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_FULL, "a b", 3, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_FULL, "*.a.com", 7, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_FULL, "a/b", 3, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_FULL, "\xe8\xb0\xb7.com", 7, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, lab, 64, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, lab, 63, 0), 0);
	/* 253 characters is the longest name */
	for (int i = 0; i < 300; i++)
		name[i] = (i % 2) ? '.' : 'x';
	name[253] = 'x';
	assert_int_equal(match_builder_add(b, MATCH_FULL, name, 254, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_FULL, name, 253, 0), 0);
	assert_int_equal(match_builder_add(b, MATCH_KEYWORD, "", 0, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_KEYWORD, "a b", 3, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_REGEXP, "(", 1, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, MATCH_REGEXP, "", 0, 0), -EINVAL);
	assert_int_equal(match_builder_add(b, (enum match_kind)9, "a", 1, 0), -EINVAL);
	assert_int_equal(match_builder_entries(b), 2);
	match_builder_free(b);
}

static void test_long_names(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	char name[300];

	(void)state;
	add(b, MATCH_DOMAIN, "com", 1);
	s = finish(b);
	memset(name, 'a', sizeof(name));
	for (int i = 60; i < 250; i += 61)
		name[i] = '.';
	memcpy(name + 249, ".com", 4); /* 253 characters */
	assert_int_equal(match_lookup(s, name, 253, NULL), true);
	name[253] = '.';
	assert_int_equal(match_lookup(s, name, 254, NULL), true); /* + root dot */
	name[249] = 'a';
	memcpy(name + 250, ".com", 4);
	/* 254 characters: no host name is that long, but an escaped one is */
	assert_int_equal(match_lookup(s, name, 254, NULL), true);
	memset(name + 254, 'a', sizeof(name) - 254); /* the last label is "comaaa..." */
	assert_false(match_lookup(s, name, sizeof(name), NULL));
	memset(name, '.', sizeof(name)); /* empty labels: 252 label starts */
	assert_false(match_lookup(s, name, 253, NULL));
	memcpy(name + 250, "com", 3);
	assert_true(match_lookup(s, name, 253, NULL));
	memcpy(name + 297, "com", 3); /* 296 empty labels, then "com" */
	assert_true(match_lookup(s, name, sizeof(name), NULL));
	match_set_free(s);
}

/* ---- names with escaped bytes (DNS presentation form) ---- */

/* n bytes of value c as \DDD, one label: 4n characters; returns the end. */
static char *esc_label(char *p, unsigned char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "\\%03u", c);
	return p;
}

/* Labels of escaped byte 1 (at most 60 bytes each) filling exactly len
 * characters, then tail; returns the name's length. */
static size_t esc_name(char *out, size_t len, const char *tail)
{
	size_t tl = strlen(tail), n = 0;

	while (len - tl - n > 0) {
		size_t room = len - tl - n - 1; /* characters for this label and its dot */

		if (room >= 241) {
			n = (size_t)(esc_label(out + n, 1, 60) - out);
		} else if (room % 4 == 0) {
			n = (size_t)(esc_label(out + n, 1, room / 4) - out);
		} else {
			memset(out + n, 'b', room);
			n += room;
		}
		out[n++] = '.';
	}
	memcpy(out + n, tail, tl + 1);
	return n + tl;
}

static void test_escaped_names(void **state)
{
	struct match_builder *b = match_builder_new();
	char name[MATCH_LOOKUP_MAX + 64], e253[254], *p;
	struct match_set *s;
	struct match_hit h;

	(void)state;
	add(b, MATCH_DOMAIN, "ads.example.com", 1);
	add(b, MATCH_FULL, "full.example.com", 2);
	memset(e253, 'e', 253);
	for (int i = 63; i < 253; i += 64)
		e253[i] = '.';
	e253[253] = 0;
	add(b, MATCH_DOMAIN, e253, 3);
	add(b, MATCH_FULL, "m.example.net", 4);
	add(b, MATCH_DOMAIN, "example.net", 5);
	s = finish(b);

	/* two labels of 60 bytes 0x01 before a blocked domain: 497 characters */
	p = esc_label(name, 1, 60);
	*p++ = '.';
	p = esc_label(p, 1, 60);
	strcpy(p, ".ads.example.com");
	assert_int_equal(strlen(name), 497);
	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.kind, MATCH_DOMAIN);
	assert_int_equal(h.tag, 1);
	assert_int_equal(h.len, 15);
	assert_memory_equal(h.value, "ads.example.com", 15);
	assert_int_equal(look(s, "x.ads.example.com"), 1);
	strcpy(p, ".ADS.Example.COM."); /* any case, root dot */
	assert_int_equal(look(s, name), 1);
	strcpy(p, ".example.org");
	assert_int_equal(look(s, name), -1);
	/* an escaped dot is no label boundary: "\001...\046ads" is one label */
	strcpy(p, "\\046ads.example.com");
	assert_int_equal(look(s, name), -1);
	assert_int_equal(look(s, "\\001\\046ads.example.com"), -1);
	assert_int_equal(look(s, "\\001.ads.example.com"), 1);
	/* full entries match only the exact name, never a long one below it */
	strcpy(p, ".full.example.com");
	assert_int_equal(look(s, name), -1);
	assert_int_equal(look(s, "full.example.com"), 2);
	assert_int_equal(look(s, "\\001.full.example.com"), -1);
	strcpy(p, ".m.example.net");
	assert_true(match_lookup_ex(s, name, strlen(name), &h)); /* domain:example.net */
	assert_int_equal(h.kind, MATCH_DOMAIN);
	assert_int_equal(h.tag, 5);
	assert_int_equal(look(s, "m.example.net"), 4);

	/* lengths around 253 and up to the lookup limit */
	for (size_t len = 240; len <= MATCH_LOOKUP_MAX + 8; len++) {
		long want = len <= MATCH_LOOKUP_MAX ? 1 : -1;

		assert_int_equal(esc_name(name, len, "ads.example.com"), len);
		if (look(s, name) != want)
			fail_msg("%zu characters: want %ld got %ld", len, want, look(s, name));
		assert_int_equal(esc_name(name, len, "full.example.com"), len);
		assert_int_equal(look(s, name), -1);
	}
	/* 1003 characters: the longest query name in presentation form */
	assert_int_equal(esc_name(name, 1003, "x.ads.example.com"), 1003);
	assert_int_equal(look(s, name), 1);
	name[1003] = '.';
	assert_true(match_lookup(s, name, 1004, NULL)); /* 1003 + root dot */
	name[1003] = 0;
	/* a 253-character entry: its suffix starts exactly 254 characters from the end */
	p = esc_label(name, 7, 20);
	*p++ = '.';
	strcpy(p, e253);
	assert_int_equal(strlen(name), 334);
	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.tag, 3);
	assert_int_equal(h.len, 253);
	assert_int_equal(look(s, e253), 3);
	name[0] = 'x'; /* another label in front, the same boundary */
	assert_int_equal(look(s, name), 3);
	name[80] = 'x'; /* glued to the entry: no longer a suffix at a boundary */
	assert_int_equal(look(s, name), -1);
	/* a single label longer than any entry: nothing to probe */
	memset(name, 'q', 600);
	assert_false(match_lookup(s, name, 600, NULL));
	match_set_free(s);
}

/* Keywords and regexps see the whole name, \DDD escapes as written, at any
 * length; domain entries still come first. */
static void test_escaped_kw_rx(void **state)
{
	struct match_builder *b = match_builder_new();
	char name[MATCH_LOOKUP_MAX + 64], *p;
	struct match_set *s;
	struct match_hit h;

	(void)state;
	add(b, MATCH_DOMAIN, "example.com", 1);
	add(b, MATCH_KEYWORD, "tracker", 2);
	add(b, MATCH_KEYWORD, "\\001.ads", 3);
	add(b, MATCH_REGEXP, "^\\\\001", 4);			/* a name that starts with byte 1 */
	add(b, MATCH_REGEXP, "(^|\\.)trk\\.", 5);		/* prefix guard */
	add(b, MATCH_REGEXP, "\\.metrics\\.example\\.org$", 6); /* suffix guard */
	add(b, MATCH_REGEXP, "^[^.]{200,}\\.x$", 7);		/* unguarded */
	s = finish(b);

	p = esc_label(name, 1, 60);
	*p++ = '.';
	p = esc_label(p, 1, 60);
	strcpy(p, ".ads.example.com"); /* the domain entry wins */
	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.kind, MATCH_DOMAIN);
	assert_int_equal(h.tag, 1);
	strcpy(p, ".ads.example.net"); /* keyword across an escape and a dot */
	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.kind, MATCH_KEYWORD);
	assert_int_equal(h.tag, 3);
	assert_int_equal(look(s, "\\001.ads.example.net"), 3); /* the same when short */
	assert_int_equal(look(s, "\\002.ads.example.net"), -1);
	strcpy(p, ".x.example.net");
	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.kind, MATCH_REGEXP);
	assert_int_equal(h.tag, 4);
	assert_int_equal(look(s, "\\001.x.example.net"), 4);
	assert_int_equal(look(s, "a\\001.x.example.net"), -1);
	strcpy(p, ".a.metrics.example.org");
	assert_int_equal(look(s, name), 4); /* ^\\001 is added first */
	name[0] = 'z';			    /* "z001\001...": not byte 1 at the start */
	assert_int_equal(look(s, name), 6);
	strcpy(p, ".a.metrics.example.org.x");
	assert_int_equal(look(s, name), -1);
	/* a keyword or a prefix guard in front of the last 253 characters */
	p = name + sprintf(name, "trk.tracker");
	for (int i = 0; i < 4; i++) {
		*p++ = '.';
		p = esc_label(p, 0xff, 60);
	}
	strcpy(p, ".example.net");
	assert_int_equal(strlen(name), 987);
	assert_int_equal(look(s, name), 2);
	memcpy(name + 4, "t-acker", 7);
	assert_int_equal(look(s, name), 5);
	memcpy(name, "trx", 3);
	assert_int_equal(look(s, name), -1);
	/* the unguarded regexp on one 320-character run of escapes */
	p = esc_label(name, 0x20, 80);
	strcpy(p, ".x");
	assert_int_equal(look(s, name), 7);
	match_set_free(s);
}

static void test_keyword(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	struct match_hit h;

	(void)state;
	add(b, MATCH_KEYWORD, "ads", 1);
	add(b, MATCH_KEYWORD, "tracker", 2);
	add(b, MATCH_KEYWORD, "adserv", 3);
	add(b, MATCH_KEYWORD, "ads", 9); /* duplicate: first tag stays */
	s = finish(b);
	assert_int_equal(look(s, "ads.example"), 1);
	assert_int_equal(look(s, "myadsite.org"), 1);
	assert_int_equal(look(s, "x.adserver.net"), 3); /* longest keyword */
	assert_int_equal(look(s, "tracker-ads.io"), 2);
	assert_int_equal(look(s, "ad.example"), -1);
	assert_true(match_lookup_ex(s, "ADSERVE.x", 9, &h));
	assert_int_equal(h.kind, MATCH_KEYWORD);
	assert_int_equal(h.len, 6);
	assert_memory_equal(h.value, "adserv", 6);
	assert_int_equal(match_set_entries(s), 3);
	match_set_free(s);
}

static void test_regexp(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	struct match_hit h;

	(void)state;
	add(b, MATCH_REGEXP, "^r+[0-9]+(---|\\.)sn-(2x3|ni5|j5o)\\w{5}\\.googlevideo\\.com$", 1);
	add(b, MATCH_REGEXP, "\\d{3}\\.example$", 2);
	add(b, MATCH_REGEXP, "(^|\\.)Track\\.", 3); /* matched caseless */
	add(b, MATCH_REGEXP, "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", 4);
	add(b, MATCH_REGEXP, "(ab)\\1", 5); /* not foldable: matched alone */
	s = finish(b);
	assert_int_equal(look(s, "r3---sn-2x3abcde.googlevideo.com"), 1);
	assert_int_equal(look(s, "R3---SN-2X3ABCDE.GOOGLEVIDEO.COM."), 1);
	assert_int_equal(look(s, "xr3---sn-2x3abcde.googlevideo.com"), -1);
	assert_int_equal(look(s, "r3---sn-2x3abcd.googlevideo.com"), -1);
	assert_int_equal(look(s, "x.y123.example"), 2); /* search, not full match */
	assert_int_equal(look(s, "y12.example"), -1);
	assert_int_equal(look(s, "a.track.b"), 3);
	assert_int_equal(look(s, "track.b"), 3);
	assert_int_equal(look(s, "atrack.b"), -1);
	assert_int_equal(look(s, "localhost"), 4);
	assert_int_equal(look(s, "local.host"), -1);
	assert_int_equal(look(s, "x.abab.y"), 5);
	assert_int_equal(look(s, "x.abba.y"), -1);
	assert_true(match_lookup_ex(s, "1234.example", 12, &h));
	assert_int_equal(h.kind, MATCH_REGEXP);
	assert_int_equal(h.len, strlen("\\d{3}\\.example$"));
	match_set_free(s);
}

static void test_precedence(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	struct match_hit h;

	(void)state;
	add(b, MATCH_REGEXP, "google", 50);
	add(b, MATCH_KEYWORD, "google", 40);
	add(b, MATCH_DOMAIN, "google.com", 30);
	add(b, MATCH_DOMAIN, "mail.google.com", 31);
	add(b, MATCH_FULL, "mail.google.com", 20);
	add(b, MATCH_FULL, "google.com", 30);	/* same tag as domain:google.com */
	add(b, MATCH_DOMAIN, "google.com", 99); /* duplicate: ignored */
	s = finish(b);
	assert_true(match_lookup_ex(s, "mail.google.com", 15, &h));
	assert_int_equal(h.kind, MATCH_FULL);
	assert_int_equal(h.tag, 20);
	assert_true(match_lookup_ex(s, "x.mail.google.com", 17, &h));
	assert_int_equal(h.kind, MATCH_DOMAIN);
	assert_int_equal(h.tag, 31);
	assert_int_equal(h.len, 15);
	assert_memory_equal(h.value, "mail.google.com", 15);
	assert_int_equal(look(s, "google.com"), 30);
	assert_int_equal(look(s, "www.google.com"), 30);
	assert_int_equal(look(s, "google.de"), 40);
	assert_int_equal(look(s, "x.googl.e"), -1);
	match_set_free(s);

	/* regexp order: the first added wins */
	b = match_builder_new();
	add(b, MATCH_REGEXP, "b", 2);
	add(b, MATCH_REGEXP, "a", 1);
	s = finish(b);
	assert_int_equal(look(s, "ab"), 2);
	match_set_free(s);
}

static void test_redundant(void **state)
{
	struct match_builder *b = match_builder_new();
	struct match_set *s;

	(void)state;
	add(b, MATCH_DOMAIN, "a.com", 1);
	add(b, MATCH_DOMAIN, "b.a.com", 2);
	add(b, MATCH_DOMAIN, "c.b.a.com", 1); /* differs from its nearest parent: kept */
	add(b, MATCH_DOMAIN, "x.a.com", 1);   /* same as a.com: dropped */
	add(b, MATCH_FULL, "y.a.com", 1);     /* dropped */
	add(b, MATCH_FULL, "z.b.a.com", 1);   /* kept: nearest parent has tag 2 */
	add(b, MATCH_FULL, "q.com", 5);
	s = finish(b);
	assert_int_equal(match_set_entries(s), 5);
	assert_int_equal(look(s, "a.com"), 1);
	assert_int_equal(look(s, "b.a.com"), 2);
	assert_int_equal(look(s, "w.b.a.com"), 2);
	assert_int_equal(look(s, "c.b.a.com"), 1);
	assert_int_equal(look(s, "d.c.b.a.com"), 1);
	assert_int_equal(look(s, "x.a.com"), 1);
	assert_int_equal(look(s, "y.a.com"), 1);
	assert_int_equal(look(s, "z.b.a.com"), 1);
	assert_int_equal(look(s, "q.z.b.a.com"), 2);
	assert_int_equal(look(s, "q.com"), 5);
	assert_int_equal(look(s, "r.q.com"), -1);
	match_set_free(s);
}

/* A one-tag builder drops names below a domain entry while it grows (past
 * 256 KiB of names); the set must be the one finish alone makes. Names
 * come before the domains above them, as in a sorted ad list, and some come
 * again after they were dropped. */
static void test_one_tag_sweep(void **state)
{
	struct match_builder *a = match_builder_new(), *b = match_builder_new();
	struct match_set *sa, *sb;
	char name[96];

	(void)state;
	assert_int_equal(match_builder_one_tag(b), 0);
	for (int round = 0; round < 2; round++)
		for (int p = 0; p < 6000; p++) {
			for (int c = 0; c < 3; c++) {
				snprintf(name, sizeof(name), "host-%d.child-%d.parent-%d.example",
					 c, c, p);
				add(a, c ? MATCH_FULL : MATCH_DOMAIN, name, 7);
				add(b, c ? MATCH_FULL : MATCH_DOMAIN, name, 7);
			}
			snprintf(name, sizeof(name), "parent-%d.example", p);
			if (p % 3 == 0) { /* a domain above the names: they are redundant */
				add(a, MATCH_DOMAIN, name, 7);
				add(b, MATCH_DOMAIN, name, 7);
			} else if (p % 3 == 1) { /* a full entry: covers nothing */
				add(a, MATCH_FULL, name, 7);
				add(b, MATCH_FULL, name, 7);
			}
		}
	assert_int_equal(match_builder_add(b, MATCH_DOMAIN, "other.tag", 9, 8), -EINVAL);
	assert_int_equal(match_builder_entries(a), 6000 * 3 + 4000);
	assert_true(match_builder_entries(b) >= match_builder_entries(a)); /* re-added names */
	sa = finish(a);
	sb = finish(b);
	assert_int_equal(match_set_entries(sa), match_set_entries(sb));
	assert_int_equal(match_set_entries(sa), 2000 * 1 + 2000 * 4 + 2000 * 3);
	for (int p = 0; p < 6000; p++)
		for (int c = -1; c < 4; c++) {
			struct match_hit ha, hb;
			bool fa, fb;

			if (c < 0)
				snprintf(name, sizeof(name), "www.parent-%d.example", p);
			else
				snprintf(name, sizeof(name), "host-%d.child-%d.parent-%d.example",
					 c, c, p);
			fa = match_lookup_ex(sa, name, strlen(name), &ha);
			fb = match_lookup_ex(sb, name, strlen(name), &hb);
			assert_int_equal(fa, fb);
			if (!fa)
				continue;
			assert_int_equal(ha.kind, hb.kind);
			assert_int_equal(ha.tag, hb.tag);
			assert_int_equal(ha.len, hb.len);
			assert_memory_equal(ha.value, hb.value, ha.len);
		}
	assert_int_equal(look(sb, "x.parent-3.example"), 7);
	assert_int_equal(look(sb, "x.parent-1.example"), -1);
	assert_int_equal(look(sb, "host-1.child-1.parent-1.example"), 7);
	match_set_free(sa);
	match_set_free(sb);

	b = match_builder_new();
	add(b, MATCH_FULL, "a.b", 1);
	add(b, MATCH_FULL, "c.d", 2);
	assert_int_equal(match_builder_one_tag(b), -EINVAL); /* too late: two tags */
	assert_int_equal(match_builder_one_tag(NULL), -EINVAL);
	match_builder_free(b);
}

static void test_empty(void **state)
{
	struct match_set *s = finish(match_builder_new());

	(void)state;
	assert_false(match_lookup(s, "a.b", 3, NULL));
	assert_int_equal(match_set_entries(s), 0);
	assert_false(match_lookup(NULL, "a", 1, NULL));
	match_set_free(s);
	match_set_free(NULL);
	match_builder_free(NULL);
}

/* ---- random sets against a brute-force reference ---- */

struct ref {
	enum match_kind kind;
	char v[40];
	uint32_t tag;
};

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void rand_name(uint64_t *r, char *out, int labels)
{
	static const char *const parts[] = {"a",  "b",	"c",  "ab", "xy", "q1", "z-z", "com",
					    "cn", "de", "io", "mx", "k7", "uv", "w_w", "net"};
	size_t n = 0;

	for (int i = 0; i < labels; i++)
		n += (size_t)sprintf(out + n, "%s%s", i ? "." : "",
				     parts[rng_next(r) % (sizeof(parts) / sizeof(parts[0]))]);
}

/* Reference: full > longest domain > longest keyword > first regexp(never
 * used here); for equal value the first added entry wins. */
static long ref_look(const struct ref *e, size_t n, const char *name)
{
	size_t nl = strlen(name), best_len = 0;
	long full = -1, dom = -1, kw = -1;

	for (size_t i = 0; i < n; i++) {
		size_t vl = strlen(e[i].v);

		if (e[i].kind == MATCH_FULL && full < 0 && strcmp(e[i].v, name) == 0)
			full = e[i].tag;
		if (e[i].kind == MATCH_DOMAIN && vl <= nl && strcmp(name + nl - vl, e[i].v) == 0 &&
		    (vl == nl || name[nl - vl - 1] == '.') && (dom < 0 || vl > best_len)) {
			dom = e[i].tag;
			best_len = vl;
		}
	}
	if (full >= 0)
		return full;
	if (dom >= 0)
		return dom;
	best_len = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].kind == MATCH_KEYWORD && strstr(name, e[i].v) &&
		    (kw < 0 || strlen(e[i].v) > best_len)) {
			kw = e[i].tag;
			best_len = strlen(e[i].v);
		}
	return kw;
}

static void random_round(uint64_t seed, uint32_t ntags, size_t n)
{
	struct ref *e = calloc(n, sizeof(*e));
	struct match_builder *b = match_builder_new();
	struct match_set *s;
	uint64_t r = seed;
	size_t hits = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t k = rng_next(&r) % 20;

		e[i].kind = k < 12 ? MATCH_DOMAIN : k < 19 ? MATCH_FULL : MATCH_KEYWORD;
		rand_name(&r, e[i].v, e[i].kind == MATCH_KEYWORD ? 3 : 2 + (int)(rng_next(&r) % 3));
		e[i].tag = (uint32_t)(rng_next(&r) % ntags) * 1000003u %
			   (ntags > 1000 ? 0x7fffffff : 1000);
		add(b, e[i].kind, e[i].v, e[i].tag);
	}
	/* the reference keeps only the first entry of each kind+value */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (e[j].kind == e[i].kind && strcmp(e[j].v, e[i].v) == 0) {
				e[i].kind = (enum match_kind)7; /* never matches */
				break;
			}
	s = finish(b);
	for (int i = 0; i < 4000; i++) {
		char name[MATCH_LOOKUP_MAX];
		size_t pre = 0, plen = 200 + rng_next(&r) % 760;
		long want, got;

		while (i % 3 == 0 && pre + 241 <= plen) { /* escaped labels in front */
			pre =
			    (size_t)(esc_label(name + pre, (unsigned char)rng_next(&r), 60) - name);
			name[pre++] = '.';
		}
		rand_name(&r, name + pre, 1 + (int)(rng_next(&r) % 5));
		want = ref_look(e, n, name);
		got = look(s, name);
		if (want != got)
			fail_msg("seed %llu name %s: want %ld got %ld", (unsigned long long)seed,
				 name, want, got);
		hits += got >= 0;
	}
	if (getenv("TEST_VERBOSE"))
		printf("seed %llu tags %u: %zu hits\n", (unsigned long long)seed, ntags, hits);
	assert_true(hits > 100 && hits < 3900); /* both outcomes exercised */
	match_set_free(s);
	free(e);
}

static void test_random_vs_reference(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 12; seed++) {
		random_round(seed * 0x9e3779b97f4a7c15ull, 1, 200);    /* one tag: heavy dropping */
		random_round(seed * 0x9e3779b97f4a7c15ull, 3, 200);    /* few tags: runs */
		random_round(seed * 0x9e3779b97f4a7c15ull, 5000, 200); /* inline tags */
	}
}

/* ---- regexps: literal guards against a plain search of every pattern ---- */

static const char *const rx_pats[] = {
    "(^|\\.)18tv[1-5]\\.com$",
    "(^|\\.)91porn\\.(best|com|cool)$",
    "^r+[0-9]+(---|\\.)sn-(2x3|ni5|j5o)\\w{5}\\.googlevideo\\.com$",
    ".+\\.awsdns-[0-9][0-9]\\.(co\\.uk|com|net|org)$",
    "(\\w+)-static-[0-9]+\\.cdntogo\\.net$",
    "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
    "javdb\\d+\\.com$",
    "(^|\\.)fiftymvapi\\..+$",
    "(?:^|\\.)abc[0-9]\\.xyz$",
    "ab|cd\\.com$",
    "^x\\.y$",
    "(?i)Mixed\\.case$",
    "(ab)\\1\\.net$",
    "foo.bar$",
    "x{2}y\\.com$",
    "[.]dot\\.org$",
    "(^|\\.)A-b_C\\.io$",
    "^\\d+\\.\\d+$",
    "tracker",
    "(^|\\.)?opt\\.com$",
    "z?zz\\.net$",
    "\\.com$",
    "^www\\.",
    "(^|\\.)zz[0-9]{2}\\.(?=n)net$",
    "^abc",
    "q\\\\.com$",
};

static void test_regexp_guards(void **state)
{
	static const char *const parts[] = {"18tv3",	   "91porn",	"r3---sn-2x3abcde",
					    "googlevideo", "awsdns-12", "cdntogo",
					    "x-static-12", "javdb12",	"fiftymvapi",
					    "abc7",	   "abc",	"xyz",
					    "ab",	   "cd",	"mixed",
					    "case",	   "abab",	"foo",
					    "bar",	   "fooxbar",	"xxy",
					    "dot",	   "a-b_c",	"io",
					    "123",	   "tracker",	"opt",
					    "zz",	   "zzz",	"zz12",
					    "www",	   "com",	"net",
					    "org",	   "co",	"uk",
					    "best",	   "x",		"y"};
	const size_t np = sizeof(rx_pats) / sizeof(rx_pats[0]);
	struct match_builder *b = match_builder_new();
	pcre2_code *code[sizeof(rx_pats) / sizeof(rx_pats[0])];
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	struct match_set *s;
	uint64_t r = 7;
	size_t hits = 0;

	(void)state;
	for (size_t i = 0; i < np; i++) {
		int err;
		PCRE2_SIZE off;

		add(b, MATCH_REGEXP, rx_pats[i], (uint32_t)i);
		code[i] = pcre2_compile((PCRE2_SPTR)rx_pats[i], PCRE2_ZERO_TERMINATED,
					PCRE2_CASELESS | PCRE2_DOLLAR_ENDONLY, &err, &off, NULL);
		assert_non_null(code[i]);
	}
	s = finish(b);
	for (int n = 0; n < 20000; n++) {
		char name[MATCH_LOOKUP_MAX];
		size_t len = 0;
		long want = -1;
		int labels = 1 + (int)(rng_next(&r) % 5);

		for (int l = 0; n % 4 == 0 && l < 2; l++) { /* escaped labels in front */
			len =
			    (size_t)(esc_label(name + len, (unsigned char)rng_next(&r), 60) - name);
			name[len++] = '.';
		}
		for (int l = 0; l < labels; l++)
			len += (size_t)sprintf(
			    name + len, "%s%s", l ? "." : "",
			    parts[rng_next(&r) % (sizeof(parts) / sizeof(parts[0]))]);
		for (size_t i = 0; i < np && want < 0; i++)
			if (pcre2_match(code[i], (PCRE2_SPTR)name, len, 0, 0, md, NULL) >= 0)
				want = (long)i;
		if (look(s, name) != want)
			fail_msg("%s: want regexp %ld, got %ld", name, want, look(s, name));
		hits += want >= 0;
	}
	assert_true(hits > 2000 && hits < 19000);
	for (size_t i = 0; i < np; i++)
		pcre2_code_free(code[i]);
	pcre2_match_data_free(md);
	match_set_free(s);
}

/* ---- concurrency ---- */

struct tctx {
	const struct match_set *s;
	const char *const *names;
	const long *want;
	size_t n;
	int bad;
};

static void *worker(void *arg)
{
	struct tctx *t = arg;

	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < t->n; i++)
			if (look(t->s, t->names[i]) != t->want[i])
				t->bad++;
	return NULL;
}

static void test_threads(void **state)
{
	static const char *const names[] = {
	    "a.cn",	   "x.example.com", "ads.net", "r1.sn-ni5qqqqq.googlevideo.com",
	    "nomatch.org", "123.x",	    "foo.bar", "localhost"};
	struct match_builder *b = match_builder_new();
	struct tctx t[4];
	pthread_t th[4];
	long want[8];
	struct match_set *s;

	(void)state;
	add(b, MATCH_DOMAIN, "cn", 1);
	add(b, MATCH_FULL, "x.example.com", 2);
	add(b, MATCH_KEYWORD, "ads", 3);
	add(b, MATCH_REGEXP, "^r+[0-9]+(---|\\.)sn-(2x3|ni5|j5o)\\w{5}\\.googlevideo\\.com$", 4);
	add(b, MATCH_REGEXP, "^\\d+\\.", 5);
	add(b, MATCH_REGEXP, "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", 6);
	s = finish(b);
	for (size_t i = 0; i < 8; i++)
		want[i] = look(s, names[i]);
	assert_int_equal(want[3], 4);
	assert_int_equal(want[4], -1);
	assert_int_equal(want[5], 5);
	assert_int_equal(want[7], 6);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct tctx){.s = s, .names = names, .want = want, .n = 8};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].bad, 0);
	}
	match_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_domain_suffix),
	    cmocka_unit_test(test_case_and_dot),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_long_names),
	    cmocka_unit_test(test_escaped_names),
	    cmocka_unit_test(test_escaped_kw_rx),
	    cmocka_unit_test(test_keyword),
	    cmocka_unit_test(test_regexp),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_redundant),
	    cmocka_unit_test(test_one_tag_sweep),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_regexp_guards),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
