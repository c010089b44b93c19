#include "config.h"
/* list_dlc.c - the domain-list-community source tree (data/NAME files) as
 * geosite:NAME[@attr] lists: include: lines with their @attr filters, rule
 * prefixes, attributes, cycle and depth checks.
 *
 * Owns include resolution and attribute filtering. Shares spans and the
 * rule-kind prefixes with the plain format (list_int.h, list_text.c); does
 * not decode the compiled geosite.dat (list_geosite.c).
 *
 * include:NAME @a @-b keeps the rules of NAME (after its own includes) that
 * have every @a and no @b; filters along an include path add up, so a walk
 * carries one (must, ban) pair of attribute masks. Only attributes named in
 * filters get a bit; other rule attributes cannot affect a verdict. */
#include "list_int.h"
#include "list_text.h"
#include "match_int.h"
#include "sluice.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLC_DEPTH_MAX 16
#define DLC_ATTR_MAX 64
#define DLC_STATES_MAX 100000

struct dlc_state {
	char *name;
	uint64_t must, ban;
};

struct dlc {
	const char *dir;
	struct match_builder *b;
	list_warn_fn warn;
	void *wctx;
	char *attrs[DLC_ATTR_MAX];
	unsigned nattr;
	struct dlc_state *seen;
	size_t nseen, cseen;
	const char *stack[DLC_DEPTH_MAX];
	unsigned depth;
	int added;
};

static void dlc_warn(struct dlc *d, const char *file, unsigned line, const char *fmt, ...)
    SL_PRINTF(4, 5);

static void dlc_warn(struct dlc *d, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	list_vwarnf(d->warn, d->wctx, file, line, fmt, ap);
	va_end(ap);
}

/* Bit of attribute a; create adds it if new. -1: unknown, -E2BIG: full. */
static int dlc_attr(struct dlc *d, struct list_span a, bool create)
{
	char n[64];

	if (a.n == 0 || a.n >= sizeof(n))
		return -1;
	for (size_t i = 0; i < a.n; i++)
		n[i] = match_lc(a.p[i]);
	n[a.n] = '\0';
	for (unsigned i = 0; i < d->nattr; i++)
		if (strcmp(d->attrs[i], n) == 0)
			return (int)i;
	if (!create)
		return -1;
	if (d->nattr == DLC_ATTR_MAX)
		return -E2BIG;
	if (!(d->attrs[d->nattr] = strdup(n)))
		return -ENOMEM;
	return (int)d->nattr++;
}

/* Lowercase list name into out; false if it could escape the directory. */
static bool dlc_name(struct list_span s, char *out, size_t outlen)
{
	if (s.n == 0 || s.n >= outlen || s.p[0] == '.' || memchr(s.p, '/', s.n) ||
	    memchr(s.p, '\0', s.n))
		return false;
	for (size_t i = 0; i < s.n; i++)
		out[i] = match_lc(s.p[i]);
	out[s.n] = '\0';
	return true;
}

static int dlc_list(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		    unsigned from_line);

static int dlc_include(struct dlc *d, struct list_span rule, struct list_span rest, uint64_t must,
		       uint64_t ban, const char *path, unsigned line)
{
	char name[256], tmp[80];
	struct list_span t;

	rule.p += 8, rule.n -= 8; /* "include:" */
	if (!dlc_name(rule, name, sizeof(name))) {
		dlc_warn(d, path, line, "bad list name '%s'", list_show(rule, tmp, sizeof(tmp)));
		return 0;
	}
	while ((t = list_token(&rest)).n) {
		bool neg = t.n > 1 && t.p[0] == '@' && t.p[1] == '-';
		int id;

		if (t.p[0] != '@') {
			dlc_warn(d, path, line, "unexpected '%s'", list_show(t, tmp, sizeof(tmp)));
			continue;
		}
		id = dlc_attr(d, (struct list_span){t.p + 1 + neg, t.n - 1 - neg}, true);
		if (id == -E2BIG || id == -ENOMEM) {
			dlc_warn(d, path, line, "too many filter attributes");
			return id;
		}
		if (id < 0)
			dlc_warn(d, path, line, "empty attribute");
		else if (neg)
			ban |= 1ull << id;
		else
			must |= 1ull << id;
	}
	return dlc_list(d, name, must, ban, path, line);
}

