/* test_iplist.c - ip-list sets and their loaders: the range set (IPv4 and
 * IPv6, nested, overlapping and adjacent prefixes, /0, /32, /128, the top
 * of the address space, the complement) against a naive prefix scan on
 * random data; the CIDR text parser (every bad line reported with its
 * line number and skipped); the geoip.dat decoder on hand-encoded protobuf
 * (codes in any case, fields in any order, reverse_match, bad CIDRs,
 * damage at every length) and on real excerpts (tests/data/iplist). */
#include "config.h"
#include "iplist.h"
#include "list_ip.h"
#include "sluice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ---- */

static bool has(const struct iplist *l, const char *text)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, text, a) != 1)
		fail_msg("bad address in test: %s", text);
	return iplist_has(l, fam, a);
}

static void add(struct iplist_builder *b, const char *text, unsigned plen)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, text, a) != 1)
		fail_msg("bad address in test: %s", text);
	assert_int_equal(iplist_builder_add(b, fam, a, plen), 0);
}

static struct iplist *from_text(const char *text, struct list_cidr_stats *st)
{
	struct iplist_builder *b = iplist_builder_new();

	assert_non_null(b);
	assert_int_equal(list_cidr_parse_buf("t", text, strlen(text), b, st, NULL, NULL), 0);
	return iplist_builder_finish(b);
}

struct warns {
	unsigned n;
	unsigned lines[64];
	char last[256];
};

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct warns *w = ctx;

	(void)file;
	if (w->n < 64)
		w->lines[w->n] = line;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : "..";
}

/* ---- the set ---- */

static void test_v4(void **state)
{
	struct iplist_builder *b = iplist_builder_new();
	struct iplist_stats st;
	struct iplist *l;

	(void)state;
	add(b, "10.0.0.0", 8);
	add(b, "10.1.0.0", 16);	    /* nested */
	add(b, "192.0.2.0", 25);    /* adjacent halves: one range */
	add(b, "192.0.2.128", 25);
	add(b, "198.51.100.7", 32);
	add(b, "203.0.113.77", 24); /* host bits ignored: 203.0.113.0/24 */
	add(b, "203.0.113.128", 26); /* overlapping */
	assert_int_equal(iplist_builder_count(b), 7);
	l = iplist_builder_finish(b);
	assert_non_null(l);
	iplist_stats(l, &st);
	assert_int_equal(st.prefixes, 7);
	assert_int_equal(st.ranges4, 4);
	assert_int_equal(st.ranges6, 0);
	assert_true(has(l, "10.0.0.0"));
	assert_true(has(l, "10.255.255.255"));
	assert_false(has(l, "9.255.255.255"));
	assert_false(has(l, "11.0.0.0"));
	assert_true(has(l, "192.0.2.0"));
	assert_true(has(l, "192.0.2.127"));
	assert_true(has(l, "192.0.2.128"));
	assert_true(has(l, "192.0.2.255"));
	assert_false(has(l, "192.0.3.0"));
	assert_true(has(l, "198.51.100.7"));
	assert_false(has(l, "198.51.100.6"));
	assert_false(has(l, "198.51.100.8"));
	assert_true(has(l, "203.0.113.0"));
	assert_true(has(l, "203.0.113.255"));
	assert_false(has(l, "0.0.0.0"));
	assert_false(has(l, "255.255.255.255"));
	assert_false(has(l, "2001:db8::1")); /* the other family */
	assert_false(has(l, "::ffff:10.0.0.1")); /* a mapped address is IPv6 */
	assert_true(iplist_has4(l, 0x0a000001));
	iplist_free(l);
}

