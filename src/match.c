#include "config.h"
/* match.c - compiled domain sets: full / domain-suffix / keyword / regexp.
 *
 * Owns the builder and the immutable set; does not know about list file
 * formats (list_text, list_geosite) or rules. Full and domain entries live in
 * one char arena ([len][name][inline tag]) indexed by an open-addressing
 * table of 32-bit slots: arena offset | kind bits | hash fingerprint. A
 * lookup hashes every label-boundary suffix of the name in one right-to-left
 * pass (chunks aligned to the end of the name, so suffixes share work) and
 * probes the longest suffix first: the first hit is the most specific one.
 * Tags are stored as runs (one per change of tag in insertion order) or
 * inline when the caller gives nearly every entry its own tag. */
#include "match.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K_FULL 1u
#define K_DOM 2u
#define NAME_BUF (MATCH_NAME_MAX + 1 + 8) /* name + 8 bytes of zero padding */
#define HSTATES (MATCH_NAME_MAX / 8 + 2)
#define KW_MAX 8192 /* keywords and regexps are deduplicated and tried one by one */
#define RX_MAX 8192
#define RX_MATCH_LIMIT 200000
#define RX_DEPTH_LIMIT 2000

struct brec { /* builder record: one distinct full/domain name */
	uint64_t hash;
	uint32_t off;
	uint32_t tag[2]; /* [MATCH_FULL], [MATCH_DOMAIN] */
	uint8_t kinds;
};

struct kw {
	uint32_t off, len, tag;
};

enum { RXG_FREE, RXG_PRE, RXG_SUF }; /* a regexp is tried always, by prefix, by suffix */

struct rx {
	pcre2_code *code;
	uint32_t off, len, tag; /* source, in the regexp arena */
	uint32_t lit;		/* literals: prefix, suffix, required (regexp arena) */
	uint8_t npre, nsuf, nreq, guard;
	bool anchored; /* the prefix sits at a label start: ^ or (^|\.) */
};

struct rxkey { /* guard: hash of a prefix (3 bytes) or of a suffix -> regexp */
	uint64_t hash;
	uint32_t idx;
};

struct trun { /* tag run or full-tag exception, keyed by arena offset */
	uint32_t off, tag;
};

struct buf {
	char *p;
	size_t len, cap;
};

struct match_builder {
	struct buf arena; /* [len][name] per record; offset 0 unused */
	struct brec *recs;
	size_t nrec, crec;
	uint64_t *tab; /* high 32 hash bits | record index + 1; power-of-two size */
	size_t tmask;
	struct buf kwa; /* keyword strings */
	struct kw *kws;
	size_t nkw, ckw;
	struct buf rxa; /* regexp sources */
	struct rx *rxs;
	size_t nrx, crx;
};

struct match_set {
	char *arena;
	uint32_t *tab;
	size_t nslots;
	uint64_t *bloom; /* 8 bits per record, 2 bits set per key in one word */
	size_t nbloom;
	unsigned off_shift, fp_bits;
	uint32_t fp_mask;
	unsigned tag_width; /* 0: tags in runs[] */
	size_t max_len;	    /* longest full/domain entry: longer suffixes are not probed */
	struct trun *runs, *ftags;
	size_t nruns, nftags;
	char *kwa;
	struct kw *kws;
	size_t nkw;
	char *rxa;
	struct rx *rxs;
	size_t nrx;
	struct rxkey *rxk; /* sorted by hash */
	size_t nrxk;
	uint32_t *rxfree; /* regexps without a guard, in order */
	size_t nrxfree;
	pcre2_match_context *mctx;
	size_t entries, bytes;
};

/* ---- hashing: right-to-left 8-byte chunks, shared by all suffixes ---- */

static inline uint64_t hmix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static inline uint64_t hfin(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

static inline uint64_t load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* First r (1..7) bytes at p; p has at least 8 readable bytes. */
static inline uint64_t load_part(const char *p, size_t r)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return load8(p) >> (64 - 8 * r);
#else
	return load8(p) & ((1ull << (8 * r)) - 1);
#endif
}

struct hstate {
	const char *buf;
	size_t len;
	uint64_t s[HSTATES]; /* s[k]: state after the last k full chunks */
};

