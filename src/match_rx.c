#include "config.h"
/* match_rx.c - the keyword and regexp entries of a domain set.
 *
 * Owns PCRE2 (compile, JIT, match limits), the literals read from each
 * pattern so that most lookups never run it, the prefix/suffix guard keys,
 * and the keyword and regexp searches of a lookup. Does not own the
 * full/domain arena and table, the builder and set objects or the public API
 * (match.c): match.c embeds a match_rx_builder / match_rx_set and calls in. */
#include "match_rx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KW_MAX 8192 /* keywords and regexps are deduplicated and tried one by one */
#define RX_MAX 8192
#define RX_MATCH_LIMIT 200000
#define RX_DEPTH_LIMIT 2000

struct match_kw {
	uint32_t off, len, tag;
};

enum { RXG_FREE, RXG_PRE, RXG_SUF }; /* a regexp is tried always, by prefix, by suffix */

struct match_re {
	pcre2_code *code;
	uint32_t off, len, tag; /* source, in the regexp arena */
	uint32_t lit;		/* literals: prefix, suffix, required (regexp arena) */
	uint8_t npre, nsuf, nreq, guard;
	bool anchored; /* the prefix sits at a label start: ^ or (^|\.) */
};

struct match_rekey { /* guard: hash of a prefix (3 bytes) or of a suffix -> regexp */
	uint64_t hash;
	uint32_t idx;
};

int match_rx_add_keyword(struct match_rx_builder *b, const char *v, size_t len, uint32_t tag)
{
	char s[MATCH_NAME_MAX];
	uint32_t off;

	if (len == 0 || len > MATCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return -EINVAL;
		s[i] = match_lc(v[i]);
	}
	for (size_t i = 0; i < b->nkw; i++)
		if (b->kws[i].len == len && memcmp(b->kwa.p + b->kws[i].off, s, len) == 0)
			return 0;
	if (b->nkw == KW_MAX)
		return -E2BIG;
	if (match_grow((void **)&b->kws, &b->ckw, b->nkw + 1, sizeof(*b->kws)) < 0 ||
	    match_buf_put(&b->kwa, s, len, &off) < 0)
		return -ENOMEM;
	b->kws[b->nkw++] = (struct match_kw){.off = off, .len = (uint32_t)len, .tag = tag};
	return 0;
}

/* ---- regexp literals ----
 * A regexp search costs far more than a hash probe and real lists carry
 * many (geolocation-!cn: 158), so each pattern is read for literals that
 * every match must contain: a prefix at a label start (`(^|\.)abc`, `^abc`),
 * a suffix before the final `$`, and the longest literal run outside groups.
 * A lookup finds most regexps through a hash of their prefix or suffix and
 * runs one only when its literals are present. Patterns with constructs this
 * reading does not follow (\Q, back references, inline options, verbs,
 * top-level |) get no literals and are always run. */

#define RX_LIT_MAX 63
#define RXK_PRE 0x7072650000000000ull
#define RXK_SUF 0x7375660000000000ull

static bool rx_plain(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (i + 1 >= len || strchr("QEgk0123456789", p[i + 1]))
				return false;
			i++;
		} else if (p[i] == '(' && i + 1 < len && (p[i + 1] == '*' || p[i + 1] == '?')) {
			const char *t = p + i + 2;
			size_t rest = len - i - 2;

			if (p[i + 1] == '*' || rest == 0)
				return false;
			if (!(*t == ':' || *t == '=' || *t == '!' ||
			      (rest > 1 && *t == '<' && (t[1] == '=' || t[1] == '!'))))
				return false; /* (?i), (?x), (?<name>...), (?R)... */
		}
	}
	return true;
}

/* A character that stands for itself at p[i]: its length (1, or 2 when
 * escaped) and lowercase value; 0 for anything else. */