static void test_v6(void **state)
{
	struct iplist_builder *b = iplist_builder_new();
	struct iplist_stats st;
	struct iplist *l;

	(void)state;
	add(b, "2001:db8::", 32);
	add(b, "2001:db8:1::", 48); /* nested */
	add(b, "::1", 128);
	/* adjacent across the two 64-bit halves: ...:0:ffff:ffff:ffff:ffff then ...:1::/64 */
	add(b, "2001:db9:0:0:ffff:ffff:ffff:ffff", 128);
	add(b, "2001:db9:0:1::", 64);
	add(b, "2001:db9:0:0:ffff:ffff:ffff:fffe", 127); /* overlaps the /128 above */
	l = iplist_builder_finish(b);
	iplist_stats(l, &st);
	assert_int_equal(st.ranges6, 3);
	assert_int_equal(st.ranges4, 0);
	assert_true(has(l, "2001:db8::"));
	assert_true(has(l, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(has(l, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_true(has(l, "::1"));
	assert_false(has(l, "::"));
	assert_false(has(l, "::2"));
	assert_true(has(l, "2001:db9::ffff:ffff:ffff:fffe"));
	assert_false(has(l, "2001:db9::ffff:ffff:ffff:fffd"));
	assert_true(has(l, "2001:db9:0:1:ffff:ffff:ffff:ffff"));
	assert_false(has(l, "2001:db9:0:2::"));
	assert_false(has(l, "127.0.0.1"));
	iplist_free(l);
}

static void test_edges(void **state)
{
	struct iplist_builder *b = iplist_builder_new();
	struct iplist_stats st;
	uint8_t a[16] = {0};
	struct iplist *l;

	(void)state;
	/* bad family and lengths */
	assert_int_equal(iplist_builder_add(b, AF_INET, a, 33), -EINVAL);
	assert_int_equal(iplist_builder_add(b, AF_INET6, a, 129), -EINVAL);
	assert_int_equal(iplist_builder_add(b, AF_UNIX, a, 0), -EINVAL);
	assert_int_equal(iplist_builder_count(b), 0);
	/* the top of both spaces, in pieces that merge */
	add(b, "255.255.255.254", 32);
	add(b, "255.255.255.255", 32);
	add(b, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128);
	add(b, "ffff:ffff:ffff:ffff::", 64);
	l = iplist_builder_finish(b);
	iplist_stats(l, &st);
	assert_int_equal(st.ranges4, 1);
	assert_int_equal(st.ranges6, 1);
	assert_true(has(l, "255.255.255.255"));
	assert_false(has(l, "255.255.255.253"));
	assert_true(has(l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(has(l, "ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff"));
	iplist_free(l);

	/* /0 holds everything, and swallows whatever else is added */
	b = iplist_builder_new();
	add(b, "0.0.0.0", 0);
	add(b, "192.0.2.1", 32);
	add(b, "::", 0);
	add(b, "2001:db8::", 32);
	l = iplist_builder_finish(b);
	iplist_stats(l, &st);
	assert_int_equal(st.ranges4, 1);
	assert_int_equal(st.ranges6, 1);
	assert_true(has(l, "0.0.0.0"));
	assert_true(has(l, "255.255.255.255"));
	assert_true(has(l, "::"));
	assert_true(has(l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	iplist_free(l);

	/* empty, and NULL */
	l = iplist_builder_finish(iplist_builder_new());
	assert_non_null(l);
	assert_false(has(l, "0.0.0.0"));
	assert_false(has(l, "::"));
	iplist_free(l);
	assert_false(iplist_has(NULL, AF_INET, a));
	assert_null(iplist_builder_finish(NULL));
	iplist_free(NULL);
	iplist_builder_free(NULL);
}

static void test_inverse(void **state)
{
	struct iplist_builder *b = iplist_builder_new(), *inv;
	struct iplist *l, *r;
	struct iplist_stats st;

	(void)state;
	add(b, "10.0.0.0", 8);
	add(b, "192.0.2.0", 24);
	add(b, "2001:db8::", 32);
	l = iplist_builder_finish(b);
	inv = iplist_builder_new();
	assert_int_equal(iplist_builder_add_inverse(inv, l), 0);
	r = iplist_builder_finish(inv);
	iplist_stats(r, &st);
	assert_int_equal(st.ranges4, 3);
	assert_int_equal(st.ranges6, 2);
	assert_true(has(r, "0.0.0.0"));
	assert_true(has(r, "9.255.255.255"));
	assert_false(has(r, "10.1.2.3"));
	assert_true(has(r, "11.0.0.0"));
	assert_false(has(r, "192.0.2.9"));
	assert_true(has(r, "255.255.255.255"));
	assert_true(has(r, "::"));
	assert_false(has(r, "2001:db8::1"));
	assert_true(has(r, "2001:db9::"));
	assert_true(has(r, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	iplist_free(r);
	iplist_free(l);

	/* the inverse of everything is nothing; of nothing, everything */
	b = iplist_builder_new();
	add(b, "0.0.0.0", 0);
	add(b, "::", 0);
	l = iplist_builder_finish(b);
	inv = iplist_builder_new();
	assert_int_equal(iplist_builder_add_inverse(inv, l), 0);
	r = iplist_builder_finish(inv);
	iplist_stats(r, &st);
	assert_int_equal(st.ranges4 + st.ranges6, 0);
	iplist_free(r);
	iplist_free(l);
	inv = iplist_builder_new();
	assert_int_equal(iplist_builder_add_inverse(inv, NULL), 0);
	r = iplist_builder_finish(inv);
	assert_true(has(r, "198.51.100.1"));
	assert_true(has(r, "2001:db8::5"));
	/* and a set copied into another builder is the same set */
	inv = iplist_builder_new();
	assert_int_equal(iplist_builder_add_set(inv, r), 0);
	l = iplist_builder_finish(inv);
	iplist_stats(l, &st);
	assert_int_equal(st.ranges4, 1);
	assert_int_equal(st.ranges6, 1);
	iplist_free(l);
	iplist_free(r);
}

/* Random prefixes (short ones too, so they nest and overlap) against a
 * scan of every prefix, on addresses near the prefixes' edges. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 16);
}

struct pfx {
	uint8_t a[16];
	unsigned plen;
};

static bool in_pfx(const struct pfx *p, const uint8_t *a, size_t alen)
{
	unsigned bits = p->plen;

	for (size_t i = 0; i < alen && bits; i++) {
		unsigned take = bits > 8 ? 8 : bits;
		uint8_t m = (uint8_t)(0xff00u >> take);

		if ((p->a[i] ^ a[i]) & m)
			return false;
		bits -= take;
	}
	return true;
}

static void random_family(int fam, size_t alen)
{
	enum { NP = 600, NQ = 20000 };
	struct pfx *p = calloc(NP, sizeof(*p));
	struct iplist_builder *b = iplist_builder_new();
	struct iplist *l;

	assert_non_null(p);
	for (size_t i = 0; i < NP; i++) {
		/* four values of the top byte, so prefixes nest and overlap; no
		 * prefix shorter than /12, or a few would cover everything */
		for (size_t k = 0; k < alen; k++)
			p[i].a[k] = (uint8_t)rnd();
		p[i].a[0] %= 4;
		p[i].plen = 12 + (unsigned)(rnd() % (alen * 8 - 11));
		assert_int_equal(iplist_builder_add(b, fam, p[i].a, p[i].plen), 0);
	}
	l = iplist_builder_finish(b);
	assert_non_null(l);
	for (size_t q = 0; q < NQ; q++) {
		uint8_t a[16];
		bool want = false;

		/* near an edge of a random prefix, or anywhere */
		memcpy(a, p[rnd() % NP].a, alen);
		if (q % 3 == 0) {
			for (size_t k = 0; k < alen; k++)
				a[k] = (uint8_t)rnd();
			a[0] %= 8;
		} else {
			a[rnd() % alen] ^= (uint8_t)(1u << (rnd() % 8));
		}
		for (size_t i = 0; i < NP && !want; i++)
			want = in_pfx(&p[i], a, alen);
		if (iplist_has(l, fam, a) != want)
			fail_msg("family %d, query %zu: set says %d, scan says %d", fam, q, !want,
				 want);
	}
	iplist_free(l);
	free(p);
}

static void test_random(void **state)
{
	(void)state;
	random_family(AF_INET, 4);
	random_family(AF_INET6, 16);
}

/* ---- CIDR text ---- */

static void test_cidr_text(void **state)
{
	static const char text[] = "\xef\xbb\xbf# chnroute style\n" /* 1 */
				   "1.0.1.0/24\n"		    /* 2 */
				   "\n"				    /* 3 */
				   "  2400:da00::/32  # trailing comment\r\n" /* 4 */
				   "198.51.100.9\n"		    /* 5: bare, /32 */
				   "2001:db8::9\n"		    /* 6: bare, /128 */
				   "1.2.3.4/33\n"		    /* 7 bad */
				   "1.2.3/24\n"			    /* 8 bad */
				   "2001:db8::/129\n"		    /* 9 bad */
				   "1.2.3.4 5.6.7.8\n"		    /* 10 bad */
				   "fe80::1%eth0\n"		    /* 11 bad */
				   "1.2.3.0/24x\n"		    /* 12 bad */
				   "1.2.3.0/\n"			    /* 13 bad */
				   "/24\n"			    /* 14 bad */
				   "1.2.3.0/0024\n"		    /* 15 bad */
				   "1.2.3.0/255.255.255.0\n"	    /* 16 bad */
				   "0.0.0.0/0\n"		    /* 17 */
				   "#\n"			    /* 18 */
				   "203.0.113.0/+24\n"		    /* 19 bad */
				   "192.0.2.0/24";		    /* 20, no newline */
	static const unsigned bad_lines[] = {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19};
	struct iplist_builder *b = iplist_builder_new();
	struct list_cidr_stats st = {0};
	struct warns w = {0};
	struct iplist *l;

	(void)state;
	assert_int_equal(list_cidr_parse_buf("t.txt", text, sizeof(text) - 1, b, &st, on_warn, &w),
			 0);
	assert_int_equal(st.lines, 20);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.bad, SL_ARRAY_LEN(bad_lines));
	assert_int_equal(st.comments, 3);
	assert_int_equal(w.n, SL_ARRAY_LEN(bad_lines));
	for (size_t i = 0; i < SL_ARRAY_LEN(bad_lines); i++)
		assert_int_equal(w.lines[i], bad_lines[i]);
	assert_non_null(strstr(w.last, "203.0.113.0/+24"));
	l = iplist_builder_finish(b);
	assert_true(has(l, "2400:da00:1::1"));
	assert_true(has(l, "2001:db8::9"));
	assert_false(has(l, "2001:db8::8"));
	assert_true(has(l, "8.8.8.8")); /* 0.0.0.0/0 */
	iplist_free(l);

	/* a NUL inside a word, a word longer than any address */
	{
		static const char nul[] = "192.0.2.1\0junk\n198.51.100.0/24\n";
		char longw[200];

		w = (struct warns){0};
		st = (struct list_cidr_stats){0};
		b = iplist_builder_new();
		assert_int_equal(
		    list_cidr_parse_buf("n", nul, sizeof(nul) - 1, b, &st, on_warn, &w), 0);
		assert_int_equal(st.bad, 1);
		assert_int_equal(st.entries, 1);
		memset(longw, '1', sizeof(longw) - 1);
		longw[sizeof(longw) - 1] = '\0';
		assert_int_equal(list_cidr_parse_buf("n", longw, strlen(longw), b, &st, on_warn, &w),
				 0);
		assert_int_equal(st.bad, 2);
		l = iplist_builder_finish(b);
		assert_false(has(l, "192.0.2.1"));
		iplist_free(l);
	}
	/* nothing at all */
	l = from_text("", NULL);
	assert_false(has(l, "0.0.0.0"));
	iplist_free(l);
	assert_int_equal(list_cidr_parse_buf("x", NULL, 1, NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_cidr_files(void **state)
{
	char path[512];
	struct iplist_builder *b = iplist_builder_new();
	struct list_cidr_stats st = {0};
	struct iplist *l;

	(void)state;
	assert_int_equal(list_cidr_load("/nonexistent/cn.txt", b, &st, NULL, NULL), -ENOENT);
	snprintf(path, sizeof(path), "%s/tests/data/iplist/china.txt", srcdir());
	assert_int_equal(list_cidr_load(path, b, &st, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/tests/data/iplist/china6.txt", srcdir());
	assert_int_equal(list_cidr_load(path, b, &st, NULL, NULL), 0);
	assert_int_equal(st.entries, 60);
	assert_int_equal(st.bad, 0);
	l = iplist_builder_finish(b);
	assert_true(has(l, "1.1.8.1"));	  /* 1.1.8.0/24 */
	assert_true(has(l, "1.12.255.255")); /* 1.12.0.0/14 */
	assert_false(has(l, "1.1.9.0"));
	assert_true(has(l, "2001:250:1::1")); /* 2001:250::/30 */
	assert_false(has(l, "2001:db8::1"));
	iplist_free(l);
}

/* ---- geoip.dat ---- */

struct enc {
	uint8_t b[4096];
	size_t n;
};

static void put_varint(struct enc *e, uint64_t v)
{
	do {
		e->b[e->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_key(struct enc *e, unsigned field, unsigned wt)
{
	put_varint(e, (uint64_t)field << 3 | wt);
}

static void put_bytes(struct enc *e, unsigned field, const void *p, size_t len)
{
	put_key(e, field, 2);
	put_varint(e, len);
	memcpy(e->b + e->n, p, len);
	e->n += len;
}

/* CIDR { ip, prefix }; plen < 0 leaves prefix out (proto3: 0); prefix first when swap. */
static void put_cidr(struct enc *entry, const char *text, int plen, bool swap)
{
	struct enc c = {.n = 0};
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, text, a) != 1)
		fail_msg("bad address in test: %s", text);
	if (swap && plen >= 0) {
		put_key(&c, 2, 0);
		put_varint(&c, (uint64_t)plen);
	}
	put_bytes(&c, 1, a, fam == AF_INET ? 4 : 16);
	if (!swap && plen >= 0) {
		put_key(&c, 2, 0);
		put_varint(&c, (uint64_t)plen);
	}
	put_bytes(entry, 2, c.b, c.n);
}

static void build_geoip(struct enc *f)
{
	struct enc e = {.n = 0}, c = {.n = 0};

	f->n = 0;
	put_bytes(&e, 1, "CN", 2);
	put_cidr(&e, "1.0.1.0", 24, false);
	put_cidr(&e, "2400:da00::", 32, true);
	/* bad CIDRs: a 5-byte address, /33, no address */
	put_bytes(&c, 1, "\x01\x02\x03\x04\x05", 5);
	put_bytes(&e, 2, c.b, c.n);
	c.n = 0;
	put_bytes(&c, 1, "\x01\x02\x03\x04", 4);
	put_key(&c, 2, 0);
	put_varint(&c, 33);
	put_bytes(&e, 2, c.b, c.n);
	c.n = 0;
	put_key(&c, 2, 0);
	put_varint(&c, 8);
	put_bytes(&e, 2, c.b, c.n);
	/* unknown fields of every wire type */
	put_key(&e, 9, 0);
	put_varint(&e, 300);
	put_key(&e, 10, 5);
	memset(e.b + e.n, 0xaa, 4), e.n += 4;
	put_key(&e, 11, 1);
	memset(e.b + e.n, 0xbb, 8), e.n += 8;
	put_bytes(f, 1, e.b, e.n);

	e.n = 0; /* the code after the CIDRs; a /0 without its prefix field */
	put_cidr(&e, "198.51.100.0", 24, false);
	put_bytes(&e, 1, "Rev", 3);
	put_key(&e, 3, 0); /* reverse_match */
	put_varint(&e, 1);
	put_bytes(f, 1, e.b, e.n);

	put_key(f, 5, 0); /* unknown GeoIPList field */
	put_varint(f, 1);
	e.n = 0;
	put_bytes(&e, 1, "ALL", 3);
	put_cidr(&e, "0.0.0.0", -1, false);
	put_bytes(f, 1, e.b, e.n);

	e.n = 0; /* cn again: added too */
	put_bytes(&e, 1, "cn", 2);
	put_cidr(&e, "203.0.113.0", 24, false);
	put_bytes(f, 1, e.b, e.n);
}

static void test_geoip(void **state)
{
	struct iplist_builder *b[4];
	struct geoip_want want[4] = {{"cn", NULL}, {"REV", NULL}, {"all", NULL}, {"CN", NULL}};
	struct geoip_stats st;
	struct warns w = {0};
	struct iplist *l[4];
	struct enc f;

	(void)state;
	build_geoip(&f);
	for (int i = 0; i < 4; i++)
		want[i].b = b[i] = iplist_builder_new();
	assert_int_equal(geoip_dat_parse_buf("g.dat", f.b, f.n, want, 4, &st, on_warn, &w), 0);
	assert_int_equal(st.codes, 4);
	assert_int_equal(st.cidrs, 8);
	assert_int_equal(st.bad, 6); /* three bad CIDRs, for each of the two cn wants */
	assert_int_equal(st.reversed, 1);
	assert_int_equal(w.n, 6);
	assert_non_null(strstr(w.last, "list CN"));
	for (int i = 0; i < 4; i++)
		l[i] = iplist_builder_finish(b[i]);
	for (int i = 0; i < 4; i += 3) {
		assert_true(has(l[i], "1.0.1.200"));
		assert_true(has(l[i], "2400:da00::1"));
		assert_true(has(l[i], "203.0.113.1"));
		assert_false(has(l[i], "1.2.3.4"));
		assert_false(has(l[i], "8.8.8.8"));
	}
	assert_false(has(l[1], "198.51.100.1"));
	assert_true(has(l[1], "198.51.101.1"));
	assert_true(has(l[1], "2001:db8::1")); /* reversed: every IPv6 address */
	assert_true(has(l[2], "255.255.255.255"));
	assert_false(has(l[2], "::1"));
	for (int i = 0; i < 4; i++)
		iplist_free(l[i]);

	/* a code the file lacks */
	w = (struct warns){0};
	want[0] = (struct geoip_want){"nope", iplist_builder_new()};
	assert_int_equal(geoip_dat_parse_buf("g.dat", f.b, f.n, want, 1, NULL, on_warn, &w),
			 -ENOENT);
	assert_non_null(strstr(w.last, "no code 'nope'"));
	iplist_builder_free(want[0].b);
	want[0].b = NULL;
	assert_int_equal(geoip_dat_parse_buf("g.dat", NULL, 3, NULL, 0, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(geoip_dat_parse_buf("g.dat", f.b, f.n, want, 1, NULL, NULL, NULL), -EINVAL);
}

/* Every truncation and a flipped byte at every offset: an error or a
 * clean result, never a crash or a leak (ASan watches). */
static void test_geoip_damage(void **state)
{
	struct enc f;
	uint8_t buf[4096];

	(void)state;
	build_geoip(&f);
	for (size_t n = 0; n <= f.n; n++) {
		struct geoip_want want = {"cn", iplist_builder_new()};
		int rc = geoip_dat_parse_buf("g", f.b, n, &want, 1, NULL, NULL, NULL);

		assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
		iplist_free(iplist_builder_finish(want.b));
	}
	for (size_t i = 0; i < f.n; i++) {
		struct geoip_want want = {"rev", iplist_builder_new()};
		int rc;

		memcpy(buf, f.b, f.n);
		buf[i] ^= 0xff;
		rc = geoip_dat_parse_buf("g", buf, f.n, &want, 1, NULL, NULL, NULL);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
		iplist_free(iplist_builder_finish(want.b));
	}
}

static void test_geoip_real(void **state)
{
	char path[512];
	struct geoip_want want[2] = {{"private", iplist_builder_new()}, {"test", iplist_builder_new()}};
	struct geoip_stats st;
	struct iplist *priv, *test;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/iplist/private.dat", srcdir());
	assert_int_equal(geoip_dat_load(path, want, 1, &st, NULL, NULL), 0);
	assert_int_equal(st.codes, 1);
	assert_int_equal(st.cidrs, 18);
	assert_int_equal(st.added, 18);
	snprintf(path, sizeof(path), "%s/tests/data/iplist/test.dat", srcdir());
	assert_int_equal(geoip_dat_load(path, want + 1, 1, &st, NULL, NULL), 0);
	assert_int_equal(geoip_dat_load("/nonexistent.dat", want + 1, 1, NULL, NULL, NULL), -ENOENT);
	priv = iplist_builder_finish(want[0].b);
	test = iplist_builder_finish(want[1].b);
	assert_true(has(priv, "10.1.2.3"));
	assert_true(has(priv, "192.168.1.1"));
	assert_true(has(priv, "192.0.2.53"));
	assert_true(has(priv, "203.0.113.1"));
	assert_true(has(priv, "fd00::1"));
	assert_true(has(priv, "fe80::1"));
	assert_true(has(priv, "::1"));
	assert_false(has(priv, "8.8.8.8"));
	assert_false(has(priv, "2001:db8::1")); /* not in v2fly's private list */
	assert_true(has(test, "127.0.0.1"));
	assert_false(has(test, "128.0.0.1"));
	iplist_free(priv);
	iplist_free(test);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4),		cmocka_unit_test(test_v6),
	    cmocka_unit_test(test_edges),	cmocka_unit_test(test_inverse),
	    cmocka_unit_test(test_random),	cmocka_unit_test(test_cidr_text),
	    cmocka_unit_test(test_cidr_files),	cmocka_unit_test(test_geoip),
	    cmocka_unit_test(test_geoip_damage), cmocka_unit_test(test_geoip_real),
	};

	return cmocka_run_group_tests_name("iplist", tests, NULL, NULL);
}
