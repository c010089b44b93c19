#include "config.h"
/* dns_bench.c - micro-benchmark of the DNS hot path: parse a client query,
 * look it up in the shared cache and write the answer (client ID, case,
 * TTLs counted down), 1M queries a thread over 1000 cached names, with 1
 * thread and then with N threads on the one cache (as N workers share it),
 * and the parts on their own.
 *
 * Throughput is given two ways. "CPU": each thread's queries over its own
 * CPU time (CLOCK_THREAD_CPUTIME_ID), summed over the threads; other load
 * on the machine does not move it, but cache lines bouncing between cores
 * and spinning on a lock do. "wall": all threads' queries over the wall
 * time from the common start to the last thread's end; it also counts
 * waiting (a sleeping lock, or a core taken by another process), so it is
 * the figure to quote on an idle machine. "own core": each thread's
 * queries over its own elapsed time less the time it sat runnable waiting
 * for a CPU (run_delay in /proc/thread-self/schedstat), summed: it counts
 * sleeping on a lock but not other processes' load, so it is the figure to
 * quote on a busy machine. Voluntary context switches per thread show
 * whether a thread ever slept on a lock. Each figure is the best of R
 * rounds.
 *
 * Usage: dns_bench [-t THREADS] [-r ROUNDS] [queries] [names] */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dns_cache.h"

struct qpkt {
	uint8_t b[300];
	size_t n;
};

#define MAX_THREADS 64
#define SHARDS 16 /* what the daemon uses (dns.c) */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread: other load on the machine does not count. */
static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
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
	unsigned nq, names, first;
	atomic_uint *ready; /* threads at the start line */
	unsigned nthreads;
	uint64_t hits, cpu_ns, wall0, wall1, run_delay;
	long nvcsw;
} __attribute__((aligned(64))); /* threads' runs share no cache line */

/* Time this thread has spent runnable but waiting for a CPU, ns (0 when
 * the kernel does not say). */
static uint64_t run_delay_ns(void)
{
	unsigned long long oncpu = 0, delay = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu %llu", &oncpu, &delay) != 2)
			delay = 0;
		fclose(f);
	}
	return delay;
}

static void *hot_loop(void *p)
{
	struct run *r = p;
	uint8_t out[1500];
	struct dns_cache_hit hit;
	struct dns_query q;
	struct rusage ru0, ru1;
	uint64_t t0;
	int rd = dns_cache_reader(r->c); /* as a worker thread has: lock-free hits */
	uint64_t hits = 0; /* on this stack: a write to r on every query would be one
			    * more line the other thread may share */

	/* all threads start together, so the wall time covers them all at once */
	atomic_fetch_add(r->ready, 1);
	while (atomic_load(r->ready) < r->nthreads)
		;
	getrusage(RUSAGE_THREAD, &ru0);
	r->run_delay = run_delay_ns();
	r->wall0 = clock_ns(CLOCK_MONOTONIC);
	t0 = now_ns();
	for (unsigned i = 0; i < r->nq; i++) {
		const struct qpkt *qp = &r->qs[r->order[(r->first + i) % r->names]];

		if (dns_query_parse(qp->b, qp->n, &q) == 0 &&
		    dns_cache_get_rd(r->c, rd, &q, qp->b, out, sizeof(out), 1000 + i / 1000, &hit) > 0)
			hits++;
	}
	r->hits = hits;
	dns_cache_reader_put(r->c, rd);
	r->cpu_ns = now_ns() - t0;
	r->wall1 = clock_ns(CLOCK_MONOTONIC);
	r->run_delay = run_delay_ns() - r->run_delay;
	getrusage(RUSAGE_THREAD, &ru1);
	r->nvcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
	return NULL;
}

struct result {
	double cpu_qps, wall_qps, own_qps, ns_op; /* summed over threads; CPU ns/op of one */
	long nvcsw;
	uint64_t hits;
};

