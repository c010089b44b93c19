#include "config.h"
/* match.c - compiled domain sets: full / domain-suffix / keyword / regexp.
 *
 * Owns the builder, the immutable set, the full/domain entries and the public
 * API; the keyword and regexp entries (PCRE2, literal guards) are match_rx.c's.
 * Does not know about list file formats (list_text, list_geosite) or rules;
 * lends its growable arrays and name check to the list loaders (match_int.h).
 *
 * Full and domain entries live in one char arena ([len][name][inline tag])
 * indexed by an open-addressing table of 32-bit slots: arena offset | kind
 * bits | hash fingerprint. A lookup hashes every label-boundary suffix of the
 * name in one right-to-left pass (chunks aligned to the end of the name, so
 * suffixes share work; match_int.h) and probes the longest suffix first: the
 * first hit is the most specific one. Tags are stored as runs (one per change
 * of tag in insertion order) or inline when the caller gives nearly every
 * entry its own tag. Names longer than 253 characters (escaped bytes) take
 * a separate, out-of-line path that probes only the suffixes that fit. */
#include "match.h"
#include "match_int.h"
#include "match_rx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K_FULL 1u
#define K_DOM 2u

struct brec { /* builder record: one distinct full/domain name */
	uint64_t hash;
	uint32_t off;
	uint32_t tag[2]; /* [MATCH_FULL], [MATCH_DOMAIN] */
	uint8_t kinds;
};

struct trun { /* tag run or full-tag exception, keyed by arena offset */
	uint32_t off, tag;
};

struct match_builder {
	struct match_buf arena; /* [len][name] per record; offset 0 unused */
	struct brec *recs;
	size_t nrec, crec;
	uint64_t *tab; /* high 32 hash bits | record index + 1; power-of-two size */
	size_t tmask;
	struct match_rx_builder rx; /* keywords and regexps */
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
	struct match_rx_set rx; /* keywords and regexps */
	size_t entries, bytes;
};

/* ---- small helpers ---- */

int match_grow(void **p, size_t *cap, size_t need, size_t elsz)
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

