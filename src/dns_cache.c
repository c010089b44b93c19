#include "config.h"
/* dns_cache.c - the DNS answer cache shared by the worker threads. It owns
 * the entries (upstream answers in wire form minus their OPT RR, with the
 * offsets of their TTL fields), the shard locks, eviction order, expiry,
 * serve-stale and prefetch bookkeeping, and the counters. It does not talk
 * to upstreams (the dns service refreshes when a hit says so) and it does
 * not parse: dns_msg validated the answer before dns_cache_put.
 *
 * Shards are chosen by the SipHash of the key (random key per process, so
 * a client cannot aim its names at one shard or bucket); each shard has its
 * own mutex, hash buckets and eviction list, and its counters as relaxed atomics
 * that only the lock holder writes (so an increment is a plain store and
 * dns_cache_stats reads them without the lock).
 *
 * Hits take no lock (dns_cache_get_rd): a reader follows the bucket chains
 * through atomic pointers and copies from entries that never change once
 * published (but for their used mark and refresh time, atomics of their
 * own); writers unlink under the shard lock and free what they unlinked
 * once no reader can still be on it (ebr.h). So a hit on one core writes
 * nothing another core's hit reads: two cores scale, where a shared lock
 * line moving between them cost more than the hit itself.
 */
#include "dns_cache.h"
#include "dns_wire.h"
#include "ebr.h"
#include "sl_queue.h"
#include "sluice.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX (DNS_NAME_WIRE_MAX + 5)
#define DEFAULT_MAX_TTL 86400
#define DEFAULT_BYTES_PER_ENTRY 1024
#define CACHE_LINE 64

enum ctr { C_HITS, C_MISSES, C_INSERTS, C_EVICTIONS, C_EXPIRED, C_STALE, C_ENTRIES, C_BYTES, C_N };
/* The counters before this one are what every hit writes: they share the
 * lock's cache line (struct shard). A miss writes its counter on the line
 * an insert writes, which the upstream's answer writes soon anyway. */
#define C_HOT C_MISSES

struct entry {
	struct entry *_Atomic hnext;
	union {
		TAILQ_ENTRY(entry) lru; /* in the shard */
		struct {		/* unlinked, waiting for readers (ebr.h) */
			struct entry *next;
			uint64_t tag;
		} dead;
	} l;
	uint64_t hash;
	uint64_t stored_ms, expire_ms;
	_Atomic uint64_t refresh_at; /* when a refresh was last asked for; 0: never */
	size_t size;	    /* bytes accounted for this entry */
	uint32_t ttl;	    /* clamped lifetime, seconds */
	uint32_t orig_ttl;  /* upstream min TTL */
	uint32_t min_clamp; /* min-ttl in force when stored */
	uint16_t key_len, wire_len, n_ttl;
	uint8_t rcode;
	bool negative;
	_Atomic bool used; /* hit since it last came round to the eviction end */
	uint16_t data[]; /* ttl_off[n_ttl], then key, then wire */
};

/* Eviction order, second chance (CLOCK): entries join at the end; the
 * first is evicted unless it was hit since it came round last, then it goes
 * to the end again. Close to LRU, and a hit writes no list links (on two
 * cores, moving an entry to the end on every hit made each hit wait for
 * three cache lines held by the other core). */
TAILQ_HEAD(entry_list, entry);

/* A shard's buckets; replaced whole (with its mask) when the shard grows,
 * so a reader never pairs one table with another's mask. */
struct table {
	struct table *dead_next;
	uint64_t tag;
	size_t mask;
	struct entry *_Atomic b[];
};

/* Laid out by what a hit does: a locked hit writes the first cache line
 * (the lock and the hit counter) and only reads the second, so a hit on
 * another core does not take the table pointer's line away; inserts,
 * evictions and misses write the third. A lock-free hit only reads here. */
struct shard {
	pthread_mutex_t lock;
	struct entry_list lru;
	_Atomic uint64_t ctr[C_HOT]; /* hits; the rest below */
	struct table *_Atomic tab __attribute__((aligned(CACHE_LINE)));
	size_t max_count;
	size_t count __attribute__((aligned(CACHE_LINE)));
	size_t bytes;
	_Atomic uint64_t ctr_rest[C_N - C_HOT];
	/* unlinked, oldest first, freed once readers have left (ebr.h) */
	struct entry *dead_head, *dead_tail;
	struct table *dead_tabs;
} __attribute__((aligned(CACHE_LINE)));

/* Where the C library's mutex leaves room (glibc's is 40 bytes on x86-64,
 * 48 on arm64, where the hit counter takes the next line). */
