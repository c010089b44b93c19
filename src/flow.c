/* flow.c - the session table. Flows sit in hash buckets (SipHash of the
 * 4-tuple with a per-process random key, so a LAN host cannot aim at one
 * bucket), in an activity list per timeout class (so the head of each list
 * is the next to expire and expiry is O(1) a flow), and in their client's
 * activity list (so the per-client cap evicts that client's stalest flow). */
#include "config.h"
#include "flow.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Both activity lists run from the least recently active flow (the first)
 * to the most recently active one (the last). */
TAILQ_HEAD(flow_list, flow);

struct flow_client {
	struct addr ip;
	uint64_t hash;
	size_t count;
	struct flow_list flows;
	struct flow_client *hnext;
};

struct tclass {
	unsigned timeout_ms;
	struct flow_list flows;
};

struct flow_table {
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct flow **buckets;
	size_t nbuckets, count;
	struct flow_client **cbuckets;
	size_t ncbuckets, nclients;
	struct tclass tc[FLOW_MAX_TCLASS];
	size_t ntc;
	unsigned max_flows, max_per_client;
	flow_remove_fn on_remove;
	void *ctx;
};

static uint64_t hash_bytes(const struct flow_table *t, const uint8_t *in, size_t len)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, in, len, t->key);
	return h;
}

static uint64_t flow_hash(const struct flow_table *t, const struct addr *c, const struct addr *d)
{
	uint8_t k[40];
	size_t n = addr_key(c, true, k);

	n += addr_key(d, true, k + n);
	return hash_bytes(t, k, n);
}

static uint64_t client_hash(const struct flow_table *t, const struct addr *c)
{
	uint8_t k[20];

	return hash_bytes(t, k, addr_key(c, false, k));
}

struct flow_table *flow_table_new(const uint8_t key[16], unsigned max_flows,
				  unsigned max_per_client, flow_remove_fn on_remove, void *ctx)
{
	struct flow_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	memcpy(t->key, key, sizeof(t->key));
	t->nbuckets = t->ncbuckets = 256;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->cbuckets = calloc(t->ncbuckets, sizeof(*t->cbuckets));
	if (!t->buckets || !t->cbuckets)
		goto fail;
	flow_table_set_caps(t, max_flows, max_per_client);
	t->on_remove = on_remove;
	t->ctx = ctx;
	return t;
fail:
	free(t->buckets);
	free(t->cbuckets);
	free(t);
	return NULL;
}

void flow_table_set_caps(struct flow_table *t, unsigned max_flows, unsigned max_per_client)
{
	t->max_flows = max_flows ? max_flows : 1;
	t->max_per_client = max_per_client ? max_per_client : 1;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ntc; i++)
		while (!TAILQ_EMPTY(&t->tc[i].flows))
			flow_remove(t, TAILQ_FIRST(&t->tc[i].flows), FLOW_END_SHUTDOWN);
	free(t->buckets);
	free(t->cbuckets);
	free(t);
}

struct flow *flow_lookup(struct flow_table *t, const struct addr *client,
			 const struct addr *origdst)
{
	uint64_t h = flow_hash(t, client, origdst);

	for (struct flow *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext)
		if (f->hash == h && addr_equal(&f->client, client) &&
		    addr_equal(&f->origdst, origdst))
			return f;
	return NULL;
}

