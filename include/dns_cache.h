/* dns_cache.h - the DNS answer cache shared by every worker thread: keyed
 * by lowercase qname, qtype, qclass and the DO and CD bits; values are
 * upstream answers in wire form. Sharded, one mutex per shard,
 * second-chance (CLOCK) eviction within a shard. The cache lives beside
 * the config: a reload keeps it and only calls the setters. */
#ifndef DNS_CACHE_H
#define DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_msg.h"

struct dns_cache;

/** Answers larger than this (without their OPT RR) are not cached. */
#define DNS_CACHE_MAX_ANSWER 16384
/** TTL written into answers served stale (RFC 8767 4). */
#define DNS_CACHE_STALE_TTL 30
/** A refresh asked for through dns_cache_hit.refresh is asked again after this long. */
#define DNS_CACHE_REFRESH_RETRY_MS 30000

/** What dns_cache_get found, beside the answer itself. */
struct dns_cache_hit {
	uint32_t ttl;	   /* TTL left, seconds (DNS_CACHE_STALE_TTL when stale) */
	uint32_t age_s;	   /* seconds since the answer was stored */
	uint32_t orig_ttl; /* the upstream's min TTL, before clamping */
	uint8_t rcode;
	bool negative;	/* NXDOMAIN or NODATA */
	bool stale;	/* expired, served under serve-stale */
	bool prefetch;	/* under 10% of its TTL left (prefetch enabled) */
	bool truncated; /* too big for the client: a TC=1 answer was written */
	/** Start a background refresh now: set at most once per entry per
	 * DNS_CACHE_REFRESH_RETRY_MS, when stale or prefetch is set. */
	bool refresh;
};

/** Counters since dns_cache_new; entries/bytes are current sizes. */
struct dns_cache_stats {
	uint64_t hits, misses, inserts, evictions, expired, stale_hits, uncacheable;
	uint64_t entries, bytes;
};

/**
 * A cache for max_entries answers over shards shards (a power of 2; fewer
 * when max_entries is smaller). Defaults: TTL clamp [0, 86400], serve-stale
 * off, prefetch on, byte budget max_entries * 1024. Initialises libsodium
 * and draws a random SipHash key. NULL (errno set) on bad arguments or no memory.
 */
struct dns_cache *dns_cache_new(size_t max_entries, size_t shards);

/** Free the cache and every entry. NULL is fine. */
void dns_cache_free(struct dns_cache *c);

/** Drop every entry (counters stay). */
void dns_cache_clear(struct dns_cache *c);

/**
 * TTL clamp for answers stored from now on: min_ttl raises short TTLs,
 * max_ttl lowers long ones (max_ttl below min_ttl is raised to min_ttl).
 * Thread-safe (a reload may call it while workers run).
 */
void dns_cache_set_ttl(struct dns_cache *c, uint32_t min_ttl, uint32_t max_ttl);

/**
 * Drop every entry for the name lname (lowercase wire form, lname_len
 * bytes), whatever its type, class and flags; returns how many.
 */
size_t dns_cache_flush_name(struct dns_cache *c, const uint8_t *lname, size_t lname_len);

/** Serve expired answers up to window_s seconds past expiry (RFC 8767); 0 turns it off. */
void dns_cache_set_stale(struct dns_cache *c, uint32_t window_s);

/** Report prefetch (and refresh) on hits with under 10% of the TTL left. */
void dns_cache_set_prefetch(struct dns_cache *c, bool on);

/**
 * Hold at most max_entries from now on (a reload's cache-size): the least
 * recently used go at once when it shrinks; the byte budget follows
 * (max_entries * 1024). Exact when max_entries is at least the shard count
 * (every shard keeps room for one). Thread-safe.
 */
void dns_cache_set_capacity(struct dns_cache *c, size_t max_entries);

/** Bound the memory held by entries (headers included); evicts at the next insert. */
void dns_cache_set_max_bytes(struct dns_cache *c, size_t bytes);

/**
 * Store the upstream answer ans[0..len) to query q, inspected into ai, at
 * time now_ms (monotonic). Stored only when ai->cacheable, the answer's
 * question is q's, the query had no ECS option, and the answer fits
 * DNS_CACHE_MAX_ANSWER; an entry with the same key is replaced. The OPT RR
 * is not stored: dns_cache_get writes a fresh one for EDNS clients.
 * Returns 0, -EINVAL (not cacheable, counted), -E2BIG, or -ENOMEM.
 */