_Static_assert(sizeof(pthread_mutex_t) > 40 ||
		   offsetof(struct shard, ctr) + sizeof(((struct shard *)0)->ctr) <= CACHE_LINE,
	       "what a hit writes fits the lock's cache line");

/* The counters of lock-free readers, in their ebr slots. */
enum { RC_HITS, RC_MISSES, RC_STALE };

struct dns_cache {
	struct ebr ebr; /* first: aligned as the cache is */
	struct shard *shards;
	size_t nshards;
	uint8_t key[crypto_shorthash_KEYBYTES];
	_Atomic uint32_t min_ttl, max_ttl, stale_s;
	_Atomic bool prefetch;
	_Atomic size_t max_bytes;
	_Atomic uint64_t uncacheable;
};

struct key {
	size_t len;
	uint8_t b[KEY_MAX];
};

static inline void ctr_add(struct shard *s, enum ctr i, int64_t d)
{
	/* only the lock holder writes: a relaxed load and store, no bus lock */
	_Atomic uint64_t *p = i < C_HOT ? &s->ctr[i] : &s->ctr_rest[i - C_HOT];
	uint64_t v = atomic_load_explicit(p, memory_order_relaxed);

	atomic_store_explicit(p, v + (uint64_t)d, memory_order_relaxed);
}

static inline const uint8_t *e_key(const struct entry *e)
{
	return (const uint8_t *)(e->data + e->n_ttl);
}

static inline uint8_t *e_wire(struct entry *e)
{
	return (uint8_t *)(e->data + e->n_ttl) + e->key_len;
}

static void key_make(const struct dns_query *q, struct key *k)
{
	uint8_t *p = k->b + q->lname_len;

	memcpy(k->b, q->lname, q->lname_len);
	p[0] = (uint8_t)(q->qtype >> 8);
	p[1] = (uint8_t)q->qtype;
	p[2] = (uint8_t)(q->qclass >> 8);
	p[3] = (uint8_t)q->qclass;
	p[4] = (uint8_t)((q->do_bit ? 1 : 0) | (q->flags & DNS_F_CD ? 2 : 0));
	k->len = (size_t)q->lname_len + 5;
}

static uint64_t key_hash(const struct dns_cache *c, const struct key *k)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, k->b, k->len, c->key);
	return h;
}

static struct shard *shard_of(const struct dns_cache *c, uint64_t h)
{
	return &c->shards[h & (c->nshards - 1)];
}

static struct entry *_Atomic *bucket_of(struct table *t, uint64_t h)
{
	return &t->b[(h >> 32) & t->mask];
}

/* The entry for k (hash h) in s, locked or not (see ebr.h for why every
 * load is sequentially consistent). */
static struct entry *find(struct shard *s, uint64_t h, const struct key *k)
{
	for (struct entry *e = atomic_load(bucket_of(atomic_load(&s->tab), h)); e;
	     e = atomic_load(&e->hnext))
		if (e->hash == h && e->key_len == k->len && memcmp(e_key(e), k->b, k->len) == 0)
			return e;
	return NULL;
}

/* Free what was unlinked before every reader now inside came in (lock held). */
static void collect(struct dns_cache *c, struct shard *s)
{
	uint64_t h;

	if (!s->dead_head && !s->dead_tabs)
		return;
	h = ebr_horizon(&c->ebr);
	while (s->dead_head && s->dead_head->l.dead.tag < h) {
		struct entry *e = s->dead_head;

		s->dead_head = e->l.dead.next;
		free(e);
	}
	if (!s->dead_head)
		s->dead_tail = NULL;
	for (struct table **pp = &s->dead_tabs, *t; (t = *pp);) {
		if (t->tag < h) {
			*pp = t->dead_next;
			free(t);
		} else {
			pp = &t->dead_next;
		}
	}
}

/* Unlink e (lock held); it is freed by a later collect, when no reader can
 * still be on it. Its hnext stays, so a reader on it goes on down the chain. */
static void entry_remove(struct dns_cache *c, struct shard *s, struct entry *e)
{
	struct entry *_Atomic *pp = bucket_of(atomic_load(&s->tab), e->hash);

	while (atomic_load(pp) != e)
		pp = &atomic_load(pp)->hnext;
	atomic_store(pp, atomic_load(&e->hnext));
	TAILQ_REMOVE(&s->lru, e, l.lru);
	s->count--;
	s->bytes -= e->size;
	ctr_add(s, C_ENTRIES, -1);
	ctr_add(s, C_BYTES, -(int64_t)e->size);
	e->l.dead.next = NULL;
	e->l.dead.tag = ebr_retire(&c->ebr);
	if (s->dead_tail)
		s->dead_tail->l.dead.next = e;
	else
		s->dead_head = e;
	s->dead_tail = e;
}

