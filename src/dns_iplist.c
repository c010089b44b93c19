/* dns_iplist.c - ip-lists in the DNS service: the directives that make and
 * use them by name (ip-list, geoip, bogus-nxdomain), loading their sources
 * (a CIDR file when its line is read, as the domain lists are; geoip codes
 * in one pass over geoip.dat once every file is read, as geosite codes
 * are), and the two questions the upstream answer path asks of them: is
 * this answer trusted (accept-ip), is it bogus (bogus-nxdomain). Owns the
 * ip-lists of a dns_conf; the sets themselves are iplist.c's. */
#include "config.h"
#include "dns_iplist.h"
#include "iplist.h"
#include "list_ip.h"
#include "log.h"
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_BOGUS 64
/* Addresses of one answer bogus-nxdomain looks at (answers rarely have more) */
#define BOGUS_ADDRS 64

static struct dns_conf *dc(struct cfg_ctx *ctx)
{
	return ctx->cfg->svc[SVC_DNS];
}

const struct dns_iplist *dns_iplist_find(const struct dns_conf *d, const char *name)
{
	for (size_t i = 0; d && i < d->n_iplists; i++)
		if (strcmp(d->iplists[i].name, name) == 0)
			return &d->iplists[i];
	return NULL;
}

/* Bad lines of a CIDR file are reported and skipped, never fatal. */
static void warn_line(void *arg, const char *file, unsigned line, const char *msg)
{
	unsigned *n = arg;

	if ((*n)++ < 20)
		log_warn("%s:%u: %s (line skipped)", file, line, msg);
	else if (*n == 21)
		log_warn("%s: more bad lines; not reporting each", file);
}

static int add_cidr(struct cfg_ctx *ctx, struct dns_iplist *l, const char *file)
{
	struct list_cidr_stats st = {0};
	char *path = cfg_path(ctx, file);
	unsigned nwarn = 0;
	int rc;

	if (!path)
		return cfg_error(ctx, "out of memory");
	rc = list_cidr_load(path, l->b, &st, warn_line, &nwarn);
	if (rc == 0)
		log_info("ip-list %s: %zu prefixes from %s (%zu bad lines)", l->name, st.entries,
			 path, st.bad);
	else
		rc = cfg_error(ctx, "ip-list %s: cannot read %s: %s", l->name, path, strerror(-rc));
	free(path);
	return rc;
}

static int add_code(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_iplist *l, const char *src)
{
	char **c;

	if (!d->geoip)
		return cfg_error(ctx, "ip-list: %s needs a `geoip FILE` line above it", src);
	c = realloc(l->codes, (l->n_codes + 1) * sizeof(*c));
	if (!c)
		return cfg_error(ctx, "out of memory");
	l->codes = c;
	c[l->n_codes] = strdup(src + 6);
	if (!c[l->n_codes])
		return cfg_error(ctx, "out of memory");
	l->n_codes++;
	return 0;
}

static int add_source(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_iplist *l,
		      const char *src)
{
	const char *colon = strchr(src, ':');

	if (!colon || colon == src || !colon[1])
		return cfg_error(ctx, "ip-list: '%s' is not cidr:FILE or geoip:CODE", src);
	if (strncmp(src, "cidr:", 5) == 0)
		return add_cidr(ctx, l, src + 5);
	if (strncmp(src, "geoip:", 6) == 0)
		return add_code(ctx, d, l, src);
	return cfg_error(ctx, "ip-list: unknown format '%.*s' (cidr, geoip)", (int)(colon - src),
			 src);
}

int dns_iplist_p_list(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);
	struct dns_iplist *l;

	if (strlen(argv[1]) > DNS_IPLIST_NAME_MAX)
		return cfg_error(ctx, "ip-list: names are at most %d characters",
				 DNS_IPLIST_NAME_MAX);
	if (dns_iplist_find(d, argv[1]))
		return cfg_error(ctx, "ip-list: '%s' is defined twice", argv[1]);
	/* Rules point into iplists[]: every list must exist before the first rule. */
	if (policy_get(ctx->cfg)->n_rules)
		return cfg_error(ctx, "ip-list: define ip lists before the first rule");
	l = realloc(d->iplists, (d->n_iplists + 1) * sizeof(*l));
	if (!l)
		return cfg_error(ctx, "out of memory");
	d->iplists = l;
	l = &d->iplists[d->n_iplists++];
	memset(l, 0, sizeof(*l));
	l->file = ctx->file;
	l->line = ctx->line;
	l->name = strdup(argv[1]);
	l->b = iplist_builder_new();
	if (!l->name || !l->b)
		return cfg_error(ctx, "out of memory");
	for (int i = 2; i < argc; i++)
		if (add_source(ctx, d, l, argv[i]) < 0)
			return -1;
	return 0;
}

int dns_iplist_p_geoip(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);

	free(d->geoip);
	d->geoip = cfg_path(ctx, argv[1]);
	return d->geoip ? 0 : cfg_error(ctx, "out of memory");
}

