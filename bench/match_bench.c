/* match_bench.c - domain set benchmark: loads the china list (dnsmasq) and
 * the blocklistproject ads list (adblock) into two match sets and prints
 * entries, bytes per domain (match_set_bytes and the RSS delta), load time
 * and nanoseconds per lookup over 1M lookups (hits and misses mixed).
 *
 *   bench/match_bench [DATA_DIR]      (default ../shared/data)
 *
 * Runs twice: one tag per list (what a rule needs), then one tag per line
 * (for FILE:LINE explanations; costs memory). */
#include "config.h"
#include "list_text.h"
#include "match.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NNAMES 65536
#define NLOOKUPS (1u << 20)

/* CPU time of this process: the machine may be busy with other work, and
 * wall-clock time would then count time spent waiting for a CPU. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void warn(void *ctx, const char *file, unsigned line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%u: %s\n", file, line, msg);
}

static struct match_set *load(const char *path, enum list_format fmt, bool per_line,
			      size_t *domains)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	struct list_sink k = {.pos = b, .st = &st, .warn = warn, .tag = 1, .tag_line = per_line};
	char err[128];
	struct match_set *s;

	if (!b || (!per_line && match_builder_one_tag(b) < 0) ||
	    list_text_load_sink(path, fmt, &k) < 0) {
		fprintf(stderr, "cannot load %s\n", path);
		match_builder_free(b);
		return NULL;
	}
	s = match_builder_finish(b, err, sizeof(err));
	if (!s)
		fprintf(stderr, "%s: %s\n", path, err);
	*domains = st.entries;
	return s;
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Query names: subdomains of list entries (hits), and made-up names and
 * near misses (a letter changed in a list entry). */
static char **make_names(const char *china, const char *ads)
{
	static const char *const tlds[] = {"com", "net", "org", "io", "de"};
	char **v = calloc(NNAMES, sizeof(*v)), line[512], d[300];
	FILE *f[2] = {fopen(china, "r"), fopen(ads, "r")};
	uint64_t r = 88172645463325252ull;
	size_t n = 0;

	while (v && f[0] && f[1] && n < NNAMES) {
		FILE *in = f[rnd(&r) & 1];
		int kind = (int)(rnd(&r) % 4);

		if (!fgets(line, sizeof(line), in)) {
			rewind(in);
			continue;
		}
		if (sscanf(line, "server=/%299[^/]/", d) != 1 &&
		    sscanf(line, "||%299[^^]^", d) != 1)
			continue;
		if (kind == 0)
			snprintf(line, sizeof(line), "www.%s", d);
		else if (kind == 1)
			snprintf(line, sizeof(line), "%s", d);
		else if (kind == 2)
			snprintf(line, sizeof(line), "host%u.example%u.%s",
				 (unsigned)(rnd(&r) % 1000), (unsigned)(rnd(&r) % 100000),
				 tlds[rnd(&r) % 5]);
		else {
			d[0] = d[0] == 'q' ? 'z' : 'q';
			snprintf(line, sizeof(line), "a.%s", d);
		}
		v[n++] = strdup(line);
	}
	for (int i = 0; i < 2; i++)
		if (f[i])
			fclose(f[i]);
	return n == NNAMES ? v : NULL;
}

static void run(const char *china, const char *ads, char **names, bool per_line)
{
	size_t nc = 0, na = 0, hits = 0;
	struct match_set *sc, *sa;
	long rss0, rss1;
	double t0, t1, t2, w0, w1;

	malloc_trim(0);
	rss0 = rss_kb();
	t0 = now_s();
	w0 = wall_s();
	sc = load(china, LIST_DNSMASQ, per_line, &nc);
	sa = load(ads, LIST_ADBLOCK, per_line, &na);
	t1 = now_s();
	w1 = wall_s();
	if (!sc || !sa)
		exit(1);
	malloc_trim(0);
	rss1 = rss_kb();
	printf("== tags: %s\n", per_line ? "one per line" : "one per list");
	printf("china: %zu domains, %zu kept, %zu bytes (%.1f B/domain)\n", nc,
	       match_set_entries(sc), match_set_bytes(sc),
	       (double)match_set_bytes(sc) / (double)nc);
	printf("ads:   %zu domains, %zu kept, %zu bytes (%.1f B/domain)\n", na,
	       match_set_entries(sa), match_set_bytes(sa),
	       (double)match_set_bytes(sa) / (double)na);
	printf("both:  %zu domains, %.1f B/domain (match_set_bytes), %.1f B/domain (RSS delta %ld "
	       "kB)\n",
	       nc + na, (double)(match_set_bytes(sc) + match_set_bytes(sa)) / (double)(nc + na),
	       (double)(rss1 - rss0) * 1024 / (double)(nc + na), rss1 - rss0);
	printf("load:  %.3f s CPU, %.3f s wall (read + parse + build, both lists)\n", t1 - t0,
	       w1 - w0);
	t1 = now_s();
	for (unsigned i = 0; i < NLOOKUPS; i++) {
		const char *n = names[i & (NNAMES - 1)];
		size_t len = strlen(n);

		hits += match_lookup(sc, n, len, NULL);
		hits += match_lookup(sa, n, len, NULL);
	}
	t2 = now_s();
	printf(
	    "lookup: %.1f ns CPU per set lookup (%u names x 2 sets, %.0f%% hits, incl. strlen)\n",
	    (t2 - t1) * 1e9 / (2.0 * NLOOKUPS), NLOOKUPS, 100.0 * (double)hits / (2.0 * NLOOKUPS));
	match_set_free(sc);
	match_set_free(sa);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/data";
	char china[4096], ads[4096];
	char **names;

	snprintf(china, sizeof(china), "%s/dnsmasq-china-list/accelerated-domains.china.conf", dir);
	snprintf(ads, sizeof(ads), "%s/blocklistproject/ads-ags.txt", dir);
	names = make_names(china, ads);
	if (!names) {
		fprintf(stderr, "usage: %s [DATA_DIR]  (lists not found under %s)\n", argv[0], dir);
		return 1;
	}
	run(china, ads, names, false);
	run(china, ads, names, true);
	for (size_t i = 0; i < NNAMES; i++)
		free(names[i]);
	free(names);
	return 0;
}
