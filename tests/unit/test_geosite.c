/* test_geosite.c - geosite.dat decoder: hand-built protobuf (omitted Plain
 * type, fields out of order, unknown fields, attributes, damage at every
 * length), then the real geosite.dat against its yml dump (every list), the
 * verdict table of the data README, and the cross-check: the same lists
 * loaded from geosite.dat and from the domain-list-community text give the
 * same verdict on more than 10,000 names. */
#include "config.h"
#include "list_geosite.h"
#include "list_text.h"
#include "match.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmocka.h>

/* ---- protobuf encoder for fixtures ---- */

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

static void put_str(struct enc *e, unsigned field, const char *s)
{
	put_bytes(e, field, s, strlen(s));
}

static void put_attr(struct enc *dom, const char *key)
{
	struct enc a = {.n = 0};

	put_str(&a, 1, key);
	put_key(&a, 2, 0);
	put_varint(&a, 1);
	put_bytes(dom, 3, a.b, a.n);
}

/* Domain; type < 0 leaves the field out (proto3 default Plain). */
static void put_domain(struct enc *site, int type, const char *value, const char *attr)
{
	struct enc d = {.n = 0};

	if (attr)
		put_attr(&d, attr); /* attribute before the value: any order */
	put_str(&d, 2, value);
	if (type >= 0) {
		put_key(&d, 1, 0);
		put_varint(&d, (uint64_t)type);
	}
	put_bytes(site, 2, d.b, d.n);
}

static void build_fixture(struct enc *f)
{
	struct enc s = {.n = 0}, d = {.n = 0};

	f->n = 0;
	put_str(&s, 1, "TEST");
	put_domain(&s, -1, "Keyw", NULL);
	put_domain(&s, 1, "^re\\d+\\.", NULL);
	put_domain(&s, 2, "root.example", "ads");
	put_domain(&s, 3, "full.example", "cn");
	/* a Domain with every kind of unknown field */
	put_key(&d, 9, 0);
	put_varint(&d, 300);
	put_key(&d, 10, 5);
	memset(d.b + d.n, 0xaa, 4), d.n += 4;
	put_key(&d, 11, 1);
	memset(d.b + d.n, 0xbb, 8), d.n += 8;
	put_str(&d, 12, "junk");
	put_str(&d, 2, "unknown.example");
	put_key(&d, 1, 0);
	put_varint(&d, 2);
	put_bytes(&s, 2, d.b, d.n);
	put_key(&s, 3, 0); /* unknown GeoSite field */
	put_varint(&s, 7);
	put_bytes(f, 1, s.b, s.n);

	s.n = 0; /* code after the domains */
	put_domain(&s, 2, "other.example", NULL);
	put_domain(&s, 9, "badtype.example", NULL);
	put_domain(&s, 1, "([", NULL);
	put_str(&s, 1, "Other");
	put_bytes(f, 1, s.b, s.n);

	put_key(f, 5, 0); /* unknown GeoSiteList field */
	put_varint(f, 1);
	s.n = 0;
	put_str(&s, 1, "SKIPME");
	put_domain(&s, 2, "skip.example", NULL);
	put_bytes(f, 1, s.b, s.n);
}

/* ---- helpers ---- */

struct warns {
	int n;
	char last[256];
};

static void on_warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	struct warns *w = ctx;

	(void)file;
	(void)line;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static struct match_set *finish(struct match_builder *b)
{
	char err[128];
	struct match_set *s = match_builder_finish(b, err, sizeof(err));

	assert_non_null(s);
	return s;
}

static bool hit(const struct match_set *s, const char *name)
{
	return match_lookup(s, name, strlen(name), NULL);
}

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s ? s : ".";
}

static const char *shared(char *out, size_t len, const char *name)
{
	struct stat st;

	snprintf(out, len, "%s/../shared/data/%s", srcdir(), name);
	if (stat(out, &st) == 0)
		return out;
	printf("shared data missing: %s (skipping)\n", out);
	return NULL;
}

