/* list_int.h - internals shared by the text list loaders (list_text.c,
 * list_dlc.c): byte spans, tokens and the rule-kind prefixes.
 *
 * Not a public API. Spans point into a file's bytes: never NUL-terminated,
 * possibly holding any byte. */
#ifndef LIST_INT_H
#define LIST_INT_H

#include "match.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/** A run of bytes inside a buffer. */
struct list_span {
	const char *p;
	size_t n;
};

/** Blank in a list line (newline excluded: lines are already split). */
static inline bool list_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/** s without leading and trailing blanks. */
static inline struct list_span list_trim(struct list_span s)
{
	while (s.n && list_blank(s.p[0]))
		s.p++, s.n--;
	while (s.n && list_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

/** Does s start with the string pfx? */
static inline bool list_starts(struct list_span s, const char *pfx)
{
	size_t l = strlen(pfx);

	return s.n >= l && memcmp(s.p, pfx, l) == 0;
}

/** Next whitespace-separated token of *s (empty span at the end). */
struct list_span list_token(struct list_span *s);

/** Cut s at the first '#' (anywhere) and trim. */
struct list_span list_cut_hash(struct list_span s);

/** Printable copy of s for messages (control and non-ASCII bytes as '?'),
 * cut to outlen - 1 bytes; returns out. */
const char *list_show(struct list_span s, char *out, size_t outlen);

/** Strip a leading `domain:`, `full:`, `keyword:` or `regexp:` (and `regex:`
 * when regex_alias) from *v and set *kind; true if there was one. Without a
 * prefix *v is untouched and *kind is MATCH_DOMAIN. */
bool list_kind_prefix(struct list_span *v, bool regex_alias, enum match_kind *kind);

/** The warning for value v of kind that match_builder_add() refused with rc
 * (not -ENOMEM), into out; returns out. */
const char *list_add_msg(int rc, enum match_kind kind, struct list_span v, char *out,
			 size_t outlen);

#endif
