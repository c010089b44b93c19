/* dns_rule.c - the actions of dns-rule lines (their matchers are the
 * policy's: policy.c), the hosts files the `hosts` action answers from,
 * and evaluating the rules top to bottom. Owns nothing beyond what it
 * stores in the rules and the config it is given. */
#include "config.h"
#include "dns_rule.h"
#include "log.h"
#include "match.h"
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

const struct dns_rule *dns_rules_eval(const struct dns_conf *d, const struct dns_rule *rules,
				      size_t n, const char *name, size_t len, uint16_t qtype,
				      const struct addr *client, struct match_hit *hit)
{
	for (size_t i = 0; i < n; i++) {
		const struct dns_rule *r = &rules[i];

		if (!policy_match(r->m, name, len, qtype, client, hit))
			continue;
		/* `hosts` decides only names the hosts files know; others go on. */
		if (r->atype == DNS_A_HOSTS &&
		    list_hosts_lookup(d->hosts, name, len, AF_INET, NULL, 0) < 0)
			continue;
		return r;
	}
	return NULL;
}
