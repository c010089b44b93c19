/* status.c - the status page at the metrics address (/): one HTML page
 * with everything inline (styles, SVG plots; no scripts, no external
 * assets), reloaded by the browser every few seconds. Every number taken
 * from a counter carries data-metric="NAME" with the /metrics name, so a
 * test (or a scraper) can check the page against /metrics. */
#include "config.h"
#include "engine.h"
#include "stats.h"
#include "svc.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_S 5
#define PLOT_SECONDS 300
#define TOP_ROWS 10

/* Text as HTML: the five characters that matter escaped. */
static void esc(struct evbuffer *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': evbuffer_add(b, "&amp;", 5); break;
		case '<': evbuffer_add(b, "&lt;", 4); break;
		case '>': evbuffer_add(b, "&gt;", 4); break;
		case '"': evbuffer_add(b, "&quot;", 6); break;
		case '\'': evbuffer_add(b, "&#39;", 5); break;
		default: evbuffer_add(b, &s[i], 1);
		}
	}
}

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}"
	"h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}"
	".cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #ddd;"
	"border-radius:6px;padding:.6em 1em;min-width:9em}.card b{display:block;font-size:1.5em}"
	".grid{display:flex;flex-wrap:wrap;gap:1.5em}table{border-collapse:collapse;background:#fff}"
	"td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}td.n{text-align:right;"
	"font-variant-numeric:tabular-nums}.muted{color:#777}svg{background:#fff;border:1px solid #ddd}";

static void card(struct evbuffer *b, const char *label, const char *metric, uint64_t v)
{
	evbuffer_add_printf(b, "<div class=card>%s<b data-metric=\"%s\">%llu</b></div>", label,
			    metric, (unsigned long long)v);
}

static void card_pct(struct evbuffer *b, const char *label, const char *id, uint64_t part,
		     uint64_t whole)
{
	evbuffer_add_printf(b, "<div class=card>%s<b id=\"%s\">%.1f%%</b></div>", label, id,
			    whole ? 100.0 * (double)part / (double)whole : 0.0);
}

static void cards(struct engine *e, struct evbuffer *b, const uint64_t *v)
{
	uint64_t qps = 0;
	unsigned secs = SL_MIN(e->hist->n, 10u);

	for (unsigned i = 0; i < secs; i++)
		qps += stats_hist_get(e->hist, i, STATS_S_QUERIES);
	evbuffer_add_printf(b, "<div class=cards>");
	card(b, "DNS queries", "sluice_dns_queries_total", v[CTR_DNS_QUERIES]);
	evbuffer_add_printf(b, "<div class=card>queries/s (last %us)<b id=qps>%.1f</b></div>", secs,
			    secs ? (double)qps / secs : 0.0);
	card_pct(b, "answered from cache", "cache_share", v[CTR_DNS_CACHE_HITS], v[CTR_DNS_QUERIES]);
	card_pct(b, "blocked share", "blocked_share", v[CTR_DNS_BLOCKED], v[CTR_DNS_QUERIES]);
	card(b, "blocked", "sluice_dns_blocked_total", v[CTR_DNS_BLOCKED]);
	card(b, "cache hits", "sluice_dns_cache_hits_total", v[CTR_DNS_CACHE_HITS]);
	card(b, "forwarded", "sluice_dns_forwarded_total", v[CTR_DNS_FORWARDED]);
	card(b, "SERVFAIL", "sluice_dns_servfail_total", v[CTR_DNS_SERVFAIL]);
	card(b, "QUIC flows", "sluice_quic_flows_total", v[CTR_QUIC_FLOWS]);
	card(b, "QUIC blocked", "sluice_quic_blocked_total", v[CTR_QUIC_BLOCKED]);
	card(b, "NTP requests", "sluice_ntp_client_requests_total", v[CTR_CLIENT_REQUEST]);
	evbuffer_add_printf(b, "<div class=card>sessions<b data-metric=\"sluice_flows_active\">%zu</b>"
			       "</div></div>",
			    engine_flows(e));
}

