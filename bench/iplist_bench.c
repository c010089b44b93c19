/* iplist_bench.c - ip-list benchmark: loads address lists into one set, as
 * an `ip-list` line with those sources would, and prints prefixes, merged
 * ranges, bytes per prefix (the set's own count and the RSS delta), load
 * time and nanoseconds per lookup (1M lookups each: random addresses,
 * mostly misses; addresses inside the list, all hits; the same for IPv6).
 *
 *   bench/iplist_bench SOURCE...      SOURCE: cidr:FILE or geoip:FILE:CODE
 *   bench/iplist_bench                the china route lists found in
 *                                     $IPLIST_BENCH_DATA (default ../shared/data)
 *
 * The lists are not in the repository (see bench/results/README.md for
 * where the measured ones came from). */
#include "config.h"
#include "iplist.h"
#include "list_ip.h"
#include "sluice.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NLOOKUPS (1u << 20)

/* CPU time of this process: the machine may be busy with other work. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

static uint64_t rs = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 16);
}

static int add_source(struct iplist_builder *b, const char *src)
{
	char path[4096];
	const char *colon;
	int rc;

	if (strncmp(src, "cidr:", 5) == 0) {
		struct list_cidr_stats st = {0};

		rc = list_cidr_load(src + 5, b, &st, warn, NULL);
		if (rc == 0)
			printf("  %-60s %6zu prefixes, %zu bad lines\n", src, st.entries, st.bad);
		return rc;
	}
	colon = strncmp(src, "geoip:", 6) == 0 ? strrchr(src + 6, ':') : NULL;
	if (colon && (size_t)(colon - src - 6) < sizeof(path)) {
		struct geoip_stats st;
		struct geoip_want w = {colon + 1, b};

		snprintf(path, sizeof(path), "%.*s", (int)(colon - src - 6), src + 6);
		rc = geoip_dat_load(path, &w, 1, &st, warn, NULL);
		if (rc == 0)
			printf("  %-60s %6zu CIDRs\n", src, st.added);
		return rc;
	}
	fprintf(stderr, "%s: not cidr:FILE or geoip:FILE:CODE\n", src);
	return -1;
}

/* An address inside the list: a random one of a random range, found by
 * probing (the set's ranges are not exposed). */
static void pick_hit4(const struct iplist *l, uint8_t *a)
{
	for (int i = 0; i < 1000000; i++) {
		uint32_t v = rnd() << 16 ^ rnd();

		a[0] = (uint8_t)(v >> 24), a[1] = (uint8_t)(v >> 16), a[2] = (uint8_t)(v >> 8);
		a[3] = (uint8_t)v;
		if (iplist_has(l, AF_INET, a))
			return;
	}
}

static void pick_hit6(const struct iplist *l, uint8_t *a, const uint8_t *seed)
{
	memcpy(a, seed, 16);
	for (int k = 4; k < 16; k++)
		a[k] = (uint8_t)rnd(); /* below a /32: most lists' IPv6 prefixes are that long or shorter */
	if (!iplist_has(l, AF_INET6, a))
		memcpy(a, seed, 16);
}

static double time_lookups(const struct iplist *l, int fam, const uint8_t *addrs, size_t alen,
			   size_t *hits)
{
	double t0 = now_s();
	size_t h = 0;

	for (size_t i = 0; i < NLOOKUPS; i++)
		h += iplist_has(l, fam, addrs + (i % 65536) * alen);
	*hits = h;
	return (now_s() - t0) * 1e9 / NLOOKUPS;
}

