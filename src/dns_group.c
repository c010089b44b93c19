/* dns_group.c - the options an `upstream NAME [OPTIONS] URL...` line may
 * carry before its servers:
 *   policy=order|parallel|fastest   how the servers are used
 *   ecs=ADDR/LEN | ecs=strip         EDNS Client Subnet sent to it
 *   leak-check                       a domestic group: foreign names
 *                                    routed here are counted
 * It parses them into struct dns_group; dns.c and dns_pend.c act on them. */
#include "config.h"
#include "dns_rule.h"

#include <arpa/inet.h>
#include <string.h>

static int p_policy(struct cfg_ctx *ctx, struct dns_group *g, const char *v)
{
	static const char *const names[] = {"order", "parallel", "fastest"};

	for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
		if (strcmp(v, names[i]) == 0) {
			g->policy = (enum dns_policy)i;
			return 0;
		}
	return cfg_error(ctx, "upstream: policy must be order, parallel or fastest, not '%s'", v);
}

/* ecs=ADDR/LEN: the option as it goes on the wire (RFC 7871 6): the address
 * cut to LEN bits, in as few bytes as hold them. ecs=strip: none. */
static int p_ecs(struct cfg_ctx *ctx, struct dns_group *g, const char *v)
{
	struct addr_cidr c;
	size_t alen;
	uint8_t *o = g->ecs_opt;

	if (strcmp(v, "strip") == 0) {
		g->ecs_mode = DNS_ECS_STRIP;
		return 0;
	}
	if (!strchr(v, '/') || addr_cidr_parse(v, &c) < 0)
		return cfg_error(ctx, "upstream: ecs=%s is not ADDR/LEN or strip", v);
	if ((c.family == AF_INET && c.prefix > 24) || (c.family == AF_INET6 && c.prefix > 56))
		return cfg_error(ctx, "upstream: ecs=%s: at most /24 (IPv4) or /56 (IPv6), as RFC "
				      "7871 11.1 recommends for privacy", v);
	alen = (c.prefix + 7) / 8;
	o[0] = 0;
	o[1] = 8; /* option code: edns-client-subnet */
	o[2] = 0;
	o[3] = (uint8_t)(4 + alen);
	o[4] = 0;
	o[5] = c.family == AF_INET ? 1 : 2;
	o[6] = (uint8_t)c.prefix;
	o[7] = 0; /* scope prefix: 0 in queries */
	memcpy(o + 8, c.net, alen);
	g->ecs_len = 8 + alen;
	g->ecs_mode = DNS_ECS_SET;
	return 0;
}

int dns_group_opt_parse(struct cfg_ctx *ctx, struct dns_group *g, const char *word)
{
	if (strncmp(word, "policy=", 7) == 0)
		return p_policy(ctx, g, word + 7) < 0 ? -1 : 1;
	if (strncmp(word, "ecs=", 4) == 0)
		return p_ecs(ctx, g, word + 4) < 0 ? -1 : 1;
	if (strcmp(word, "leak-check") == 0) {
		g->leak_check = true;
		return 1;
	}
	return 0;
}

const char *dns_policy_name(enum dns_policy p)
{
	return p == DNS_POLICY_PARALLEL ? "parallel" : p == DNS_POLICY_FASTEST ? "fastest" : "order";
}
