/* ebr.c - epoch-based reclamation (see ebr.h). */
#include "config.h"
#include "ebr.h"

void ebr_init(struct ebr *d)
{
	atomic_init(&d->epoch, 1);
	for (int i = 0; i < EBR_MAX_READERS; i++) {
		atomic_init(&d->slot[i].active, 0);
		atomic_init(&d->slot[i].taken, false);
		for (int k = 0; k < EBR_SLOT_CTRS; k++)
			atomic_init(&d->slot[i].ctr[k], 0);
	}
}

int ebr_reader_take(struct ebr *d)
{
	for (int i = 0; i < EBR_MAX_READERS; i++)
		if (!atomic_exchange(&d->slot[i].taken, true))
			return i;
	return -1;
}

void ebr_reader_put(struct ebr *d, int i)
{
	if (i < 0 || i >= EBR_MAX_READERS)
		return;
	atomic_store(&d->slot[i].active, 0);
	atomic_store(&d->slot[i].taken, false);
}

uint64_t ebr_count_sum(const struct ebr *d, unsigned k)
{
	uint64_t n = 0;

	for (int i = 0; i < EBR_MAX_READERS; i++)
		n += atomic_load_explicit(&d->slot[i].ctr[k], memory_order_relaxed);
	return n;
}

/* The epoch now: a reader that could have reached the object came in at
 * this epoch or before (epochs only grow, and the unlink came first). */
uint64_t ebr_retire(struct ebr *d)
{
	return atomic_load(&d->epoch);
}

/* The epoch steps here, once a collection rather than once an object, so
 * the line every reader loads on entry changes seldom; readers that come in
 * after the step cannot hold anything retired before it. */
uint64_t ebr_horizon(struct ebr *d)
{
	uint64_t h = atomic_fetch_add(&d->epoch, 1) + 1;

	for (int i = 0; i < EBR_MAX_READERS; i++) {
		uint64_t a = atomic_load(&d->slot[i].active);

		if (a && a < h)
			h = a;
	}
	return h;
}
