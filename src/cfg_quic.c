/* cfg_quic.c - the QUIC directives. quic-rule matchers are the policy's,
 * the ones dns-rule has (applied to the SNI) and nosni, so geosite codes
 * named by either service are loaded in one pass. */
#include "config.h"
#include "quic_svc.h"
#include "policy.h"

#include <stdlib.h>
#include <string.h>

/* Built without the QUIC service too (configure --disable-quic): the
 * directives are then known and refused. */
#ifdef SL_WITH_QUIC
#define QUIC_PARSE(f) f
#else
#define QUIC_PARSE(f) cfg_not_built
#endif

static struct quic_conf *qc(struct cfg_ctx *ctx)
{
	return ctx->cfg->svc[SVC_QUIC];
}

const struct quic_conf *quic_conf_get(const struct cfg *c)
{
	return c->svc[SVC_QUIC];
}

#ifdef SL_WITH_QUIC
static int parse_action(struct cfg_ctx *ctx, int argc, char **argv, struct quic_rule *r)
{
	uint64_t v;

	if (argc == 1 && strcmp(argv[0], "pass") == 0)
		r->action = QUIC_PASS;
	else if (argc == 1 && strcmp(argv[0], "block") == 0)
		r->action = QUIC_BLOCK;
	else if (argc == 1 && strcmp(argv[0], "reject") == 0)
		r->action = QUIC_REJECT;
	else if (argc == 2 && strcmp(argv[0], "mark") == 0) {
		if (cfg_parse_num(ctx, "mark", argv[1], 1, 0xffffffffu, &v) < 0)
			return -1;
		r->action = QUIC_MARK;
		r->mark = (uint32_t)v;
	} else {
		return cfg_error(ctx, "quic-rule: action must be pass, block, reject or mark N");
	}
	return 0;
}

static int p_quic_rule(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct quic_conf *q = qc(ctx);
	struct quic_rule *r = q ? realloc(q->rules, (q->n_rules + 1) * sizeof(*r)) : NULL;

	if (!r)
		return cfg_error(ctx, "out of memory");
	q->rules = r;
	r = &q->rules[q->n_rules++];
	memset(r, 0, sizeof(*r));
	r->file = ctx->file;
	r->line = ctx->line;
	r->m = policy_matcher_parse(ctx, argv[1], POLICY_RULE | POLICY_NOSNI | POLICY_RANK(1));
	if (!r->m)
		return -1;
	if (r->m->type == POLICY_M_QTYPE)
		return cfg_error(ctx, "quic-rule: qtype: means nothing for QUIC");
	return parse_action(ctx, argc - 2, argv + 2, r);
}

static int p_sniff_timeout(struct cfg_ctx *ctx, int argc, char **argv)
{
	if (!qc(ctx))
		return cfg_error(ctx, "out of memory");
	return cfg_parse_unsigned(ctx, "quic-sniff-timeout", argv[1], 10, 5000, &qc(ctx)->sniff_ms);
}

#endif /* SL_WITH_QUIC */

static const struct cfg_directive quic_directives[] = {
	{"quic-rule", 2, 3, QUIC_PARSE(p_quic_rule), "MATCHER pass|block|reject|mark N", NULL,
	 "First match wins, on the SNI of the flow's ClientHello. MATCHER: the dns-rule ones "
	 "(geosite:, list:, full:, domain:, keyword:, regexp:, client:, all) or nosni. pass: relay; "
	 "block: drop the flow; reject: ICMP port unreachable to the client (browsers fall back to "
	 "TCP at once); mark N: relay with SO_MARK N (policy routing). No match: pass."},
	{"quic-sniff-timeout", 1, 1, QUIC_PARSE(p_sniff_timeout), "MS", "300",
	 "Longest a new QUIC flow is held while its ClientHello is read; then the nosni rule "
	 "applies."},
	{NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void quic_init(struct cfg *c)
{
	struct quic_conf *q = calloc(1, sizeof(*q));

	c->svc[SVC_QUIC] = q;
	if (q)
		q->sniff_ms = 300;
}

/* A quic-rule mark equal to the tproxy mark would route the flow's upstream
 * datagrams to the local table: back into sluice. */
static int quic_finish(struct cfg_ctx *ctx)
{
	const struct quic_conf *q = qc(ctx);

	if (!q)
		return cfg_error(ctx, "out of memory");
	for (size_t i = 0; i < q->n_rules; i++)
		if (q->rules[i].action == QUIC_MARK && q->rules[i].mark == ctx->cfg->tproxy_mark)
			return cfg_error_at(ctx, q->rules[i].file, q->rules[i].line,
					    "quic-rule: mark 0x%x is the tproxy-mark", ctx->cfg->tproxy_mark);
	return 0;
}

static void quic_free(struct cfg *c)
{
	struct quic_conf *q = c->svc[SVC_QUIC];

	if (!q)
		return;
	free(q->rules);
	free(q);
	c->svc[SVC_QUIC] = NULL;
}

const struct cfg_module cfg_quic_module = {
	"quic", quic_directives, quic_init, quic_finish, quic_free,
};