static void hstate_init(struct hstate *hs, const char *buf, size_t len)
{
	uint64_t h = 0x2d358dccaa6c78a5ull;

	hs->buf = buf;
	hs->len = len;
	hs->s[0] = h;
	for (size_t k = 0; k < len / 8; k++) {
		h = hmix(h, load8(buf + len - 8 * (k + 1)));
		hs->s[k + 1] = h;
	}
}

/* Hash of buf[b..len): depends only on the suffix's bytes. */
static uint64_t hstate_suffix(const struct hstate *hs, size_t b)
{
	size_t l = hs->len - b, r = l & 7;
	uint64_t h = hs->s[l >> 3];

	if (r)
		h = hmix(h, load_part(hs->buf + b, r));
	return hfin(h ^ l);
}

/* ---- small helpers ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elsz)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elsz)
		return -ENOMEM;
	q = realloc(*p, n * elsz);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int buf_put(struct buf *b, const void *data, size_t len, uint32_t *off)
{
	if (b->len + len > UINT32_MAX)
		return -E2BIG;
	if (grow((void **)&b->p, &b->cap, b->len + len, 1) < 0)
		return -ENOMEM;
	*off = (uint32_t)b->len;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static inline char lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Lowercase, drop one trailing dot, check labels; out gets zero padding. */
static int norm_host(const char *v, size_t len, char *out, size_t *olen)
{
	size_t lab = 0;

	if (len && v[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = lc(v[i]);

		if (c == '.') {
			if (lab == 0)
				return -EINVAL;
			lab = 0;
		} else if (!host_char((unsigned char)c) || ++lab > 63) {
			return -EINVAL;
		}
		out[i] = c;
	}
	if (lab == 0)
		return -EINVAL;
	memset(out + len, 0, 8);
	*olen = len;
	return 0;
}

/* ---- builder ---- */

struct match_builder *match_builder_new(void)
{
	struct match_builder *b = calloc(1, sizeof(*b));
	uint32_t off;

	if (!b)
		return NULL;
	b->tab = calloc(1024, sizeof(*b->tab));
	if (!b->tab || buf_put(&b->arena, "", 1, &off) < 0) {
		match_builder_free(b);
		return NULL;
	}
	b->tmask = 1023;
	return b;
}

void match_builder_free(struct match_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nrx; i++)
		pcre2_code_free(b->rxs[i].code);
	free(b->arena.p);
	free(b->recs);
	free(b->tab);
	free(b->kwa.p);
	free(b->kws);
	free(b->rxa.p);
	free(b->rxs);
	free(b);
}

size_t match_builder_entries(const struct match_builder *b)
{
	size_t n = b->nkw + b->nrx;

	for (size_t i = 0; i < b->nrec; i++)
		n += (size_t)__builtin_popcount(b->recs[i].kinds);
	return n;
}

static struct brec *bfind(const struct match_builder *b, uint64_t h, const char *s, size_t len)
{
	for (size_t i = h & b->tmask;; i = (i + 1) & b->tmask) {
		uint64_t v = b->tab[i];
		struct brec *r;

		if (!v)
			return NULL;
		if ((v >> 32) != (h >> 32)) /* no need to touch the record */
			continue;
		r = &b->recs[(uint32_t)v - 1];
		if (r->hash == h && (unsigned char)b->arena.p[r->off] == len &&
		    memcmp(b->arena.p + r->off + 1, s, len) == 0)
			return r;
	}
}

static void binsert(struct match_builder *b, uint32_t idx)
{
	uint64_t h = b->recs[idx].hash;
	size_t i = h & b->tmask;

	while (b->tab[i])
		i = (i + 1) & b->tmask;
	b->tab[i] = (h & 0xffffffff00000000ull) | (idx + 1);
}

static int brehash(struct match_builder *b)
{
	size_t n = (b->tmask + 1) * 2;
	uint64_t *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	free(b->tab);
	b->tab = t;
	b->tmask = n - 1;
	for (size_t i = 0; i < b->nrec; i++)
		binsert(b, (uint32_t)i);
	return 0;
}

int match_builder_reserve(struct match_builder *b, size_t n)
{
	if (!b)
		return -EINVAL;
	n += b->nrec;
	if (n > UINT32_MAX / 2)
		return -ENOMEM;
	while ((n + 1) * 4 > (b->tmask + 1) * 3)
		if (brehash(b) < 0)
			return -ENOMEM;
	return grow((void **)&b->recs, &b->crec, n, sizeof(*b->recs));
}

