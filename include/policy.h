/* policy.h - the matchers every service's rules share. `dns-rule`,
 * `quic-rule` and `foreign` name what they test the same way (geosite:,
 * list:, full:, domain:, keyword:, regexp:, qtype:, client:, all, and
 * nosni for QUIC). The policy of a config owns those matchers, the `list`
 * files and the geosite codes they name (every service's codes are read in
 * one pass over geosite.dat), and tests a name against a matcher. A
 * service keeps its own rules: a matcher and that service's action, tried
 * top to bottom. Built while the config loads, read-only afterwards. */
#ifndef POLICY_H
#define POLICY_H

#include "addr.h"
#include "cfg.h"
#include "list_text.h"

struct match_set;
struct match_hit;
struct list_hosts;

/** What a matcher tests. */
enum policy_mtype {
	POLICY_M_SET,	 /**< a name set: inline full:/domain:/keyword:/regexp:, or geosite: */
	POLICY_M_LIST,	 /**< list:NAME */
	POLICY_M_QTYPE,	 /**< qtype:TYPE */
	POLICY_M_CLIENT, /**< client:CIDR */
	POLICY_M_ALL,	 /**< all */
	POLICY_M_NOSNI,	 /**< nosni: no name was read (QUIC) */
};

/** Where a set's entries came from, for `sluice match`. */
enum policy_src {
	POLICY_SRC_LIST,
	POLICY_SRC_GEOSITE_DAT,
	POLICY_SRC_GEOSITE_DIR,
	POLICY_SRC_INLINE
};

/** `list NAME FORMAT:FILE` */
struct policy_list {
	char *name;
	char *format;
	char *path;
	struct match_set *pos;	  /* names the list covers */
	struct match_set *neg;	  /* exceptions (adblock @@), may be NULL */
	struct list_hosts *hosts; /* addresses from hosts / address= lines, may be NULL */
	size_t entries, bad, skipped;
	const char *file; /* where the list directive is */
	unsigned line;
};

/** One MATCHER as a rule line gives it. */
struct policy_matcher {
	const char *file; /* the line it is on */
	unsigned line;
	char *text; /* as written, for explanations */
	enum policy_mtype type;
	enum policy_src src;   /* for POLICY_M_SET */
	char *code, *attr;     /* geosite:CODE@attr */
	struct match_set *set; /* POLICY_M_SET: owned (a geosite one once the config is read) */
	const struct policy_list *list; /* POLICY_M_LIST */
	uint16_t qtype;
	struct addr_cidr cidr;
	unsigned rank; /* POLICY_RANK */
};

/** The matchers and lists of one config (cfg->policy). */
struct policy {
	char *geosite;		    /* geosite FILE */
	char *geosite_dir;	    /* geosite-dir DIR */
	struct policy_list **lists; /* each allocated once: matchers point at them */
	size_t n_lists;
	struct policy_matcher **matchers; /* every matcher of the config, in line order */
	size_t n_matchers;
	size_t n_rules; /* rule lines read so far (lists and groups must come before them) */
};

/** Flags of policy_matcher_parse(). */
enum {
	POLICY_RULE = 1,  /**< a rule line's matcher (not `foreign`): counted in n_rules */
	POLICY_NOSNI = 2, /**< `nosni` is a matcher here (quic-rule) */
};

/** Geosite codes load, and a geosite error names a matcher, in rank order
 * (then line order): dns-rule, quic-rule, foreign, as before the policy had
 * a module of its own, so the same config names the same line. Passed in
 * policy_matcher_parse()'s flags. */
#define POLICY_RANK(n) ((unsigned)(n) << 4)
#define POLICY_RANK_OF(flags) ((flags) >> 4)

/** The policy of a config (never NULL after cfg_load). */
const struct policy *policy_get(const struct cfg *c);

/** The `policy` config module: geosite, geosite-dir, list (cfg_policy.c). */
extern const struct cfg_module cfg_policy_module;

/**
 * Parse a MATCHER (geosite:, list:, full:, domain:, keyword:, regexp:,
 * qtype:, client:, all; nosni with POLICY_NOSNI) written at ctx's line.
 * The config's policy owns the result (also when parsing fails); NULL when it
 * failed, with the error reported. A geosite: set is loaded when the
 * config has been read (policy_geosite_resolve).
 */
struct policy_matcher *policy_matcher_parse(struct cfg_ctx *ctx, const char *text, unsigned flags);

/**
 * Does m match? name is the lowercase presentation form without the
 * trailing dot (len 0: none, as for a flow without an SNI); qtype 0 and
 * client NULL when there are none. hit (may be NULL) says which set entry
 * matched.
 */
bool policy_match(const struct policy_matcher *m, const char *name, size_t len, uint16_t qtype,
		  const struct addr *client, struct match_hit *hit);

/** The list named name, or NULL. */
const struct policy_list *policy_list_find(const struct policy *p, const char *name);

/**
 * Read a list's file into its sets; -EINVAL for an unknown format, -errno
 * for I/O. tag_lines: tag each entry with its line (for explanations; it
 * costs memory), else every entry gets tag 0.
 */
int policy_list_load(struct policy_list *l, list_warn_fn warn, bool tag_lines);

/** Free what a list owns (not l itself). */
void policy_list_fini(struct policy_list *l);

/** Load every geosite code the matchers name (one pass over geosite.dat). */
int policy_geosite_resolve(struct cfg_ctx *ctx, struct policy *p);

/** Free what a policy owns (not p itself). */
void policy_fini(struct policy *p);

/** The list_warn_fn of config lists: bad lines are logged (the first 20 a file) and skipped. */
void policy_list_warn(void *arg, const char *file, unsigned line, const char *msg);

#endif