/* ---- synthetic ---- */

static void test_synthetic(void **state)
{
	struct geosite_want want[] = {{"test", NULL, 1}, {"TEST", "ADS", 2}, {"other", NULL, 3}};
	struct match_builder *b[3] = {match_builder_new(), match_builder_new(),
				      match_builder_new()};
	struct geosite_stats st;
	struct warns w = {0};
	struct match_set *s[3];
	struct match_hit h;
	struct enc f;

	(void)state;
	build_fixture(&f);
	assert_int_equal(geosite_dat_parse_buf("fx", f.b, f.n, want, 3, b, &st, on_warn, &w), 0);
	assert_int_equal(st.lists, 3);
	assert_int_equal(st.domains, 9);
	assert_int_equal(st.by_type[0], 1);
	assert_int_equal(st.by_type[1], 2);
	assert_int_equal(st.by_type[2], 4);
	assert_int_equal(st.by_type[3], 1);
	assert_int_equal(st.attributes, 2);
	assert_int_equal(st.added, 5 + 1 + 1);
	assert_int_equal(st.bad, 2);
	assert_int_equal(w.n, 2);
	for (int i = 0; i < 3; i++)
		s[i] = finish(b[i]);
	assert_true(match_lookup_ex(s[0], "xkeywx.net", 10, &h)); /* Plain, type omitted */
	assert_int_equal(h.kind, MATCH_KEYWORD);
	assert_int_equal(h.tag, 1);
	assert_true(match_lookup_ex(s[0], "re12.example", 12, &h));
	assert_int_equal(h.kind, MATCH_REGEXP);
	assert_true(hit(s[0], "a.root.example"));
	assert_true(hit(s[0], "full.example"));
	assert_false(hit(s[0], "a.full.example"));
	assert_true(hit(s[0], "x.unknown.example"));
	assert_false(hit(s[0], "skip.example"));
	assert_true(hit(s[1], "a.root.example")); /* only the @ads entry */
	assert_false(hit(s[1], "full.example"));
	assert_false(hit(s[1], "xkeywx.net"));
	assert_true(hit(s[2], "www.other.example"));
	assert_false(hit(s[2], "badtype.example"));
	for (int i = 0; i < 3; i++)
		match_set_free(s[i]);
}

static void test_unknown_code(void **state)
{
	struct geosite_want want[] = {{"test", NULL, 0}, {"nope", NULL, 0}};
	struct match_builder *b[2] = {match_builder_new(), match_builder_new()};
	struct warns w = {0};
	struct enc f;

	(void)state;
	build_fixture(&f);
	assert_int_equal(geosite_dat_parse_buf("fx", f.b, f.n, want, 2, b, NULL, on_warn, &w),
			 -ENOENT);
	assert_non_null(strstr(w.last, "no list 'nope'"));
	match_builder_free(b[0]);
	match_builder_free(b[1]);
	assert_int_equal(geosite_dat_load("/nonexistent.dat", want, 1, b, NULL, NULL), -ENOENT);
}

