/* iplist.c - address sets for ip-list: a builder collects prefixes as
 * ranges; finishing sorts them, merges every overlapping, nested or
 * adjacent pair, and stores the disjoint ranges as two sorted arrays per
 * family (starts, ends) in one allocation. A lookup is a binary search
 * over the starts: about log2(ranges) steps, 13 for a china route list,
 * touching 4 bytes (IPv4) or 16 (IPv6) per step.
 *
 * Why ranges and not a trie: the lists are loaded once and only asked
 * "is it in?", so there is no per-prefix value to find the longest match
 * for, and merging makes the set smaller than its prefix count (a trie
 * node costs more than a range: 8 bytes an IPv4 range, 32 an IPv6 one).
 * IPv6 uses a pair of 64-bit words, not __int128: routers with 32-bit
 * CPUs build this too. Owns the sets; parses nothing (list_cidr.c,
 * list_geoip.c). */
#include "config.h"
#include "iplist.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct u128 {
	uint64_t hi, lo;
};

struct r4 {
	uint32_t lo, hi;
};

struct r6 {
	struct u128 lo, hi;
};

struct iplist_builder {
	struct r4 *r4;
	struct r6 *r6;
	size_t n4, cap4, n6, cap6;
	size_t prefixes;
};

struct iplist {
	size_t n4, n6, prefixes, bytes;
	const struct u128 *lo6, *hi6;
	const uint32_t *lo4, *hi4;
	/* the four arrays follow, IPv6 first (8-byte aligned) */
};

static const struct u128 U128_MAX = {UINT64_MAX, UINT64_MAX};

