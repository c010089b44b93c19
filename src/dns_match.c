/* dns_match.c - the matchers and actions of dns-rule (and quic-rule's
 * matchers): parsing, loading the lists they name, and evaluating them top
 * to bottom. Owns nothing beyond what it stores in the rules and lists it
 * is given. */
#include "config.h"
#include "dns_match.h"
#include "list_geosite.h"
#include "log.h"
#include "match.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *prefix;
	enum match_kind kind;
} inline_kinds[] = {
	{"full:", MATCH_FULL},
	{"domain:", MATCH_DOMAIN},
	{"keyword:", MATCH_KEYWORD},
	{"regexp:", MATCH_REGEXP},
};

static int inline_set(struct cfg_ctx *ctx, struct dns_rule *r, enum match_kind kind,
		      const char *value)
{
	struct match_builder *b = match_builder_new();
	char err[256];

	if (!b)
		return cfg_error(ctx, "out of memory");
	if (match_builder_add(b, kind, value, strlen(value), ctx->line) < 0) {
		match_builder_free(b);
		return cfg_error(ctx, "'%s' is not a valid %s", r->matcher,
				 kind == MATCH_REGEXP ? "regular expression" : "domain name");
	}
	r->set = match_builder_finish(b, err, sizeof(err));
	if (!r->set)
		return cfg_error(ctx, "%s: %s", r->matcher, err);
	r->mtype = DNS_M_SET;
	r->src = DNS_SRC_INLINE;
	return 0;
}

static int parse_geosite(struct cfg_ctx *ctx, struct dns_conf *d, const char *v,
			 struct dns_rule *r)
{
	const char *at = strchr(v, '@');

	if (!*v || at == v)
		return cfg_error(ctx, "geosite: needs a code, as in geosite:cn or geosite:google@cn");
	if (!d->geosite && !d->geosite_dir)
		return cfg_error(ctx, "%s needs a `geosite FILE` or `geosite-dir DIR` line above it",
				 r->matcher);
	r->code = at ? strndup(v, (size_t)(at - v)) : strdup(v);
	r->attr = at ? strdup(at + 1) : NULL;
	if (!r->code || (at && !r->attr))
		return cfg_error(ctx, "out of memory");
	r->mtype = DNS_M_SET;
	r->src = d->geosite ? DNS_SRC_GEOSITE_DAT : DNS_SRC_GEOSITE_DIR;
	return 0;
}

int dns_matcher_parse(struct cfg_ctx *ctx, struct dns_conf *d, const char *text, struct dns_rule *r)
{
	r->matcher = strdup(text);
	if (!r->matcher)
		return cfg_error(ctx, "out of memory");
	if (strcmp(text, "all") == 0) {
		r->mtype = DNS_M_ALL;
		return 0;
	}
	for (size_t i = 0; i < SL_ARRAY_LEN(inline_kinds); i++)
		if (strncmp(text, inline_kinds[i].prefix, strlen(inline_kinds[i].prefix)) == 0)
			return inline_set(ctx, r, inline_kinds[i].kind,
					  text + strlen(inline_kinds[i].prefix));
	if (strncmp(text, "geosite:", 8) == 0)
		return parse_geosite(ctx, d, text + 8, r);
	if (strncmp(text, "list:", 5) == 0) {
		for (size_t i = 0; i < d->n_lists; i++)
			if (strcmp(d->lists[i].name, text + 5) == 0) {
				r->list = &d->lists[i];
				r->mtype = DNS_M_LIST;
				return 0;
			}
		return cfg_error(ctx, "%s: no list named '%s' (define it with `list` first)", text,
				 text + 5);
	}
	if (strncmp(text, "qtype:", 6) == 0) {
		r->qtype = dns_type_parse(text + 6);
		r->mtype = DNS_M_QTYPE;
		return r->qtype ? 0 : cfg_error(ctx, "%s: unknown DNS type", text);
	}
	if (strncmp(text, "client:", 7) == 0) {
		r->mtype = DNS_M_CLIENT;
		if (addr_cidr_parse(text + 7, &r->cidr) < 0)
			return cfg_error(ctx, "%s: not an address or prefix", text);
		return 0;
	}
	return cfg_error(ctx, "unknown matcher '%s' (geosite:, list:, full:, domain:, keyword:, "
			      "regexp:, qtype:, client:, all)", text);
}

/* address IP...: the addresses up to the first word that is not one (an option). */
static int parse_addresses(struct cfg_ctx *ctx, int argc, char **argv, struct dns_addrs *a)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (inet_pton(AF_INET, argv[i], &a->v4[a->n4 < DNS_MAX_ADDRS ? a->n4 : 0]) == 1) {
			if (++a->n4 > DNS_MAX_ADDRS)
				return cfg_error(ctx, "address: at most %d IPv4 addresses", DNS_MAX_ADDRS);
		} else if (inet_pton(AF_INET6, argv[i], &a->v6[a->n6 < DNS_MAX_ADDRS ? a->n6 : 0]) == 1) {
			if (++a->n6 > DNS_MAX_ADDRS)
				return cfg_error(ctx, "address: at most %d IPv6 addresses", DNS_MAX_ADDRS);
		} else {
			break;
		}
	}
	if (i == 0)
		return cfg_error(ctx, "address: needs at least one IP address");
	return i;
}

