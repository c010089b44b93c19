/* cfg_policy.c - the directives of the rule matchers every service shares:
 * geosite, geosite-dir and list. A list is read when its line is read (a
 * missing file is an error at that line); geosite codes are read once the
 * whole config is, in one pass, keeping only the codes the matchers name. */
#include "config.h"
#include "policy.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct policy *pol(struct cfg_ctx *ctx)
{
	return ctx->cfg->policy;
}

const struct policy *policy_get(const struct cfg *c)
{
	return c->policy;
}

void policy_list_warn(void *arg, const char *file, unsigned line, const char *msg)
{
	unsigned *n = arg;

	if ((*n)++ < 20)
		log_warn("%s:%u: %s (line skipped)", file, line, msg);
	else if (*n == 21)
		log_warn("%s: more bad lines; not reporting each", file);
}

/* geosite FILE, geosite-dir DIR: the last line of each counts. */
static int p_geosite(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct policy *p = pol(ctx);
	char **dst;

	if (!p)
		return cfg_error(ctx, "out of memory");
	dst = strcmp(argv[0], "geosite") == 0 ? &p->geosite : &p->geosite_dir;
	free(*dst);
	*dst = cfg_path(ctx, argv[1]);
	return *dst ? 0 : cfg_error(ctx, "out of memory");
}

/* A new list, the policy's once it is in p->lists; NULL when out of memory. */
static struct policy_list *list_add(struct policy *p)
{
	struct policy_list **v = realloc(p->lists, (p->n_lists + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->lists = v;
	v[p->n_lists] = calloc(1, sizeof(**v));
	return v[p->n_lists] ? v[p->n_lists++] : NULL;
}

static int p_list(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct policy *p = pol(ctx);
	struct policy_list *l;
	char *colon = strchr(argv[2], ':');
	int rc;

	if (!p)
		return cfg_error(ctx, "out of memory");
	if (!colon)
		return cfg_error(
		    ctx, "list: '%s' is not FORMAT:FILE (dnsmasq, hosts, adblock, plain)", argv[2]);
	if (policy_list_find(p, argv[1]))
		return cfg_error(ctx, "list: '%s' is defined twice", argv[1]);
	if (p->n_rules)
		return cfg_error(ctx, "list: define lists before the first rule");
	l = list_add(p);
	if (!l)
		return cfg_error(ctx, "out of memory");
	l->file = ctx->file;
	l->line = ctx->line;
	l->name = strdup(argv[1]);
	l->format = strndup(argv[2], (size_t)(colon - argv[2]));
	l->path = cfg_path(ctx, colon + 1);
	if (!l->name || !l->format || !l->path)
		return cfg_error(ctx, "out of memory");
	rc = policy_list_load(l, policy_list_warn, false);
	if (rc == -EINVAL)
		return cfg_error(ctx, "list: unknown format '%s' (dnsmasq, hosts, adblock, plain)",
				 l->format);
	if (rc < 0)
		return cfg_error(ctx, "list %s: cannot read %s: %s", l->name, l->path,
				 strerror(-rc));
	log_info("list %s: %zu entries from %s (%zu bad lines, %zu unsupported rules skipped)",
		 l->name, l->entries, l->path, l->bad, l->skipped);
	return 0;
}

static const struct cfg_directive policy_directives[] = {
    {"geosite", 1, 1, p_geosite, "FILE", NULL,
     "A geosite.dat (v2ray/Xray format) for geosite:CODE[@attr] matchers; only the codes the "
     "rules name are kept in memory."},
    {"geosite-dir", 1, 1, p_geosite, "DIR", NULL,
     "domain-list-community's text source (data/ directory) instead of geosite.dat."},
    {"list", 2, 2, p_list, "NAME FORMAT:FILE", NULL,
     "A domain list for list:NAME matchers. FORMAT: dnsmasq (server=/d/ip, address=/d/ip), "
     "hosts, adblock (||d^, @@||d^ exceptions), plain (one domain a line)."},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void policy_init(struct cfg *c)
{
	c->policy = calloc(1, sizeof(*c->policy));
}

static int policy_finish(struct cfg_ctx *ctx)
{
	if (!pol(ctx))
		return cfg_error(ctx, "out of memory");
	return policy_geosite_resolve(ctx, pol(ctx));
}

static void policy_free(struct cfg *c)
{
	if (!c->policy)
		return;
	policy_fini(c->policy);
	free(c->policy);
	c->policy = NULL;
}

const struct cfg_module cfg_policy_module = {
    "policy", policy_directives, policy_init, policy_finish, policy_free,
};