int match_buf_put(struct match_buf *b, const void *data, size_t len, uint32_t *off)
{
	if (b->len + len > UINT32_MAX)
		return -E2BIG;
	if (match_grow((void **)&b->p, &b->cap, b->len + len, 1) < 0)
		return -ENOMEM;
	*off = (uint32_t)b->len;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Also the hosts table's name check (list_hosts.c): one definition of a name. */
int match_name_norm(const char *v, size_t len, char *out, size_t *olen)
{
	size_t lab = 0;

	if (len && v[len - 1] == '.')
		len--;
	if (len == 0 || len > MATCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = match_lc(v[i]);

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
	if (!b->tab || match_buf_put(&b->arena, "", 1, &off) < 0) {
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
	match_rx_builder_fini(&b->rx);
	free(b->arena.p);
	free(b->recs);
	free(b->tab);
	free(b);
}

size_t match_builder_entries(const struct match_builder *b)
{
	size_t n = match_rx_builder_entries(&b->rx);

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
	return match_grow((void **)&b->recs, &b->crec, n, sizeof(*b->recs));
}

static int add_host(struct match_builder *b, enum match_kind kind, const char *v, size_t len,
		    uint32_t tag)
{
	char name[MATCH_NAME_BUF];
	unsigned bit = kind == MATCH_FULL ? K_FULL : K_DOM;
	struct match_hstate hs;
	struct brec *r;
	size_t n;
	uint64_t h;
	uint32_t off, off2;
	unsigned char l;
	int rc = match_name_norm(v, len, name, &n);

	if (rc < 0)
		return rc;
	memset(name + n, 0, 8); /* the hash reads whole chunks */
	match_hstate_init(&hs, name, n);
	h = match_hstate_suffix(&hs, 0);
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
	if (match_grow((void **)&b->recs, &b->crec, b->nrec + 1, sizeof(*b->recs)) < 0)
		return -ENOMEM;
	l = (unsigned char)n;
	if ((rc = match_buf_put(&b->arena, &l, 1, &off)) < 0 ||
	    (rc = match_buf_put(&b->arena, name, n, &off2)) < 0)
		return rc;
	r = &b->recs[b->nrec];
	*r = (struct brec){.hash = h, .off = off, .kinds = (uint8_t)bit};
	r->tag[kind] = tag;
	binsert(b, (uint32_t)b->nrec++);
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
		return match_rx_add_keyword(&b->rx, value, len, tag);
	case MATCH_REGEXP:
		return match_rx_add_regexp(&b->rx, value, len, tag);
	}
	return -EINVAL;
}

/* ---- finish ---- */

/* Kinds of record r that can decide a lookup. A kind is redundant when the
 * nearest domain entry that covers it carries the same tag: without it the
 * lookup gives the same answer. */
static unsigned keep_kinds(const struct match_builder *b, const struct brec *r)
{
	char name[MATCH_NAME_BUF];
	size_t len = (unsigned char)b->arena.p[r->off];
	struct match_hstate hs;
	bool anc = false;
	uint32_t atag = 0;
	unsigned keep = 0;

	memcpy(name, b->arena.p + r->off + 1, len);
	memset(name + len, 0, 8);
	match_hstate_init(&hs, name, len);
	for (size_t o = 0; o < len; o++) {
		const struct brec *p;

		if (name[o] != '.')
			continue;
		p = bfind(b, match_hstate_suffix(&hs, o + 1), name + o + 1, len - o - 1);
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
	if ((rc = build_dom(s, b)) < 0 ||
	    (rc = match_rx_build(&s->rx, &b->rx, &s->entries, &s->bytes)) < 0)
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
	match_rx_set_fini(&s->rx);
	free(s->arena);
	free(s->tab);
	free(s->bloom);
	free(s->runs);
	free(s->ftags);
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
	struct match_hstate hs;

	match_hstate_init(&hs, name, len);
	for (size_t i = 0; i < npf; i++) {
		hv[i] = match_hstate_suffix(&hs, starts[i]);
		__builtin_prefetch(bloom_word(s, hv[i], &bits));
		__builtin_prefetch(&s->tab[((hv[i] >> 32) * s->nslots) >> 32]);
	}
	for (size_t i = 0; i < nstarts; i++) {
		size_t b = starts[i];
		uint64_t h = i < npf ? hv[i] : match_hstate_suffix(&hs, b);
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

/* A name longer than any entry can be (bytes written \DDD): domain entries
 * are probed on the label-boundary suffixes of at most 253 characters, never
 * on the whole name (so no full entry matches); keywords and regexps search
 * the whole name. Out of line, so that match_lookup_ex's loop stays as it is
 * for the names nearly every lookup sees. */
static __attribute__((noinline, cold)) bool lookup_long(const struct match_set *s, const char *name,
							size_t len, struct match_hit *hit)
{
	char buf[MATCH_LOOKUP_MAX + 1 + 8];
	uint8_t starts[MATCH_NAME_MAX + 2];
	size_t nstarts = 0, tl = 0;
	const char *tail;

	if (len > MATCH_LOOKUP_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = match_lc(name[i]);
	memset(buf + len, 0, 8);
	/* the tail: from the first dot whose suffix has at most 253 characters */
	tail = memchr(buf + len - MATCH_NAME_MAX - 1, '.', MATCH_NAME_MAX + 1);
	if (tail) {
		tl = len - (size_t)(tail - buf); /* at most 254: the dot and its suffix */
		for (size_t i = 0; i < tl; i++)
			if (tail[i] == '.')
				starts[nstarts++] = (uint8_t)(i + 1); /* never 0: never full */
	}
	return (s->nslots && nstarts && dom_lookup(s, tail, tl, starts, nstarts, hit)) ||
	       (s->rx.nkw && match_rx_kw_lookup(&s->rx, buf, len, hit)) ||
	       (s->rx.nrx && match_rx_lookup(&s->rx, buf, len, hit));
}

bool match_lookup_ex(const struct match_set *s, const char *name, size_t len, struct match_hit *hit)
{
	char buf[MATCH_NAME_BUF];
	uint8_t starts[MATCH_NAME_MAX + 2]; /* where each label-boundary suffix begins */
	size_t nstarts = 1;
	struct match_hit h;

	if (!s || !name)
		return false;
	if (len && name[len - 1] == '.')
		len--;
	if (!hit)
		hit = &h;
	if (len == 0)
		return false;
	if (len > MATCH_NAME_MAX)
		return lookup_long(s, name, len, hit);
	starts[0] = 0;
	for (size_t i = 0; i < len; i++) { /* branch-free: this loop is hot */
		unsigned char c = (unsigned char)name[i];

		c |= (unsigned char)(((unsigned)c - 'A' < 26u) << 5);
		buf[i] = (char)c;
		starts[nstarts] = (uint8_t)(i + 1);
		nstarts += c == '.';
	}
	memset(buf + len, 0, 8);
	return (s->nslots && dom_lookup(s, buf, len, starts, nstarts, hit)) ||
	       (s->rx.nkw && match_rx_kw_lookup(&s->rx, buf, len, hit)) ||
	       (s->rx.nrx && match_rx_lookup(&s->rx, buf, len, hit));
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
