#include "config.h"
/* dns_bench.c - micro-benchmark of the DNS hot path: parse a client query,
 * look it up in the shared cache and write the answer (client ID, case,
 * TTLs counted down), 1M queries over 1000 cached names; then the same
 * with 2 threads on one cache, and the parts on their own. Prints thread
 * CPU ns/op (CLOCK_THREAD_CPUTIME_ID), so a busy machine skews it less.
 * Usage: dns_bench [queries] [names] */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns_cache.h"

struct qpkt {
	uint8_t b[300];
	size_t n;
};

/* CPU time of the calling thread: other load on the machine does not count. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A query like a stub resolver's: RD, EDNS 1232 on odd names, 0x20-ish case. */
static size_t make_query(uint8_t *b, unsigned i)
{
	char label[32];
	size_t n = 12, l;

	memset(b, 0, 12);
	b[0] = (uint8_t)(i >> 8);
	b[1] = (uint8_t)i;
	b[2] = 0x01;
	b[5] = 1;
	l = (size_t)snprintf(label, sizeof(label), "Host%u", i);
	b[n++] = (uint8_t)l;
	memcpy(b + n, label, l);
	n += l;
	memcpy(b + n, "\7ExAmPlE\3cOm\0\0\1\0\1", 17);
	n += 17;
	if (i % 2) {
		static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};

		b[11] = 1;
		memcpy(b + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

/* Fill the cache with an upstream-like answer (two A records, OPT) per name. */
static int fill(struct dns_cache *c, const struct qpkt *qs, unsigned names)
{
	static const struct in_addr v4[2] = {{0x010200c0}, {0x020200c0}};
	const struct dns_addr_list al = {v4, 2, NULL, 0};
	static struct dns_answer_info ai;
	struct dns_query q;
	uint8_t ans[1024];

	for (unsigned i = 0; i < names; i++) {
		int n;

		if (dns_query_parse(qs[i].b, qs[i].n, &q) != 0)
			return -1;
		n = dns_build_address(&q, qs[i].b, &al, 3600, ans, sizeof(ans));
		if (n < 0 || dns_answer_inspect(ans, (size_t)n, &ai) != 0 ||
		    dns_cache_put(c, &q, ans, (size_t)n, &ai, 0) != 0)
			return -1;
	}
	return 0;
}

struct run {
	struct dns_cache *c;
	const struct qpkt *qs;
	const uint32_t *order;
	unsigned nq, names;
	uint64_t hits, ns;
};

static void *hot_loop(void *p)
{
	struct run *r = p;
	uint8_t out[1500];
	struct dns_cache_hit hit;
	struct dns_query q;
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < r->nq; i++) {
		const struct qpkt *qp = &r->qs[r->order[i % r->names]];

		if (dns_query_parse(qp->b, qp->n, &q) == 0 &&
		    dns_cache_get(r->c, &q, qp->b, out, sizeof(out), 1000 + i / 1000, &hit) > 0)
			r->hits++;
	}
	r->ns = now_ns() - t0;
	return NULL;
}

static void parts(const struct qpkt *qs, unsigned names, unsigned nq, struct dns_cache *c)
{
	static const struct in_addr v4[1] = {{0x010200c0}};
	const struct dns_addr_list al = {v4, 1, NULL, 0};
	struct dns_cache_hit hit;
	struct dns_query q;
	uint8_t out[1500];
	volatile int sink = 0;
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < nq; i++)
		sink += dns_query_parse(qs[i % names].b, qs[i % names].n, &q);
	printf("  parse only:              %6.1f ns/op\n", (double)(now_ns() - t0) / nq);
	t0 = now_ns();
	for (unsigned i = 0; i < nq; i++)
		sink += dns_build_address(&q, qs[names - 1].b, &al, 60, out, sizeof(out));
	printf("  build A answer only:     %6.1f ns/op\n", (double)(now_ns() - t0) / nq);
	dns_query_parse(qs[0].b, qs[0].n, &q);
	t0 = now_ns();
	for (unsigned i = 0; i < nq; i++)
		sink += dns_cache_get(c, &q, qs[0].b, out, sizeof(out), 1000, &hit);
	printf("  cache get only (1 name): %6.1f ns/op\n", (double)(now_ns() - t0) / nq);
	(void)sink;
}

int main(int argc, char **argv)
{
	unsigned nq = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000;
	unsigned names = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000;
	struct qpkt *qs = calloc(names, sizeof(*qs));
	uint32_t *order = calloc(names, sizeof(*order));
	struct dns_cache *c = dns_cache_new(100000, 16);
	struct run r1, r2[2];
	pthread_t th[2];

	if (!qs || !order || !c || !nq || !names)
		return fprintf(stderr, "setup failed\n"), 1;
	for (unsigned i = 0; i < names; i++) {
		qs[i].n = make_query(qs[i].b, i);
		order[i] = i;
	}
	for (unsigned i = names - 1; i > 0; i--) { /* fixed shuffle: no sequential walk */
		unsigned j = (i * 2654435761u) % (i + 1);
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (fill(c, qs, names) < 0)
		return fprintf(stderr, "fill failed\n"), 1;
	r1 = (struct run){c, qs, order, nq, names, 0, 0};
	hot_loop(&r1); /* warm-up */
	r1.hits = 0;
	hot_loop(&r1);
	printf("dns_bench: %u queries over %u names, parse + cache get + answer\n", nq, names);
	printf("  1 thread:                %6.1f ns/op (%llu hits)\n", (double)r1.ns / nq,
	       (unsigned long long)r1.hits);
	for (int t = 0; t < 2; t++) {
		r2[t] = r1;
		r2[t].hits = 0;
		pthread_create(&th[t], NULL, hot_loop, &r2[t]);
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	printf("  2 threads, shared cache: %6.1f ns/op per thread (%llu hits)\n",
	       (double)(r2[0].ns + r2[1].ns) / 2 / nq,
	       (unsigned long long)(r2[0].hits + r2[1].hits));
	parts(qs, names, nq, c);
	dns_cache_free(c);
	free(qs);
	free(order);
	return r1.hits == nq ? 0 : 1;
}