/* Double the bucket array when the load passes one flow a bucket. */
static void grow(struct flow_table *t)
{
	size_t n = t->nbuckets * 2;
	struct flow **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct flow *f = t->buckets[i], *next;

		for (; f; f = next) {
			next = f->hnext;
			f->hnext = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void grow_clients(struct flow_table *t)
{
	size_t n = t->ncbuckets * 2;
	struct flow_client **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->ncbuckets; i++) {
		struct flow_client *c = t->cbuckets[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			c->hnext = b[c->hash & (n - 1)];
			b[c->hash & (n - 1)] = c;
		}
	}
	free(t->cbuckets);
	t->cbuckets = b;
	t->ncbuckets = n;
}

static struct flow_client *client_find(const struct flow_table *t, const struct addr *ip,
				       uint64_t h)
{
	for (struct flow_client *c = t->cbuckets[h & (t->ncbuckets - 1)]; c; c = c->hnext)
		if (c->hash == h && addr_ip_equal(&c->ip, ip))
			return c;
	return NULL;
}

static struct flow_client *client_get(struct flow_table *t, const struct addr *ip)
{
	uint64_t h = client_hash(t, ip);
	struct flow_client *c = client_find(t, ip, h);

	if (c)
		return c;
	if (t->nclients >= t->ncbuckets)
		grow_clients(t);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ip = *ip;
	c->hash = h;
	TAILQ_INIT(&c->flows);
	c->hnext = t->cbuckets[h & (t->ncbuckets - 1)];
	t->cbuckets[h & (t->ncbuckets - 1)] = c;
	t->nclients++;
	return c;
}

static void client_put(struct flow_table *t, struct flow_client *c)
{
	struct flow_client **pp = &t->cbuckets[c->hash & (t->ncbuckets - 1)];

	if (c->count)
		return;
	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	t->nclients--;
	free(c);
}

size_t flow_client_count(const struct flow_table *t, const struct addr *client)
{
	struct flow_client *c = client_find(t, client, client_hash(t, client));

	return c ? c->count : 0;
}

static struct tclass *tclass_get(struct flow_table *t, unsigned timeout_ms, uint8_t *idx)
{
	size_t i;

	for (i = 0; i < t->ntc; i++)
		if (t->tc[i].timeout_ms == timeout_ms)
			break;
	if (i == t->ntc) {
		if (t->ntc == FLOW_MAX_TCLASS)
			return NULL;
		t->tc[t->ntc].timeout_ms = timeout_ms;
		TAILQ_INIT(&t->tc[t->ntc].flows);
		t->ntc++;
	}
	*idx = (uint8_t)i;
	return &t->tc[i];
}

void flow_touch(struct flow_table *t, struct flow *f, uint64_t now_ms)
{
	struct flow_list *tl = &t->tc[f->tclass].flows, *cl = &f->fc->flows;

	f->last_ms = now_ms;
	/* the most recently active already: nothing to move */
	if (TAILQ_NEXT(f, tc_link)) {
		TAILQ_REMOVE(tl, f, tc_link);
		TAILQ_INSERT_TAIL(tl, f, tc_link);
	}
	if (TAILQ_NEXT(f, cl_link)) {
		TAILQ_REMOVE(cl, f, cl_link);
		TAILQ_INSERT_TAIL(cl, f, cl_link);
	}
}

void flow_remove(struct flow_table *t, struct flow *f, enum flow_end why)
{
	struct flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	TAILQ_REMOVE(&t->tc[f->tclass].flows, f, tc_link);
	TAILQ_REMOVE(&f->fc->flows, f, cl_link);
	f->fc->count--;
	client_put(t, f->fc);
	t->count--;
	if (t->on_remove)
		t->on_remove(t->ctx, f, why);
	free(f);
}

/* The least recently active flow over every timeout class that no callback
 * is running on (a busy flow is in use up the stack: never free it here). */
static struct flow *stalest(struct flow_table *t)
{
	struct flow *best = NULL;

	for (size_t i = 0; i < t->ntc; i++) {
		struct flow *h = TAILQ_FIRST(&t->tc[i].flows);

		while (h && h->busy)
			h = TAILQ_NEXT(h, tc_link);
		if (h && (!best || h->last_ms < best->last_ms))
			best = h;
	}
	return best;
}

/* The client's least recently active flow that is not busy. */
static struct flow *client_stalest(struct flow_client *c)
{
	struct flow *f = TAILQ_FIRST(&c->flows);

	while (f && f->busy)
		f = TAILQ_NEXT(f, cl_link);
	return f;
}

bool flow_evict_client(struct flow_table *t, const struct addr *client)
{
	struct flow_client *c = client_find(t, client, client_hash(t, client));
	struct flow *victim = c ? client_stalest(c) : NULL;

	if (!victim)
		return false;
	flow_remove(t, victim, FLOW_END_EVICTED_CLIENT);
	return true;
}

struct flow *flow_insert(struct flow_table *t, const struct addr *client,
			 const struct addr *origdst, unsigned timeout_s, uint64_t now_ms)
{
	struct flow_client *c;
	struct tclass *tc;
	struct flow *f, *victim;
	uint8_t idx;

	uint64_t ch = client_hash(t, client);

	/* Look the client up afresh each round: evicting its last flow frees it.
	 * When every candidate is busy the cap is exceeded by one for now. */
	while ((c = client_find(t, client, ch)) && c->count >= t->max_per_client &&
	       (victim = client_stalest(c)))
		flow_remove(t, victim, FLOW_END_EVICTED_CLIENT);
	while (t->count >= t->max_flows && (victim = stalest(t)))
		flow_remove(t, victim, FLOW_END_EVICTED);
	c = client_get(t, client);
	f = calloc(1, sizeof(*f));
	tc = tclass_get(t, timeout_s * 1000u, &idx);
	if (!c || !f || !tc) {
		free(f);
		if (c)
			client_put(t, c);
		return NULL;
	}
	f->client = *client;
	f->origdst = *origdst;
	f->hash = flow_hash(t, client, origdst);
	f->last_ms = now_ms;
	f->timeout_ms = tc->timeout_ms;
	f->tclass = idx;
	f->fc = c;
	f->reply_fd = -1;
	if (t->count >= t->nbuckets)
		grow(t);
	f->hnext = t->buckets[f->hash & (t->nbuckets - 1)];
	t->buckets[f->hash & (t->nbuckets - 1)] = f;
	TAILQ_INSERT_TAIL(&tc->flows, f, tc_link);
	TAILQ_INSERT_TAIL(&c->flows, f, cl_link);
	c->count++;
	t->count++;
	return f;
}

size_t flow_expire(struct flow_table *t, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < t->ntc; i++) {
		struct tclass *tc = &t->tc[i];
		struct flow *h;

		while ((h = TAILQ_FIRST(&tc->flows)) && h->last_ms + tc->timeout_ms <= now_ms) {
			flow_remove(t, h, FLOW_END_EXPIRED);
			n++;
		}
	}
	return n;
}

uint64_t flow_next_expiry(const struct flow_table *t, uint64_t now_ms)
{
	uint64_t best = UINT64_MAX;

	for (size_t i = 0; i < t->ntc; i++) {
		const struct flow *h = TAILQ_FIRST(&t->tc[i].flows);
		uint64_t at;

		if (!h)
			continue;
		at = h->last_ms + t->tc[i].timeout_ms;
		best = SL_MIN(best, at <= now_ms ? 0 : at - now_ms);
	}
	return best;
}

size_t flow_count(const struct flow_table *t)
{
	return t->count;
}