static size_t rx_atom(const char *p, size_t len, size_t i, char *c)
{
	char x = p[i];

	if (x == '\\') {
		if (i + 1 >= len || !p[i + 1] || !strchr(".-_/", p[i + 1]))
			return 0;
		*c = p[i + 1];
		return 2;
	}
	if (!((x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
	      x == '-' || x == '_'))
		return 0;
	*c = match_lc(x);
	return 1;
}

static bool rx_quant(const char *p, size_t len, size_t i)
{
	return i < len && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{');
}

static bool rx_escaped(const char *p, size_t i)
{
	size_t k = 0;

	while (k < i && p[i - 1 - k] == '\\')
		k++;
	return k & 1;
}

/* Index after the class that starts at p[i] == '['. */
static size_t rx_class_end(const char *p, size_t len, size_t i)
{
	i++;
	if (i < len && p[i] == '^')
		i++;
	if (i < len && p[i] == ']')
		i++;
	for (; i < len && p[i] != ']'; i++)
		if (p[i] == '\\')
			i++;
	return i + 1;
}

/* Longest literal run outside groups; false on a top-level '|'. */
static bool rx_required(const char *p, size_t len, char *req, size_t *nreq)
{
	char cur[RX_LIT_MAX];
	size_t run = 0, n;
	int depth = 0;
	char c;

	*nreq = 0;
	for (size_t i = 0; i < len;) {
		if (depth == 0 && (n = rx_atom(p, len, i, &c)) && !rx_quant(p, len, i + n)) {
			if (run < RX_LIT_MAX)
				cur[run++] = c;
			if (run > *nreq)
				memcpy(req, cur, (*nreq = run));
			i += n;
			continue;
		}
		run = 0;
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			i = rx_class_end(p, len, i);
			continue;
		}
		if (p[i] == '{') /* a quantifier's digits are not literals */
			while (i + 1 < len && p[i] != '}')
				i++;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')')
			depth--;
		else if (p[i] == '|' && depth == 0)
			return false;
		i++;
	}
	return true;
}

static size_t rx_prefix(const char *p, size_t len, char *pre, bool *anchored)
{
	size_t i, n, np = 0;
	char c;

	if (len >= 6 && (memcmp(p, "(^|\\.)", 6) == 0))
		i = 6;
	else if (len >= 8 && memcmp(p, "(?:^|\\.)", 8) == 0)
		i = 8;
	else if (len >= 1 && p[0] == '^')
		i = 1;
	else
		return 0;
	if (rx_quant(p, len, i))
		return 0;
	*anchored = true;
	while (i < len && np < RX_LIT_MAX && (n = rx_atom(p, len, i, &c)) &&
	       !rx_quant(p, len, i + n)) {
		pre[np++] = c;
		i += n;
	}
	return np;
}

static size_t rx_suffix(const char *p, size_t len, char *suf)
{
	char tmp[RX_LIT_MAX];
	size_t j, n = 0;

	if (len < 2 || p[len - 1] != '$' || rx_escaped(p, len - 1))
		return 0;
	for (j = len - 1; j > 0 && n < RX_LIT_MAX;) {
		char c = p[j - 1];

		if (rx_escaped(p, j - 1)) {
			if (!c || !strchr(".-_/", c))
				break;
			tmp[n++] = c;
			j -= 2;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_') {
			tmp[n++] = match_lc(c);
			j--;
		} else {
			break;
		}
	}
	for (size_t k = 0; k < n; k++)
		suf[k] = tmp[n - 1 - k];
	return n;
}

/* Fill r's literals (stored in lit: prefix, suffix, required) and guard. */
static void rx_literals(struct match_re *r, const char *v, size_t len, char *lit)
{
	size_t np = 0, ns = 0, nr = 0;
	bool anch = false;
	const char *dot;

	if (!rx_plain(v, len) || !rx_required(v, len, lit + 2 * RX_LIT_MAX, &nr)) {
		r->guard = RXG_FREE;
		return;
	}
	np = rx_prefix(v, len, lit, &anch);
	ns = rx_suffix(v, len, lit + np);
	memmove(lit + np + ns, lit + 2 * RX_LIT_MAX, nr);
	r->npre = (uint8_t)np;
	r->nsuf = (uint8_t)ns;
	r->nreq = (uint8_t)nr;
	r->anchored = anch;
	dot = memchr(lit + np, '.', ns);
	if (anch && np >= 3)
		r->guard = RXG_PRE;
	else if (dot && dot + 1 < lit + np + ns)
		r->guard = RXG_SUF;
	else
		r->guard = RXG_FREE;
}