static void entry_insert(struct shard *s, struct entry *e)
{
	struct entry *_Atomic *b = bucket_of(atomic_load(&s->tab), e->hash);

	atomic_store_explicit(&e->hnext, atomic_load(b), memory_order_relaxed);
	atomic_store(b, e); /* publishes e: everything written to it before */
	TAILQ_INSERT_TAIL(&s->lru, e, l.lru);
	s->count++;
	s->bytes += e->size;
	ctr_add(s, C_ENTRIES, 1);
	ctr_add(s, C_BYTES, (int64_t)e->size);
	ctr_add(s, C_INSERTS, 1);
}

static size_t pow2_floor(size_t n)
{
	size_t p = 1;

	while (p * 2 <= n && p * 2 != 0)
		p *= 2;
	return p;
}

/* A shard lock is held for a lookup and one short copy: a waiter spins a
 * little before it sleeps (glibc's adaptive mutex), since a sleep and a
 * wake-up cost more than the wait. */
static int lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return rc;
}

/* An empty table of at least 16 buckets, and at least max_count. */
static struct table *table_new(size_t max_count)
{
	size_t nb = 16;
	struct table *t;

	while (nb < max_count)
		nb *= 2;
	t = calloc(1, sizeof(*t) + nb * sizeof(t->b[0]));
	if (!t)
		return NULL;
	t->mask = nb - 1;
	for (size_t i = 0; i < nb; i++)
		atomic_init(&t->b[i], NULL);
	return t;
}

static int shard_init(struct shard *s, size_t max_count)
{
	struct table *t = table_new(max_count);

	if (!t)
		return -ENOMEM;
	atomic_init(&s->tab, t);
	s->max_count = max_count;
	TAILQ_INIT(&s->lru);
	if (lock_init(&s->lock) != 0) {
		free(t);
		atomic_init(&s->tab, NULL);
		return -ENOMEM;
	}
	return 0;
}

struct dns_cache *dns_cache_new(size_t max_entries, size_t shards)
{
	struct dns_cache *c = NULL;
	size_t per, i = 0;

