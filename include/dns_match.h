/* dns_match.h - rule matchers and actions shared by dns-rule and
 * quic-rule: parsing them from the config, loading the lists they name,
 * and deciding which rule a name hits. */
#ifndef DNS_MATCH_H
#define DNS_MATCH_H

#include "dns_conf.h"
#include "list_text.h"

struct match_hit;

/** Parse a matcher (geosite:, list:, full:, domain:, keyword:, regexp:, qtype:, client:, all). */
int dns_matcher_parse(struct cfg_ctx *ctx, struct dns_conf *d, const char *text, struct dns_rule *r);

/** Parse a dns-rule action, its arguments and the options after them (dns_ruleopt). */
int dns_action_parse(struct cfg_ctx *ctx, struct dns_conf *d, int argc, char **argv,
		     struct dns_rule *r);

/**
 * Read a list's file into its sets; -EINVAL for an unknown format, -errno
 * for I/O. tag_lines: tag each entry with its line (for explanations; it
 * costs memory), else every entry gets tag 0.
 */
int dns_list_load(struct dns_list *l, list_warn_fn warn, bool tag_lines);

/** Add a hosts file to d->hosts. */
int dns_hosts_load(struct dns_conf *d, const char *path, list_warn_fn warn);

/** Load every geosite code the rules name (one pass over geosite.dat). */
int dns_geosite_resolve(struct cfg_ctx *ctx, struct dns_conf *d);

/** Free what a rule owns; the list free what a list owns. */
void dns_rule_fini(struct dns_rule *r);
void dns_list_fini(struct dns_list *l);

/** Find an upstream group by name. */
struct dns_group *dns_group_find(const struct dns_conf *d, const char *name);

/**
 * Does rule r match? name is lowercase presentation form without the
 * trailing dot. hit (may be NULL) says which set entry matched.
 */
bool dns_rule_matches(const struct dns_conf *d, const struct dns_rule *r, const char *name,
		      size_t len, uint16_t qtype, const struct addr *client, struct match_hit *hit);

/** The first rule of rules[0..n) that matches, or NULL. */
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
