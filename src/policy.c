/* policy.c - rule matchers: parsing a MATCHER, loading the lists and
 * geosite codes matchers name, and testing a name against one. Owns the
 * matchers and lists of a config (struct policy); does not know what a
 * service does with a match (its rules and actions are its own), nor how
 * sets store names (match.c) or how list files are read (list_text.c,
 * list_dlc.c, list_geosite.c). */
#include "config.h"
#include "policy.h"
#include "dns_types.h"
#include "list_geosite.h"
#include "log.h"
#include "match.h"

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

static int inline_set(struct cfg_ctx *ctx, struct policy_matcher *m, enum match_kind kind,
		      const char *value)
{
	struct match_builder *b = match_builder_new();
	char err[256];

	if (!b)
		return cfg_error(ctx, "out of memory");
	if (match_builder_add(b, kind, value, strlen(value), ctx->line) < 0) {
		match_builder_free(b);
		return cfg_error(ctx, "'%s' is not a valid %s", m->text,
				 kind == MATCH_REGEXP ? "regular expression" : "domain name");
	}
	m->set = match_builder_finish(b, err, sizeof(err));
	if (!m->set)
		return cfg_error(ctx, "%s: %s", m->text, err);
	m->type = POLICY_M_SET;
	m->src = POLICY_SRC_INLINE;
	return 0;
}

static int parse_geosite(struct cfg_ctx *ctx, const struct policy *p, const char *v,
			 struct policy_matcher *m)
{
	const char *at = strchr(v, '@');

	if (!*v || at == v)
		return cfg_error(ctx,
				 "geosite: needs a code, as in geosite:cn or geosite:google@cn");
	if (!p->geosite && !p->geosite_dir)
		return cfg_error(
		    ctx, "%s needs a `geosite FILE` or `geosite-dir DIR` line above it", m->text);
	m->code = at ? strndup(v, (size_t)(at - v)) : strdup(v);
	m->attr = at ? strdup(at + 1) : NULL;
	if (!m->code || (at && !m->attr))
		return cfg_error(ctx, "out of memory");
	m->type = POLICY_M_SET;
	m->src = p->geosite ? POLICY_SRC_GEOSITE_DAT : POLICY_SRC_GEOSITE_DIR;
	return 0;
}

/* Every matcher but the inline sets and geosite codes. */
static int parse_other(struct cfg_ctx *ctx, const struct policy *p, const char *text,
		       struct policy_matcher *m)
{
	if (strncmp(text, "list:", 5) == 0) {
		m->list = policy_list_find(p, text + 5);
		m->type = POLICY_M_LIST;
		return m->list
			   ? 0
			   : cfg_error(ctx, "%s: no list named '%s' (define it with `list` first)",
				       text, text + 5);
	}
	if (strncmp(text, "qtype:", 6) == 0) {
		m->qtype = dns_type_parse(text + 6);
		m->type = POLICY_M_QTYPE;
		return m->qtype ? 0 : cfg_error(ctx, "%s: unknown DNS type", text);
	}
	if (strncmp(text, "client:", 7) == 0) {
		m->type = POLICY_M_CLIENT;
		if (addr_cidr_parse(text + 7, &m->cidr) < 0)
			return cfg_error(ctx, "%s: not an address or prefix", text);
		return 0;
	}
	return cfg_error(ctx,
			 "unknown matcher '%s' (geosite:, list:, full:, domain:, keyword:, "
			 "regexp:, qtype:, client:, all)",
			 text);
}

static int parse(struct cfg_ctx *ctx, const struct policy *p, const char *text, unsigned flags,
		 struct policy_matcher *m)
{
	if (strcmp(text, "all") == 0) {
		m->type = POLICY_M_ALL;
		return 0;
	}
	if ((flags & POLICY_NOSNI) && strcmp(text, "nosni") == 0) {
		m->type = POLICY_M_NOSNI;
		return 0;
	}
	for (size_t i = 0; i < SL_ARRAY_LEN(inline_kinds); i++)
		if (strncmp(text, inline_kinds[i].prefix, strlen(inline_kinds[i].prefix)) == 0)
			return inline_set(ctx, m, inline_kinds[i].kind,
					  text + strlen(inline_kinds[i].prefix));
	if (strncmp(text, "geosite:", 8) == 0)
		return parse_geosite(ctx, p, text + 8, m);
	return parse_other(ctx, p, text, m);
}

/* The matcher is the policy's as soon as it exists, so a line that fails
 * half-way leaves nothing for its caller to free. */
struct policy_matcher *policy_matcher_parse(struct cfg_ctx *ctx, const char *text, unsigned flags)
{
	struct policy *p = ctx->cfg->policy;
	struct policy_matcher **v =
	    p ? realloc(p->matchers, (p->n_matchers + 1) * sizeof(*v)) : NULL;
	struct policy_matcher *m;

	if (v)
		p->matchers = v;
	m = v ? calloc(1, sizeof(*m)) : NULL;
	if (!m) {
		cfg_error(ctx, "out of memory");
		return NULL;
	}
	p->matchers[p->n_matchers++] = m;
	if (flags & POLICY_RULE)
		p->n_rules++;
	m->file = ctx->file;
	m->line = ctx->line;
	m->rank = POLICY_RANK_OF(flags);
	m->text = strdup(text);
	if (!m->text) {
		cfg_error(ctx, "out of memory");
		return NULL;
	}
	return parse(ctx, p, text, flags, m) < 0 ? NULL : m;
}

bool policy_match(const struct policy_matcher *m, const char *name, size_t len, uint16_t qtype,
		  const struct addr *client, struct match_hit *hit)
{
	switch (m->type) {
	case POLICY_M_ALL:
		return true;
	case POLICY_M_NOSNI:
		return len == 0;
	case POLICY_M_QTYPE:
		return m->qtype == qtype;
	case POLICY_M_CLIENT:
		return client && addr_cidr_match(&m->cidr, client);
	case POLICY_M_SET:
		return len && m->set && match_lookup_ex(m->set, name, len, hit);
	case POLICY_M_LIST:
		return len && match_lookup_ex(m->list->pos, name, len, hit) &&
		       !match_lookup(m->list->neg, name, len, NULL);
	}
	return false;
}

const struct policy_list *policy_list_find(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_lists; i++)
		if (strcmp(p->lists[i]->name, name) == 0)
			return p->lists[i];
	return NULL;
}

int policy_list_load(struct policy_list *l, list_warn_fn warn, bool tag_lines)
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
	sink = (struct list_sink){.pos = pos,
				  .neg = neg,
				  .hosts = l->hosts,
				  .st = &st,
				  .warn = warn,
				  .warn_ctx = &nwarn,
				  .tag_line = tag_lines};
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

void policy_list_fini(struct policy_list *l)
{
	match_set_free(l->pos);
	match_set_free(l->neg);
	list_hosts_free(l->hosts);
	free(l->name);
	free(l->format);
	free(l->path);
}

void policy_fini(struct policy *p)
{
	for (size_t i = 0; i < p->n_matchers; i++) {
		match_set_free(p->matchers[i]->set);
		free(p->matchers[i]->text);
		free(p->matchers[i]->code);
		free(p->matchers[i]->attr);
		free(p->matchers[i]);
	}
	for (size_t i = 0; i < p->n_lists; i++) {
		policy_list_fini(p->lists[i]);
		free(p->lists[i]);
	}
	free(p->matchers);
	free(p->lists);
	free(p->geosite);
	free(p->geosite_dir);
	memset(p, 0, sizeof(*p));
}