static int run(int n, char **src)
{
	struct iplist_builder *b = iplist_builder_new();
	struct iplist_stats st;
	uint8_t *a4 = malloc(65536 * 4), *a6 = malloc(65536 * 16), seeds[64][16];
	size_t nseeds = 0, hits;
	long rss0 = rss_kb(), rss1;
	struct iplist *l;
	double t0 = now_s(), t;

	if (!b || !a4 || !a6)
		return 1;
	for (int i = 0; i < n; i++)
		if (add_source(b, src[i]) < 0) {
			fprintf(stderr, "cannot load %s\n", src[i]);
			iplist_builder_free(b);
			return 1;
		}
	l = iplist_builder_finish(b);
	t = now_s() - t0;
	rss1 = rss_kb();
	if (!l)
		return 1;
	iplist_stats(l, &st);
	printf("prefixes %zu -> ranges %zu IPv4 + %zu IPv6; %zu bytes = %.2f bytes/prefix "
	       "(RSS +%ld kB, with the loader's buffers); loaded in %.1f ms\n",
	       st.prefixes, st.ranges4, st.ranges6, st.bytes,
	       st.prefixes ? (double)st.bytes / (double)st.prefixes : 0.0, rss1 - rss0, t * 1e3);

	for (size_t i = 0; i < 65536; i++) {
		uint32_t v = rnd() << 16 ^ rnd();

		memcpy(a4 + i * 4, &v, 4);
	}
	printf("  IPv4 random addresses:    %6.1f ns/lookup", time_lookups(l, AF_INET, a4, 4, &hits));
	printf(" (%.1f%% in the list)\n", 100.0 * (double)hits / NLOOKUPS);
	for (size_t i = 0; st.ranges4 && i < 65536; i++)
		pick_hit4(l, a4 + i * 4);
	if (st.ranges4) {
		printf("  IPv4 addresses in it:     %6.1f ns/lookup",
		       time_lookups(l, AF_INET, a4, 4, &hits));
		printf(" (%.1f%% in the list)\n", 100.0 * (double)hits / NLOOKUPS);
	}
	/* IPv6: global unicast (2000::/3), where the lists' prefixes are */
	for (size_t i = 0; i < 65536; i++) {
		uint8_t *p = a6 + i * 16;

		for (int k = 0; k < 16; k++)
			p[k] = (uint8_t)rnd();
		p[0] = (uint8_t)(0x20 | (p[0] & 0x1f));
		if (nseeds < 64 && iplist_has(l, AF_INET6, p))
			memcpy(seeds[nseeds++], p, 16);
	}
	printf("  IPv6 random in 2000::/3:  %6.1f ns/lookup",
	       time_lookups(l, AF_INET6, a6, 16, &hits));
	printf(" (%.1f%% in the list)\n", 100.0 * (double)hits / NLOOKUPS);
	/* hits: random addresses below the /32 of ones found in the list */
	for (size_t i = 0; nseeds && i < 65536; i++)
		pick_hit6(l, a6 + i * 16, seeds[i % nseeds]);
	if (nseeds) {
		printf("  IPv6 addresses in it:     %6.1f ns/lookup",
		       time_lookups(l, AF_INET6, a6, 16, &hits));
		printf(" (%.1f%% in the list)\n", 100.0 * (double)hits / NLOOKUPS);
	}
	iplist_free(l);
	free(a4);
	free(a6);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *file, *code; /* code NULL: CIDR text */
	} known[] = {
	    {"china_ip_list.txt", NULL}, {"chnroutes.txt", NULL}, {"chnroute.txt", NULL},
	    {"china.txt", NULL},	 {"china6.txt", NULL},	  {"geoip.dat", "cn"},
	    {"geoip-only-cn-private.dat", "cn"},
	};
	const char *dir = getenv("IPLIST_BENCH_DATA");
	char buf[SL_ARRAY_LEN(known)][4200], *found[SL_ARRAY_LEN(known)];
	int n = 0, rc = 0;

	if (argc > 1)
		return run(argc - 1, argv + 1);
	dir = dir && *dir ? dir : "../shared/data";
	/* each list on its own, so each gets its own numbers */
	for (size_t i = 0; i < SL_ARRAY_LEN(known); i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, known[i].file);
		if (access(path, R_OK) != 0)
			continue;
		if (known[i].code)
			snprintf(buf[i], sizeof(buf[i]), "geoip:%s:%s", path, known[i].code);
		else
			snprintf(buf[i], sizeof(buf[i]), "cidr:%s", path);
		found[n++] = buf[i];
	}
	if (!n) {
		printf("iplist_bench: no china route list in %s (china_ip_list.txt, chnroutes.txt, "
		       "china.txt, china6.txt, geoip.dat); set IPLIST_BENCH_DATA or pass "
		       "cidr:FILE / geoip:FILE:CODE\n",
		       dir);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		printf("== %s\n", found[i]);
		rc |= run(1, &found[i]);
	}
	return rc;
}