	if (!max_entries || !shards || (shards & (shards - 1)) || sodium_init() < 0) {
		errno = EINVAL;
		return NULL;
	}
	if (shards > max_entries)
		shards = pow2_floor(max_entries);
	per = (max_entries + shards - 1) / shards;
	c = aligned_alloc(CACHE_LINE, (sizeof(*c) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	ebr_init(&c->ebr);
	c->shards = aligned_alloc(CACHE_LINE, shards * sizeof(*c->shards));
	if (!c->shards)
		goto fail;
	memset(c->shards, 0, shards * sizeof(*c->shards));
	for (; i < shards; i++)
		if (shard_init(&c->shards[i], per) < 0)
			goto fail;
	c->nshards = shards;
	randombytes_buf(c->key, sizeof(c->key));
	atomic_init(&c->min_ttl, 0);
	atomic_init(&c->max_ttl, DEFAULT_MAX_TTL);
	atomic_init(&c->stale_s, 0);
	atomic_init(&c->prefetch, true);
	atomic_init(&c->max_bytes, max_entries * DEFAULT_BYTES_PER_ENTRY);
	return c;
fail:
	while (c->shards && i-- > 0) {
		pthread_mutex_destroy(&c->shards[i].lock);
		free(atomic_load(&c->shards[i].tab));
	}
	free(c->shards);
	free(c);
	errno = ENOMEM;
	return NULL;
}

static void shard_clear(struct dns_cache *c, struct shard *s)
{
	while (!TAILQ_EMPTY(&s->lru))
		entry_remove(c, s, TAILQ_FIRST(&s->lru));
	collect(c, s);
}

void dns_cache_clear(struct dns_cache *c)
{
	for (size_t i = 0; i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		shard_clear(c, &c->shards[i]);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}

/* No reader is left: the horizon is past every tag. */
void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nshards; i++) {
		shard_clear(c, &c->shards[i]);
		pthread_mutex_destroy(&c->shards[i].lock);
		free(atomic_load(&c->shards[i].tab));
	}
	free(c->shards);
	free(c);
}

void dns_cache_set_ttl(struct dns_cache *c, uint32_t min_ttl, uint32_t max_ttl)
{
	atomic_store_explicit(&c->min_ttl, min_ttl, memory_order_relaxed);
	atomic_store_explicit(&c->max_ttl, max_ttl < min_ttl ? min_ttl : max_ttl,
			      memory_order_relaxed);
}

void dns_cache_set_stale(struct dns_cache *c, uint32_t window_s)
{
	atomic_store_explicit(&c->stale_s, window_s, memory_order_relaxed);
}

void dns_cache_set_prefetch(struct dns_cache *c, bool on)
{
	atomic_store_explicit(&c->prefetch, on, memory_order_relaxed);
}

void dns_cache_set_max_bytes(struct dns_cache *c, size_t bytes)
{
	atomic_store_explicit(&c->max_bytes, bytes, memory_order_relaxed);
}

/* An entry for the answer; the stored copy has no OPT RR (it is last, see inspect). */
static struct entry *entry_new(const struct dns_cache *c, const struct key *k, const uint8_t *ans,
			       const struct dns_answer_info *ai, uint64_t now_ms)
{
	size_t wire_len = ai->has_opt ? ai->opt_off : ai->end;
	size_t size = sizeof(struct entry) + ai->n_ttl * sizeof(uint16_t) + k->len + wire_len;
	uint32_t lo = atomic_load_explicit(&c->min_ttl, memory_order_relaxed);
	uint32_t hi = atomic_load_explicit(&c->max_ttl, memory_order_relaxed);
	struct entry *e = malloc(size);
	uint8_t *w;

	if (!e)
		return NULL;
	e->size = size;
	e->n_ttl = ai->n_ttl;
	e->key_len = (uint16_t)k->len;
	e->wire_len = (uint16_t)wire_len;
	memcpy(e->data, ai->ttl_off, ai->n_ttl * sizeof(uint16_t));
	memcpy((uint8_t *)(e->data + e->n_ttl), k->b, k->len);
	w = e_wire(e);
	memcpy(w, ans, wire_len);
	if (ai->has_opt) {
		w[10] = (uint8_t)((ai->arcount - 1) >> 8);
		w[11] = (uint8_t)(ai->arcount - 1);
	}
	e->orig_ttl = ai->min_ttl;
	e->ttl = ai->min_ttl < lo ? lo : ai->min_ttl > hi ? hi : ai->min_ttl;
	e->min_clamp = lo;
	e->stored_ms = now_ms;
	e->expire_ms = now_ms + (uint64_t)e->ttl * 1000;
	atomic_init(&e->refresh_at, 0);
	atomic_init(&e->used, false);
	e->rcode = ai->rcode;
	e->negative = ai->negative;
	return e;
}

/* Evict until the shard is within its limits; fresh (just inserted) is
 * never evicted by its own insert. Each entry is spared at most once a
 * call, so this ends within count + 1 turns. */
static void shard_evict(struct dns_cache *c, struct shard *s, struct entry *fresh)
{
	size_t budget = atomic_load_explicit(&c->max_bytes, memory_order_relaxed) / c->nshards;
	struct entry *e;

	while ((e = TAILQ_FIRST(&s->lru)) && TAILQ_NEXT(e, l.lru) &&
	       (s->count > s->max_count || s->bytes > budget)) {
		if (atomic_load_explicit(&e->used, memory_order_relaxed) || e == fresh) {
			/* a second chance */
			atomic_store_explicit(&e->used, false, memory_order_relaxed);
			fresh = e == fresh ? NULL : fresh;
			TAILQ_REMOVE(&s->lru, e, l.lru);
			TAILQ_INSERT_TAIL(&s->lru, e, l.lru);
			continue;
		}
		entry_remove(c, s, e);
		ctr_add(s, C_EVICTIONS, 1);
	}
}

/* Insert e under key k, replacing an entry with the same key. */
static void store(struct dns_cache *c, struct entry *e, const struct key *k)
{
	struct entry *old;
	struct shard *s;

	e->hash = key_hash(c, k);
	s = shard_of(c, e->hash);
	pthread_mutex_lock(&s->lock);
	old = find(s, e->hash, k);
	if (old) {
		atomic_init(&e->used, true); /* a refresh of a name in use */
		entry_remove(c, s, old);
	}
	entry_insert(s, e);
	shard_evict(c, s, e);
	collect(c, s);
	pthread_mutex_unlock(&s->lock);
}

int dns_cache_put(struct dns_cache *c, const struct dns_query *q, const uint8_t *ans, size_t len,
		  const struct dns_answer_info *ai, uint64_t now_ms)
{
	struct entry *e;
	struct key k;

	if (!ai->cacheable || !q->question_ok || q->ecs || ai->end > len ||
	    !dns_answer_matches(ans, len, ai, q)) {
		atomic_fetch_add_explicit(&c->uncacheable, 1, memory_order_relaxed);
		return -EINVAL;
	}
	if ((ai->has_opt ? ai->opt_off : ai->end) > DNS_CACHE_MAX_ANSWER)
		return -E2BIG;
	key_make(q, &k);
	e = entry_new(c, &k, ans, ai, now_ms);
	if (!e)
		return -ENOMEM;
	store(c, e, &k);
	return 0;
}

/* What a hit takes out of its entry under the shard lock; the answer is
 * finished from it (ID, flags, the client's case, TTLs, OPT) after the
 * lock is dropped. */
struct taken {
	uint16_t ttl_off[DNS_MAX_RRS];
	struct dns_answer_src a;
	uint32_t elapsed, min_ttl, max_ttl;
	bool copied; /* the wire is in out; else the answer is TC=1 or too big */
};

/* Whole seconds since e was stored; 0 when a reader's clock reading is a
 * little older than the entry (another thread stored it meanwhile). */
static uint32_t age_s(const struct entry *e, uint64_t now_ms)
{
	return now_ms > e->stored_ms ? (uint32_t)((now_ms - e->stored_ms) / 1000) : 0;
}

/* Copy entry e's wire into out and what the answer needs besides (lock
 * held): one memcpy of the answer and one of its TTL offsets. */
static int take(const struct entry *e, const struct dns_query *q, uint8_t *out, size_t outlen,
		uint64_t now_ms, bool stale, struct taken *t)
{
	size_t total = e->wire_len + (q->edns ? DNS_OPT_LEN : 0);

	if (e->wire_len < DNS_HDR_LEN + (size_t)q->lname_len)
		return -EINVAL;
	t->a = (struct dns_answer_src){out, e->wire_len, t->ttl_off, e->n_ttl, e->rcode};
	t->copied = total <= dns_query_udp_limit(q); /* else a TC=1 answer, no copy */
	if (t->copied && total > outlen)
		return -ENOSPC;
	if (t->copied) {
		memcpy(out, e_key(e) + e->key_len, e->wire_len);
		memcpy(t->ttl_off, e->data, e->n_ttl * sizeof(uint16_t));
	}
	/* served stale: every TTL becomes DNS_CACHE_STALE_TTL (RFC 8767 4) */
	t->elapsed = stale ? 0 : age_s(e, now_ms);
	t->min_ttl = stale ? DNS_CACHE_STALE_TTL : e->min_clamp;
	t->max_ttl = stale ? DNS_CACHE_STALE_TTL : e->ttl;
	return 0;
}

/* The answer for q from what take() copied into out (no lock held). */
static int finish(const struct taken *t, const struct dns_query *q, const uint8_t *pkt,
		  uint8_t *out, size_t outlen, struct dns_cache_hit *hit)
{
	int rc = t->copied ? dns_build_answer(&t->a, q, pkt, t->elapsed, t->min_ttl, t->max_ttl,
					      out, outlen)
			   : dns_build_truncated(q, pkt, t->a.rcode, out, outlen);

	if (rc > 0)
		hit->truncated = out[2] & (DNS_F_TC >> 8);
	return rc;
}

/* What a lookup found: an entry to serve (stale or not), none, or one
 * expired past serve-stale (for the locked path to remove). */
enum found { FOUND, FOUND_NONE, FOUND_EXPIRED };

static enum found lookup(struct dns_cache *c, struct shard *s, uint64_t h, const struct key *k,
			 uint64_t now_ms, struct entry **ep, bool *stale)
{
	struct entry *e = find(s, h, k);
	uint64_t win;

	*ep = e;
	*stale = false;
	if (!e)
		return FOUND_NONE;
	if (now_ms < e->expire_ms)
		return FOUND;
	win = (uint64_t)atomic_load_explicit(&c->stale_s, memory_order_relaxed) * 1000;
	*stale = now_ms - e->expire_ms < win;
	return *stale ? FOUND : FOUND_EXPIRED;
}

/* One hit of the many that may see a stale or nearly expired entry at once
 * asks for its refresh (then again after DNS_CACHE_REFRESH_RETRY_MS). */
static bool refresh_claim(struct entry *e, uint64_t now_ms)
{
	uint64_t last = atomic_load_explicit(&e->refresh_at, memory_order_relaxed);

	if (last && now_ms - last < DNS_CACHE_REFRESH_RETRY_MS)
		return false;
	return atomic_compare_exchange_strong_explicit(&e->refresh_at, &last, SL_MAX(now_ms, 1),
						       memory_order_relaxed, memory_order_relaxed);
}

static void hit_fill(const struct dns_cache *c, struct entry *e, uint64_t now_ms, bool stale,
		     struct dns_cache_hit *hit)
{
	uint32_t age = age_s(e, now_ms);