static void test_damaged(void **state)
{
	struct geosite_want want[] = {{"test", "cn", 0}, {"skipme", NULL, 0}};
	static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t too_long[] = {0x0a, 0x05, 0x0a, 0x01};
	static const uint8_t group[] = {0x0b, 0x0c};
	static const uint8_t field0[] = {0x02, 0x00};
	struct enc f;

	(void)state;
	build_fixture(&f);
	/* every prefix and every single-byte change: no crash, a defined result */
	for (size_t len = 0; len <= f.n; len++) {
		for (int flip = -1; flip < (int)len; flip += len == f.n ? 1 : 29) {
			struct match_builder *b[2] = {match_builder_new(), match_builder_new()};
			uint8_t buf[4096];
			int rc;

			memcpy(buf, f.b, len);
			if (flip >= 0)
				buf[flip] ^= (uint8_t)(0x5a + len);
			rc = geosite_dat_parse_buf("fx", buf, len, want, 2, b, NULL, NULL, NULL);
			assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
			if (len == f.n && flip < 0)
				assert_int_equal(rc, 0);
			match_builder_free(b[0]);
			match_builder_free(b[1]);
		}
	}
	{
		struct match_builder *b[1] = {match_builder_new()};

		assert_int_equal(geosite_dat_parse_buf("x", long_varint, sizeof(long_varint), want,
						       1, b, NULL, NULL, NULL),
				 -EBADMSG);
		assert_int_equal(geosite_dat_parse_buf("x", too_long, sizeof(too_long), want, 1, b,
						       NULL, NULL, NULL),
				 -EBADMSG);
		assert_int_equal(
		    geosite_dat_parse_buf("x", group, sizeof(group), want, 1, b, NULL, NULL, NULL),
		    -EBADMSG);
		assert_int_equal(geosite_dat_parse_buf("x", field0, sizeof(field0), want, 1, b,
						       NULL, NULL, NULL),
				 -EBADMSG);
		assert_int_equal(geosite_dat_parse_buf("x", NULL, 0, want, 1, b, NULL, NULL, NULL),
				 -ENOENT);
		match_builder_free(b[0]);
	}
}

/* ---- the yml dump ---- */

struct yrule {
	char type; /* d f r k */
	char *value;
};

struct ylist {
	char name[64];
	struct yrule *r;
	size_t n, cap;
};

struct yml {
	struct ylist *l;
	size_t n;
};

/* Minimal reader for geosite.dat_plain.yml: list names and their rules. */
static bool yml_load(struct yml *y)
{
	char path[4096], line[1024];
	FILE *f;

	if (!shared(path, sizeof(path), "geosite.dat_plain.yml") || !(f = fopen(path, "r")))
		return false;
	y->l = calloc(2000, sizeof(*y->l));
	y->n = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p, *q, *at, *o;
		struct ylist *l = y->n ? &y->l[y->n - 1] : NULL;

		if (sscanf(line, "  - name: \"%63[^\"]\"", y->l[y->n].name) == 1) {
			y->n++;
			continue;
		}
		if (strncmp(line, "      - \"", 9) != 0 || !l)
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->r = realloc(l->r, l->cap * sizeof(*l->r));
		}
		p = line + 9;
		q = strrchr(p, '"');
		*q = '\0';
		at = strstr(p, ":@");
		while (at && strstr(at + 1, ":@"))
			at = strstr(at + 1, ":@");
		if (at)
			*at = '\0';
		for (o = q = p; *q; q++) /* YAML \\ -> \ */
			*o++ = (q[0] == '\\' && q[1] == '\\') ? *q++ : *q;
		*o = '\0';
		q = strchr(p, ':');
		l->r[l->n].type = p[0] == 'd' ? 'd' : p[0] == 'f' ? 'f' : p[0] == 'r' ? 'r' : 'k';
		l->r[l->n].value = strdup(q + 1);
		l->n++;
	}
	fclose(f);
	return y->n > 0;
}

static void yml_free(struct yml *y)
{
	for (size_t i = 0; i < y->n; i++) {
		for (size_t j = 0; j < y->l[i].n; j++)
			free(y->l[i].r[j].value);
		free(y->l[i].r);
	}
	free(y->l);
}

static int cmp_rule(const void *a, const void *b)
{
	const struct yrule *x = a, *y = b;

	return x->type != y->type ? x->type - y->type : strcmp(x->value, y->value);
}

static size_t distinct(struct ylist *l)
{
	size_t n = 0;

	qsort(l->r, l->n, sizeof(*l->r), cmp_rule);
	for (size_t i = 0; i < l->n; i++)
		n += i == 0 || cmp_rule(&l->r[i], &l->r[i - 1]) != 0;
	return n;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	char *buf;

	if (list_read_file(path, &buf, len) < 0)
		return NULL;
	return (uint8_t *)buf;
}

