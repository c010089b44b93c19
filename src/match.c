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
 * a separate, out-of-line path that probes only the suffixes that fit.
 *
 * The builder holds the same records with a kinds byte and a table of its
 * own; finish rewrites the records in place, so a set is never built beside
 * a second copy of its names (the peak of loading a list is about its set). */
#include "match.h"
#include "match_int.h"
#include "match_rx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K_FULL 1u
#define K_DOM 2u

struct trun { /* tag run or tag exception, keyed by arena offset */
	uint32_t off, tag;
};

struct xtag { /* the tag of a record's second kind, where it differs from the first's */
	uint32_t off, tag;
	uint8_t kind; /* MATCH_FULL or MATCH_DOMAIN */
};

/*
 * The builder holds little more than the set it becomes: one arena record
 * per distinct full/domain name, [len][kinds][name], in insertion order
 * (offset 0 unused), and a table of 32-bit slots, record offset << fpb |
 * fingerprint, to find a name again. Tags are runs over the records (one
 * per change of tag) plus an exception where a record's second kind came
 * with another tag. finish turns the records into the set's [len][name]
 * in place and rebuilds the table in the set's layout: a list's set is
 * built without a second copy of its names.
 */
struct match_builder {
	struct match_buf arena;
	uint32_t *tab;	   /* NULL after a failed rebuild: the builder then only fails */
	size_t tmask;	   /* table size - 1 (a power of two) */
	unsigned fpb;	   /* fingerprint bits; the offset takes the other 32 - fpb */
	size_t nrec;	   /* distinct names */
	size_t nent;	   /* distinct kind + name entries */
	struct trun *tags; /* the tag of each record's first kind, as runs */
	size_t ntags, ctags;
	struct xtag *xtags;
	size_t nxtags, cxtags;
	bool one_tag;	 /* match_builder_one_tag(): redundant names are swept as it grows */
	size_t sweep_at; /* arena length of the next sweep */
	struct match_rx_builder rx; /* keywords and regexps */
};

/* A one-tag builder's first sweep: smaller lists are only trimmed by finish. */
#define SWEEP_FIRST (256u << 10)

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
	b->fpb = 32 - 16;
	b->sweep_at = SWEEP_FIRST;
	return b;
}

int match_builder_one_tag(struct match_builder *b)
{
	if (!b || b->ntags > 1 || b->nxtags)
		return -EINVAL;
	b->one_tag = true;
	return 0;
}

void match_builder_free(struct match_builder *b)
{
	if (!b)
		return;
	match_rx_builder_fini(&b->rx);
	free(b->arena.p);
	free(b->tab);
	free(b->tags);
	free(b->xtags);
	free(b);
}

size_t match_builder_entries(const struct match_builder *b)
{
	return b->nent + match_rx_builder_entries(&b->rx);
}

/* A record: [len][kinds][name]; the kinds byte's high bits hold, during
 * finish, the kinds that are kept. */
static inline size_t brec_len(const struct match_builder *b, uint32_t off)
{
	return (unsigned char)b->arena.p[off];
}

static inline uint8_t *brec_kinds(const struct match_builder *b, uint32_t off)
{
	return (uint8_t *)b->arena.p + off + 1;
}

static inline const char *brec_name(const struct match_builder *b, uint32_t off)
{
	return b->arena.p + off + 2;
}

/* Hash of a name (len bytes at s, any alignment). */
static uint64_t name_hash(const char *s, size_t len)
{
	char name[MATCH_NAME_BUF];
	struct match_hstate hs;

	memcpy(name, s, len);
	memset(name + len, 0, 8); /* the hash reads whole chunks */
	match_hstate_init(&hs, name, len);
	return match_hstate_suffix(&hs, 0);
}

/* Offset of the record for name (hash h), or 0; *slot_out (may be NULL)
 * gets the empty slot where it would go. */
static uint32_t bfind(const struct match_builder *b, uint64_t h, const char *s, size_t len,
		      size_t *slot_out)
{
	uint32_t fp = (uint32_t)h & ((1u << b->fpb) - 1);

	for (size_t i = (size_t)(h >> 32) & b->tmask;; i = (i + 1) & b->tmask) {
		uint32_t v = b->tab[i], off;

		if (!v) {
			if (slot_out)
				*slot_out = i;
			return 0;
		}
		if ((v & ((1u << b->fpb) - 1)) != fp) /* no need to touch the record */
			continue;
		off = (uint32_t)((uint64_t)v >> b->fpb);
		if (brec_len(b, off) == len && memcmp(brec_name(b, off), s, len) == 0)
			return off;
	}
}