static int add_host(struct match_builder *b, enum match_kind kind, const char *v, size_t len,
		    uint32_t tag)
{
	char name[NAME_BUF];
	unsigned bit = kind == MATCH_FULL ? K_FULL : K_DOM;
	struct hstate hs;
	struct brec *r;
	size_t n;
	uint64_t h;
	uint32_t off, off2;
	unsigned char l;
	int rc = norm_host(v, len, name, &n);

	if (rc < 0)
		return rc;
	hstate_init(&hs, name, n);
	h = hstate_suffix(&hs, 0);
	r = bfind(b, h, name, n);
	if (r) {
		if (!(r->kinds & bit)) { /* first tag of a kind wins */
			r->kinds |= (uint8_t)bit;
			r->tag[kind] = tag;
		}
		return 0;
	}
	if ((b->nrec + 1) * 4 > (b->tmask + 1) * 3 && brehash(b) < 0) /* load <= 0.75 */
		return -ENOMEM;
	if (grow((void **)&b->recs, &b->crec, b->nrec + 1, sizeof(*b->recs)) < 0)
		return -ENOMEM;
	l = (unsigned char)n;
	if ((rc = buf_put(&b->arena, &l, 1, &off)) < 0 ||
	    (rc = buf_put(&b->arena, name, n, &off2)) < 0)
		return rc;
	r = &b->recs[b->nrec];
	*r = (struct brec){.hash = h, .off = off, .kinds = (uint8_t)bit};
	r->tag[kind] = tag;
	binsert(b, (uint32_t)b->nrec++);
	return 0;
}

