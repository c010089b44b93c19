/* match_rx.h - the keyword and regexp part of a match builder and set
 * (match_rx.c), embedded in struct match_builder / struct match_set.
 *
 * Not a public API: only match.c and match_rx.c include it. */
#ifndef MATCH_RX_H
#define MATCH_RX_H

#include "match_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct match_kw;
struct match_re;
struct match_rekey;

/** Keywords and regexps being collected (zeroed = empty). */
struct match_rx_builder {
	struct match_buf kwa; /* keyword strings */
	struct match_kw *kws;
	size_t nkw, ckw;
	struct match_buf rxa; /* regexp sources and literals */
	struct match_re *rxs;
	size_t nrx, crx;
};

/** Keywords and regexps of a finished set (zeroed = none). */
struct match_rx_set {
	char *kwa;
	struct match_kw *kws;
	size_t nkw;
	char *rxa;
	struct match_re *rxs;
	size_t nrx;
	struct match_rekey *rxk; /* sorted by hash */
	size_t nrxk;
	uint32_t *rxfree; /* regexps without a guard, in order */
	size_t nrxfree;
	pcre2_match_context *mctx;
};

/** Add a keyword (lowercased; no blank or control byte). First tag wins.
 * 0, -EINVAL, -E2BIG past 8192 keywords, -ENOMEM. */
int match_rx_add_keyword(struct match_rx_builder *b, const char *v, size_t len, uint32_t tag);

/** Compile and add a regexp (caseless, `$` = end of name). First tag wins.
 * 0, -EINVAL (does not compile), -E2BIG past 8192 regexps, -ENOMEM. */
int match_rx_add_regexp(struct match_rx_builder *b, const char *v, size_t len, uint32_t tag);

/** Distinct keywords and regexps added so far. */
size_t match_rx_builder_entries(const struct match_rx_builder *b);

/** Free what b holds (not b itself). */
void match_rx_builder_fini(struct match_rx_builder *b);

/** Move b's keywords and regexps into s (b keeps its arenas, not the compiled
 * regexps); adds to *entries and *bytes. 0 or -ENOMEM (then free both). */
int match_rx_build(struct match_rx_set *s, struct match_rx_builder *b, size_t *entries,
		   size_t *bytes);

/** Free what s holds (not s itself). */
void match_rx_set_fini(struct match_rx_set *s);

/** Longest keyword contained in the lowercased name; false if none. */
bool match_rx_kw_lookup(const struct match_rx_set *s, const char *name, size_t len,
			struct match_hit *hit);

/** First-added regexp that matches the lowercased name (len up to
 * MATCH_LOOKUP_MAX, 8 zero bytes of padding after it). False if none. */
bool match_rx_lookup(const struct match_rx_set *s, const char *name, size_t len,
		     struct match_hit *hit);

#endif
