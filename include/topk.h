/* topk.h - the most frequent keys of a stream, in fixed memory (the
 * Space-Saving algorithm, Metwally, Agrawal and El Abbadi, 2005): k
 * counters; a key not held takes over the least counted one and inherits
 * its count as its error bound, so a key seen more than N/k times of N is
 * always held and no count is ever too low. Keys are byte strings, hashed
 * with a random SipHash key (a client cannot aim collisions). One thread
 * adds; others take snapshots under the table's lock. */
#ifndef TOPK_H
#define TOPK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/** Longer keys are held cut to this many bytes (their hash tells them apart). */
#define TOPK_KEY_MAX 96

struct topk_item {
	uint64_t hash;
	uint64_t count; /* an upper bound of the key's true count */
	uint64_t err;	/* count - err is a lower bound */
	uint8_t len;	/* bytes held in key (at most TOPK_KEY_MAX) */
	uint8_t cut;	/* the key was longer */
	uint8_t key[TOPK_KEY_MAX];
};

struct topk;

/**
 * A table of k counters (k >= 1; at most 4096), hashing with the 16-byte
 * SipHash key hkey (tables whose snapshots are merged share one key).
 * NULL without memory.
 */
struct topk *topk_new(unsigned k, const uint8_t hkey[16]);

void topk_free(struct topk *t);

/** Count one more of key[0..len). */
void topk_add(struct topk *t, const void *key, size_t len);

/** Forget every key. */
void topk_clear(struct topk *t);

/** Copy the held keys into out (at most max), in no order; returns how many. */
size_t topk_snapshot(struct topk *t, struct topk_item *out, size_t max);

/**
 * Add up items[0..n) of several snapshots (same key: counts and errors
 * summed), sort by count, largest first, ties by key; returns how many
 * distinct keys are left at the front of items.
 */
size_t topk_merge(struct topk_item *items, size_t n);

#endif