static int add_keyword(struct match_builder *b, const char *v, size_t len, uint32_t tag)
{
	char s[MATCH_NAME_MAX];
	uint32_t off;

	if (len == 0 || len > MATCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return -EINVAL;
		s[i] = lc(v[i]);
	}
	for (size_t i = 0; i < b->nkw; i++)
		if (b->kws[i].len == len && memcmp(b->kwa.p + b->kws[i].off, s, len) == 0)
			return 0;
	if (b->nkw == KW_MAX)
		return -E2BIG;
	if (grow((void **)&b->kws, &b->ckw, b->nkw + 1, sizeof(*b->kws)) < 0 ||
	    buf_put(&b->kwa, s, len, &off) < 0)
		return -ENOMEM;
	b->kws[b->nkw++] = (struct kw){.off = off, .len = (uint32_t)len, .tag = tag};
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
	*c = lc(x);
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
			tmp[n++] = lc(c);
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
static void rx_literals(struct rx *r, const char *v, size_t len, char *lit)
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
	return hfin(RXK_PRE | (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[1] << 8 |
		    (uint64_t)(unsigned char)p[2] << 16);
}

static uint64_t key_suf(const char *k, size_t n)
{
	char buf[NAME_BUF];
	struct hstate hs;

	memcpy(buf, k, n);
	memset(buf + n, 0, 8);
	hstate_init(&hs, buf, n);
	return hstate_suffix(&hs, 0) ^ RXK_SUF;
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

static int add_regexp(struct match_builder *b, const char *v, size_t len, uint32_t tag)
{
	char lit[3 * RX_LIT_MAX];
	struct rx r = {.len = (uint32_t)len, .tag = tag};
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
	if (grow((void **)&b->rxs, &b->crx, b->nrx + 1, sizeof(*b->rxs)) < 0 ||
	    buf_put(&b->rxa, v, len, &r.off) < 0 ||
	    buf_put(&b->rxa, lit, (size_t)r.npre + r.nsuf + r.nreq, &loff) < 0) {
		pcre2_code_free(r.code);
		return -ENOMEM;
	}
	r.lit = loff;
	b->rxs[b->nrx++] = r;
	return 0;
}

int match_builder_add(struct match_builder *b, enum match_kind kind, const char *value, size_t len,
		      uint32_t tag)
{
	if (!b || (!value && len))
		return -EINVAL;
	switch (kind) {
	case MATCH_FULL:
	case MATCH_DOMAIN:
		return add_host(b, kind, value, len, tag);
	case MATCH_KEYWORD:
		return add_keyword(b, value, len, tag);
	case MATCH_REGEXP:
		return add_regexp(b, value, len, tag);
	}
	return -EINVAL;
}

/* ---- finish ---- */

/* Kinds of record r that can decide a lookup. A kind is redundant when the
 * nearest domain entry that covers it carries the same tag: without it the
 * lookup gives the same answer. */
static unsigned keep_kinds(const struct match_builder *b, const struct brec *r)
{
	char name[NAME_BUF];
	size_t len = (unsigned char)b->arena.p[r->off];
	struct hstate hs;
	bool anc = false;
	uint32_t atag = 0;
	unsigned keep = 0;

	memcpy(name, b->arena.p + r->off + 1, len);
	memset(name + len, 0, 8);
	hstate_init(&hs, name, len);
	for (size_t o = 0; o < len; o++) {
		const struct brec *p;

		if (name[o] != '.')
			continue;
		p = bfind(b, hstate_suffix(&hs, o + 1), name + o + 1, len - o - 1);
		if (p && (p->kinds & K_DOM)) {
			anc = true;
			atag = p->tag[MATCH_DOMAIN];
			break;
		}
	}
	if ((r->kinds & K_DOM) && !(anc && atag == r->tag[MATCH_DOMAIN]))
		keep |= K_DOM;
	if (r->kinds & K_FULL) {
		if (r->kinds & K_DOM) {
			if (r->tag[MATCH_FULL] != r->tag[MATCH_DOMAIN])
				keep |= K_FULL;
		} else if (!(anc && atag == r->tag[MATCH_FULL])) {
			keep |= K_FULL;
		}
	}
	return keep;
}

static uint32_t primary_tag(const struct brec *r, unsigned keep)
{
	return (keep & K_DOM) ? r->tag[MATCH_DOMAIN] : r->tag[MATCH_FULL];
}

/* The filter word and its two bits for a key: a probe for a suffix that is
 * not in the set usually stops here, in a table small enough to stay in
 * cache, instead of missing in the slot table. */
static inline uint64_t *bloom_word(const struct match_set *s, uint64_t h, uint64_t *bits)
{
	*bits = (1ull << ((h >> 32) & 63)) | (1ull << ((h >> 38) & 63));
	return &s->bloom[((h & 0xffffffffu) * s->nbloom) >> 32];
}

static void slot_insert(struct match_set *s, uint64_t h, uint32_t off, unsigned kinds)
{
	size_t i = (size_t)(((h >> 32) * s->nslots) >> 32);
	uint64_t bits, *w = bloom_word(s, h, &bits);

	*w |= bits;

	while (s->tab[i])
		if (++i == s->nslots)
			i = 0;
	s->tab[i] = (off << s->off_shift) | (kinds << s->fp_bits) | ((uint32_t)h & s->fp_mask);
}

/* Size the set from the kept records: tag storage, arena, slot layout. */
static int dom_plan(struct match_set *s, const struct match_builder *b, uint8_t *keep,
		    size_t *asize_out, size_t *nruns_out, size_t *nf_out)
{
	size_t n = 0, nf = 0, nruns = 0, asize = 1;
	uint32_t maxtag = 0, prev = 0;
	unsigned w, off_bits;

	for (size_t i = 0; i < b->nrec; i++) {
		const struct brec *r = &b->recs[i];
		uint32_t t;

		keep[i] = (uint8_t)keep_kinds(b, r);
		if (!keep[i])
			continue;
		t = primary_tag(r, keep[i]);
		if (n == 0 || t != prev)
			nruns++;
		prev = t;
		maxtag = t > maxtag ? t : maxtag;
		n++;
		nf += keep[i] == (K_FULL | K_DOM);
		asize += 1 + (unsigned char)b->arena.p[r->off];
		if ((unsigned char)b->arena.p[r->off] > s->max_len)
			s->max_len = (unsigned char)b->arena.p[r->off];
		s->entries += (size_t)__builtin_popcount(keep[i]);
	}
	w = maxtag < 1u << 8 ? 1 : maxtag < 1u << 16 ? 2 : maxtag < 1u << 24 ? 3 : 4;
	s->tag_width = nruns * sizeof(struct trun) <= n * w ? 0 : w;
	asize += n * s->tag_width;
	if (asize > (1u << 30))
		return -E2BIG;
	off_bits = 64 - (unsigned)__builtin_clzll(asize - 1);
	s->off_shift = 32 - off_bits;
	s->fp_bits = s->off_shift - 2;
	s->fp_mask = s->fp_bits ? (1u << s->fp_bits) - 1 : 0;
	s->nslots = n + n / 3 + 1; /* load factor 0.75 */
	s->nbloom = n / 8 + 1;
	*asize_out = asize;
	*nruns_out = nruns;
	*nf_out = nf;
	return 0;
}

/* Uses the builder's arena in place when tags are in runs: fresh memory is
 * slow to fault in, and the compacted arena is exactly the set's. */
static int build_dom(struct match_set *s, struct match_builder *b)
{
	uint8_t *keep;
	size_t asize, nruns, nf, pos = 1;
	int rc;

	if (b->nrec == 0)
		return 0;
	keep = malloc(b->nrec);
	if (!keep)
		return -ENOMEM;
	rc = dom_plan(s, b, keep, &asize, &nruns, &nf);
	if (rc < 0)
		goto done;
	free(b->tab); /* no more lookups in the builder: let the set reuse it */
	b->tab = NULL;
	rc = -ENOMEM;
	if (!s->tag_width) {
		s->arena = b->arena.p;
		b->arena.p = NULL;
	} else {
		s->arena = malloc(asize);
	}
	s->tab = calloc(s->nslots, sizeof(*s->tab));
	s->bloom = calloc(s->nbloom, sizeof(*s->bloom));
	s->runs = s->tag_width ? NULL : malloc((nruns ? nruns : 1) * sizeof(*s->runs));
	s->ftags = malloc((nf ? nf : 1) * sizeof(*s->ftags));
	if (!s->arena || !s->tab || !s->bloom || (!s->tag_width && !s->runs) || !s->ftags)
		goto done;
	for (size_t i = 0; i < b->nrec; i++) {
		const struct brec *r = &b->recs[i];
		const char *src = (s->tag_width ? b->arena.p : s->arena) + r->off;
		size_t len = (unsigned char)*src;
		uint32_t t = primary_tag(r, keep[i]), off = (uint32_t)pos;

		if (!keep[i])
			continue;
		memmove(s->arena + pos, src, 1 + len); /* in place: pos <= r->off */
		pos += 1 + len;
		for (unsigned k = 0; k < s->tag_width; k++)
			s->arena[pos++] = (char)(t >> (8 * k));
		if (!s->tag_width && (s->nruns == 0 || s->runs[s->nruns - 1].tag != t))
			s->runs[s->nruns++] = (struct trun){.off = off, .tag = t};
		if (keep[i] == (K_FULL | K_DOM))
			s->ftags[s->nftags++] =
			    (struct trun){.off = off, .tag = r->tag[MATCH_FULL]};
		slot_insert(s, r->hash, off, keep[i]);
	}
	s->arena[0] = 0;
	if (!s->tag_width) { /* give back what dropped records and growth left */
		char *a = realloc(s->arena, asize);

		s->arena = a ? a : s->arena;
	}
	s->bytes += asize + s->nslots * sizeof(*s->tab) + s->nbloom * sizeof(*s->bloom) +
		    ((s->tag_width ? 0 : nruns) + nf) * sizeof(struct trun);
	rc = 0;
done:
	free(keep);
	return rc;
}

static int build_kw(struct match_set *s, const struct match_builder *b)
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
	s->entries += b->nkw;
	s->bytes += b->kwa.len + b->nkw * sizeof(*s->kws);
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
	const struct rxkey *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Guard keys (sorted) and the list of regexps without one. */
static int build_rx_guards(struct match_set *s)
{
	s->rxk = malloc(s->nrx * sizeof(*s->rxk));
	s->rxfree = malloc(s->nrx * sizeof(*s->rxfree));
	if (!s->rxk || !s->rxfree)
		return -ENOMEM;
	for (size_t i = 0; i < s->nrx; i++) {
		const struct rx *r = &s->rxs[i];
		const char *lit = s->rxa + r->lit, *suf = lit + r->npre, *dot;

		if (r->guard == RXG_PRE) {
			s->rxk[s->nrxk++] =
			    (struct rxkey){.hash = key_pre(lit), .idx = (uint32_t)i};
		} else if (r->guard == RXG_SUF) {
			dot = memchr(suf, '.', r->nsuf);
			s->rxk[s->nrxk++] = (struct rxkey){
			    .hash = key_suf(dot + 1, (size_t)(suf + r->nsuf - dot - 1)),
			    .idx = (uint32_t)i};
		} else {
			s->rxfree[s->nrxfree++] = (uint32_t)i;
		}
	}
	qsort(s->rxk, s->nrxk, sizeof(*s->rxk), cmp_rxkey);
	s->bytes += s->nrx * (sizeof(*s->rxk) + sizeof(*s->rxfree));
	return 0;
}

/* Takes the compiled regexps from the builder. */
static int build_rx(struct match_set *s, struct match_builder *b)
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
	s->entries += s->nrx;
	s->bytes += b->rxa.len + s->nrx * sizeof(*s->rxs);
	for (size_t i = 0; i < s->nrx; i++)
		s->bytes += rx_size(s->rxs[i].code);
	return build_rx_guards(s);
}

struct match_set *match_builder_finish(struct match_builder *b, char *err, size_t errlen)
{
	struct match_set *s;
	int rc = -ENOMEM;

	if (!b) {
		snprintf(err, errlen, "no builder");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->bytes = sizeof(*s);
	if ((rc = build_dom(s, b)) < 0 || (rc = build_kw(s, b)) < 0 || (rc = build_rx(s, b)) < 0)
		goto fail;
	match_builder_free(b);
	return s;
fail:
	snprintf(err, errlen, "%s",
		 rc == -E2BIG ? "domain set too large (over 1 GiB)"
			      : "out of memory building domain set");
	match_set_free(s);
	match_builder_free(b);
	return NULL;
}

void match_set_free(struct match_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrx; i++)
		pcre2_code_free(s->rxs[i].code);
	free(s->rxk);
	free(s->rxfree);
	pcre2_match_context_free(s->mctx);
	free(s->arena);
	free(s->tab);
	free(s->bloom);
	free(s->runs);
	free(s->ftags);
	free(s->kwa);
	free(s->kws);
	free(s->rxa);
	free(s->rxs);
	free(s);
}

size_t match_set_entries(const struct match_set *s)
{
	return s ? s->entries : 0;
}

size_t match_set_bytes(const struct match_set *s)
{
	return s ? s->bytes : 0;
}

/* ---- lookup ---- */

/* Slot of the record equal to str whose kinds intersect want, or 0. */
static uint32_t probe(const struct match_set *s, uint64_t h, const char *str, size_t len,
		      uint32_t want)
{
	uint32_t fp = (uint32_t)h & s->fp_mask;
	size_t i = (size_t)(((h >> 32) * s->nslots) >> 32);
	uint64_t bits, w = *bloom_word(s, h, &bits);

	if ((w & bits) != bits)
		return 0;
	for (;;) {
		uint32_t v = s->tab[i], off;

		if (!v)
			return 0;
		if ((v & s->fp_mask) == fp && ((v >> s->fp_bits) & want)) {
			off = v >> s->off_shift;
			if ((unsigned char)s->arena[off] == len &&
			    memcmp(s->arena + off + 1, str, len) == 0)
				return v;
		}
		if (++i == s->nslots)
			i = 0;
	}
}

/* Entry in a sorted run table that covers off (the last with .off <= off). */
static const struct trun *run_find(const struct trun *t, size_t n, uint32_t off)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &t[lo];
}