/* Every list of geosite.dat decodes to what the yml dump says, and gives
 * the verdicts of the same list loaded from the text source. */
static void test_real_all_lists(void **state)
{
	struct yml y;
	struct geosite_want *want;
	struct match_builder **b;
	struct geosite_stats st;
	size_t len, rules = 0, types[4] = {0};
	char path[4096], dir[4096];
	uint8_t *buf;

	(void)state;
	if (!shared(path, sizeof(path), "geosite.dat") ||
	    !shared(dir, sizeof(dir), "domain-list-community/data") || !yml_load(&y))
		skip();
	assert_non_null(buf = read_all(path, &len));
	want = calloc(y.n, sizeof(*want));
	b = calloc(y.n, sizeof(*b));
	for (size_t i = 0; i < y.n; i++) {
		want[i] = (struct geosite_want){.code = y.l[i].name, .tag = (uint32_t)i};
		b[i] = match_builder_new();
		rules += y.l[i].n;
		for (size_t j = 0; j < y.l[i].n; j++)
			types[y.l[i].r[j].type == 'k'	? 0
			      : y.l[i].r[j].type == 'r' ? 1
			      : y.l[i].r[j].type == 'd' ? 2
							: 3]++;
	}
	assert_int_equal(geosite_dat_parse_buf(path, buf, len, want, y.n, b, &st, NULL, NULL), 0);
	assert_int_equal(y.n, 1536);
	assert_int_equal(st.lists, 1536);
	assert_int_equal(st.domains, rules);
	assert_int_equal(st.domains, 109230); /* upstream 109,236 minus 6 removed */
	for (int t = 0; t < 4; t++)
		assert_int_equal(st.by_type[t], types[t]);
	assert_int_equal(st.by_type[1], 374);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.added, rules);
	for (size_t i = 0; i < y.n; i++) {
		struct match_builder *bt = match_builder_new();
		struct match_set *s, *t;

		assert_int_equal(match_builder_entries(b[i]), distinct(&y.l[i]));
		s = finish(b[i]);
		/* the same list from the text source */
		assert_true(list_dlc_load(dir, y.l[i].name, NULL, bt, NULL, NULL) > 0);
		t = finish(bt);
		for (size_t j = 0; j < y.l[i].n; j++) {
			const struct yrule *r = &y.l[i].r[j];
			const char *parent = strchr(r->value, '.');
			char sub[300];

			if (r->type == 'r')
				continue;
			snprintf(sub, sizeof(sub), "zz9.%s", r->value);
			if (!hit(s, r->value) || (r->type == 'd' && !hit(s, sub)))
				fail_msg("%s: %c:%s not matched", y.l[i].name, r->type, r->value);
			if (!hit(t, r->value) || hit(t, sub) != hit(s, sub) ||
			    (parent && hit(t, parent + 1) != hit(s, parent + 1)))
				fail_msg("%s: %s: text and geosite.dat differ", y.l[i].name,
					 r->value);
		}
		match_set_free(s);
		match_set_free(t);
	}
	free(want);
	free(b);
	free(buf);
	yml_free(&y);
}

/* ---- README section 2 verdict table, from both sources ---- */

static const char *const table_lists[] = {
    "CN",      "GEOLOCATION-CN", "GEOLOCATION-!CN", "CATEGORY-ADS-ALL",
    "PRIVATE", "CATEGORY-NTP",	 "GOOGLE",	    "APPLE"};
#define NTABLE (sizeof(table_lists) / sizeof(table_lists[0]))

static const struct {
	const char *name;
	unsigned lists; /* bit i: table_lists[i] */
} table[] = {
    {"www.baidu.com", 1u << 0 | 1u << 1},
    {"time.apple.com", 1u << 5 | 1u << 7 | 1u << 2},
    {"pool.ntp.org", 1u << 5 | 1u << 2},
    {"ad.doubleclick.net", 1u << 3 | 1u << 6 | 1u << 2},
    {"dns.google", 1u << 6 | 1u << 2},
    {"r3---sn-2x3abcde.googlevideo.com", 1u << 6 | 1u << 2},
    {"localhost", 1u << 4},
    {"nonexistent.invalid", 1u << 4},
    {"example.org", 0},
};

