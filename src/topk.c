/* topk.c - Space-Saving top-k counters (see topk.h). The k items live in
 * an array; an open-addressing index (linear probing, twice k slots or
 * more, deletion by backward shift) finds a key's item by its hash. The
 * least counted item is found by a scan, only when a new key must take one
 * over: a stream of repeats costs a hash and a probe. */
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
	if (!t->idx || !t->items) {
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

static unsigned least(const struct topk *t)
{
	unsigned m = 0;

	for (unsigned i = 1; i < t->used; i++)
		if (t->items[i].count < t->items[m].count)
			m = i;
	return m;
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
		t->items[t->idx[pos] - 1].count++;
		goto done;
	}
	if (t->used < t->k) {
		n = t->used++;
	} else {
		n = least(t);
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
