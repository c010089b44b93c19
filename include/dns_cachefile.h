/* dns_cachefile.h - the DNS cache saved to a file at exit and read back at
 * start (`cache-file FILE`), so a restart does not begin with an empty
 * cache. The file is checked whole (version, sizes, checksum) before any
 * of it is used, and every answer in it is validated again on the way in. */
#ifndef DNS_CACHEFILE_H
#define DNS_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct dns_cache;

/** Version written, and the only one read. */
#define DNS_CACHEFILE_VERSION 1
/** Largest file written or read: the rest of a larger cache is left out. */
#define DNS_CACHEFILE_MAX (64u << 20)

/** What a load did. */
struct dns_cachefile_stats {
	size_t restored; /* answers back in the cache */
	size_t expired;	 /* answers past their lifetime (and the serve-stale window) */
	size_t refused;	 /* answers that failed validation */
	size_t skipped;	 /* dns_cachefile_write: answers left out at DNS_CACHEFILE_MAX */
};

/**
 * Write every entry of c to f: now_wall is the wall clock (Unix seconds)
 * and now_ms the cache's monotonic clock, so lifetimes are stored as
 * absolute wall-clock expiry times. *saved (may be NULL) gets the count;
 * st (may be NULL) the answers left out. 0, or a negative errno.
 */
int dns_cachefile_write(struct dns_cache *c, FILE *f, int64_t now_wall, uint64_t now_ms,
			size_t *saved, struct dns_cachefile_stats *st);

/**
 * Read a whole file's bytes back into c at wall clock now_wall and cache
 * clock now_ms. A file that is too short or long, of another magic or
 * version, whose sizes do not add up, or whose checksum does not match is
 * refused whole: -EBADMSG, nothing restored. Otherwise 0, st filled (an
 * answer that fails dns_cache_restore is counted, not fatal).
 */
int dns_cachefile_parse(struct dns_cache *c, const uint8_t *buf, size_t len, int64_t now_wall,
			uint64_t now_ms, struct dns_cachefile_stats *st);

/**
 * Save c to path atomically: written to path.tmp (mode 0600), synced, then
 * renamed over path. 0 or a negative errno (path.tmp is then removed).
 */
int dns_cachefile_save(struct dns_cache *c, const char *path, size_t *saved,
		       struct dns_cachefile_stats *st);

/**
 * Load path into c with the clocks now. -ENOENT when there is no file,
 * -EFBIG over DNS_CACHEFILE_MAX, -EBADMSG (see dns_cachefile_parse), other
 * negative errnos from reading; 0 with st filled.
 */
int dns_cachefile_load(struct dns_cache *c, const char *path, struct dns_cachefile_stats *st);

#endif