static uint64_t key_pre(const char *p)
{
	return match_hfin(RXK_PRE | (uint64_t)(unsigned char)p[0] |
			  (uint64_t)(unsigned char)p[1] << 8 | (uint64_t)(unsigned char)p[2] << 16);
}

static uint64_t key_suf(const char *k, size_t n)
{
	char buf[MATCH_NAME_BUF];
	struct match_hstate hs;

	memcpy(buf, k, n);
	memset(buf + n, 0, 8);
	match_hstate_init(&hs, buf, n);
	return match_hstate_suffix(&hs, 0) ^ RXK_SUF;
}

static pcre2_code *rx_compile(const char *p, size_t len)
{
	int err;
	PCRE2_SIZE eoff;
	/* DOLLAR_ENDONLY: `$` is the end of the name, as in Go's RE2 */
	pcre2_code *c = pcre2_compile((PCRE2_SPTR)p, len, PCRE2_CASELESS | PCRE2_DOLLAR_ENDONLY,
				      &err, &eoff, NULL);

	if (c)
		(void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* interpreter if no JIT */
	return c;
}

int match_rx_add_regexp(struct match_rx_builder *b, const char *v, size_t len, uint32_t tag)
{
	char lit[3 * RX_LIT_MAX];
	struct match_re r = {.len = (uint32_t)len, .tag = tag};
	uint32_t loff;

	if (len == 0 || len > 65535)
		return -EINVAL;
	for (size_t i = 0; i < b->nrx; i++)
		if (b->rxs[i].len == len && memcmp(b->rxa.p + b->rxs[i].off, v, len) == 0)
			return 0;
	if (b->nrx == RX_MAX)
		return -E2BIG;
	r.code = rx_compile(v, len);
	if (!r.code)
		return -EINVAL;
	rx_literals(&r, v, len, lit);
	if (match_grow((void **)&b->rxs, &b->crx, b->nrx + 1, sizeof(*b->rxs)) < 0 ||
	    match_buf_put(&b->rxa, v, len, &r.off) < 0 ||
	    match_buf_put(&b->rxa, lit, (size_t)r.npre + r.nsuf + r.nreq, &loff) < 0) {
		pcre2_code_free(r.code);
		return -ENOMEM;
	}
	r.lit = loff;
	b->rxs[b->nrx++] = r;
	return 0;
}

/* ---- finish ---- */

static int build_kw(struct match_rx_set *s, const struct match_rx_builder *b, size_t *entries,
		    size_t *bytes)
{
	if (b->nkw == 0)
		return 0;
	s->kwa = malloc(b->kwa.len);
	s->kws = malloc(b->nkw * sizeof(*s->kws));
	if (!s->kwa || !s->kws)
		return -ENOMEM;
	memcpy(s->kwa, b->kwa.p, b->kwa.len);
	memcpy(s->kws, b->kws, b->nkw * sizeof(*s->kws));
	s->nkw = b->nkw;
	*entries += b->nkw;
	*bytes += b->kwa.len + b->nkw * sizeof(*s->kws);
	return 0;
}

static size_t rx_size(const pcre2_code *c)
{
	size_t sz = 0, jsz = 0;

	(void)pcre2_pattern_info(c, PCRE2_INFO_SIZE, &sz);
	if (pcre2_pattern_info(c, PCRE2_INFO_JITSIZE, &jsz) != 0)
		jsz = 0;
	return sz + jsz;
}

static int cmp_rxkey(const void *a, const void *b)
{
	const struct match_rekey *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Guard keys (sorted) and the list of regexps without one. */
static int build_rx_guards(struct match_rx_set *s, size_t *bytes)
{
	s->rxk = malloc(s->nrx * sizeof(*s->rxk));
	s->rxfree = malloc(s->nrx * sizeof(*s->rxfree));
	if (!s->rxk || !s->rxfree)
		return -ENOMEM;
	for (size_t i = 0; i < s->nrx; i++) {
		const struct match_re *r = &s->rxs[i];
		const char *lit = s->rxa + r->lit, *suf = lit + r->npre, *dot;

		if (r->guard == RXG_PRE) {
			s->rxk[s->nrxk++] =
			    (struct match_rekey){.hash = key_pre(lit), .idx = (uint32_t)i};
		} else if (r->guard == RXG_SUF) {
			dot = memchr(suf, '.', r->nsuf);
			s->rxk[s->nrxk++] = (struct match_rekey){
			    .hash = key_suf(dot + 1, (size_t)(suf + r->nsuf - dot - 1)),
			    .idx = (uint32_t)i};
		} else {
			s->rxfree[s->nrxfree++] = (uint32_t)i;
		}
	}
	qsort(s->rxk, s->nrxk, sizeof(*s->rxk), cmp_rxkey);
	*bytes += s->nrx * (sizeof(*s->rxk) + sizeof(*s->rxfree));
	return 0;
}

/* Takes the compiled regexps from the builder. */
static int build_rx(struct match_rx_set *s, struct match_rx_builder *b, size_t *entries,
		    size_t *bytes)
{
	if (b->nrx == 0)
		return 0;
	s->rxa = malloc(b->rxa.len);
	s->rxs = malloc(b->nrx * sizeof(*s->rxs));
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->rxa || !s->rxs || !s->mctx)
		return -ENOMEM;
	pcre2_set_match_limit(s->mctx, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, RX_DEPTH_LIMIT);
	memcpy(s->rxa, b->rxa.p, b->rxa.len);
	memcpy(s->rxs, b->rxs, b->nrx * sizeof(*s->rxs));
	s->nrx = b->nrx;
	b->nrx = 0;
	*entries += s->nrx;
	*bytes += b->rxa.len + s->nrx * sizeof(*s->rxs);
	for (size_t i = 0; i < s->nrx; i++)
		*bytes += rx_size(s->rxs[i].code);
	return build_rx_guards(s, bytes);
}

int match_rx_build(struct match_rx_set *s, struct match_rx_builder *b, size_t *entries,
		   size_t *bytes)
{
	int rc = build_kw(s, b, entries, bytes);

	return rc < 0 ? rc : build_rx(s, b, entries, bytes);
}

size_t match_rx_builder_entries(const struct match_rx_builder *b)
{
	return b->nkw + b->nrx;
}

void match_rx_builder_fini(struct match_rx_builder *b)
{
	for (size_t i = 0; i < b->nrx; i++)
		pcre2_code_free(b->rxs[i].code);
	free(b->kwa.p);
	free(b->kws);
	free(b->rxa.p);
	free(b->rxs);
}

void match_rx_set_fini(struct match_rx_set *s)
{
	for (size_t i = 0; i < s->nrx; i++)
		pcre2_code_free(s->rxs[i].code);
	free(s->rxk);
	free(s->rxfree);
	pcre2_match_context_free(s->mctx);
	free(s->kwa);
	free(s->kws);
	free(s->rxa);
	free(s->rxs);
}

/* ---- lookup ---- */

bool match_rx_kw_lookup(const struct match_rx_set *s, const char *name, size_t len,
			struct match_hit *hit)
{
	const struct match_kw *best = NULL;

	for (size_t i = 0; i < s->nkw; i++) {
		const struct match_kw *k = &s->kws[i];

		if (k->len <= len && (!best || k->len > best->len) &&
		    memmem(name, len, s->kwa + k->off, k->len))
			best = k;
	}
	if (!best)
		return false;
	*hit = (struct match_hit){
	    .kind = MATCH_KEYWORD, .tag = best->tag, .value = s->kwa + best->off, .len = best->len};
	return true;
}

struct rxrun {
	const struct match_rx_set *s;
	const char *name;
	size_t len, best;
	pcre2_match_data *md;
};

/* Are r's literals in the name? at: the label start a prefix guard hit. */
static bool rx_lits_ok(const struct match_re *r, const char *lit, const char *name, size_t len,
		       size_t at)
{
	const char *suf = lit + r->npre, *req = suf + r->nsuf;

	if (r->nsuf && (len < r->nsuf || memcmp(name + len - r->nsuf, suf, r->nsuf) != 0))
		return false;
	if (r->nreq && !memmem(name, len, req, r->nreq))
		return false;
	if (!r->anchored || !r->npre)
		return true;
	if (at != SIZE_MAX)
		return len - at >= r->npre && memcmp(name + at, lit, r->npre) == 0;
	for (size_t i = 0; i < len;) {
		const char *dot;

		if (len - i >= r->npre && memcmp(name + i, lit, r->npre) == 0)
			return true;
		if (!(dot = memchr(name + i, '.', len - i)))
			break;
		i = (size_t)(dot - name) + 1;
	}
	return false;
}

static void rx_try(struct rxrun *x, uint32_t idx, size_t at)
{
	const struct match_re *r = &x->s->rxs[idx];

	if (idx >= x->best || !rx_lits_ok(r, x->s->rxa + r->lit, x->name, x->len, at))
		return;
	if (!x->md && !(x->md = pcre2_match_data_create(1, NULL)))
		return;
	if (pcre2_match(r->code, (PCRE2_SPTR)x->name, x->len, 0, 0, x->md, x->s->mctx) >= 0)
		x->best = idx;
}

static void rx_probe(struct rxrun *x, uint64_t h, size_t at)
{
	const struct match_rekey *k = x->s->rxk;
	size_t lo = 0, hi = x->s->nrxk;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < x->s->nrxk && k[lo].hash == h; lo++)
		rx_try(x, k[lo].idx, at);
}

