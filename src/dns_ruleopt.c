/* dns_ruleopt.c - the options that may follow a dns-rule's action:
 *   no-aaaa   AAAA queries get NODATA, HTTPS/SVCB answers lose ipv6hint
 *   no-ech    HTTPS/SVCB answers lose their ech parameter
 *   ttl=N     the TTL of address and hosts answers (instead of block-ttl)
 *   nftset FAMILY#TABLE#SET[,...]  answer addresses go into these nftables
 *             sets (dns_nftset.c); the config keeps each set once
 *   accept-ip LIST else GROUP
 *             the forward group's answer only when its first A/AAAA
 *             address is in ip-list LIST (or it has none), else GROUP's
 * One table: each option's words and which actions it fits. It only parses;
 * dns.c and dns_svcb.c apply them. */
#include "config.h"
#include "dns_iplist.h"
#include "dns_rule.h"

#include <stdlib.h>
#include <string.h>

struct ruleopt {
	const char *name; /* the word, or its prefix up to '=' */
	bool has_value;	  /* name=VALUE */
	bool has_word;	  /* name VALUE: the next word is its value */
	unsigned actions; /* bit per enum dns_atype it fits */
	int (*parse)(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, const char *v);
};

/* An option followed by words of its own (accept-ip LIST else GROUP). */
struct ruleopt_words {
	const char *name;
	unsigned actions;
	int words; /* after the name */
	int (*parse)(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, char **w);
	const char *usage;
};

#define A(x) (1u << (x))

static int o_no_aaaa(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, const char *v)
{
	r->no_aaaa = true;
	return 0;
}

static int o_no_ech(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, const char *v)
{
	r->no_ech = true;
	return 0;
}

static int o_ttl(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, const char *v)
{
	unsigned t;

	if (cfg_parse_unsigned(ctx, "ttl", v, 0, 604800, &t) < 0)
		return -1;
	r->ttl = (int)t;
	return 0;
}

/* The index of set s in d->nftsets, added if new. */
static int nftset_intern(struct cfg_ctx *ctx, struct dns_conf *d, const struct nftset_spec *s)
{
	struct nftset_spec *n;

	for (size_t i = 0; i < d->n_nftsets; i++)
		if (nftset_spec_equal(&d->nftsets[i], s))
			return (int)i;
	if (d->n_nftsets == NFTSET_MAX_SETS)
		return cfg_error(ctx, "nftset: at most %d different sets in a config", NFTSET_MAX_SETS);
	n = realloc(d->nftsets, (d->n_nftsets + 1) * sizeof(*n));
	if (!n)
		return cfg_error(ctx, "out of memory");
	d->nftsets = n;
	n[d->n_nftsets] = *s;
	return (int)d->n_nftsets++;
}

static int o_nftset(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, const char *v)
{
	struct nftset_spec sp[NFTSET_MAX_PER_RULE];
	char err[256];
	int n = nftset_spec_parse(v, sp, SL_ARRAY_LEN(sp), err, sizeof(err));

	if (r->n_nftset)
		return cfg_error(ctx, "nftset: give every set in one nftset option");
	if (n < 0)
		return cfg_error(ctx, "nftset: %s", err);
	for (int i = 0; i < n; i++) {
		int k = nftset_intern(ctx, d, &sp[i]);

		if (k < 0)
			return -1;
		r->nftset[r->n_nftset++] = (uint8_t)k;
	}
	return 0;
}

/* accept-ip LIST else GROUP (w: the three words after accept-ip) */
static int o_accept_ip(struct cfg_ctx *ctx, struct dns_conf *d, struct dns_rule *r, char **w)
{
	if (r->accept_ip)
		return cfg_error(ctx, "accept-ip given twice");
	if (strcmp(w[1], "else") != 0)
		return cfg_error(ctx, "usage: accept-ip LIST else GROUP");
	r->accept_ip = dns_iplist_find(d, w[0]);
	if (!r->accept_ip)
		return cfg_error(ctx, "accept-ip: no ip-list named '%s' (define it with `ip-list` first)",
				 w[0]);
	r->accept_else = dns_group_find(d, w[2]);
	if (!r->accept_else)
		return cfg_error(ctx, "accept-ip: no upstream group named '%s'", w[2]);
	if (r->accept_else == r->group)
		return cfg_error(ctx, "accept-ip: the else group must not be the rule's own group");
	return 0;
}

static const struct ruleopt opts[] = {
	{"no-aaaa", false, false,
	 A(DNS_A_FORWARD) | A(DNS_A_PASSTHROUGH) | A(DNS_A_ADDRESS) | A(DNS_A_HOSTS), o_no_aaaa},
	{"no-ech", false, false, A(DNS_A_FORWARD) | A(DNS_A_PASSTHROUGH), o_no_ech},
	{"ttl", true, false, A(DNS_A_ADDRESS) | A(DNS_A_HOSTS), o_ttl},
	{"nftset", false, true,
	 A(DNS_A_FORWARD) | A(DNS_A_PASSTHROUGH) | A(DNS_A_ADDRESS) | A(DNS_A_HOSTS), o_nftset},
};

static const struct ruleopt_words wopts[] = {
	{"accept-ip", A(DNS_A_FORWARD), 3, o_accept_ip, "accept-ip LIST else GROUP"},
};

static const struct ruleopt_words *find_words(const char *word)
{
	for (size_t i = 0; i < SL_ARRAY_LEN(wopts); i++)
		if (strcmp(word, wopts[i].name) == 0)
			return &wopts[i];
	return NULL;
}

static const struct ruleopt *find(const char *word, const char **value)
{
	for (size_t i = 0; i < SL_ARRAY_LEN(opts); i++) {
		size_t n = strlen(opts[i].name);

		if (strncmp(word, opts[i].name, n) != 0)
			continue;
		if (opts[i].has_value && word[n] == '=') {
			*value = word + n + 1;
			return &opts[i];
		}
		if (!opts[i].has_value && word[n] == '\0') {
			*value = NULL;
			return &opts[i];
		}
	}
	return NULL;
}

bool dns_ruleopt_is(const char *word)
{
	const char *v;

	return find(word, &v) != NULL || find_words(word) != NULL;
}

int dns_ruleopt_parse(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
		      struct dns_rule *r)
{
	r->ttl = -1;
	for (int i = 0; i < argc; i++) {
		const char *v;
		const struct ruleopt *o = find(argv[i], &v);
		const struct ruleopt_words *ow = o ? NULL : find_words(argv[i]);

		if (ow) {
			if (!(ow->actions & A(r->atype)))
				return cfg_error(ctx, "%s does not go with this action", ow->name);
			if (argc - 1 - i < ow->words)
				return cfg_error(ctx, "usage: %s", ow->usage);
			if (ow->parse(ctx, d, r, argv + i + 1) < 0)
				return -1;
			i += ow->words;
			continue;
		}
		if (!o)
			return cfg_error(ctx, "unknown rule option '%s' (no-aaaa, no-ech, ttl=N, "
					      "nftset SETS, accept-ip LIST else GROUP)", argv[i]);
		if (!(o->actions & A(r->atype)))
			return cfg_error(ctx, "%s does not go with this action", o->name);
		if (o->has_word && i + 1 == argc)
			return cfg_error(ctx, "usage: %s FAMILY#TABLE#SET[,FAMILY#TABLE#SET...]",
					 o->name);
		if (o->has_word)
			v = argv[++i];
		if (o->parse(ctx, d, r, v) < 0)
			return -1;
	}
	return 0;
}
