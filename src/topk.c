/* topk.c - Space-Saving top-k counters (see topk.h). The k items live in
 * an array; an open-addressing index (linear probing, twice k slots or
 * more, deletion by backward shift) finds a key's item by its hash, and a
 * binary min-heap of the items by count keeps the least counted one at its
 * root: a repeat costs a hash, a probe and a sift of at most log2(k)
 * steps, and a new key taking over the least counted item no more (a scan
 * for the minimum read the whole table, about 1 us for k = 256, on every
 * query for a name outside the top k). */
#include "config.h"
#include "topk.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct topk {
	pthread_mutex_t lock;
	unsigned k, used;
	uint32_t mask;		 /* index slots - 1 */
	uint32_t *idx;		 /* item number + 1; 0 is empty */
	struct topk_item *items; /* k of them */
	uint16_t *heap;		 /* item numbers, a min-heap by count */
	uint16_t *hpos;		 /* each item's place in heap */
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

_Static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash key of 16 bytes");

struct topk *topk_new(unsigned k, const uint8_t hkey[16])
{
	struct topk *t;
	uint32_t n = 2;

	if (k == 0 || k > 4096)
		return NULL;
	while (n < 2 * k)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->k = k;
	t->mask = n - 1;
	t->idx = calloc(n, sizeof(*t->idx));
	t->items = calloc(k, sizeof(*t->items));
	t->heap = calloc(k, sizeof(*t->heap));
	t->hpos = calloc(k, sizeof(*t->hpos));
	if (!t->idx || !t->items || !t->heap || !t->hpos) {
		topk_free(t);
		return NULL;
	}
	memcpy(t->hkey, hkey, sizeof(t->hkey));
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void topk_free(struct topk *t)
{
	if (!t)
		return;
	if (t->idx && t->items)
		pthread_mutex_destroy(&t->lock);
	free(t->idx);
	free(t->items);
	free(t->heap);
	free(t->hpos);
	free(t);
}

/* The index slot of hash h, or of the empty slot where it would go. */
static uint32_t idx_find(const struct topk *t, uint64_t h)
{
	uint32_t i = (uint32_t)h & t->mask;

	while (t->idx[i] && t->items[t->idx[i] - 1].hash != h)
		i = (i + 1) & t->mask;
	return i;
}

/* Empty slot i, moving later entries of its run back so every entry stays
 * reachable from its home slot. */
static void idx_del(struct topk *t, uint32_t i)
{
	uint32_t j = i;

	t->idx[i] = 0;
	for (;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (!t->idx[j])
			return;
		home = (uint32_t)t->items[t->idx[j] - 1].hash & t->mask;
		/* the entry at j may fill the hole unless its home lies in (i, j] */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->idx[i] = t->idx[j];
			t->idx[j] = 0;
			i = j;
		}
	}
}

static uint64_t hcount(const struct topk *t, unsigned i)
{
	return t->items[t->heap[i]].count;
}

static void hswap(struct topk *t, unsigned i, unsigned j)
{
	uint16_t a = t->heap[i], b = t->heap[j];

	t->heap[i] = b;
	t->heap[j] = a;
	t->hpos[b] = (uint16_t)i;
	t->hpos[a] = (uint16_t)j;
}

/* The count at heap place i grew: move it down below smaller ones. */
static void sift_down(struct topk *t, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i;

		if (l < t->used && hcount(t, l) < hcount(t, m))
			m = l;
		if (l + 1 < t->used && hcount(t, l + 1) < hcount(t, m))
			m = l + 1;
		if (m == i)
			return;
		hswap(t, i, m);
		i = m;
	}
}

/* A new item at heap place i: move it up above larger ones. */
static void sift_up(struct topk *t, unsigned i)
{
	while (i && hcount(t, (i - 1) / 2) > hcount(t, i)) {
		hswap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

void topk_add(struct topk *t, const void *key, size_t len)
{
	struct topk_item *it;
	uint64_t h, base = 0;
	uint32_t pos;
	unsigned n;

	crypto_shorthash((uint8_t *)&h, key, len, t->hkey);
	pthread_mutex_lock(&t->lock);
	pos = idx_find(t, h);
	if (t->idx[pos]) {
		n = t->idx[pos] - 1;
		t->items[n].count++;
		sift_down(t, t->hpos[n]);
		goto done;
	}
	if (t->used < t->k) {
		n = t->used++;
		t->heap[n] = (uint16_t)n;
		t->hpos[n] = (uint16_t)n;
	} else {
		n = t->heap[0]; /* the least counted */
		base = t->items[n].count;
		idx_del(t, idx_find(t, t->items[n].hash));
		pos = idx_find(t, h); /* the deletion may have moved the run */
	}
	it = &t->items[n];
	it->hash = h;
	it->count = base + 1;
	it->err = base;
	it->cut = len > TOPK_KEY_MAX;
	it->len = (uint8_t)(it->cut ? TOPK_KEY_MAX : len);
	memcpy(it->key, key, it->len);
	t->idx[pos] = n + 1;
	if (base)
		sift_down(t, t->hpos[n]); /* was the root, now one more than it was */
	else
		sift_up(t, t->hpos[n]);
done:
	pthread_mutex_unlock(&t->lock);
}

void topk_clear(struct topk *t)
{
	pthread_mutex_lock(&t->lock);
	memset(t->idx, 0, ((size_t)t->mask + 1) * sizeof(*t->idx));
	t->used = 0;
	pthread_mutex_unlock(&t->lock);
}

size_t topk_snapshot(struct topk *t, struct topk_item *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->used < max ? t->used : max;
	memcpy(out, t->items, n * sizeof(*out));
	pthread_mutex_unlock(&t->lock);
	return n;
}

static int by_hash(const void *a, const void *b)
{
	const struct topk_item *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int by_count(const void *a, const void *b)
{
	const struct topk_item *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = memcmp(x->key, y->key, l);
	return c ? c : (int)x->len - (int)y->len;
}

size_t topk_merge(struct topk_item *items, size_t n)
{
	size_t o = 0;

	if (n == 0)
		return 0;
	qsort(items, n, sizeof(*items), by_hash);
	for (size_t i = 1; i < n; i++) {
		if (items[i].hash == items[o].hash) {
			items[o].count += items[i].count;
			items[o].err += items[i].err;
		} else {
			items[++o] = items[i];
		}
	}
	qsort(items, o + 1, sizeof(*items), by_count);
	return o + 1;
}
