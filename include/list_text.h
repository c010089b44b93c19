/* list_text.h - text domain lists (dnsmasq, hosts, adblock, plain,
 * domain-list-community) feeding match builders, and the hosts table. */
#ifndef LIST_TEXT_H
#define LIST_TEXT_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "match.h"
#include "sluice.h"

/** Text list formats. */
enum list_format {
	/** `server=/d/ip`, `server=/a/b/ip`, `local=/d/`, `ipset=/d/set`, `nftset=/d/set`
	 * (domains, MATCH_DOMAIN) and `address=/d/ip` (domain, plus d -> ip in hosts;
	 * `address=/d/#` stores 0.0.0.0 and ::, `address=/d/` stores no address).
	 * Lines starting with `#` and ` #comment` tails are skipped. */
	LIST_DNSMASQ,
	/** `IP name... # comment`: names as MATCH_FULL, IP+name pairs into hosts. */
	LIST_HOSTS,
	/** `||host^`, `||host^$opts`, `||host`, `@@||host^` (to neg). Modifiers
	 * (`$third-party`, `$domain=`...) mean nothing to DNS and are ignored: the host
	 * is blocked for every client; `$badfilter` rules are skipped. An IPv4 host is a
	 * MATCH_FULL entry, other hosts MATCH_DOMAIN. Path, wildcard, URL, cosmetic and
	 * host-less rules are counted as skipped, not errors. */
	LIST_ADBLOCK,
	/** One name a line (MATCH_DOMAIN), `#` comments; optional `domain:`, `full:`,
	 * `keyword:`, `regexp:` prefix; a leading `*.` or `.` means domain. */
	LIST_PLAIN,
};

/** Counters of one or more loads; every load adds to them (zero it first). */
struct list_stats {
	size_t lines;	/**< lines read */
	size_t entries; /**< values added to the positive builder */
	size_t allow;	/**< values added to the negative builder (adblock @@) */
	size_t hosts;	/**< name/address pairs added to the hosts table */
	size_t bad;	/**< malformed lines (each reported through the warn callback) */
	size_t skipped; /**< valid rules DNS cannot use (adblock path rules, `server=1.2.3.4`...) */
	size_t comments; /**< blank and comment lines */
};

/** Called once for each bad line (line 0: about the whole file). */
typedef void (*list_warn_fn)(void *ctx, const char *file, unsigned line, const char *msg);

/** Format a warning (at most 511 bytes) and hand it to warn; a NULL warn drops it. */
void list_vwarnf(list_warn_fn warn, void *ctx, const char *file, unsigned line, const char *fmt,
		 va_list ap) SL_PRINTF(5, 0);

struct list_hosts;

/** Where a parse puts what it finds. Any of pos, neg, hosts, st, warn may be NULL
 * (then that part is dropped; a NULL neg counts `@@` rules as skipped). Every
 * entry gets tag `tag`, plus its line number when tag_line is set (per-line
 * tags explain FILE:LINE but cost memory: see match.h). */
struct list_sink {
	struct match_builder *pos;
	struct match_builder *neg;
	struct list_hosts *hosts;
	struct list_stats *st;
	list_warn_fn warn;
	void *warn_ctx;
	uint32_t tag;
	bool tag_line;
};

/** Parse the file at path. Entries are tagged with their line number.
 * Bad lines are reported and skipped; returns 0, or -errno when the file
 * cannot be read (missing, unreadable, over 1 GiB) or memory runs out. */
int list_text_load(const char *path, enum list_format fmt, struct match_builder *pos,
		   struct match_builder *neg, struct list_hosts *hosts, struct list_stats *st,
		   list_warn_fn warn, void *warn_ctx);

/** list_text_load() with the sink's tagging. */
int list_text_load_sink(const char *path, enum list_format fmt, const struct list_sink *sink);

/** Parse a buffer (any bytes; need not end with a newline); name is used in
 * warnings. Returns 0 or -ENOMEM. */
int list_text_parse_buf(const char *name, const char *buf, size_t len, enum list_format fmt,
			const struct list_sink *sink);

/** Read a whole file (at most 1 GiB) into a malloc'd buffer (*buf, with one
 * spare byte after *len bytes; the caller frees it). 0 or -errno. */
int list_read_file(const char *path, char **buf, size_t *len);

/** "dnsmasq", "hosts", "adblock", "plain" -> format; 0 or -EINVAL. */
int list_format_parse(const char *s, enum list_format *out);

/** Name of a format, as list_format_parse() reads it. */
const char *list_format_name(enum list_format fmt);

/** New empty name -> addresses table; NULL on allocation failure. */
struct list_hosts *list_hosts_new(void);

/** Free a hosts table (NULL is fine). */
void list_hosts_free(struct list_hosts *h);

/** Add address addr (struct in_addr for AF_INET, struct in6_addr for AF_INET6)
 * to name (any case, optional trailing dot). A repeated pair is stored once.
 * 0.0.0.0 and :: are kept (callers treat them as "block").
 * Returns 0, -EINVAL (bad name or family) or -ENOMEM. */
int list_hosts_add(struct list_hosts *h, const char *name, size_t len, int family,
		   const void *addr);

/** Addresses of family (AF_INET: out is struct in_addr[], AF_INET6: struct
 * in6_addr[]) for name, in the order added; copies at most max of them.
 * Returns how many the name has (0: the name is known but has no address of
 * this family), -ENOENT when the name is not in the table, -EINVAL for
 * another family.
 * Read-only: safe from many threads once loading is over. */
int list_hosts_lookup(const struct list_hosts *h, const char *name, size_t len, int family,
		      void *out, size_t max);

/** Number of distinct names in the table. */
size_t list_hosts_names(const struct list_hosts *h);

/** Bytes allocated by the table. */
size_t list_hosts_bytes(const struct list_hosts *h);

/** Load list `code` (case-insensitive; the file dir/code, lowercase) of a
 * domain-list-community `data/` directory into b, as geosite:CODE[@attr]:
 * `include:` resolved recursively with its `@a`/`@-a` filters (cycles and
 * depth > 16 are errors), `full:`/`domain:`/`keyword:`/`regexp:` rules (no
 * prefix = domain), `@attr` attributes, `#` comments anywhere. attr_filter
 * NULL loads every rule; "x" only rules with attribute x ("!cn" is an
 * attribute name); "-x" only rules without x. `&affiliation` tokens are
 * ignored. Entries get tag 0. Bad rules are reported and skipped.
 * Returns the number of rules added (duplicates included), -ENOENT for a
 * missing list (also for a missing included list), -ELOOP for a cycle or too
 * deep includes, -E2BIG for over 64 filter attributes, -ENOMEM. */
int list_dlc_load(const char *dir, const char *code, const char *attr_filter,
		  struct match_builder *b, list_warn_fn warn, void *ctx);

#endif