/* Fingerprint bits that leave room for offsets up to max_off. */
static unsigned fp_bits_for(size_t max_off)
{
	unsigned off_bits = 64 - (unsigned)__builtin_clzll((uint64_t)max_off | 0xffff);

	return off_bits >= 32 ? 0 : 32 - off_bits;
}

/* A new table of n slots (a power of two) laid out for offsets up to
 * max_off, filled from the arena. The old table goes first: the records
 * say all it said. */
static int brebuild(struct match_builder *b, size_t n, size_t max_off)
{
	size_t slot;

	free(b->tab);
	b->tab = calloc(n, sizeof(*b->tab));
	if (!b->tab)
		return -ENOMEM;
	b->tmask = n - 1;
	b->fpb = fp_bits_for(max_off);
	for (uint32_t off = 1; off < b->arena.len; off += 2 + (uint32_t)brec_len(b, off)) {
		uint64_t h = name_hash(brec_name(b, off), brec_len(b, off));

		for (slot = (size_t)(h >> 32) & b->tmask; b->tab[slot];
		     slot = (slot + 1) & b->tmask)
			; /* names are distinct: the first free slot */
		b->tab[slot] =
		    (uint32_t)((uint64_t)off << b->fpb) | ((uint32_t)h & ((1u << b->fpb) - 1));
	}
	return 0;
}

/* Room for n more names at a load of at most 0.75. */
static int bgrow(struct match_builder *b, size_t n)
{
	size_t want = b->tmask + 1;

	if (!b->tab)
		return -ENOMEM;
	n += b->nrec;
	if (n > UINT32_MAX / 2)
		return -ENOMEM;
	while ((n + 1) * 4 > want * 3)
		want *= 2;
	if (want == b->tmask + 1)
		return 0;
	return brebuild(b, want, b->arena.len * 2);
}

int match_builder_reserve(struct match_builder *b, size_t n)
{
	if (!b)
		return -EINVAL;
	return bgrow(b, n);
}

/* The tag of kind (MATCH_FULL or MATCH_DOMAIN) of the record at off. */
static const struct trun *run_find(const struct trun *t, size_t n, uint32_t off);