int dns_cache_put(struct dns_cache *c, const struct dns_query *q, const uint8_t *ans, size_t len,
		  const struct dns_answer_info *ai, uint64_t now_ms);

/**
 * Look q (parsed from query_pkt) up at time now_ms. On a hit writes the
 * answer into out: the client's ID, RD bit and question bytes (its case),
 * AD cleared unless the client set AD or DO, TTLs counted down by the
 * whole seconds since storage, an OPT RR iff the client sent one, or a TC=1
 * answer when it exceeds the client's UDP size; hit (may be NULL) says
 * more. Misses leave hit alone. Returns the answer length;
 * -ENOENT on a miss (expired entries are removed); -ENOSPC when out is too small.
 */
int dns_cache_get(struct dns_cache *c, const struct dns_query *q, const uint8_t *query_pkt,
		  uint8_t *out, size_t outlen, uint64_t now_ms, struct dns_cache_hit *hit);

/**
 * A reader slot for one thread's lock-free lookups (dns_cache_get_rd), or
 * -1 when every slot (64) is taken. Give it back with dns_cache_reader_put
 * before the cache is freed.
 */
int dns_cache_reader(struct dns_cache *c);
void dns_cache_reader_put(struct dns_cache *c, int rd);

/**
 * dns_cache_get for the thread that holds reader slot rd, without a lock:
 * a hit writes nothing another thread's hit reads (its counters go to the
 * slot). An entry expired past serve-stale is removed through the locked
 * path. rd -1: dns_cache_get.
 */
int dns_cache_get_rd(struct dns_cache *c, int rd, const struct dns_query *q,
		     const uint8_t *query_pkt, uint8_t *out, size_t outlen, uint64_t now_ms,
		     struct dns_cache_hit *hit);

/** Key bits of a dumped entry (struct dns_cache_rec.key_flags). */
#define DNS_CACHE_KEY_DO 0x01
#define DNS_CACHE_KEY_CD 0x02

/** One entry as dns_cache_dump hands it out and dns_cache_restore takes it back. */
struct dns_cache_rec {
	const uint8_t *wire; /* the answer, no OPT RR; its question makes the key */
	size_t len;
	uint8_t key_flags;  /* DNS_CACHE_KEY_*: the DO and CD bits of the key */
	int64_t left_ms;    /* lifetime left; negative: expired that long ago */
	uint32_t orig_ttl;  /* the upstream's min TTL */
	uint32_t elapsed_s; /* restore: how old the TTLs in wire are (dump: 0) */
};

/**
 * Hand every entry to fn, shard by shard, in eviction order (oldest
 * first), with its TTLs as a hit at now_ms would serve them. Each shard is
 * copied under its lock and fn runs without it (fn may do I/O, may not
 * call the cache).
 * Stops at fn's first non-zero return and returns it; else 0, or -ENOMEM.
 */
int dns_cache_dump(struct dns_cache *c, uint64_t now_ms,
		   int (*fn)(void *arg, const struct dns_cache_rec *r), void *arg);

/**
 * Put a dumped entry back at time now_ms, trusting nothing: the answer
 * must pass dns_answer_inspect with one uncompressed question, NOERROR or
 * NXDOMAIN, TC clear, no OPT RR, no bytes after its last RR, at most
 * DNS_CACHE_MAX_ANSWER bytes, and answers (positive) or an SOA (negative).
 * Its TTLs are counted down by r->elapsed_s; it lives r->left_ms more (at
 * most max-ttl); an expired one only within the serve-stale window.
 * Returns 0, -EINVAL (refused), -ESTALE (expired), -ENOMEM.
 */
int dns_cache_restore(struct dns_cache *c, const struct dns_cache_rec *r, uint64_t now_ms);

/**
 * Look at the entry for lname (lowercase wire form) and qtype, class IN,
 * without DO/CD, at now_ms, changing nothing (no used mark, no counter):
 * `sluice ctl cache`. Fills hit's ttl (0 when stale), age_s, orig_ttl,
 * rcode, negative and stale. 0, or -ENOENT (absent, or expired past the
 * serve-stale window).
 */
int dns_cache_peek(struct dns_cache *c, const uint8_t *lname, size_t lname_len, uint16_t qtype,
		   uint64_t now_ms, struct dns_cache_hit *hit);

/** Read the counters (relaxed atomics: each is exact, the set is not a snapshot). */
void dns_cache_stats(const struct dns_cache *c, struct dns_cache_stats *st);

#endif
