/* stats.h - what the status page, `sluice ctl top` and the latency
 * histograms in /metrics show beyond the counters: per worker, the most
 * asked names, the busiest clients, the most blocked names and the QUIC
 * server names with their verdicts (topk.h), and the answer times of each
 * upstream server; for the process, a per-second history of a few
 * counters. A worker is the only writer of its own struct stats; the main
 * thread reads them all. Kept only when something reads them (metrics or
 * control is set). */
#ifndef STATS_H
#define STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ctr.h"
#include "topk.h"

enum stats_top {
	STATS_NAMES,   /* query names */
	STATS_CLIENTS, /* client addresses (stats_client_key) */
	STATS_BLOCKED, /* names answered by a block rule */
	STATS_SNI,     /* QUIC server names, as "VERDICT NAME" */
	STATS_TOP_COUNT,
};

/** Keys each top table holds per worker. */
#define STATS_TOP_K 256

/** Upper bounds of the latency buckets, microseconds (then +Inf). */
#define STATS_LAT_BOUNDS                                                                       \
	{ 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, \
	  5000000 }
#define STATS_LAT_BUCKETS 14 /* the bounds and +Inf */

/** Upstream servers timed per worker; later ones are not. */
#define STATS_LAT_SERVERS 64

struct stats_lat {
	atomic_bool used; /* set (release) once addr and proto are written */
	struct addr addr;
	uint8_t proto; /* the transport's number (enum dns_proto) */
	_Atomic uint64_t bucket[STATS_LAT_BUCKETS]; /* not cumulative */
	_Atomic uint64_t sum_us, count;
};

struct stats {
	struct topk *top[STATS_TOP_COUNT];
	struct stats_lat lat[STATS_LAT_SERVERS];
};

/** One worker's tables, hashing with the process's key. NULL without memory. */
struct stats *stats_new(const uint8_t hkey[16]);

void stats_free(struct stats *st);

/** The key of a client address in STATS_CLIENTS (family byte, address bytes); returns its length. */
size_t stats_client_key(const struct addr *a, uint8_t out[17]);

/** Format a STATS_CLIENTS key as an address. */
const char *stats_client_fmt(const struct topk_item *it, char *buf, size_t len);

/** One answer from server (addr, proto) after us microseconds. */
void stats_latency(struct stats *st, const struct addr *addr, uint8_t proto, uint64_t us);

/**
 * The top n of table which over every worker's stats into out (which holds
 * n items); returns how many. Allocates a scratch array (0 without memory).
 */
size_t stats_top(struct stats *const *st, size_t nst, enum stats_top which,
		 struct topk_item *out, size_t n);

/** A server's latencies summed over workers (bucket counts not cumulative). */
struct stats_lat_sum {
	struct addr addr;
	uint8_t proto;
	uint64_t bucket[STATS_LAT_BUCKETS];
	uint64_t sum_us, count;
};

/** Every server timed by any worker, summed, into out (at most max); returns how many. */
size_t stats_latencies(struct stats *const *st, size_t nst, struct stats_lat_sum *out, size_t max);

/** "udp://198.51.100.1:53": a timed server as upstream URLs write it. */
const char *stats_server_fmt(const struct stats_lat_sum *l, char *buf, size_t len);

/** The latency below which a fraction q (0..1) of the answers came, microseconds (bucket bound). */
uint64_t stats_lat_quantile(const struct stats_lat_sum *l, double q);

/** The counters the per-second history keeps. */
enum stats_series {
	STATS_S_QUERIES,
	STATS_S_CACHE_HITS,
	STATS_S_BLOCKED,
	STATS_S_FORWARDED,
	STATS_S_QUIC,
	STATS_S_COUNT,
};

/** Seconds of history kept. */
#define STATS_HIST_LEN 600

/** Per-second increments of the series, the newest last; owned by the main thread. */
struct stats_hist {
	uint64_t last[STATS_S_COUNT]; /* counter values at the last tick */
	uint32_t v[STATS_HIST_LEN][STATS_S_COUNT];
	unsigned head, n; /* next slot to write, slots filled */
};

/** Record one second: the counters now. */
void stats_hist_tick(struct stats_hist *h, const uint64_t ctr[CTR_COUNT]);

/** The increment of series s, i seconds before the newest (0: newest). */
uint32_t stats_hist_get(const struct stats_hist *h, unsigned i, enum stats_series s);

#endif
