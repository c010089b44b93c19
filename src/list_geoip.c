/* list_geoip.c - geoip.dat decoder for ip-list (`geoip:CODE`): walks a
 * GeoIPList once with the bounds-checked protobuf reader (pb.c) and adds
 * the CIDRs of the wanted codes to their builders. Schema (v2fly/geoip
 * plugin/v2ray/geoip.proto; Xray adds reverse_match, v2ray-core calls
 * field 3 inverse_match):
 *
 *   GeoIPList { repeated GeoIP entry = 1; }
 *   GeoIP     { string country_code = 1; repeated CIDR cidr = 2; bool reverse_match = 3; }
 *   CIDR      { bytes ip = 1; uint32 prefix = 2; }
 *
 * proto3 omits zero values: a CIDR without field 2 is a /0, an entry
 * without field 3 is not reversed. Fields may come in any order (the code
 * may follow the CIDRs); unknown fields are skipped by wire type. Owns the
 * format only; the sets are iplist.c's. */
#include "config.h"
#include "list_ip.h"
#include "pb.h"
#include "sluice.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gctx {
	const char *name;
	const struct geoip_want *want;
	size_t nwant;
	struct geoip_stats *st;
	bool *found;
	size_t *mine;
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

/* Add one CIDR message to b; 0 (added or reported bad), -EBADMSG, -ENOMEM. */
static int cidr_add(struct gctx *g, struct rd cidr, const struct rd *code, struct iplist_builder *b)
{
	struct rd ip = rd_init(NULL, 0);
	struct pb_field f;
	uint64_t plen = 0;
	size_t n;
	int rc;

	while ((rc = pb_next(&cidr, &f)) > 0) {
		if (f.num == 1 && f.wt == PB_WT_LEN)
			ip = f.sub;
		else if (f.num == 2 && f.wt == PB_WT_VARINT)
			plen = f.v;
	}
	if (rc < 0)
		return rc;
	n = rd_left(&ip);
	if ((n != 4 && n != 16) || plen > n * 8) {
		gwarn(g, "list %.*s: a CIDR with a %zu-byte address and prefix %llu (skipped)",
		      (int)rd_left(code), rd_ptr(code), n, (unsigned long long)plen);
		g->st->bad++;
		return 0;
	}
	rc = iplist_builder_add(b, n == 4 ? AF_INET : AF_INET6, rd_ptr(&ip), (unsigned)plen);
	if (rc == 0)
		g->st->added++;
	return rc;
}

/* Every CIDR of entry into b. */
static int cidrs_add(struct gctx *g, struct rd entry, const struct rd *code,
		     struct iplist_builder *b)
{
	struct pb_field f;
	int rc;

	while ((rc = pb_next(&entry, &f)) > 0)
		if (f.num == 2 && f.wt == PB_WT_LEN && (rc = cidr_add(g, f.sub, code, b)) < 0)
			return rc;
	return rc;
}

/* A reversed entry: its CIDRs into a set of their own, then the set's
 * complement into b. */
static int reversed_add(struct gctx *g, struct rd entry, const struct rd *code,
			struct iplist_builder *b)
{
	struct iplist_builder *t = iplist_builder_new();
	struct iplist *l;
	int rc;

	if (!t)
		return -ENOMEM;
	if ((rc = cidrs_add(g, entry, code, t)) < 0) {
		iplist_builder_free(t);
		return rc;
	}
	l = iplist_builder_finish(t);
	if (!l)
		return -ENOMEM;
	rc = iplist_builder_add_inverse(b, l);
	iplist_free(l);
	return rc;
}

/* Pass 1: the code, the reverse flag, the count; pass 2, for a wanted
 * code only: its CIDRs. */
static int entry_parse(struct gctx *g, struct rd entry)
{
	struct rd r = entry, code = rd_init(rd_ptr(&entry), 0);
	struct pb_field f;
	bool reverse = false;
	size_t nmine = 0;
	int rc;

	g->st->codes++;
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && f.wt == PB_WT_LEN)
			code = f.sub;
		else if (f.num == 2 && f.wt == PB_WT_LEN)
			g->st->cidrs++;
		else if (f.num == 3 && f.wt == PB_WT_VARINT)
			reverse = f.v != 0;
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < g->nwant; i++)
		if (rd_eq_ci(&code, g->want[i].code)) {
			g->mine[nmine++] = i;
			g->found[i] = true;
		}
	if (nmine && reverse)
		g->st->reversed++;
	for (size_t k = 0; k < nmine; k++) {
		struct iplist_builder *b = g->want[g->mine[k]].b;

		rc = reverse ? reversed_add(g, entry, &code, b) : cidrs_add(g, entry, &code, b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int geoip_dat_parse_buf(const char *name, const uint8_t *buf, size_t len,
			const struct geoip_want *want, size_t nwant, struct geoip_stats *st,
			list_warn_fn warn, void *ctx)
{
	struct geoip_stats dummy;
	struct gctx g = {.name = name ? name : "geoip.dat",
			 .want = want,
			 .nwant = nwant,
			 .st = st ? st : &dummy,
			 .warn = warn,
			 .wctx = ctx};
	struct rd r = rd_init(buf, len);
	struct pb_field f;
	int rc = -ENOMEM;

	if ((!buf && len) || (nwant && !want))
		return -EINVAL;
	for (size_t i = 0; i < nwant; i++)
		if (!want[i].code || !want[i].b)
			return -EINVAL;
	memset(g.st, 0, sizeof(*g.st));
	g.found = calloc(nwant + 1, sizeof(*g.found));
	g.mine = calloc(nwant + 1, sizeof(*g.mine));
	if (!g.found || !g.mine)
		goto done;
	while ((rc = pb_next(&r, &f)) > 0)
		if (f.num == 1 && f.wt == PB_WT_LEN && (rc = entry_parse(&g, f.sub)) < 0)
			break;
	if (rc == -EBADMSG)
		gwarn(&g, "malformed protobuf near byte %zu", r.off);
	for (size_t i = 0; rc == 0 && i < nwant; i++)
		if (!g.found[i]) {
			gwarn(&g, "no code '%s'", want[i].code);
			rc = -ENOENT;
		}
done:
	free(g.found);
	free(g.mine);
	return rc < 0 ? rc : 0;
}

int geoip_dat_load(const char *path, const struct geoip_want *want, size_t nwant,
		   struct geoip_stats *st, list_warn_fn warn, void *ctx)
{
	char *buf;
	size_t len;
	int rc = list_read_file(path, &buf, &len);

	if (rc < 0)
		return rc;
	rc = geoip_dat_parse_buf(path, (const uint8_t *)buf, len, want, nwant, st, warn, ctx);
	free(buf);
	return rc;
}