static uint32_t rec_tag(const struct match_set *s, uint32_t off)
{
	const unsigned char *p;
	uint32_t t = 0;

	if (!s->tag_width)
		return run_find(s->runs, s->nruns, off)->tag;
	p = (const unsigned char *)s->arena + off + 1 + (unsigned char)s->arena[off];
	for (unsigned k = 0; k < s->tag_width; k++)
		t |= (uint32_t)p[k] << (8 * k);
	return t;
}

#define PREFETCH_MAX 8

/* Longest suffix first; the first hit is the most specific entry. The
 * filter words and slots of the first suffixes are prefetched together so
 * their cache misses overlap instead of following one another. */
static bool dom_lookup(const struct match_set *s, const char *name, size_t len,
		       const uint8_t *starts, size_t nstarts, struct match_hit *hit)
{
	uint64_t hv[PREFETCH_MAX], bits;
	size_t npf = nstarts < PREFETCH_MAX ? nstarts : PREFETCH_MAX;
	struct hstate hs;

	hstate_init(&hs, name, len);
	for (size_t i = 0; i < npf; i++) {
		hv[i] = hstate_suffix(&hs, starts[i]);
		__builtin_prefetch(bloom_word(s, hv[i], &bits));
		__builtin_prefetch(&s->tab[((hv[i] >> 32) * s->nslots) >> 32]);
	}
	for (size_t i = 0; i < nstarts; i++) {
		size_t b = starts[i];
		uint64_t h = i < npf ? hv[i] : hstate_suffix(&hs, b);
		uint32_t v, off, kinds;

		if (len - b > s->max_len)
			continue;
		v = probe(s, h, name + b, len - b, b ? K_DOM : K_FULL | K_DOM);
		if (!v)
			continue;
		off = v >> s->off_shift;
		kinds = (v >> s->fp_bits) & 3;
		hit->value = s->arena + off + 1;
		hit->len = len - b;
		hit->kind = (kinds & K_FULL) && !b ? MATCH_FULL : MATCH_DOMAIN;
		hit->tag = kinds == (K_FULL | K_DOM) && !b ? run_find(s->ftags, s->nftags, off)->tag
							   : rec_tag(s, off);
		return true;
	}
	return false;
}

