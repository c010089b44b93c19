/* stats.c - the tables behind the status page and `sluice ctl top` (see
 * stats.h). Latency slots are claimed by their one writer and published
 * with a release store, so readers need no lock; the top tables lock
 * themselves (topk.c). */
#include "config.h"
#include "stats.h"
#include "dns_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t lat_bounds[] = STATS_LAT_BOUNDS;
_Static_assert(SL_ARRAY_LEN(lat_bounds) + 1 == STATS_LAT_BUCKETS, "bounds and +Inf");

struct stats *stats_new(const uint8_t hkey[16])
{
	struct stats *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	for (int i = 0; i < STATS_TOP_COUNT; i++)
		if (!(st->top[i] = topk_new(STATS_TOP_K, hkey))) {
			stats_free(st);
			return NULL;
		}
	return st;
}

void stats_free(struct stats *st)
{
	if (!st)
		return;
	for (int i = 0; i < STATS_TOP_COUNT; i++)
		topk_free(st->top[i]);
	free(st);
}

size_t stats_client_key(const struct addr *a, uint8_t out[17])
{
	size_t n;
	const uint8_t *ip = addr_ip(a, &n);

	out[0] = (uint8_t)addr_family(a);
	memcpy(out + 1, ip, n);
	return n + 1;
}

const char *stats_client_fmt(const struct topk_item *it, char *buf, size_t len)
{
	int fam = it->len == 5 ? AF_INET : it->len == 17 ? AF_INET6 : 0;

	if (!fam || it->key[0] != fam || !inet_ntop(fam, it->key + 1, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static struct stats_lat *lat_slot(struct stats *st, const struct addr *a, uint8_t proto)
{
	for (size_t i = 0; i < STATS_LAT_SERVERS; i++) {
		struct stats_lat *l = &st->lat[i];

		if (!atomic_load_explicit(&l->used, memory_order_relaxed)) {
			l->addr = *a;
			l->proto = proto;
			atomic_store_explicit(&l->used, true, memory_order_release);
			return l;
		}
		if (l->proto == proto && addr_equal(&l->addr, a))
			return l;
	}
	return NULL;
}

void stats_latency(struct stats *st, const struct addr *addr, uint8_t proto, uint64_t us)
{
	struct stats_lat *l = lat_slot(st, addr, proto);
	size_t b = 0;

	if (!l)
		return;
	while (b < SL_ARRAY_LEN(lat_bounds) && us > lat_bounds[b])
		b++;
	/* one writer: plain increments, published whole to relaxed readers */
	atomic_fetch_add_explicit(&l->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
}

size_t stats_top(struct stats *const *st, size_t nst, enum stats_top which,
		 struct topk_item *out, size_t n)
{
	struct topk_item *all = malloc(nst * STATS_TOP_K * sizeof(*all));
	size_t got = 0;

	if (!all)
		return 0;
	for (size_t i = 0; i < nst; i++)
		got += topk_snapshot(st[i]->top[which], all + got, STATS_TOP_K);
	got = topk_merge(all, got);
	got = got < n ? got : n;
	memcpy(out, all, got * sizeof(*out));
	free(all);
	return got;
}

static struct stats_lat_sum *sum_slot(struct stats_lat_sum *out, size_t *n, size_t max,
				      const struct stats_lat *l)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i].proto == l->proto && addr_equal(&out[i].addr, &l->addr))
			return &out[i];
	if (*n == max)
		return NULL;
	out[*n] = (struct stats_lat_sum){.addr = l->addr, .proto = l->proto};
	return &out[(*n)++];
}

size_t stats_latencies(struct stats *const *st, size_t nst, struct stats_lat_sum *out, size_t max)
{
	size_t n = 0;

	for (size_t w = 0; w < nst; w++)
		for (size_t i = 0; i < STATS_LAT_SERVERS; i++) {
			const struct stats_lat *l = &st[w]->lat[i];
			struct stats_lat_sum *s;

			if (!atomic_load_explicit(&l->used, memory_order_acquire))
				break; /* slots are claimed in order */
			if (!(s = sum_slot(out, &n, max, l)))
				continue;
			for (size_t b = 0; b < STATS_LAT_BUCKETS; b++)
				s->bucket[b] += atomic_load_explicit(&l->bucket[b], memory_order_relaxed);
			s->sum_us += atomic_load_explicit(&l->sum_us, memory_order_relaxed);
			s->count += atomic_load_explicit(&l->count, memory_order_relaxed);
		}
	return n;
}

const char *stats_server_fmt(const struct stats_lat_sum *l, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	snprintf(buf, len, "%s://%s", dns_proto_name((enum dns_proto)l->proto),
		 addr_fmt(&l->addr, a, sizeof(a)));
	return buf;
}

uint64_t stats_lat_quantile(const struct stats_lat_sum *l, double q)
{
	uint64_t total = 0, seen = 0;

	for (size_t b = 0; b < STATS_LAT_BUCKETS; b++)
		total += l->bucket[b];
	if (!total)
		return 0;
	for (size_t b = 0; b < SL_ARRAY_LEN(lat_bounds); b++) {
		seen += l->bucket[b];
		if ((double)seen >= q * (double)total)
			return lat_bounds[b];
	}
	return lat_bounds[SL_ARRAY_LEN(lat_bounds) - 1] * 2; /* past the last bound */
}

static const enum ctr_id series_ctr[STATS_S_COUNT] = {
	[STATS_S_QUERIES] = CTR_DNS_QUERIES,	 [STATS_S_CACHE_HITS] = CTR_DNS_CACHE_HITS,
	[STATS_S_BLOCKED] = CTR_DNS_BLOCKED,	 [STATS_S_FORWARDED] = CTR_DNS_FORWARDED,
	[STATS_S_QUIC] = CTR_QUIC_FLOWS,
};

void stats_hist_tick(struct stats_hist *h, const uint64_t ctr[CTR_COUNT])
{
	/* counters start at zero with the process, as last[] does */
	for (int s = 0; s < STATS_S_COUNT; s++) {
		uint64_t v = ctr[series_ctr[s]], d = v - h->last[s];

		h->v[h->head][s] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		h->last[s] = v;
	}
	h->head = (h->head + 1) % STATS_HIST_LEN;
	if (h->n < STATS_HIST_LEN)
		h->n++;
}

uint32_t stats_hist_get(const struct stats_hist *h, unsigned i, enum stats_series s)
{
	if (i >= h->n)
		return 0;
	return h->v[(h->head + STATS_HIST_LEN - 1 - i) % STATS_HIST_LEN][s];
}
