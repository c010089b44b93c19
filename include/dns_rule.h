/* dns_rule.h - dns-rule lines: their actions and options, the hosts files
 * the `hosts` action answers from, the upstream group options, and which
 * rule decides a name. Their matchers are the policy's (policy.h). */
#ifndef DNS_RULE_H
#define DNS_RULE_H

#include "dns_conf.h"
#include "list_text.h"

struct match_hit;

/** Parse a dns-rule action, its arguments and the options after them (dns_ruleopt). */
int dns_action_parse(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
		     struct dns_rule *r);

/** Add a hosts file to d->hosts. */
int dns_hosts_load(struct dns_conf *d, const char *path, list_warn_fn warn);

/** Find an upstream group by name. */
struct dns_group *dns_group_find(const struct dns_conf *d, const char *name);

/**
 * The first rule of rules[0..n) that matches, or NULL. name is lowercase
 * presentation form without the trailing dot. hit (may be NULL) says which
 * set entry matched. A `hosts` rule decides only names the hosts files know.
 */
const struct dns_rule *dns_rules_eval(const struct dns_conf *d, const struct dns_rule *rules,
				      size_t n, const char *name, size_t len, uint16_t qtype,
				      const struct addr *client, struct match_hit *hit);

/**
 * Parse the options after a rule's action (no-aaaa, no-ech, ttl=N, ...),
 * checking each fits the action. Returns 0 or reports FILE:LINE.
 */
int dns_ruleopt_parse(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
		      struct dns_rule *r);

/**
 * Parse one option word of an `upstream` line (policy=, ecs=, leak-check):
 * 1 when it was one, 0 when it is not an option (a server URL), -1 on an
 * error (reported).
 */
int dns_group_opt_parse(struct cfg_ctx *ctx, struct dns_group *g, const char *word);

/** "order", "parallel" or "fastest". */
const char *dns_policy_name(enum dns_policy p);

/** True when word starts a rule option (so it ends an action's arguments). */
bool dns_ruleopt_is(const char *word);

#endif