static void check_table(struct match_set **s, const char *src)
{
	for (size_t q = 0; q < sizeof(table) / sizeof(table[0]); q++)
		for (size_t i = 0; i < NTABLE; i++)
			if (hit(s[i], table[q].name) != !!(table[q].lists & (1u << i)))
				fail_msg("%s: %s in %s: expected %d", src, table[q].name,
					 table_lists[i], !!(table[q].lists & (1u << i)));
}

static void hit_is(const struct match_set *s, const char *name, enum match_kind kind,
		   const char *value)
{
	struct match_hit h;

	assert_true(match_lookup_ex(s, name, strlen(name), &h));
	assert_int_equal(h.kind, kind);
	assert_int_equal(h.len, strlen(value));
	assert_memory_equal(h.value, value, h.len);
}

static void test_real_table(void **state)
{
	struct geosite_want want[NTABLE];
	struct match_builder *b[NTABLE];
	struct match_set *s[NTABLE];
	char path[4096], dir[4096];

	(void)state;
	if (!shared(path, sizeof(path), "geosite.dat") ||
	    !shared(dir, sizeof(dir), "domain-list-community/data"))
		skip();
	for (size_t i = 0; i < NTABLE; i++) {
		want[i] = (struct geosite_want){.code = table_lists[i]};
		b[i] = match_builder_new();
	}
	assert_int_equal(geosite_dat_load(path, want, NTABLE, b, NULL, NULL), 0);
	for (size_t i = 0; i < NTABLE; i++)
		s[i] = finish(b[i]);
	check_table(s, "geosite.dat");
	hit_is(s[0], "www.baidu.com", MATCH_DOMAIN, "baidu.com");
	hit_is(s[5], "time.apple.com", MATCH_FULL, "time.apple.com");
	hit_is(s[7], "time.apple.com", MATCH_DOMAIN, "apple.com");
	hit_is(s[3], "ad.doubleclick.net", MATCH_DOMAIN, "doubleclick.net");
	hit_is(s[6], "dns.google", MATCH_DOMAIN, "google");
	hit_is(s[4], "localhost", MATCH_DOMAIN, "localhost");
	hit_is(s[4], "nonexistent.invalid", MATCH_DOMAIN, "invalid");
	hit_is(s[4], "myrouter", MATCH_REGEXP, "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$");
	for (size_t i = 0; i < NTABLE; i++) {
		match_set_free(s[i]);
		b[i] = match_builder_new();
		assert_true(list_dlc_load(dir, table_lists[i], NULL, b[i], NULL, NULL) > 0);
		s[i] = finish(b[i]);
	}
	check_table(s, "text");
	for (size_t i = 0; i < NTABLE; i++)
		match_set_free(s[i]);
}

/* ---- the cross-check ---- */

static const struct {
	const char *code, *attr;
} xlists[] = {
    {"cn", NULL}, {"category-ads-all", NULL}, {"geolocation-!cn", NULL}, {"google", "ads"}};
#define NX (sizeof(xlists) / sizeof(xlists[0]))

struct names {
	char **v;
	size_t n, cap;
};