	memset(hit, 0, sizeof(*hit));
	hit->age_s = age;
	hit->orig_ttl = e->orig_ttl;
	hit->rcode = e->rcode;
	hit->negative = e->negative;
	hit->stale = stale;
	hit->ttl = stale ? DNS_CACHE_STALE_TTL : (e->ttl > age ? e->ttl - age : 0);
	hit->prefetch = !stale && atomic_load_explicit(&c->prefetch, memory_order_relaxed) &&
			(uint64_t)hit->ttl * 10 < e->ttl;
	hit->refresh = (stale || hit->prefetch) && refresh_claim(e, now_ms);
	if (!atomic_load_explicit(&e->used, memory_order_relaxed)) /* once, not every hit */
		atomic_store_explicit(&e->used, true, memory_order_relaxed);
}

int dns_cache_get(struct dns_cache *c, const struct dns_query *q, const uint8_t *query_pkt,
		  uint8_t *out, size_t outlen, uint64_t now_ms, struct dns_cache_hit *hit)
{
	struct entry *e;
	struct shard *s;
	struct key k;
	struct dns_cache_hit spare;
	struct taken t;
	uint64_t h;
	enum found found;
	bool stale;
	int rc = -ENOENT;

	if (!q->question_ok)
		return -ENOENT;
	if (!hit)
		hit = &spare;
	key_make(q, &k);
	h = key_hash(c, &k);
	s = shard_of(c, h);
	/* Under the lock: find, expire, copy the answer out, the used mark, counters.
	 * Hashing before it and finishing the answer after it need no lock. */
	pthread_mutex_lock(&s->lock);
	found = lookup(c, s, h, &k, now_ms, &e, &stale);
	if (found == FOUND_EXPIRED) { /* removed, and a miss */
		entry_remove(c, s, e);
		collect(c, s);
		ctr_add(s, C_EXPIRED, 1);
	}
	if (found != FOUND) {
		ctr_add(s, C_MISSES, 1);
		goto done;
	}
	rc = take(e, q, out, outlen, now_ms, stale, &t);
	if (rc < 0)
		goto done;
	hit_fill(c, e, now_ms, stale, hit);
	ctr_add(s, C_HITS, 1);
	if (stale)
		ctr_add(s, C_STALE, 1);
done:
	pthread_mutex_unlock(&s->lock);
	return rc < 0 ? rc : finish(&t, q, query_pkt, out, outlen, hit);
}

int dns_cache_reader(struct dns_cache *c)
{
	return ebr_reader_take(&c->ebr);
}

void dns_cache_reader_put(struct dns_cache *c, int rd)
{
	ebr_reader_put(&c->ebr, rd);
}

int dns_cache_get_rd(struct dns_cache *c, int rd, const struct dns_query *q,
		     const uint8_t *query_pkt, uint8_t *out, size_t outlen, uint64_t now_ms,
		     struct dns_cache_hit *hit)
{
	struct dns_cache_hit spare;
	struct entry *e;
	struct taken t;
	struct key k;
	uint64_t h;
	bool stale;
	int rc;