/* One series of the last PLOT_SECONDS as a polyline scaled to top. */
static void polyline(struct evbuffer *b, const struct stats_hist *h, enum stats_series s,
		     uint32_t top, const char *color, int w, int ht)
{
	unsigned n = SL_MIN(h->n, (unsigned)PLOT_SECONDS);

	evbuffer_add_printf(b, "<polyline fill=none stroke=\"%s\" stroke-width=1.5 points=\"", color);
	for (unsigned i = 0; i < n; i++) {
		double x = w - (double)i * w / (PLOT_SECONDS - 1);
		double y = ht - (double)stats_hist_get(h, i, s) * (ht - 10) / top;

		evbuffer_add_printf(b, "%.1f,%.1f ", x, y);
	}
	evbuffer_add_printf(b, "\"/>");
}

static void plot(struct engine *e, struct evbuffer *b)
{
	const int w = 720, ht = 180;
	const struct stats_hist *h = e->hist;
	uint32_t top = 1;

	for (unsigned i = 0; i < SL_MIN(h->n, (unsigned)PLOT_SECONDS); i++)
		top = SL_MAX(top, stats_hist_get(h, i, STATS_S_QUERIES));
	evbuffer_add_printf(b, "<h2>Queries per second, last %d minutes</h2>"
			       "<svg id=qps-plot width=%d height=%d viewBox=\"0 0 %d %d\" "
			       "xmlns=\"http://www.w3.org/2000/svg\">",
			    PLOT_SECONDS / 60, w, ht + 20, w, ht + 20);
	evbuffer_add_printf(b, "<line x1=0 y1=%d x2=%d y2=%d stroke=\"#ccc\"/>"
			       "<text x=4 y=12 font-size=11 fill=\"#777\">%u/s</text>"
			       "<text x=4 y=%d font-size=11 fill=\"#777\">-%dm</text>"
			       "<text x=%d y=%d font-size=11 fill=\"#777\">now</text>",
			    ht, w, ht, top, ht + 15, PLOT_SECONDS / 60, w - 28, ht + 15);
	polyline(b, h, STATS_S_QUERIES, top, "#2563eb", w, ht);
	polyline(b, h, STATS_S_CACHE_HITS, top, "#16a34a", w, ht);
	polyline(b, h, STATS_S_BLOCKED, top, "#dc2626", w, ht);
	evbuffer_add_printf(b, "</svg><div class=muted><span style=\"color:#2563eb\">&#9632; "
			       "queries</span> <span style=\"color:#16a34a\">&#9632; cache hits"
			       "</span> <span style=\"color:#dc2626\">&#9632; blocked</span></div>");
}

static void top_table(struct engine *e, struct evbuffer *b, enum stats_top which,
		      const char *title, const char *id)
{
	struct stats *st[ENGINE_MAX_WORKERS];
	struct topk_item it[TOP_ROWS];
	size_t n = stats_top(st, engine_stats(e, st), which, it, TOP_ROWS);
	char ip[64];

	evbuffer_add_printf(b, "<div><h2>%s</h2><table id=%s><tr><th>count</th><th>%s</th></tr>",
			    title, id, which == STATS_CLIENTS ? "client" : "name");
	for (size_t i = 0; i < n; i++) {
		evbuffer_add_printf(b, "<tr><td class=n>%llu</td><td>",
				    (unsigned long long)it[i].count);
		if (which == STATS_CLIENTS) {
			stats_client_fmt(&it[i], ip, sizeof(ip));
			esc(b, ip, strlen(ip));
		} else {
			esc(b, (const char *)it[i].key, it[i].len);
		}
		evbuffer_add_printf(b, "%s</td></tr>", it[i].cut ? "&hellip;" : "");
	}
	if (!n)
		evbuffer_add_printf(b, "<tr><td colspan=2 class=muted>none yet</td></tr>");
	evbuffer_add_printf(b, "</table></div>");
}

/* Bars of one server's latency buckets. */
static void lat_bars(struct evbuffer *b, const struct stats_lat_sum *l)
{
	uint64_t top = 1;

	for (size_t k = 0; k < STATS_LAT_BUCKETS; k++)
		top = SL_MAX(top, l->bucket[k]);
	evbuffer_add_printf(b, "<svg width=%d height=24 xmlns=\"http://www.w3.org/2000/svg\">",
			    STATS_LAT_BUCKETS * 9);
	for (size_t k = 0; k < STATS_LAT_BUCKETS; k++) {
		double hgt = 22.0 * (double)l->bucket[k] / (double)top;

		evbuffer_add_printf(b, "<rect x=%zu y=%.1f width=7 height=%.1f fill=\"#2563eb\"/>",
				    k * 9, 23 - hgt, hgt);
	}
	evbuffer_add_printf(b, "</svg>");
}

