#include "config.h"
/* list_geosite.c - geosite.dat decoder: walks a GeoSiteList once with the
 * bounds-checked protobuf reader (pb.c, no protobuf-c) and feeds the
 * wanted lists to match builders.
 *
 * Owns the wire format; does not match names (match.c) nor read the text
 * sources (list_text.c). Schema (v2ray-core routercommon/common.proto):
 *
 *   GeoSiteList { repeated GeoSite entry = 1; }
 *   GeoSite     { string country_code = 1; repeated Domain domain = 2; }
 *   Domain      { Type type = 1; string value = 2; repeated Attribute attribute = 3; }
 *   Attribute   { string key = 1; oneof { bool bool_value = 2; int64 int_value = 3; } }
 *
 * proto3 omits a zero type (Plain), so a Domain without field 1 is Plain.
 * Fields may come in any order; unknown fields are skipped by wire type. */
#include "list_geosite.h"
#include "pb.h"
#include "sluice.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gctx {
	const char *name;
	const struct geosite_want *want;
	size_t nwant;
	struct match_builder **b;
	struct geosite_stats *st;
	bool *found;
	list_warn_fn warn;
	void *wctx;
};

static void gwarn(const struct gctx *g, const char *fmt, ...) SL_PRINTF(2, 3);

static void gwarn(const struct gctx *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	list_vwarnf(g->warn, g->wctx, g->name, 0, fmt, ap);
	va_end(ap);
}

struct gdomain {
	uint64_t type;
	struct rd value, dom;
	size_t nattr;
};

static int domain_decode(struct rd dom, struct gdomain *d)
{
	struct pb_field f;
	int rc;

	*d = (struct gdomain){.type = 0, .value = rd_init(rd_ptr(&dom), 0), .dom = dom};
	while ((rc = pb_next(&dom, &f)) > 0) {
		if (f.num == 1 && f.wt == PB_WT_VARINT)
			d->type = f.v;
		else if (f.num == 2 && f.wt == PB_WT_LEN)
			d->value = f.sub;
		else if (f.num == 3 && f.wt == PB_WT_LEN)
			d->nattr++;
	}
	return rc;
}

/* Does the domain carry attribute key (case-insensitive)? */
static int domain_has_attr(const struct gdomain *d, const char *key, bool *has)
{
	struct rd dom = d->dom, at;
	struct pb_field f, g;
	int rc;

	*has = false;
	while ((rc = pb_next(&dom, &f)) > 0) {
		if (f.num != 3 || f.wt != PB_WT_LEN)
			continue;
		at = f.sub;
		while ((rc = pb_next(&at, &g)) > 0)
			if (g.num == 1 && g.wt == PB_WT_LEN && rd_eq_ci(&g.sub, key))
				*has = true;
		if (rc < 0)
			return rc;
	}
	return rc;
}

static const char *const type_names[] = {"plain", "regexp", "domain", "full"};
static const enum match_kind type_kind[] = {MATCH_KEYWORD, MATCH_REGEXP, MATCH_DOMAIN, MATCH_FULL};

/* Add one Domain to every want of this list (mine[0..nmine)) that accepts it. */
static int domain_add(struct gctx *g, const struct gdomain *d, const size_t *mine, size_t nmine,
		      const struct rd *code)
{
	int code_len = (int)rd_left(code);
	size_t vlen = rd_left(&d->value);

	for (size_t k = 0; k < nmine; k++) {
		size_t i = mine[k];
		bool has = true;
		int rc;

		if (g->want[i].attr && (rc = domain_has_attr(d, g->want[i].attr, &has)) < 0)
			return rc;
		if (!has)
			continue;
		if (d->type > 3) {
			gwarn(g, "list %.*s: unknown domain type %llu", code_len, rd_ptr(code),
			      (unsigned long long)d->type);
			g->st->bad++;
			return 0;
		}
		rc = match_builder_add(g->b[i], type_kind[d->type], (const char *)rd_ptr(&d->value),
				       vlen, g->want[i].tag);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			gwarn(g, "list %.*s: %s %s '%.*s'", code_len, rd_ptr(code),
			      rc == -E2BIG ? "too many entries, dropped" : "invalid",
			      type_names[d->type], (int)(vlen > 100 ? 100 : vlen),
			      rd_ptr(&d->value));
			g->st->bad++;
		} else {
			g->st->added++;
		}
	}
	return 0;
}

