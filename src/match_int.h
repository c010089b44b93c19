/* match_int.h - internals shared by match.c, match_rx.c and the list loaders:
 * the growable arrays, name normalisation and the suffix hash.
 *
 * Not a public API: only files of the match and list modules include it. */
#ifndef MATCH_INT_H
#define MATCH_INT_H

#include "match.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** A name buffer: name + 8 bytes of zero padding for the chunked hash. */
#define MATCH_NAME_BUF (MATCH_NAME_MAX + 1 + 8)

/** Growable byte arena. */
struct match_buf {
	char *p;
	size_t len, cap;
};

/** Make *p (of *cap elements of elsz bytes) hold at least need elements,
 * doubling from 16. 0 or -ENOMEM (*p and *cap untouched then). */
int match_grow(void **p, size_t *cap, size_t need, size_t elsz);

/** Append len bytes to b; *off gets where they start. 0, -E2BIG past 4 GiB
 * or -ENOMEM. */
int match_buf_put(struct match_buf *b, const void *data, size_t len, uint32_t *off);

/** Lowercase v (one trailing dot dropped) into out (at least MATCH_NAME_MAX
 * bytes, no padding added) and check it is a host name: labels of 1-63 of
 * [a-z0-9_-], at most 253 in all. 0 with *olen set, or -EINVAL. */
int match_name_norm(const char *v, size_t len, char *out, size_t *olen);

/** ASCII lowercase of one character. */
static inline char match_lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* ---- hashing: right-to-left 8-byte chunks, shared by all suffixes ---- */

#define MATCH_HSTATES (MATCH_NAME_MAX / 8 + 2)

static inline uint64_t match_hmix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static inline uint64_t match_hfin(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

static inline uint64_t match_load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* First r (1..7) bytes at p; p has at least 8 readable bytes. */
static inline uint64_t match_load_part(const char *p, size_t r)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return match_load8(p) >> (64 - 8 * r);
#else
	return match_load8(p) & ((1ull << (8 * r)) - 1);
#endif
}

/** Hash state of one name: the hashes of every 8-byte-aligned suffix. */
struct match_hstate {
	const char *buf;
	size_t len;
	uint64_t s[MATCH_HSTATES]; /* s[k]: state after the last k full chunks */
};

/** Hash the chunks of buf (len bytes plus 8 readable padding bytes). */
static inline void match_hstate_init(struct match_hstate *hs, const char *buf, size_t len)
{
	uint64_t h = 0x2d358dccaa6c78a5ull;

	hs->buf = buf;
	hs->len = len;
	hs->s[0] = h;
	for (size_t k = 0; k < len / 8; k++) {
		h = match_hmix(h, match_load8(buf + len - 8 * (k + 1)));
		hs->s[k + 1] = h;
	}
}

/** Hash of buf[b..len): depends only on the suffix's bytes. */
static inline uint64_t match_hstate_suffix(const struct match_hstate *hs, size_t b)
{
	size_t l = hs->len - b, r = l & 7;
	uint64_t h = hs->s[l >> 3];

	if (r)
		h = match_hmix(h, match_load_part(hs->buf + b, r));
	return match_hfin(h ^ l);
}

#endif
