/* match.h - compiled, immutable domain sets (full / domain / keyword / regexp).
 *
 * Build with a match_builder, then match_builder_finish() turns it into a
 * read-only match_set that any number of threads may query at once. Names
 * are compared lowercased and without the trailing dot.
 *
 * Memory: a full/domain entry costs its name + 1 byte, about 5.3 bytes of
 * hash slot and 1 byte of filter. Tags are stored per run of equal tags (in
 * insertion order), so one tag per list is nearly free and lets entries
 * below a domain entry of the same tag be dropped (half of a typical ad
 * list); a different tag per entry costs 1-4 more bytes each and drops
 * nothing. While it is built an entry costs its name + 2 bytes and 4-11
 * bytes of slot, and finish turns those records into the set's in place:
 * there is never a second copy of the names. */
#ifndef MATCH_H
#define MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What an entry matches. The order is the precedence when several entries
 * of one set match a name: FULL beats DOMAIN (longest suffix first) beats
 * KEYWORD (longest keyword first) beats REGEXP (first added first). */
enum match_kind {
	MATCH_FULL = 0,	   /**< exactly this name */
	MATCH_DOMAIN = 1,  /**< this name and every name below it (label boundary) */
	MATCH_KEYWORD = 2, /**< the name contains this substring */
	MATCH_REGEXP = 3,  /**< PCRE2 search (not anchored) on the lowercased name, escapes as
			      written (\\001 matches byte 1); $ = end */
};

/** Longest full/domain entry and keyword (without the trailing dot): the
 * RFC 1035 limit of a host name. */
#define MATCH_NAME_MAX 253

/** Longest name a lookup reads (without the trailing dot): 255 bytes, each
 * written as \DDD. A DNS query name in presentation form (struct dns_query,
 * at most 1003 characters) and an escaped SNI (tls_hello) fit. */
#define MATCH_LOOKUP_MAX 1020

struct match_builder;
struct match_set;

/** What a lookup found, for explaining a verdict. */
struct match_hit {
	enum match_kind kind; /**< the kind of the entry that matched */
	uint32_t tag;	      /**< the caller's tag stored with that entry */
	const char *value;    /**< the entry's value (lowercased; regexp source), inside the set */
	size_t len;	      /**< length of value (not NUL-terminated) */
};

/** New empty builder; NULL on allocation failure. */
struct match_builder *match_builder_new(void);

/** Add one entry. Domain, full and keyword values are lowercased and lose one
 * trailing dot; regexps are compiled caseless (PCRE2, JIT when available).
 * When the same kind+value is added twice the first tag is kept.
 * Returns 0, -EINVAL for an invalid value (empty, bad character, label > 63,
 * name > 253, regexp that does not compile), -E2BIG past 8192 keywords or
 * 8192 regexps in one set (each is tried on a lookup that reaches it), or
 * -ENOMEM. */
int match_builder_add(struct match_builder *b, enum match_kind kind, const char *value, size_t len,
		      uint32_t tag);

/** Make room for about n more full/domain entries (saves rehashing while a
 * big list loads). 0 or -ENOMEM / -EINVAL. */
int match_builder_reserve(struct match_builder *b, size_t n);

/** Promise that every entry will carry the same tag (the first one's; an
 * entry with another tag is then refused with -EINVAL). Names below a domain
 * entry can then never decide a lookup, and the builder drops them as it
 * grows instead of at finish: a list whose domains follow the names below
 * them (sorted ad lists) is built in about the memory of its set. Call it
 * before the second entry. 0 or -EINVAL. */
int match_builder_one_tag(struct match_builder *b);

/** Number of distinct entries added so far (duplicates counted once; in a
 * one-tag builder, a name dropped below a domain entry and added again counts
 * again). */
size_t match_builder_entries(const struct match_builder *b);

/** Free a builder that will not be finished (NULL is fine). */
void match_builder_free(struct match_builder *b);

/** Compile the builder into a set. Always consumes (frees) the builder.
 * Entries that can never decide a lookup (a name below a domain entry with
 * the same tag) are dropped. NULL on failure, with a message in err. */
struct match_set *match_builder_finish(struct match_builder *b, char *err, size_t errlen);

/** True when name (any case, optional trailing dot, not modified) matches;
 * *tag_out (may be NULL) gets the tag of the most specific matching entry.
 * Safe from many threads.
 *
 * The name is taken as the text it is: callers pass DNS names in their
 * presentation form, where a byte outside 0x21..0x7e and a '.' or '\' inside
 * a label is written \DDD, so only an unescaped '.' ends a label. Such a name
 * may be longer than 253 characters, up to MATCH_LOOKUP_MAX: a domain entry
 * matches it when it is one of its label-boundary suffixes (whatever the
 * labels in front hold), a full entry never (no entry is that long), and
 * keywords and regexps search the whole name, \DDD escapes included, as for
 * a name of any length. Longer names never match. */
bool match_lookup(const struct match_set *s, const char *name, size_t len, uint32_t *tag_out);

/** match_lookup() that also says which entry matched (hit may be NULL). */
bool match_lookup_ex(const struct match_set *s, const char *name, size_t len,
		     struct match_hit *hit);

/** Entries kept in the set (after dedup and dropping redundant entries). */
size_t match_set_entries(const struct match_set *s);

/** Bytes allocated for the set (including compiled regexps). */
size_t match_set_bytes(const struct match_set *s);

/** Free a set (NULL is fine). */
void match_set_free(struct match_set *s);

#endif