/* Pass 1: find the code (it may follow the domains) and count; pass 2:
 * only for a wanted list, decode and add its domains. */
static int site_parse(struct gctx *g, struct rd site, size_t *mine)
{
	struct rd r = site, code = rd_init(rd_ptr(&site), 0);
	struct pb_field f;
	struct gdomain d;
	size_t nmine = 0;
	int rc;

	g->st->lists++;
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && f.wt == PB_WT_LEN)
			code = f.sub;
		if (f.num != 2 || f.wt != PB_WT_LEN)
			continue;
		g->st->domains++;
		if ((rc = domain_decode(f.sub, &d)) < 0)
			return rc;
		g->st->by_type[d.type < 4 ? d.type : 0] += d.type < 4;
		g->st->attributes += d.nattr;
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < g->nwant; i++)
		if (rd_eq_ci(&code, g->want[i].code)) {
			mine[nmine++] = i;
			g->found[i] = true;
		}
	for (r = site; nmine && (rc = pb_next(&r, &f)) > 0;) {
		if (f.num != 2 || f.wt != PB_WT_LEN)
			continue;
		if ((rc = domain_decode(f.sub, &d)) < 0 ||
		    (rc = domain_add(g, &d, mine, nmine, &code)) < 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

int geosite_dat_parse_buf(const char *name, const uint8_t *buf, size_t len,
			  const struct geosite_want *want, size_t nwant,
			  struct match_builder **builders, struct geosite_stats *st,
			  list_warn_fn warn, void *ctx)
{
	struct geosite_stats dummy;
	struct gctx g = {.name = name ? name : "geosite.dat",
			 .want = want,
			 .nwant = nwant,
			 .b = builders,
			 .st = st ? st : &dummy,
			 .warn = warn,
			 .wctx = ctx};
	struct rd r = rd_init(buf, len);
	struct pb_field f;
	size_t *mine = NULL;
	int rc = -ENOMEM;

	if ((!buf && len) || (nwant && (!want || !builders)))
		return -EINVAL;
	for (size_t i = 0; i < nwant; i++)
		if (!want[i].code || !builders[i])
			return -EINVAL;
	memset(g.st, 0, sizeof(*g.st));
	g.found = calloc(nwant + 1, sizeof(bool));
	mine = calloc(nwant + 1, sizeof(*mine));
	if (!g.found || !mine)
		goto done;
	while ((rc = pb_next(&r, &f)) > 0)
		if (f.num == 1 && f.wt == PB_WT_LEN && (rc = site_parse(&g, f.sub, mine)) < 0)
			break;
	if (rc == -EBADMSG)
		gwarn(&g, "malformed protobuf near byte %zu", r.off);
	for (size_t i = 0; rc == 0 && i < nwant; i++)
		if (!g.found[i]) {
			gwarn(&g, "no list '%s' in geosite file", want[i].code);
			rc = -ENOENT;
		}
done:
	free(g.found);
	free(mine);
	return rc < 0 ? rc : 0;
}

int geosite_dat_load(const char *path, const struct geosite_want *want, size_t nwant,
		     struct match_builder **builders, list_warn_fn warn, void *ctx)
{
	char *buf;
	size_t len;
	int rc = list_read_file(path, &buf, &len);

	if (rc < 0) {
		if (warn) {
			char msg[128];

			snprintf(msg, sizeof(msg), "cannot read: %s", strerror(-rc));
			warn(ctx, path, 0, msg);
		}
		return rc;
	}
	rc = geosite_dat_parse_buf(path, (const uint8_t *)buf, len, want, nwant, builders, NULL,
				   warn, ctx);
	free(buf);
	return rc;
}