/* One round with n threads, each starting at its own place in the order. */
static int round_run(const struct run *tpl, unsigned n, struct result *res)
{
	struct run r[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	atomic_uint ready = 0;
	uint64_t w0 = UINT64_MAX, w1 = 0, cpu = 0;

	*res = (struct result){0};
	for (unsigned t = 0; t < n; t++) {
		r[t] = *tpl;
		r[t].first = t * tpl->names / n;
		r[t].ready = &ready;
		r[t].nthreads = n;
		if (pthread_create(&th[t], NULL, hot_loop, &r[t]) != 0)
			return -1;
	}
	for (unsigned t = 0; t < n; t++) {
		pthread_join(th[t], NULL);
		uint64_t own = r[t].wall1 - r[t].wall0 - r[t].run_delay;

		res->cpu_qps += (double)r[t].nq * 1e9 / (double)r[t].cpu_ns;
		/* run_delay is counted in scheduler ticks: never below the CPU time */
		res->own_qps +=
		    (double)r[t].nq * 1e9 / (double)(own > r[t].cpu_ns ? own : r[t].cpu_ns);
		res->hits += r[t].hits;
		res->nvcsw += r[t].nvcsw;
		cpu += r[t].cpu_ns;
		w0 = r[t].wall0 < w0 ? r[t].wall0 : w0;
		w1 = r[t].wall1 > w1 ? r[t].wall1 : w1;
	}
	res->wall_qps = (double)tpl->nq * n * 1e9 / (double)(w1 - w0);
	res->ns_op = (double)cpu / n / tpl->nq;
	return 0;
}

/* Best of `rounds` rounds with n threads (each figure on its own). */
static int best_of(const struct run *tpl, unsigned n, unsigned rounds, struct result *best)
{
	struct result r;

	*best = (struct result){0};
	for (unsigned i = 0; i < rounds; i++) {
		if (round_run(tpl, n, &r) < 0)
			return -1;
		if (r.hits != (uint64_t)tpl->nq * n)
			return -1;
		best->cpu_qps = r.cpu_qps > best->cpu_qps ? r.cpu_qps : best->cpu_qps;
		best->wall_qps = r.wall_qps > best->wall_qps ? r.wall_qps : best->wall_qps;
		best->own_qps = r.own_qps > best->own_qps ? r.own_qps : best->own_qps;
		best->ns_op = !i || r.ns_op < best->ns_op ? r.ns_op : best->ns_op;
		best->nvcsw += r.nvcsw;
		best->hits = r.hits;
	}
	return 0;
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

static void print_row(unsigned n, const struct result *r)
{
	printf(
	    "  %2u thread%s  %7.1f ns/op  %6.2f M/s (CPU)  %6.2f M/s (own core)  %6.2f M/s (wall)  "
	    "%ld sleeps\n",
	    n, n == 1 ? " " : "s", r->ns_op, r->cpu_qps / 1e6, r->own_qps / 1e6, r->wall_qps / 1e6,
	    r->nvcsw);
}

int main(int argc, char **argv)
{
	unsigned threads = 2, rounds = 3, nq, names;
	struct qpkt *qs;
	uint32_t *order;
	struct dns_cache *c = dns_cache_new(100000, SHARDS);
	struct result one, many;
	struct run tpl;
	double load = -1;
	FILE *f;
	int opt;

	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't')
			threads = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 10);
		else
			return fprintf(stderr, "usage: dns_bench [-t THREADS] [-r ROUNDS] "
					       "[queries] [names]\n"),
			       2;
	}
	nq = optind < argc ? (unsigned)strtoul(argv[optind], NULL, 10) : 1000000;
	names = optind + 1 < argc ? (unsigned)strtoul(argv[optind + 1], NULL, 10) : 1000;
	qs = calloc(names ? names : 1, sizeof(*qs));
	order = calloc(names ? names : 1, sizeof(*order));
	if (!qs || !order || !c || !nq || !names || !threads || threads > MAX_THREADS || !rounds)
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
	tpl = (struct run){.c = c, .qs = qs, .order = order, .nq = nq, .names = names};
	if (best_of(&tpl, 1, 1, &one) < 0) /* warm-up */
		return fprintf(stderr, "a query missed the cache\n"), 1;
	if ((f = fopen("/proc/loadavg", "r"))) {
		if (fscanf(f, "%lf", &load) != 1)
			load = -1;
		fclose(f);
	}
	printf("dns_bench: %u queries a thread over %u names, parse + cache get + answer, "
	       "shared cache (%d shards), best of %u; %ld CPUs, load average %.2f\n",
	       nq, names, SHARDS, rounds, sysconf(_SC_NPROCESSORS_ONLN), load);
	if (best_of(&tpl, 1, rounds, &one) < 0 || best_of(&tpl, threads, rounds, &many) < 0)
		return fprintf(stderr, "a query missed the cache\n"), 1;
	print_row(1, &one);
	print_row(threads, &many);
	printf("  %u threads vs 1: %.2fx (CPU), %.2fx (own core), %.2fx (wall)\n", threads,
	       many.cpu_qps / one.cpu_qps, many.own_qps / one.own_qps,
	       many.wall_qps / one.wall_qps);
	parts(qs, names, nq, c);
	dns_cache_free(c);
	free(qs);
	free(order);
	return 0;
}