/* block [MODE]: how many words it took. */
static int parse_block(struct cfg_ctx *ctx, int argc, char **argv, struct dns_rule *r)
{
	static const char *const modes[] = {"nxdomain", "refused", "zero", "drop"};

	r->atype = DNS_A_BLOCK;
	r->block = DNS_BLOCK_NXDOMAIN;
	if (argc == 0 || dns_ruleopt_is(argv[0]))
		return 0;
	for (size_t i = 0; i < SL_ARRAY_LEN(modes); i++)
		if (strcmp(argv[0], modes[i]) == 0) {
			r->block = (enum dns_block)i;
			return 1;
		}
	return cfg_error(ctx, "block: mode must be nxdomain, refused, zero or drop");
}

/* The action and its own arguments: how many words after the action they took. */
static int parse_action(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
			struct dns_rule *r)
{
	const char *a = argv[0];

	if (strcmp(a, "forward") == 0) {
		r->atype = DNS_A_FORWARD;
		if (argc < 2 || dns_ruleopt_is(argv[1]))
			return cfg_error(ctx, "usage: forward GROUP [OPTIONS]");
		r->group = dns_group_find(d, argv[1]);
		if (!r->group)
			return cfg_error(ctx, "forward: no upstream group named '%s'", argv[1]);
		return 1;
	}
	if (strcmp(a, "block") == 0)
		return parse_block(ctx, argc - 1, argv + 1, r);
	if (strcmp(a, "address") == 0) {
		r->atype = DNS_A_ADDRESS;
		return parse_addresses(ctx, argc - 1, argv + 1, &r->addrs);
	}
	if (strcmp(a, "passthrough") == 0 || strcmp(a, "hosts") == 0) {
		r->atype = a[0] == 'p' ? DNS_A_PASSTHROUGH : DNS_A_HOSTS;
		if (r->atype == DNS_A_HOSTS && !d->hosts)
			return cfg_error(ctx, "hosts: no `hosts FILE` line above this rule");
		return 0;
	}
	return cfg_error(ctx, "unknown action '%s' (forward, passthrough, block, address, hosts)", a);
}

int dns_action_parse(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
		     struct dns_rule *r)
{
	int n = parse_action(ctx, d, argc, argv, r);

	if (n < 0)
		return -1;
	return dns_ruleopt_parse(ctx, d, argc - 1 - n, argv + 1 + n, r);
}

int dns_list_load(struct dns_list *l, list_warn_fn warn, bool tag_lines)
{
	struct match_builder *pos = NULL, *neg = NULL;
	struct list_stats st = {0};
	unsigned nwarn = 0;
	struct list_sink sink;
	enum list_format fmt;
	char err[256];
	int rc;

	if (list_format_parse(l->format, &fmt) < 0)
		return -EINVAL;
	pos = match_builder_new();
	neg = match_builder_new();
	l->hosts = list_hosts_new();
	if (!pos || !neg || !l->hosts) {
		rc = -ENOMEM;
		goto fail;
	}
	/* One tag per list keeps sets small (a line number per entry would
	 * double them) and lets the builders drop redundant names as they
	 * load; `sluice match` reloads one list with line tags. */
	if (!tag_lines && (match_builder_one_tag(pos) < 0 || match_builder_one_tag(neg) < 0)) {
		rc = -EINVAL;
		goto fail;
	}
	sink = (struct list_sink){.pos = pos, .neg = neg, .hosts = l->hosts, .st = &st,
				  .warn = warn, .warn_ctx = &nwarn, .tag_line = tag_lines};
	rc = list_text_load_sink(l->path, fmt, &sink);
	if (rc < 0)
		goto fail;
	l->entries = st.entries;
	l->bad = st.bad;
	l->skipped = st.skipped;
	l->pos = match_builder_finish(pos, err, sizeof(err));
	l->neg = match_builder_finish(neg, err, sizeof(err));
	return l->pos && l->neg ? 0 : -ENOMEM;
fail:
	match_builder_free(pos);
	match_builder_free(neg);
	return rc;
}

int dns_hosts_load(struct dns_conf *d, const char *path, list_warn_fn warn)
{
	struct match_builder *b = match_builder_new();
	struct list_stats st = {0};
	unsigned nwarn = 0;
	int rc;

	if (!d->hosts)
		d->hosts = list_hosts_new();
	if (!b || !d->hosts) {
		match_builder_free(b);
		return -ENOMEM;
	}
	rc = list_text_load(path, LIST_HOSTS, b, NULL, d->hosts, &st, warn, &nwarn);
	match_builder_free(b);
	if (rc == 0)
		log_info("hosts: %zu names from %s", st.entries, path);
	return rc;
}

void dns_rule_fini(struct dns_rule *r)
{
	match_set_free(r->set);
	free(r->matcher);
	free(r->code);
	free(r->attr);
}