	if (rd < 0 || rd >= EBR_MAX_READERS || !q->question_ok)
		return dns_cache_get(c, q, query_pkt, out, outlen, now_ms, hit);
	if (!hit)
		hit = &spare;
	key_make(q, &k);
	h = key_hash(c, &k);
	ebr_enter(&c->ebr, rd);
	switch (lookup(c, shard_of(c, h), h, &k, now_ms, &e, &stale)) {
	case FOUND_NONE:
		ebr_exit(&c->ebr, rd);
		ebr_count(&c->ebr, rd, RC_MISSES, 1);
		return -ENOENT;
	case FOUND_EXPIRED: /* removed (and counted) under the lock */
		ebr_exit(&c->ebr, rd);
		return dns_cache_get(c, q, query_pkt, out, outlen, now_ms, hit);
	case FOUND:
		break;
	}
	rc = take(e, q, out, outlen, now_ms, stale, &t);
	if (rc == 0)
		hit_fill(c, e, now_ms, stale, hit);
	ebr_exit(&c->ebr, rd);
	if (rc < 0)
		return rc;
	ebr_count(&c->ebr, rd, RC_HITS, 1);
	if (stale)
		ebr_count(&c->ebr, rd, RC_STALE, 1);
	return finish(&t, q, query_pkt, out, outlen, hit);
}

void dns_cache_stats(const struct dns_cache *c, struct dns_cache_stats *st)
{
	uint64_t v[C_N] = {0};

	for (size_t i = 0; i < c->nshards; i++)
		for (int j = 0; j < C_N; j++)
			v[j] += atomic_load_explicit(j < C_HOT ? &c->shards[i].ctr[j]
							       : &c->shards[i].ctr_rest[j - C_HOT],
						     memory_order_relaxed);
	st->hits = v[C_HITS] + ebr_count_sum(&c->ebr, RC_HITS);
	st->misses = v[C_MISSES] + ebr_count_sum(&c->ebr, RC_MISSES);
	st->inserts = v[C_INSERTS];
	st->evictions = v[C_EVICTIONS];
	st->expired = v[C_EXPIRED];
	st->stale_hits = v[C_STALE] + ebr_count_sum(&c->ebr, RC_STALE);
	st->entries = v[C_ENTRIES];
	st->bytes = v[C_BYTES];
	st->uncacheable = atomic_load_explicit(&c->uncacheable, memory_order_relaxed);
}

/* ---- dump and restore (the cache file, dns_cachefile.c) ---- */

/* What the snapshot holds before each answer's bytes. */
struct snap {
	int64_t left_ms;
	uint32_t orig_ttl;
	uint16_t len;
	uint8_t key_flags;
};

/* Copy shard s out (lock held): in eviction order (oldest first), TTLs as served
 * at now_ms. NULL with *size 0 when the shard is empty. */
static uint8_t *snapshot(struct shard *s, uint64_t now_ms, size_t *size)
{
	size_t need = 0, off = 0;
	struct entry *e;
	uint8_t *buf;

	TAILQ_FOREACH(e, &s->lru, l.lru)
		need += sizeof(struct snap) + e->wire_len;
	*size = need;
	if (!need || !(buf = malloc(need)))
		return NULL;
	TAILQ_FOREACH(e, &s->lru, l.lru) {
		struct snap h = {(int64_t)e->expire_ms - (int64_t)now_ms, e->orig_ttl, e->wire_len,
				 e_key(e)[e->key_len - 1]};
		uint32_t elapsed = age_s(e, now_ms);

		memcpy(buf + off, &h, sizeof(h));
		off += sizeof(h);
		memcpy(buf + off, e_wire(e), e->wire_len);
		dns_rewrite_ttls(buf + off, e->wire_len, e->data, e->n_ttl, elapsed, e->min_clamp,
				 e->ttl);
		off += e->wire_len;
	}
	return buf;
}

int dns_cache_dump(struct dns_cache *c, uint64_t now_ms,
		   int (*fn)(void *arg, const struct dns_cache_rec *r), void *arg)
{
	int rc = 0;

	for (size_t i = 0; i < c->nshards && rc == 0; i++) {
		struct shard *s = &c->shards[i];
		size_t size, off = 0;
		uint8_t *buf;

		pthread_mutex_lock(&s->lock);
		buf = snapshot(s, now_ms, &size);
		pthread_mutex_unlock(&s->lock);
		if (!buf && size)
			return -ENOMEM;
		while (off < size && rc == 0) {
			struct snap h;
			struct dns_cache_rec r;

			memcpy(&h, buf + off, sizeof(h));
			off += sizeof(h);
			r = (struct dns_cache_rec){buf + off, h.len,	  h.key_flags,
						   h.left_ms, h.orig_ttl, 0};
			off += h.len;
			rc = fn(arg, &r);
		}
		free(buf);
	}
	return rc;
}

/* What dns_cache_put would have taken, less the TTL requirement (a
 * restored answer may be stale) and anything after the last RR. */
static bool restorable(const struct dns_answer_info *ai, size_t len)
{
	return ai->qdcount == 1 && !ai->qname_compressed && !ai->has_opt && !ai->tc &&
	       !ai->ext_rcode && !ai->ttl_overflow && ai->end == len &&
	       (ai->rcode == DNS_RCODE_NOERROR || ai->rcode == DNS_RCODE_NXDOMAIN) &&
	       (ai->negative ? ai->has_soa : ai->ancount > 0);
}

int dns_cache_restore(struct dns_cache *c, const struct dns_cache_rec *r, uint64_t now_ms)
{
	int64_t win = (int64_t)atomic_load_explicit(&c->stale_s, memory_order_relaxed) * 1000;
	int64_t hi = (int64_t)atomic_load_explicit(&c->max_ttl, memory_order_relaxed) * 1000;
	int64_t left = r->left_ms;
	struct dns_answer_info ai;
	struct entry *e;
	struct key k;
	size_t off = DNS_HDR_LEN, wl;

	if (!r->wire || r->len < DNS_HDR_LEN || r->len > DNS_CACHE_MAX_ANSWER ||
	    (r->key_flags & ~(DNS_CACHE_KEY_DO | DNS_CACHE_KEY_CD)))
		return -EINVAL;
	if (dns_answer_inspect(r->wire, r->len, &ai) < 0 || !restorable(&ai, r->len) ||
	    dns_wire_name_read(r->wire, r->len, &off, k.b, &wl, NULL, NULL) < 0)
		return -EINVAL;
	if (left <= 0 && left <= -win)
		return -ESTALE;
	if (left > hi)
		left = hi;
	k.b[wl] = (uint8_t)(ai.qtype >> 8);
	k.b[wl + 1] = (uint8_t)ai.qtype;
	k.b[wl + 2] = (uint8_t)(ai.qclass >> 8);
	k.b[wl + 3] = (uint8_t)ai.qclass;
	k.b[wl + 4] = r->key_flags;
	k.len = wl + 5;
	e = entry_new(c, &k, r->wire, &ai, now_ms);
	if (!e)
		return -ENOMEM;
	/* The answer's TTLs are what was left when it was saved, less the time
	 * since; the entry lives what is left of its lifetime, clamped no more. */
	dns_rewrite_ttls(e_wire(e), e->wire_len, e->data, e->n_ttl, r->elapsed_s, 0, UINT32_MAX);
	e->ttl = left > 0 ? (uint32_t)((left + 999) / 1000) : 0;
	e->min_clamp = 0;
	e->orig_ttl = r->orig_ttl;
	/* Expired before the monotonic clock began (sluice starts soon after
	 * boot): expired at its start, so stale a little longer than asked. */
	e->expire_ms =
	    left < 0 && (uint64_t)-left > now_ms ? 0 : (uint64_t)((int64_t)now_ms + left);
	store(c, e, &k);
	return 0;
}

size_t dns_cache_flush_name(struct dns_cache *c, const uint8_t *lname, size_t lname_len)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		for (struct entry *e = TAILQ_FIRST(&s->lru), *next; e; e = next) {
			next = TAILQ_NEXT(e, l.lru);
			/* the key is the name, then type, class and flags (key_make) */
			if (e->key_len == lname_len + 5 &&
			    memcmp(e_key(e), lname, lname_len) == 0) {
				entry_remove(c, s, e);
				n++;
			}
		}
		collect(c, s);
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}