static int u128_cmp(struct u128 a, struct u128 b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static struct u128 u128_from(const uint8_t *a)
{
	return (struct u128){be64(a), be64(a + 8)};
}

/* a + 1 (wrapping); *carry set when a was the largest value. */
static struct u128 u128_inc(struct u128 a, bool *carry)
{
	*carry = a.hi == UINT64_MAX && a.lo == UINT64_MAX;
	a.lo++;
	if (a.lo == 0)
		a.hi++;
	return a;
}

static struct u128 u128_dec(struct u128 a)
{
	if (a.lo == 0)
		a.hi--;
	a.lo--;
	return a;
}

struct iplist_builder *iplist_builder_new(void)
{
	return calloc(1, sizeof(struct iplist_builder));
}

void iplist_builder_free(struct iplist_builder *b)
{
	if (!b)
		return;
	free(b->r4);
	free(b->r6);
	free(b);
}

size_t iplist_builder_count(const struct iplist_builder *b)
{
	return b ? b->prefixes : 0;
}

/* Room for one more element in *arr (n used of *cap, size bytes each). */
static int reserve(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if (nc > SIZE_MAX / size / 4)
		return -ENOMEM;
	p = realloc(*arr, nc * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int add4(struct iplist_builder *b, uint32_t lo, uint32_t hi)
{
	if (reserve((void **)&b->r4, b->n4, &b->cap4, sizeof(*b->r4)) < 0)
		return -ENOMEM;
	b->r4[b->n4++] = (struct r4){lo, hi};
	return 0;
}

static int add6(struct iplist_builder *b, struct u128 lo, struct u128 hi)
{
	if (reserve((void **)&b->r6, b->n6, &b->cap6, sizeof(*b->r6)) < 0)
		return -ENOMEM;
	b->r6[b->n6++] = (struct r6){lo, hi};
	return 0;
}

int iplist_builder_add(struct iplist_builder *b, int family, const void *addr, unsigned plen)
{
	int rc;

	if (!b || !addr || plen > (family == AF_INET ? 32u : 128u))
		return -EINVAL;
	if (family == AF_INET) {
		const uint8_t *p = addr;
		uint32_t a =
		    (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		uint32_t mask = plen ? UINT32_MAX << (32 - plen) : 0;

		rc = add4(b, a & mask, (a & mask) | ~mask);
	} else if (family == AF_INET6) {
		struct u128 a = u128_from(addr), m;

		/* shifts by 64 are undefined: the two halves are masked apart */
		m.hi = plen == 0 ? 0 : plen >= 64 ? UINT64_MAX : UINT64_MAX << (64 - plen);
		m.lo = plen <= 64 ? 0 : UINT64_MAX << (128 - plen);
		rc = add6(b, (struct u128){a.hi & m.hi, a.lo & m.lo},
			  (struct u128){a.hi | ~m.hi, a.lo | ~m.lo});
	} else {
		return -EINVAL;
	}
	if (rc == 0)
		b->prefixes++;
	return rc;
}

int iplist_builder_add_set(struct iplist_builder *b, const struct iplist *src)
{
	for (size_t i = 0; src && i < src->n4; i++)
		if (add4(b, src->lo4[i], src->hi4[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; src && i < src->n6; i++)
		if (add6(b, src->lo6[i], src->hi6[i]) < 0)
			return -ENOMEM;
	if (src)
		b->prefixes += src->prefixes;
	return 0;
}

int iplist_builder_add_inverse(struct iplist_builder *b, const struct iplist *src)
{
	uint64_t next4 = 0; /* first address not yet covered; 2^32 when done */
	struct u128 next6 = {0, 0};
	bool done6 = false;

	for (size_t i = 0; src && i < src->n4; i++) {
		if (src->lo4[i] > next4 && add4(b, (uint32_t)next4, src->lo4[i] - 1) < 0)
			return -ENOMEM;
		next4 = (uint64_t)src->hi4[i] + 1;
	}
	if (next4 <= UINT32_MAX && add4(b, (uint32_t)next4, UINT32_MAX) < 0)
		return -ENOMEM;
	for (size_t i = 0; src && i < src->n6 && !done6; i++) {
		if (u128_cmp(src->lo6[i], next6) > 0 && add6(b, next6, u128_dec(src->lo6[i])) < 0)
			return -ENOMEM;
		next6 = u128_inc(src->hi6[i], &done6);
	}
	if (!done6 && add6(b, next6, U128_MAX) < 0)
		return -ENOMEM;
	b->prefixes += src ? src->prefixes : 0;
	return 0;
}

static int cmp4(const void *a, const void *b)
{
	const struct r4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp6(const void *a, const void *b)
{
	const struct r6 *x = a, *y = b;

	return u128_cmp(x->lo, y->lo);
}

/* Merge sorted ranges in place; returns how many remain. */
static size_t merge4(struct r4 *r, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m && (uint64_t)r[i].lo <= (uint64_t)r[m - 1].hi + 1) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
			continue;
		}
		r[m++] = r[i];
	}
	return m;
}

static size_t merge6(struct r6 *r, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		bool top = false;
		struct u128 after = m ? u128_inc(r[m - 1].hi, &top) : (struct u128){0, 0};

		if (m && (top || u128_cmp(r[i].lo, after) <= 0)) {
			if (u128_cmp(r[i].hi, r[m - 1].hi) > 0)
				r[m - 1].hi = r[i].hi;
			continue;
		}
		r[m++] = r[i];
	}
	return m;
}

struct iplist *iplist_builder_finish(struct iplist_builder *b)
{
	struct iplist *l = NULL;
	size_t n4, n6, bytes;
	uint8_t *p;

	if (!b)
		return NULL;
	if (b->n4)
		qsort(b->r4, b->n4, sizeof(*b->r4), cmp4);
	if (b->n6)
		qsort(b->r6, b->n6, sizeof(*b->r6), cmp6);
	n4 = merge4(b->r4, b->n4);
	n6 = merge6(b->r6, b->n6);
	bytes = sizeof(*l) + n6 * 2 * sizeof(struct u128) + n4 * 2 * sizeof(uint32_t);
	l = malloc(bytes);
	if (!l)
		goto done;
	p = (uint8_t *)(l + 1);
	*l = (struct iplist){.n4 = n4, .n6 = n6, .prefixes = b->prefixes, .bytes = bytes};
	l->lo6 = (struct u128 *)p;
	l->hi6 = l->lo6 + n6;
	l->lo4 = (uint32_t *)(l->hi6 + n6);
	l->hi4 = l->lo4 + n4;
	for (size_t i = 0; i < n6; i++) {
		((struct u128 *)l->lo6)[i] = b->r6[i].lo;
		((struct u128 *)l->hi6)[i] = b->r6[i].hi;
	}
	for (size_t i = 0; i < n4; i++) {
		((uint32_t *)l->lo4)[i] = b->r4[i].lo;
		((uint32_t *)l->hi4)[i] = b->r4[i].hi;
	}
done:
	iplist_builder_free(b);
	return l;
}

void iplist_free(struct iplist *l)
{
	free(l);
}

bool iplist_has4(const struct iplist *l, uint32_t a)
{
	size_t lo = 0, n;

	if (!l || !l->n4)
		return false;
	/* lo: the last start <= a, found by halving (no early exit: fewer
	 * mispredicted branches than a textbook search) */
	for (n = l->n4; n > 1; n -= n / 2)
		if (l->lo4[lo + n / 2] <= a)
			lo += n / 2;
	return l->lo4[lo] <= a && a <= l->hi4[lo];
}

static bool has6(const struct iplist *l, struct u128 a)
{
	size_t lo = 0, n;

	if (!l->n6)
		return false;
	for (n = l->n6; n > 1; n -= n / 2)
		if (u128_cmp(l->lo6[lo + n / 2], a) <= 0)
			lo += n / 2;
	return u128_cmp(l->lo6[lo], a) <= 0 && u128_cmp(a, l->hi6[lo]) <= 0;
}

bool iplist_has(const struct iplist *l, int family, const void *addr)
{
	const uint8_t *p = addr;

	if (!l || !addr)
		return false;
	if (family == AF_INET)
		return iplist_has4(l, (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
					  (uint32_t)p[2] << 8 | p[3]);
	if (family == AF_INET6)
		return has6(l, u128_from(p));
	return false;
}

void iplist_stats(const struct iplist *l, struct iplist_stats *st)
{
	*st = (struct iplist_stats){0};
	if (!l)
		return;
	st->prefixes = l->prefixes;
	st->ranges4 = l->n4;
	st->ranges6 = l->n6;
	st->bytes = l->bytes;
}
