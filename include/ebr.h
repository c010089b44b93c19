/* ebr.h - epoch-based reclamation, for structures read without a lock:
 * readers announce the epoch they entered at; a writer (under a lock of its
 * own) that unlinks an object tags it with ebr_retire() and frees it once
 * the tag is below ebr_horizon(), when no reader that could still see it
 * is inside. A reader writes only its own slot's cache line; the epoch
 * steps once a collection.
 *
 * Ordering: every access to the shared pointers readers follow, the
 * reader's slot store and the writer's epoch step and slot loads are
 * sequentially consistent (plain loads on x86-64, ldar on arm64), so a
 * reader either shows up in the writer's scan or sees the unlink. */
#ifndef SLUICE_EBR_H
#define SLUICE_EBR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define EBR_MAX_READERS 64
#define EBR_SLOT_CTRS 4

struct ebr_slot {
	_Atomic uint64_t active; /* the epoch it entered at; 0: outside */
	_Atomic bool taken;
	/* The owner's counters, on the line it writes anyway (kept when the
	 * slot is given back, so sums never go down). */
	_Atomic uint64_t ctr[EBR_SLOT_CTRS];
} __attribute__((aligned(64)));

struct ebr {
	_Atomic uint64_t epoch;
	struct ebr_slot slot[EBR_MAX_READERS];
};

/** Set d up (epoch 1, every slot free). */
void ebr_init(struct ebr *d);

/** A slot for one reader thread, or -1 when all are taken. */
int ebr_reader_take(struct ebr *d);

/** Give slot i back (its reader is outside). */
void ebr_reader_put(struct ebr *d, int i);

/** Reader i starts reading; nothing it reaches from here is freed until ebr_exit. */
static inline void ebr_enter(struct ebr *d, int i)
{
	atomic_store(&d->slot[i].active, atomic_load(&d->epoch));
}

static inline void ebr_exit(struct ebr *d, int i)
{
	atomic_store_explicit(&d->slot[i].active, 0, memory_order_release);
}

/** Add n to reader i's counter k (only the slot's owner writes it). */
static inline void ebr_count(struct ebr *d, int i, unsigned k, uint64_t n)
{
	_Atomic uint64_t *p = &d->slot[i].ctr[k];

	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/** Sum of counter k over every slot. */
uint64_t ebr_count_sum(const struct ebr *d, unsigned k);

/** The tag of an object just unlinked (after the unlinking store). */
uint64_t ebr_retire(struct ebr *d);

/** Objects tagged below this may be freed now (steps the epoch). */
uint64_t ebr_horizon(struct ebr *d);

#endif