static uint32_t btag(const struct match_builder *b, uint32_t off, enum match_kind kind)
{
	size_t lo = 0, hi = b->nxtags;

	while (lo < hi) { /* xtags are sorted by offset (finish sorts them) */
		size_t mid = lo + (hi - lo) / 2;

		if (b->xtags[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nxtags && b->xtags[lo].off == off && b->xtags[lo].kind == kind)
		return b->xtags[lo].tag;
	return run_find(b->tags, b->ntags, off)->tag;
}

/* The nearest record above the name at off (a label-boundary suffix) that
 * has a domain entry, or 0. */
static uint32_t bdomain_above(const struct match_builder *b, uint32_t off)
{
	size_t len = brec_len(b, off);
	const char *name = brec_name(b, off);

	for (size_t o = 0; o < len; o++) {
		uint32_t p;

		if (name[o] != '.')
			continue;
		p = bfind(b, name_hash(name + o + 1, len - o - 1), name + o + 1, len - o - 1, NULL);
		if (p && (*brec_kinds(b, p) & K_DOM))
			return p;
	}
	return 0;
}

/*
 * One tag for every entry: a name below a domain entry can never decide a
 * lookup, whatever comes later (a nearer domain entry has the same tag), so
 * finish would drop it. Lists sorted by name put a domain after the names
 * below it; sweeping them out as the arena grows keeps the builder near the
 * size of the set instead of the size of the list. The arena is compacted in
 * place and the table rebuilt from it; the one tag run still starts at 1.
 */
static int bsweep(struct match_builder *b)
{
	uint32_t pos = 1, next;

	for (uint32_t off = 1; off < b->arena.len; off += 2 + (uint32_t)brec_len(b, off))
		if (bdomain_above(b, off))
			*brec_kinds(b, off) |= 0x80; /* still a domain for the names below it */
	for (uint32_t off = 1; off < b->arena.len; off = next) {
		size_t len = brec_len(b, off);

		next = off + 2 + (uint32_t)len;
		if (*brec_kinds(b, off) & 0x80) {
			b->nrec--;
			continue;
		}
		memmove(b->arena.p + pos, b->arena.p + off, 2 + len);
		pos += 2 + (uint32_t)len;
	}
	b->arena.len = pos;
	b->sweep_at = 2 * (size_t)pos > SWEEP_FIRST ? 2 * (size_t)pos : SWEEP_FIRST;
	return brebuild(b, b->tmask + 1, b->arena.len * 2);
}

static int add_host(struct match_builder *b, enum match_kind kind, const char *v, size_t len,
		    uint32_t tag)
{
	char name[MATCH_NAME_BUF];
	unsigned bit = kind == MATCH_FULL ? K_FULL : K_DOM;
	size_t n, slot;
	uint64_t h;
	uint32_t off, at;
	unsigned char hdr[2];
	int rc = match_name_norm(v, len, name, &n);

	if (rc < 0)
		return rc;
	if (b->one_tag && b->ntags && tag != b->tags[0].tag)
		return -EINVAL;
	if (b->one_tag && b->arena.len >= b->sweep_at && b->tab && (rc = bsweep(b)) < 0)
		return rc;
	if ((rc = bgrow(b, 1)) < 0)
		return rc;
	h = name_hash(name, n);
	off = bfind(b, h, name, n, &slot);
	if (off) {
		uint8_t *k = brec_kinds(b, off);

		if (*k & bit) /* first tag of a kind wins */
			return 0;
		*k |= (uint8_t)bit;
		b->nent++;
		if (tag != run_find(b->tags, b->ntags, off)->tag) {
			if (match_grow((void **)&b->xtags, &b->cxtags, b->nxtags + 1,
				       sizeof(*b->xtags)) < 0)
				return -ENOMEM;
			b->xtags[b->nxtags++] =
			    (struct xtag){.off = off, .tag = tag, .kind = (uint8_t)kind};
		}
		return 0;
	}
	off = (uint32_t)b->arena.len;
	if ((b->ntags == 0 || b->tags[b->ntags - 1].tag != tag) &&
	    match_grow((void **)&b->tags, &b->ctags, b->ntags + 1, sizeof(*b->tags)) < 0)
		return -ENOMEM;
	hdr[0] = (unsigned char)n;
	hdr[1] = (unsigned char)bit;
	if ((rc = match_buf_put(&b->arena, hdr, 2, &at)) < 0 ||
	    (rc = match_buf_put(&b->arena, name, n, &at)) < 0) {
		b->arena.len = off;
		return rc;
	}
	if (b->ntags == 0 || b->tags[b->ntags - 1].tag != tag)
		b->tags[b->ntags++] = (struct trun){.off = off, .tag = tag};
	b->nrec++;
	b->nent++;
	if ((uint64_t)off >> (32 - b->fpb)) /* past what the slots can say: a wider layout */
		return brebuild(b, b->tmask + 1, b->arena.len * 2);
	b->tab[slot] = (uint32_t)((uint64_t)off << b->fpb) | ((uint32_t)h & ((1u << b->fpb) - 1));
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

/* Kinds of the record at off that can decide a lookup. A kind is redundant
 * when the nearest domain entry that covers it carries the same tag:
 * without it the lookup gives the same answer. */
static unsigned keep_kinds(const struct match_builder *b, uint32_t off)
{
	unsigned kinds = *brec_kinds(b, off) & 3, keep = 0;
	uint32_t p = bdomain_above(b, off);
	bool anc = p != 0;
	uint32_t atag = anc ? btag(b, p, MATCH_DOMAIN) : 0, tf, td;

	tf = kinds & K_FULL ? btag(b, off, MATCH_FULL) : 0;
	td = kinds & K_DOM ? btag(b, off, MATCH_DOMAIN) : 0;
	if ((kinds & K_DOM) && !(anc && atag == td))
		keep |= K_DOM;
	if (kinds & K_FULL) {
		if (kinds & K_DOM) {
			if (tf != td)
				keep |= K_FULL;
		} else if (!(anc && atag == tf)) {
			keep |= K_FULL;
		}
	}
	return keep;
}

/* The tag a set stores per record: the domain entry's when it keeps one. */
static uint32_t primary_tag(const struct match_builder *b, uint32_t off, unsigned keep)
{
	return b->ntags ? btag(b, off, (keep & K_DOM) ? MATCH_DOMAIN : MATCH_FULL) : 0;
}

static int xtag_cmp(const void *a, const void *b)
{
	const struct xtag *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
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

/* Size the set from the kept records: tag storage, arena, slot layout.
 * Marks the kinds each record keeps in its kinds byte (bits 2-3). */
static int dom_plan(struct match_set *s, struct match_builder *b, size_t *asize_out,
		    size_t *nruns_out, size_t *nf_out)
{
	size_t n = 0, nf = 0, nruns = 0, asize = 1;
	uint32_t maxtag = 0, prev = 0;
	unsigned w, off_bits;

	for (uint32_t off = 1; off < b->arena.len; off += 2 + (uint32_t)brec_len(b, off)) {
		unsigned keep = keep_kinds(b, off);
		size_t len = brec_len(b, off);
		uint32_t t;

		*brec_kinds(b, off) |= (uint8_t)(keep << 2);
		if (!keep)
			continue;
		t = primary_tag(b, off, keep);
		if (n == 0 || t != prev)
			nruns++;
		prev = t;
		maxtag = t > maxtag ? t : maxtag;
		n++;
		nf += keep == (K_FULL | K_DOM);
		asize += 1 + len;
		if (len > s->max_len)
			s->max_len = len;
		s->entries += (size_t)__builtin_popcount(keep);
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

/* The builder's table goes before the set's is made, and its records
 * become the set's in place ([len][kinds][name] -> [len][name][inline
 * tag]: never longer while the inline tag is at most a byte): the peak is
 * the set plus the records it dropped. */
static int build_dom(struct match_set *s, struct match_builder *b)
{
	size_t asize, nruns, nf, pos = 1;
	char *dst;
	int rc;

	if (b->nrec == 0)
		return 0;
	if (!b->tab)
		return -ENOMEM;
	if (b->nxtags) /* qsort's base must not be NULL, even for 0 elements */
		qsort(b->xtags, b->nxtags, sizeof(*b->xtags), xtag_cmp);
	if ((rc = dom_plan(s, b, &asize, &nruns, &nf)) < 0)
		return rc;
	free(b->tab); /* no more lookups in the builder */
	b->tab = NULL;
	s->tab = calloc(s->nslots, sizeof(*s->tab));
	s->bloom = calloc(s->nbloom, sizeof(*s->bloom));
	s->runs = s->tag_width ? NULL : malloc((nruns ? nruns : 1) * sizeof(*s->runs));
	s->ftags = malloc((nf ? nf : 1) * sizeof(*s->ftags));
	dst = s->tag_width <= 1 ? b->arena.p : malloc(asize);
	if (!s->tab || !s->bloom || (!s->tag_width && !s->runs) || !s->ftags || !dst)
		goto nomem;
	for (uint32_t off = 1, next; off < b->arena.len; off = next) {
		size_t len = brec_len(b, off);
		unsigned keep = *brec_kinds(b, off) >> 2;
		uint32_t t, at = (uint32_t)pos;

		next = off + 2 + (uint32_t)len;
		if (!keep)
			continue;
		t = primary_tag(b, off, keep);
		if (keep == (K_FULL | K_DOM))
			s->ftags[s->nftags++] =
			    (struct trun){.off = at, .tag = btag(b, off, MATCH_FULL)};
		dst[pos] = (char)len;
		memmove(dst + pos + 1, brec_name(b, off), len); /* in place: pos <= off */
		pos += 1 + len;
		for (unsigned k = 0; k < s->tag_width; k++)
			dst[pos++] = (char)(t >> (8 * k));
		if (!s->tag_width && (s->nruns == 0 || s->runs[s->nruns - 1].tag != t))
			s->runs[s->nruns++] = (struct trun){.off = at, .tag = t};
		slot_insert(s, name_hash(dst + at + 1, len), at, keep);
	}
	dst[0] = 0;
	if (dst == b->arena.p) { /* give back what dropped records and growth left */
		char *a = realloc(dst, asize);

		s->arena = a ? a : dst;
		b->arena.p = NULL;
	} else {
		s->arena = dst;
	}
	s->bytes += asize + s->nslots * sizeof(*s->tab) + s->nbloom * sizeof(*s->bloom) +
		    ((s->tag_width ? 0 : nruns) + nf) * sizeof(struct trun);
	return 0;
nomem:
	if (dst != b->arena.p)
		free(dst);
	return -ENOMEM;
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