/* More buckets for a shard that may now hold more (under its lock); on no
 * memory the chains just get longer. The entries move over one at a time,
 * each chain ending in NULL throughout: a reader meanwhile may miss (and
 * asks upstream) but never loops. The old table waits for its readers. */
static void shard_rehash(struct dns_cache *c, struct shard *s, size_t max_count)
{
	struct table *old = atomic_load(&s->tab), *t;

	if (max_count <= old->mask + 1 || !(t = table_new(max_count)))
		return;
	for (size_t i = 0; i <= old->mask; i++)
		for (struct entry *e; (e = atomic_load(&old->b[i]));) {
			struct entry *_Atomic *b = bucket_of(t, e->hash);

			atomic_store(&old->b[i], atomic_load(&e->hnext));
			atomic_store(&e->hnext, atomic_load(b));
			atomic_store(b, e);
		}
	atomic_store(&s->tab, t);
	old->tag = ebr_retire(&c->ebr);
	old->dead_next = s->dead_tabs;
	s->dead_tabs = old;
}

void dns_cache_set_capacity(struct dns_cache *c, size_t max_entries)
{
	atomic_store_explicit(&c->max_bytes, SL_MAX(max_entries, 1) * DEFAULT_BYTES_PER_ENTRY,
			      memory_order_relaxed);
	for (size_t i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		/* exact shares that add up to max_entries; a shard holds one at least */
		size_t per = max_entries / c->nshards + (i < max_entries % c->nshards ? 1 : 0);

		per = SL_MAX(per, 1);
		pthread_mutex_lock(&s->lock);
		s->max_count = per;
		shard_rehash(c, s, per);
		shard_evict(c, s, NULL); /* as an insert would, second chances and all */
		collect(c, s);
		pthread_mutex_unlock(&s->lock);
	}
}