static void name_add(struct names *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void name_add(struct names *ns, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 1024;
		ns->v = realloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	ns->v[ns->n++] = strdup(buf);
}

/* Names from a list value: itself, below it, beside it and mangled. */
static void names_from(struct names *ns, const char *v, uint64_t *r)
{
	static const char *const pre[] = {"www", "a1", "cdn-x", "m"};
	const char *dot = strchr(v, '.');

	*r = *r * 6364136223846793005ull + 1442695040888963407ull;
	name_add(ns, "%s", v);
	name_add(ns, "%s.%s", pre[(*r >> 33) % 4], v);
	name_add(ns, "x%s", v);	  /* not on a label boundary */
	name_add(ns, "%s.zz", v); /* beside */
	if (dot)
		name_add(ns, "%s", dot + 1); /* the parent */
	if (strlen(v) > 3)
		name_add(ns, "%.*s%c%s", (int)((*r >> 40) % (strlen(v) - 1)), v,
			 (char)('a' + (*r >> 50) % 26), v + (*r >> 40) % (strlen(v) - 1) + 1);
}

static void test_cross_check(void **state)
{
	struct match_builder *bd[NX], *bt[NX];
	struct match_set *sd[NX], *st[NX];
	struct geosite_want want[NX];
	struct names ns = {0};
	struct yml y;
	char path[4096], dir[4096], china[4096], line[512];
	size_t hits = 0, misses = 0;
	uint64_t r = 42;
	FILE *f;

	(void)state;
	if (!shared(path, sizeof(path), "geosite.dat") ||
	    !shared(dir, sizeof(dir), "domain-list-community/data") ||
	    !shared(china, sizeof(china), "dnsmasq-china-list/accelerated-domains.china.conf") ||
	    !yml_load(&y))
		skip();
	for (size_t i = 0; i < NX; i++) {
		want[i] = (struct geosite_want){.code = xlists[i].code, .attr = xlists[i].attr};
		bd[i] = match_builder_new();
		bt[i] = match_builder_new();
		assert_true(list_dlc_load(dir, xlists[i].code, xlists[i].attr, bt[i], NULL, NULL) >
			    0);
		st[i] = finish(bt[i]);
	}
	assert_int_equal(geosite_dat_load(path, want, NX, bd, NULL, NULL), 0);
	for (size_t i = 0; i < NX; i++)
		sd[i] = finish(bd[i]);
	/* names: values of the compared lists (and some unrelated lists) */
	for (size_t i = 0; i < y.n; i++) {
		bool wanted = false;

		for (size_t k = 0; k < NX; k++)
			wanted |= strcasecmp(y.l[i].name, xlists[k].code) == 0;
		for (size_t j = 0; j < y.l[i].n; j += wanted ? 7 : 97)
			if (y.l[i].r[j].type != 'r')
				names_from(&ns, y.l[i].r[j].value, &r);
	}
	/* and names from the china list */
	assert_non_null(f = fopen(china, "r"));
	for (int i = 0; fgets(line, sizeof(line), f); i++) {
		char d[300];

		if (i % 97 == 0 && sscanf(line, "server=/%299[^/]/", d) == 1)
			names_from(&ns, d, &r);
	}
	fclose(f);
	assert_true(ns.n >= 10000);
	for (size_t n = 0; n < ns.n; n++) {
		for (size_t i = 0; i < NX; i++) {
			bool a = hit(sd[i], ns.v[n]), b = hit(st[i], ns.v[n]);

			if (a != b)
				fail_msg("%s%s%s: %s: geosite.dat %d, text %d", xlists[i].code,
					 xlists[i].attr ? "@" : "",
					 xlists[i].attr ? xlists[i].attr : "", ns.v[n], a, b);
			hits += a;
			misses += !a;
		}
		free(ns.v[n]);
	}
	printf("cross-check: %zu names x %zu lists, %zu hits, %zu misses\n", ns.n, NX, hits,
	       misses);
	assert_true(hits > 5000 && misses > 5000);
	for (size_t i = 0; i < NX; i++) {
		match_set_free(sd[i]);
		match_set_free(st[i]);
	}
	free(ns.v);
	yml_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_synthetic),  cmocka_unit_test(test_unknown_code),
	    cmocka_unit_test(test_damaged),    cmocka_unit_test(test_real_all_lists),
	    cmocka_unit_test(test_real_table), cmocka_unit_test(test_cross_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