static void latency(struct engine *e, struct evbuffer *b)
{
	struct stats *st[ENGINE_MAX_WORKERS];
	struct stats_lat_sum l[STATS_LAT_SERVERS];
	size_t n = stats_latencies(st, engine_stats(e, st), l, SL_ARRAY_LEN(l));
	char sv[ADDR_STRLEN + 16];

	evbuffer_add_printf(b, "<h2>Upstream servers</h2><table id=upstreams><tr><th>server</th>"
			       "<th>answers</th><th>mean ms</th><th>p50 &le; ms</th><th>p95 &le; ms"
			       "</th><th>0.5 ms &hellip; 5 s</th></tr>");
	for (size_t i = 0; i < n; i++) {
		stats_server_fmt(&l[i], sv, sizeof(sv));
		evbuffer_add_printf(b, "<tr><td>");
		esc(b, sv, strlen(sv));
		evbuffer_add_printf(b, "</td><td class=n data-server-count>%llu</td><td class=n>%.2f"
				       "</td><td class=n>%.1f</td><td class=n>%.1f</td><td>",
				    (unsigned long long)l[i].count,
				    l[i].count ? (double)l[i].sum_us / (double)l[i].count / 1e3 : 0.0,
				    (double)stats_lat_quantile(&l[i], 0.5) / 1e3,
				    (double)stats_lat_quantile(&l[i], 0.95) / 1e3);
		lat_bars(b, &l[i]);
		evbuffer_add_printf(b, "</td></tr>");
	}
	if (!n)
		evbuffer_add_printf(b, "<tr><td colspan=6 class=muted>no upstream answers yet</td></tr>");
	evbuffer_add_printf(b, "</table>");
}

static void counters(struct evbuffer *b, const uint64_t *v)
{
	evbuffer_add_printf(b, "<h2>Counters (non-zero)</h2><table id=counters>");
	for (int c = 0; c < CTR_COUNT; c++) {
		if (!v[c])
			continue;
		evbuffer_add_printf(b, "<tr><td>sluice_%s_total</td><td class=n "
				       "data-metric=\"sluice_%s_total\">%llu</td><td class=muted>",
				    ctr_name((enum ctr_id)c), ctr_name((enum ctr_id)c),
				    (unsigned long long)v[c]);
		esc(b, ctr_help((enum ctr_id)c), strlen(ctr_help((enum ctr_id)c)));
		evbuffer_add_printf(b, "</td></tr>");
	}
	evbuffer_add_printf(b, "</table>");
}

int status_page(struct engine *e, struct evbuffer *b)
{
	uint64_t v[CTR_COUNT];

	engine_counters(e, v);
	evbuffer_add_printf(b, "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
			       "<meta http-equiv=refresh content=%d><title>sluice status</title>"
			       "<meta name=viewport content=\"width=device-width\"><style>%s</style>"
			       "</head><body><h1>sluice %s</h1><div class=muted>%u worker(s), up %llu s; "
			       "this page reloads every %d s</div>",
			    REFRESH_S, style, PACKAGE_VERSION, e->nworkers,
			    (unsigned long long)((sl_now_ms() - e->start_ms) / 1000), REFRESH_S);
	cards(e, b, v);
	plot(e, b);
	evbuffer_add_printf(b, "<div class=grid>");
	top_table(e, b, STATS_NAMES, "Top names", "top-names");
	top_table(e, b, STATS_CLIENTS, "Top clients", "top-clients");
	top_table(e, b, STATS_BLOCKED, "Most blocked", "top-blocked");
	top_table(e, b, STATS_SNI, "QUIC server names (verdict, name)", "top-quic");
	evbuffer_add_printf(b, "</div>");
	latency(e, b);
	counters(b, v);
	return evbuffer_add_printf(b, "</body></html>\n") < 0 ? -1 : 0;
}