static bool kw_lookup(const struct match_set *s, const char *name, size_t len,
		      struct match_hit *hit)
{
	const struct kw *best = NULL;

	for (size_t i = 0; i < s->nkw; i++) {
		const struct kw *k = &s->kws[i];

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
	const struct match_set *s;
	const char *name;
	size_t len, best;
	pcre2_match_data *md;
};

/* Are r's literals in the name? at: the label start a prefix guard hit. */
static bool rx_lits_ok(const struct rx *r, const char *lit, const char *name, size_t len, size_t at)
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
	const struct rx *r = &x->s->rxs[idx];

	if (idx >= x->best || !rx_lits_ok(r, x->s->rxa + r->lit, x->name, x->len, at))
		return;
	if (!x->md && !(x->md = pcre2_match_data_create(1, NULL)))
		return;
	if (pcre2_match(r->code, (PCRE2_SPTR)x->name, x->len, 0, 0, x->md, x->s->mctx) >= 0)
		x->best = idx;
}

static void rx_probe(struct rxrun *x, uint64_t h, size_t at)
{
	const struct rxkey *k = x->s->rxk;
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
 * every label start / label-aligned suffix, then the unguarded ones. */
static bool rx_lookup(const struct match_set *s, const char *name, size_t len,
		      const uint8_t *starts, size_t nstarts, struct match_hit *hit)
{
	struct rxrun x = {.s = s, .name = name, .len = len, .best = SIZE_MAX};
	const struct rx *r;

	if (s->nrxk) {
		struct hstate hs;

		hstate_init(&hs, name, len);
		for (size_t i = 0; i < nstarts; i++) {
			size_t b = starts[i];

			if (len - b >= 3)
				rx_probe(&x, key_pre(name + b), b);
			if (b)
				rx_probe(&x, hstate_suffix(&hs, b) ^ RXK_SUF, SIZE_MAX);
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

bool match_lookup_ex(const struct match_set *s, const char *name, size_t len, struct match_hit *hit)
{
	char buf[NAME_BUF];
	uint8_t starts[MATCH_NAME_MAX + 2]; /* where each label-boundary suffix begins */
	size_t nstarts = 1;
	struct match_hit h;

	if (!s || !name)
		return false;
	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_NAME_MAX)
		return false;
	starts[0] = 0;
	for (size_t i = 0; i < len; i++) { /* branch-free: this loop is hot */
		unsigned char c = (unsigned char)name[i];

		c |= (unsigned char)(((unsigned)c - 'A' < 26u) << 5);
		buf[i] = (char)c;
		starts[nstarts] = (uint8_t)(i + 1);
		nstarts += c == '.';
	}
	memset(buf + len, 0, 8);
	if (!hit)
		hit = &h;
	return (s->nslots && dom_lookup(s, buf, len, starts, nstarts, hit)) ||
	       (s->nkw && kw_lookup(s, buf, len, hit)) ||
	       (s->nrx && rx_lookup(s, buf, len, starts, nstarts, hit));
}

bool match_lookup(const struct match_set *s, const char *name, size_t len, uint32_t *tag_out)
{
	struct match_hit h;

	if (!match_lookup_ex(s, name, len, &h))
		return false;
	if (tag_out)
		*tag_out = h.tag;
	return true;
}
