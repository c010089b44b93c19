/* policy_geosite.c - loads the geosite codes the matchers of a config name
 * (geosite:CODE[@attr]), once every rule line of every service has been
 * read: one pass over geosite.dat for all of them, or one dlc file (and
 * its includes) per code from a geosite-dir. Each matcher gets its own set.
 * Errors name the matcher's FILE:LINE. */
#include "config.h"
#include "policy.h"
#include "list_geosite.h"
#include "log.h"
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct geo_warn {
	unsigned n;
	char last[256];
};

static void geo_warn_fn(void *arg, const char *file, unsigned line, const char *msg)
{
	struct geo_warn *g = arg;

	snprintf(g->last, sizeof(g->last), "%s", msg);
	if (g->n++ < 20)
		log_warn("%s:%u: %s", file, line, msg);
}

static int finish_set(struct cfg_ctx *ctx, struct policy_matcher *m, struct match_builder *b)
{
	char err[256];

	m->set = match_builder_finish(b, err, sizeof(err));
	if (!m->set)
		return cfg_error_at(ctx, m->file, m->line, "%s: %s", m->text, err);
	if (match_set_entries(m->set) == 0)
		log_warn("%s:%u: %s matches nothing", m->file, m->line, m->text);
	return 0;
}

static int resolve_dir(struct cfg_ctx *ctx, const struct policy *p, struct policy_matcher **ms,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct match_builder *b = match_builder_new();
		struct geo_warn gw = {0};
		int rc;

		if (!b || match_builder_one_tag(b) < 0) {
			match_builder_free(b);
			return cfg_error(ctx, "out of memory");
		}
		rc = list_dlc_load(p->geosite_dir, ms[i]->code, ms[i]->attr, b, geo_warn_fn, &gw);
		if (rc < 0) {
			match_builder_free(b);
			return cfg_error_at(ctx, ms[i]->file, ms[i]->line, "%s: %s", ms[i]->text,
					    gw.last[0] ? gw.last : strerror(-rc));
		}
		if (finish_set(ctx, ms[i], b) < 0)
			return -1;
	}
	return 0;
}

/* The loader names a missing code in its last warning: the last matcher
 * with that code is the one reported. */
static int dat_error(struct cfg_ctx *ctx, struct policy_matcher **ms, size_t n,
		     const struct geo_warn *gw, int rc)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		if (strcasestr(gw->last, ms[i]->code))
			bad = i;
	return cfg_error_at(ctx, ms[bad]->file, ms[bad]->line, "%s: %s", ms[bad]->text,
			    gw->last[0] ? gw->last : strerror(-rc));
}

static int resolve_dat(struct cfg_ctx *ctx, const struct policy *p, struct policy_matcher **ms,
		       size_t n)
{
	struct geosite_want *want = calloc(n, sizeof(*want));
	struct match_builder **b = calloc(n, sizeof(*b));
	struct geo_warn gw = {0};
	int rc = -1;

	if (!want || !b) {
		rc = cfg_error(ctx, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		want[i].code = ms[i]->code;
		want[i].attr = ms[i]->attr;
		if (!(b[i] = match_builder_new()) || match_builder_one_tag(b[i]) < 0) {
			rc = cfg_error(ctx, "out of memory");
			goto done;
		}
	}
	rc = geosite_dat_load(p->geosite, want, n, b, geo_warn_fn, &gw);
	if (rc < 0) {
		rc = dat_error(ctx, ms, n, &gw, rc);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct match_builder *one = b[i];

		b[i] = NULL;
		if ((rc = finish_set(ctx, ms[i], one)) < 0)
			goto done;
	}
	rc = 0;
done:
	for (size_t i = 0; b && i < n; i++)
		match_builder_free(b[i]);
	free(b);
	free(want);
	return rc;
}

/* The matchers with a geosite code, by rank, then in line order. */
static size_t geo_matchers(const struct policy *p, struct policy_matcher **ms)
{
	size_t n = 0;
	unsigned max = 0;

	for (size_t i = 0; i < p->n_matchers; i++)
		max = p->matchers[i]->rank > max ? p->matchers[i]->rank : max;
	for (unsigned rank = 0; rank <= max; rank++)
		for (size_t i = 0; i < p->n_matchers; i++)
			if (p->matchers[i]->code && p->matchers[i]->rank == rank)
				ms[n++] = p->matchers[i];
	return n;
}

int policy_geosite_resolve(struct cfg_ctx *ctx, struct policy *p)
{
	struct policy_matcher **ms;
	size_t n;
	int rc;

	if (!p->n_matchers)
		return 0;
	ms = calloc(p->n_matchers, sizeof(*ms));
	if (!ms)
		return cfg_error(ctx, "out of memory");
	n = geo_matchers(p, ms);
	if (n == 0)
		rc = 0;
	else if (p->geosite)
		rc = resolve_dat(ctx, p, ms, n);
	else
		rc = resolve_dir(ctx, p, ms, n);
	free(ms);
	return rc;
}
