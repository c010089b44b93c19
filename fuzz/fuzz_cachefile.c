#include "config.h"
/* fuzz_cachefile.c - arbitrary bytes as a cache file, read into a small
 * cache (serve-stale on) with fixed clocks, once as they are and once with
 * their last 32 bytes replaced by the right checksum (so the fuzzer gets
 * past it to the layout and the records); whatever comes back is written
 * out again and must read back whole, nothing refused. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_cache.h"
#include "dns_cachefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define WALL 1700000000
#define MONO 3600000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_cache *c = dns_cache_new(64, 4), *d = dns_cache_new(64, 4);
	struct dns_cachefile_stats st, st2;
	struct dns_cache_stats cs;
	char *buf = NULL;
	size_t len = 0, saved = 0;
	FILE *f;
	int rc;

	CHECK(c && d);
	dns_cache_set_stale(c, 86400);
	dns_cache_set_stale(d, 86400);
	rc = dns_cachefile_parse(c, data, size, WALL, MONO, &st);
	CHECK(rc == 0 || rc == -EBADMSG);
	if (size >= 32 && size <= DNS_CACHEFILE_MAX) {
		uint8_t *sealed = malloc(size);

		CHECK(sealed);
		memcpy(sealed, data, size);
		crypto_generichash(sealed + size - 32, 32, sealed, size - 32, NULL, 0);
		rc = dns_cachefile_parse(c, sealed, size, WALL, MONO, &st);
		CHECK(rc == 0 || rc == -EBADMSG);
		free(sealed);
	}
	f = open_memstream(&buf, &len);
	CHECK(f);
	CHECK(dns_cachefile_write(c, f, WALL, MONO, &saved, NULL) == 0);
	fclose(f);
	dns_cache_stats(c, &cs);
	CHECK(saved == cs.entries);
	CHECK(dns_cachefile_parse(d, (const uint8_t *)buf, len, WALL, MONO, &st2) == 0);
	CHECK(st2.refused == 0 && st2.restored + st2.expired == saved);
	free(buf);
	dns_cache_free(c);
	dns_cache_free(d);
	return 0;
}