void dns_list_fini(struct dns_list *l)
{
	match_set_free(l->pos);
	match_set_free(l->neg);
	list_hosts_free(l->hosts);
	free(l->name);
	free(l->format);
	free(l->path);
}

bool dns_rule_matches(const struct dns_conf *d, const struct dns_rule *r, const char *name,
		      size_t len, uint16_t qtype, const struct addr *client, struct match_hit *hit)
{
	switch (r->mtype) {
	case DNS_M_ALL:
		return true;
	case DNS_M_NOSNI:
		return len == 0;
	case DNS_M_QTYPE:
		return r->qtype == qtype;
	case DNS_M_CLIENT:
		return client && addr_cidr_match(&r->cidr, client);
	case DNS_M_SET:
		return len && r->set && match_lookup_ex(r->set, name, len, hit);
	case DNS_M_LIST:
		return len && match_lookup_ex(r->list->pos, name, len, hit) &&
		       !match_lookup(r->list->neg, name, len, NULL);
	}
	return false;
}

const struct dns_rule *dns_rules_eval(const struct dns_conf *d, const struct dns_rule *rules,
				      size_t n, const char *name, size_t len, uint16_t qtype,
				      const struct addr *client, struct match_hit *hit)
{
	for (size_t i = 0; i < n; i++) {
		const struct dns_rule *r = &rules[i];

		if (!dns_rule_matches(d, r, name, len, qtype, client, hit))
			continue;
		/* `hosts` decides only names the hosts files know; others go on. */
		if (r->atype == DNS_A_HOSTS &&
		    list_hosts_lookup(d->hosts, name, len, AF_INET, NULL, 0) < 0)
			continue;
		return r;
	}
	return NULL;
}

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

static int finish_rule_set(struct cfg_ctx *ctx, struct dns_rule *r, struct match_builder *b)
{
	char err[256];

	r->set = match_builder_finish(b, err, sizeof(err));
	if (!r->set)
		return cfg_error_at(ctx, r->file, r->line, "%s: %s", r->matcher, err);
	if (match_set_entries(r->set) == 0)
		log_warn("%s:%u: %s matches nothing", r->file, r->line, r->matcher);
	return 0;
}

/* Every rule (dns-rule and quic-rule) that names a geosite code. */
static size_t geo_rules(struct dns_conf *d, struct dns_rule **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_rules && n < max; i++)
		if (d->rules[i].code)
			out[n++] = &d->rules[i];
	for (size_t i = 0; i < d->n_quic_rules && n < max; i++)
		if (d->quic_rules[i].code)
			out[n++] = &d->quic_rules[i];
	if (d->foreign.code && n < max)
		out[n++] = &d->foreign;
	return n;
}

static int resolve_dir(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule **rs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct match_builder *b = match_builder_new();
		struct geo_warn gw = {0};
		int rc;

		if (!b || match_builder_one_tag(b) < 0) {
			match_builder_free(b);
			return cfg_error(ctx, "out of memory");
		}
		rc = list_dlc_load(d->geosite_dir, rs[i]->code, rs[i]->attr, b, geo_warn_fn, &gw);
		if (rc < 0) {
			match_builder_free(b);
			return cfg_error_at(ctx, rs[i]->file, rs[i]->line, "%s: %s", rs[i]->matcher,
					    gw.last[0] ? gw.last : strerror(-rc));
		}
		if (finish_rule_set(ctx, rs[i], b) < 0)
			return -1;
	}
	return 0;
}

static int resolve_dat(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule **rs, size_t n)
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
		want[i].code = rs[i]->code;
		want[i].attr = rs[i]->attr;
		if (!(b[i] = match_builder_new()) || match_builder_one_tag(b[i]) < 0) {
			rc = cfg_error(ctx, "out of memory");
			goto done;
		}
	}
	rc = geosite_dat_load(d->geosite, want, n, b, geo_warn_fn, &gw);
	if (rc < 0) {
		/* Name the rule whose code is missing when the loader says so. */
		size_t bad = 0;

		for (size_t i = 0; i < n; i++)
			if (strcasestr(gw.last, rs[i]->code))
				bad = i;
		rc = cfg_error_at(ctx, rs[bad]->file, rs[bad]->line, "%s: %s", rs[bad]->matcher,
				  gw.last[0] ? gw.last : strerror(-rc));
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct match_builder *one = b[i];

		b[i] = NULL;
		if ((rc = finish_rule_set(ctx, rs[i], one)) < 0)
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

int dns_geosite_resolve(struct cfg_ctx *ctx, struct dns_conf *d)
{
	size_t cap = d->n_rules + d->n_quic_rules + 1, n;
	struct dns_rule **rs;
	int rc;

	if (!cap)
		return 0;
	rs = calloc(cap, sizeof(*rs));
	if (!rs)
		return cfg_error(ctx, "out of memory");
	n = geo_rules(d, rs, cap);
	if (n == 0)
		rc = 0;
	else if (d->geosite)
		rc = resolve_dat(ctx, d, rs, n);
	else
		rc = resolve_dir(ctx, d, rs, n);
	free(rs);
	return rc;
}
