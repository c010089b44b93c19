/* dns_metrics.c - the DNS service's part of /metrics and `sluice ctl
 * stats` (svc metrics hook, main thread): the shared cache's gauges and
 * counters, upstream sockets and waiting clients, and the histograms of
 * upstream answer times per server (kept by the workers' stats). */
#include "config.h"
#include "dns_int.h"
#include "clients.h"
#include "dns_cache.h"
#include "engine.h"
#include "stats.h"

#include <event2/buffer.h>
#include <stdatomic.h>

/* The DNS cache keeps its own counters (it is shared by every worker). */
static void gauges(struct engine *e, struct evbuffer *b)
{
	struct dns_shared *sh = e->svc_shared[SVC_DNS];
	struct dns_cache_stats st = {0};
	const struct {
		const char *name, *type, *help;
		uint64_t v;
	} rows[] = {
	    {"dns_cache_entries", "gauge", "answers in the DNS cache", 0},
	    {"dns_cache_bytes", "gauge", "bytes held by the DNS cache", 0},
	    {"dns_cache_inserts_total", "counter", "answers stored in the DNS cache", 0},
	    {"dns_cache_evictions_total", "counter",
	     "DNS cache entries evicted (least recently used)", 0},
	    {"dns_cache_expired_total", "counter", "DNS cache entries found expired", 0},
	    {"dns_cache_stale_hits_total", "counter", "expired DNS answers served (serve-stale)",
	     0},
	    {"dns_upstream_sockets", "gauge", "sockets open toward DNS upstreams (every worker)",
	     0},
	    {"dns_tcp_connections", "gauge", "DNS over TCP client connections open", 0},
	    {"dns_clients_waiting", "gauge", "clients with DNS queries waiting or TCP connections",
	     0},
	};
	uint64_t v[SL_ARRAY_LEN(rows)];

	if (!sh)
		return;
	if (sh->cache)
		dns_cache_stats(sh->cache, &st);
	v[0] = st.entries;
	v[1] = st.bytes;
	v[2] = st.inserts;
	v[3] = st.evictions;
	v[4] = st.expired;
	v[5] = st.stale_hits;
	v[6] = atomic_load_explicit(&sh->budget.used, memory_order_relaxed);
	v[7] = atomic_load_explicit(&sh->tcp_conns, memory_order_relaxed);
	v[8] = clients_entries(sh->clients);
	for (size_t i = 0; i < SL_ARRAY_LEN(rows); i++)
		evbuffer_add_printf(b, "# HELP sluice_%s %s\n# TYPE sluice_%s %s\nsluice_%s %llu\n",
				    rows[i].name, rows[i].help, rows[i].name, rows[i].type,
				    rows[i].name, (unsigned long long)v[i]);
}

/* Prometheus histograms of the upstream answer times, per server. */
static void latency_text(struct engine *e, struct evbuffer *b)
{
	static const uint64_t bounds[] = STATS_LAT_BOUNDS;
	struct stats_lat_sum l[STATS_LAT_SERVERS];
	struct stats *st[ENGINE_MAX_WORKERS];
	size_t n = stats_latencies(st, engine_stats(e, st), l, SL_ARRAY_LEN(l));
	char sv[ADDR_STRLEN + 16];

	evbuffer_add_printf(b,
			    "# HELP sluice_dns_upstream_latency_seconds time from sending a query "
			    "to an upstream server to its answer\n"
			    "# TYPE sluice_dns_upstream_latency_seconds histogram\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		stats_server_fmt(&l[i], sv, sizeof(sv));
		for (size_t k = 0; k < STATS_LAT_BUCKETS; k++) {
			cum += l[i].bucket[k];
			if (k < SL_ARRAY_LEN(bounds))
				evbuffer_add_printf(
				    b,
				    "sluice_dns_upstream_latency_seconds_bucket{server=\"%s\","
				    "le=\"%g\"} %llu\n",
				    sv, (double)bounds[k] / 1e6, (unsigned long long)cum);
			else
				evbuffer_add_printf(
				    b,
				    "sluice_dns_upstream_latency_seconds_bucket{server=\"%s\","
				    "le=\"+Inf\"} %llu\n",
				    sv, (unsigned long long)cum);
		}
		evbuffer_add_printf(
		    b,
		    "sluice_dns_upstream_latency_seconds_sum{server=\"%s\"} %.6f\n"
		    "sluice_dns_upstream_latency_seconds_count{server=\"%s\"} %llu\n",
		    sv, (double)l[i].sum_us / 1e6, sv, (unsigned long long)l[i].count);
	}
}

void dns_metrics(struct engine *e, struct evbuffer *b)
{
	gauges(e, b);
	latency_text(e, b); /* even when DNS is not in use, as before */
}