int dns_cache_peek(struct dns_cache *c, const uint8_t *lname, size_t lname_len, uint16_t qtype,
		   uint64_t now_ms, struct dns_cache_hit *hit)
{
	struct dns_query q = {
	    .qtype = qtype, .qclass = DNS_CLASS_IN, .lname_len = (uint16_t)lname_len};
	struct key k;
	struct shard *s;
	struct entry *e;
	uint64_t h, win;
	int rc = -ENOENT;

	if (lname_len > sizeof(q.lname))
		return -EINVAL;
	memcpy(q.lname, lname, lname_len);
	key_make(&q, &k);
	h = key_hash(c, &k);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	e = find(s, h, &k);
	if (e) {
		win = (uint64_t)atomic_load_explicit(&c->stale_s, memory_order_relaxed) * 1000;
		*hit = (struct dns_cache_hit){.rcode = e->rcode,
					      .negative = e->negative,
					      .orig_ttl = e->orig_ttl,
					      .age_s = age_s(e, now_ms)};
		hit->stale = now_ms >= e->expire_ms;
		hit->ttl = hit->stale ? 0 : (uint32_t)((e->expire_ms - now_ms) / 1000);
		rc = !hit->stale || now_ms - e->expire_ms < win ? 0 : -ENOENT;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