int dns_iplist_p_bogus(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);

	for (int i = 1; i < argc; i++) {
		const struct dns_iplist *l = dns_iplist_find(d, argv[i]);
		size_t *b;

		if (!l)
			return cfg_error(ctx,
					 "bogus-nxdomain: no ip-list named '%s' (define it with "
					 "`ip-list` first)",
					 argv[i]);
		if (d->n_bogus == MAX_BOGUS)
			return cfg_error(ctx, "bogus-nxdomain: at most %d lists", MAX_BOGUS);
		b = realloc(d->bogus, (d->n_bogus + 1) * sizeof(*b));
		if (!b)
			return cfg_error(ctx, "out of memory");
		d->bogus = b;
		b[d->n_bogus++] = (size_t)(l - d->iplists);
	}
	return 0;
}

struct geo_warn {
	unsigned n;
	char missing[256]; /* the first "no code" message */
	char last[256];
};

static void geo_warn_fn(void *arg, const char *file, unsigned line, const char *msg)
{
	struct geo_warn *g = arg;

	snprintf(g->last, sizeof(g->last), "%s", msg);
	/* these two become the error itself */
	if (strncmp(msg, "no code", 7) == 0) {
		if (!g->missing[0])
			snprintf(g->missing, sizeof(g->missing), "%s", msg);
	} else if (strncmp(msg, "malformed", 9) != 0 && g->n++ < 20) {
		log_warn("%s: %s", file, msg);
	}
}

/* Every geoip:CODE of every list, in one pass over geoip.dat. */
static int load_codes(struct cfg_ctx *ctx, struct dns_conf *d)
{
	struct geoip_want *want;
	struct dns_iplist **owner;
	struct geo_warn gw = {0};
	size_t nw = 0, k = 0, bad = 0;
	int rc;

	for (size_t i = 0; i < d->n_iplists; i++)
		nw += d->iplists[i].n_codes;
	if (!nw)
		return 0;
	want = calloc(nw, sizeof(*want));
	owner = calloc(nw, sizeof(*owner));
	if (!want || !owner) {
		rc = cfg_error(ctx, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < d->n_iplists; i++)
		for (size_t j = 0; j < d->iplists[i].n_codes; j++, k++) {
			want[k] = (struct geoip_want){d->iplists[i].codes[j], d->iplists[i].b};
			owner[k] = &d->iplists[i];
		}
	rc = geoip_dat_load(d->geoip, want, nw, NULL, geo_warn_fn, &gw);
	if (rc == -ENOENT && gw.missing[0]) {
		/* name the list whose code is missing */
		for (k = 0; k < nw; k++)
			if (strcasestr(gw.missing, want[k].code))
				bad = k;
		rc = cfg_error_at(ctx, owner[bad]->file, owner[bad]->line, "ip-list %s: %s in %s",
				  owner[bad]->name, gw.missing, d->geoip);
	} else if (rc < 0) {
		rc = cfg_error_at(ctx, owner[0]->file, owner[0]->line,
				  "ip-list %s: geoip file %s: %s", owner[0]->name, d->geoip,
				  rc == -EBADMSG && gw.last[0] ? gw.last : strerror(-rc));
	}
done:
	free(want);
	free(owner);
	return rc;
}

int dns_iplist_resolve(struct cfg_ctx *ctx, struct dns_conf *d)
{
	if (load_codes(ctx, d) < 0)
		return -1;
	for (size_t i = 0; i < d->n_iplists; i++) {
		struct dns_iplist *l = &d->iplists[i];
		struct iplist_stats st;

		l->set = iplist_builder_finish(l->b);
		l->b = NULL;
		if (!l->set)
			return cfg_error_at(ctx, l->file, l->line, "out of memory");
		iplist_stats(l->set, &st);
		if (st.prefixes == 0)
			log_warn("%s:%u: ip-list %s holds no address", l->file, l->line, l->name);
		log_info("ip-list %s: %zu prefixes, %zu IPv4 and %zu IPv6 ranges, %zu bytes",
			 l->name, st.prefixes, st.ranges4, st.ranges6, st.bytes);
	}
	return 0;
}

void dns_iplist_free_all(struct dns_conf *d)
{
	for (size_t i = 0; i < d->n_iplists; i++) {
		struct dns_iplist *l = &d->iplists[i];

		iplist_free(l->set);
		iplist_builder_free(l->b);
		for (size_t j = 0; j < l->n_codes; j++)
			free(l->codes[j]);
		free(l->codes);
		free(l->name);
	}
	free(d->iplists);
	free(d->bogus);
	free(d->geoip);
	d->iplists = NULL;
	d->bogus = NULL;
	d->geoip = NULL;
	d->n_iplists = d->n_bogus = 0;
}

bool dns_iplist_trusted(const struct dns_iplist *l, const uint8_t *ans, size_t len)
{
	struct dns_rr_addr a;
	int n = dns_answer_addrs(ans, len, &a, 1);

	if (n < 0) /* cannot happen to an inspected answer; trust nothing then */
		return false;
	return n == 0 || iplist_has(l->set, a.af, a.addr);
}

bool dns_iplist_bogus(const struct dns_conf *d, const uint8_t *ans, size_t len,
		      const struct dns_answer_info *ai)
{
	struct dns_rr_addr a[BOGUS_ADDRS];
	int n;

	if (!d->n_bogus || ai->rcode != DNS_RCODE_NOERROR)
		return false;
	n = dns_answer_addrs(ans, len, a, BOGUS_ADDRS);
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < d->n_bogus; k++)
			if (iplist_has(d->iplists[d->bogus[k]].set, a[i].af, a[i].addr))
				return true;
	return false;
}