static int dlc_rule(struct dlc *d, struct list_span rule, struct list_span rest, uint64_t must,
		    uint64_t ban, const char *path, unsigned line)
{
	enum match_kind kind;
	uint64_t attrs = 0;
	struct list_span t;
	char tmp[80], msg[128];
	int rc;

	if (!list_kind_prefix(&rule, true, &kind) && memchr(rule.p, ':', rule.n)) {
		dlc_warn(d, path, line, "unknown rule type in '%s'",
			 list_show(rule, tmp, sizeof(tmp)));
		return 0;
	}
	while ((t = list_token(&rest)).n) {
		if (t.p[0] == '@') {
			int id = dlc_attr(d, (struct list_span){t.p + 1, t.n - 1}, false);

			attrs |= id >= 0 ? 1ull << id : 0;
		} else if (t.p[0] != '&') { /* &affiliation: not supported, ignored */
			dlc_warn(d, path, line, "unexpected '%s'", list_show(t, tmp, sizeof(tmp)));
			return 0;
		}
	}
	if ((attrs & must) != must || (attrs & ban))
		return 0;
	rc = match_builder_add(d->b, kind, rule.p, rule.n, 0);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		dlc_warn(d, path, line, "%s", list_add_msg(rc, kind, rule, msg, sizeof(msg)));
	else
		d->added++;
	return 0;
}

static int dlc_parse(struct dlc *d, const char *buf, size_t len, uint64_t must, uint64_t ban,
		     const char *path)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;
	int rc = 0;

	while (p < end && rc >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct list_span s = {p, (size_t)((nl ? nl : end) - p)}, rule;

		p = nl ? nl + 1 : end;
		line++;
		s = list_cut_hash(s);
		if (!s.n)
			continue;
		rule = list_token(&s);
		if (list_starts(rule, "include:"))
			rc = dlc_include(d, rule, s, must, ban, path, line);
		else
			rc = dlc_rule(d, rule, s, must, ban, path, line);
	}
	return rc;
}

static int dlc_enter(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		     unsigned from_line)
{
	char chain[512];
	size_t n = 0;

	for (unsigned i = 0; i < d->depth; i++)
		if (strcmp(d->stack[i], name) == 0) {
			for (unsigned j = i; j < d->depth && n < sizeof(chain); j++)
				n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ",
						      d->stack[j]);
			dlc_warn(d, from, from_line, "include cycle: %s%s",
				 n < sizeof(chain) ? chain : "", name);
			return -ELOOP;
		}
	if (d->depth == DLC_DEPTH_MAX) {
		dlc_warn(d, from, from_line, "includes nested deeper than %d at '%s'",
			 DLC_DEPTH_MAX, name);
		return -ELOOP;
	}
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i].must == must && d->seen[i].ban == ban &&
		    strcmp(d->seen[i].name, name) == 0)
			return 1; /* this list with this filter is in already */
	if (d->nseen == DLC_STATES_MAX) {
		dlc_warn(d, from, from_line, "too many includes");
		return -E2BIG;
	}
	if (match_grow((void **)&d->seen, &d->cseen, d->nseen + 1, sizeof(*d->seen)) < 0 ||
	    !(d->seen[d->nseen].name = strdup(name)))
		return -ENOMEM;
	d->seen[d->nseen].must = must;
	d->seen[d->nseen++].ban = ban;
	return 0;
}

static int dlc_list(struct dlc *d, const char *name, uint64_t must, uint64_t ban, const char *from,
		    unsigned from_line)
{
	char path[4096], *buf;
	size_t len = 0; /* set by list_read_file; gcc -flto cannot see it */
	int rc = dlc_enter(d, name, must, ban, from, from_line);

	if (rc)
		return rc < 0 ? rc : 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	rc = list_read_file(path, &buf, &len);
	if (rc < 0) {
		if (rc == -ENOENT)
			dlc_warn(d, from, from_line, "no list '%s' in %s", name, d->dir);
		else
			dlc_warn(d, from, from_line, "%s: %s", path, strerror(-rc));
		return rc;
	}
	d->stack[d->depth++] = name;
	rc = dlc_parse(d, buf, len, must, ban, path);
	d->depth--;
	free(buf);
	return rc;
}

int list_dlc_load(const char *dir, const char *code, const char *attr_filter,
		  struct match_builder *b, list_warn_fn warn, void *ctx)
{
	struct dlc d = {.dir = dir, .b = b, .warn = warn, .wctx = ctx};
	uint64_t must = 0, ban = 0;
	char name[256];
	int rc = 0, id;

	if (!dir || !code || !b ||
	    !dlc_name((struct list_span){code, strlen(code)}, name, sizeof(name)))
		return -EINVAL;
	if (attr_filter && *attr_filter) {
		bool neg = attr_filter[0] == '-';

		id = dlc_attr(&d, (struct list_span){attr_filter + neg, strlen(attr_filter) - neg},
			      true);
		if (id < 0) {
			rc = id == -ENOMEM ? id : -EINVAL;
			goto done;
		}
		*(neg ? &ban : &must) |= 1ull << id;
	}
	rc = dlc_list(&d, name, must, ban, dir, 0);
done:
	for (unsigned i = 0; i < d.nattr; i++)
		free(d.attrs[i]);
	for (size_t i = 0; i < d.nseen; i++)
		free(d.seen[i].name);
	free(d.seen);
	return rc < 0 ? rc : d.added;
}