/* The first-added regexp that matches: guarded ones through their keys at
 * every label start / label-aligned suffix, then the unguarded ones. A
 * suffix key is at most RX_LIT_MAX long, so only suffixes in the last 253
 * characters are hashed (the whole name, unless it is a long escaped one). */
bool match_rx_lookup(const struct match_rx_set *s, const char *name, size_t len,
		     struct match_hit *hit)
{
	struct rxrun x = {.s = s, .name = name, .len = len, .best = SIZE_MAX};
	const struct match_re *r;

	if (s->nrxk) {
		size_t t = len > MATCH_NAME_MAX ? len - MATCH_NAME_MAX : 0;
		struct match_hstate hs;

		match_hstate_init(&hs, name + t, len - t);
		for (size_t b = 0;;) { /* every label start */
			const char *dot;

			if (len - b >= 3)
				rx_probe(&x, key_pre(name + b), b);
			if (b && b >= t)
				rx_probe(&x, match_hstate_suffix(&hs, b - t) ^ RXK_SUF, SIZE_MAX);
			if (!(dot = memchr(name + b, '.', len - b)))
				break;
			b = (size_t)(dot - name) + 1;
		}
	}
	for (size_t i = 0; i < s->nrxfree && s->rxfree[i] < x.best; i++)
		rx_try(&x, s->rxfree[i], SIZE_MAX);
	pcre2_match_data_free(x.md);
	if (x.best == SIZE_MAX)
		return false;
	r = &s->rxs[x.best];
	*hit = (struct match_hit){
	    .kind = MATCH_REGEXP, .tag = r->tag, .value = s->rxa + r->off, .len = r->len};
	return true;
}
