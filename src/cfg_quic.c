/* cfg_quic.c - the QUIC directives. quic-rule lines reuse the DNS
 * matchers (applied to the SNI) and live beside the DNS rules, so geosite
 * codes named by either are loaded in one pass. */
#include "config.h"
#include "quic_svc.h"
#include "dns_conf.h"
#include "dns_match.h"

#include <stdlib.h>
#include <string.h>

/* Built without the QUIC service too (configure --disable-quic): the
 * directives are then known and refused. */
#ifdef SL_WITH_QUIC
#define QUIC_PARSE(f) f
#else
#define QUIC_PARSE(f) cfg_not_built
#endif

#ifdef SL_WITH_QUIC
static int parse_action(struct cfg_ctx *ctx, int argc, char **argv, struct dns_rule *r)
{
	uint64_t v;

	if (argc == 1 && strcmp(argv[0], "pass") == 0)
		r->qaction = QUIC_PASS;
	else if (argc == 1 && strcmp(argv[0], "block") == 0)
		r->qaction = QUIC_BLOCK;
	else if (argc == 1 && strcmp(argv[0], "reject") == 0)
		r->qaction = QUIC_REJECT;
	else if (argc == 2 && strcmp(argv[0], "mark") == 0) {
		if (cfg_parse_num(ctx, "mark", argv[1], 1, 0xffffffffu, &v) < 0)
			return -1;
		r->qaction = QUIC_MARK;
		r->mark = (uint32_t)v;
	} else {
		return cfg_error(ctx, "quic-rule: action must be pass, block, reject or mark N");
	}
	return 0;
}

static int p_quic_rule(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = ctx->cfg->svc[SVC_DNS];
	struct dns_rule *r = realloc(d->quic_rules, (d->n_quic_rules + 1) * sizeof(*r));

	if (!r)
		return cfg_error(ctx, "out of memory");
	d->quic_rules = r;
	r = &d->quic_rules[d->n_quic_rules++];
	memset(r, 0, sizeof(*r));
	r->file = ctx->file;
	r->line = ctx->line;
	if (strcmp(argv[1], "nosni") == 0) {
		r->matcher = strdup(argv[1]);
		r->mtype = DNS_M_NOSNI;
		if (!r->matcher)
			return cfg_error(ctx, "out of memory");
	} else if (dns_matcher_parse(ctx, d, argv[1], r) < 0) {
		return -1;
	} else if (r->mtype == DNS_M_QTYPE) {
		return cfg_error(ctx, "quic-rule: qtype: means nothing for QUIC");
	}
	return parse_action(ctx, argc - 2, argv + 2, r);
}

static int p_sniff_timeout(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = ctx->cfg->svc[SVC_DNS];

	return cfg_parse_unsigned(ctx, "quic-sniff-timeout", argv[1], 10, 5000, &d->quic_sniff_ms);
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
	struct dns_conf *d = c->svc[SVC_DNS];

	if (d)
		d->quic_sniff_ms = 300;
}

/* A quic-rule mark equal to the tproxy mark would route the flow's upstream
 * datagrams to the local table: back into sluice. */
static int quic_finish(struct cfg_ctx *ctx)
{
	const struct dns_conf *d = ctx->cfg->svc[SVC_DNS];

	for (size_t i = 0; d && i < d->n_quic_rules; i++)
		if (d->quic_rules[i].qaction == QUIC_MARK &&
		    d->quic_rules[i].mark == ctx->cfg->tproxy_mark)
			return cfg_error_at(ctx, d->quic_rules[i].file, d->quic_rules[i].line,
					    "quic-rule: mark 0x%x is the tproxy-mark", ctx->cfg->tproxy_mark);
	return 0;
}

const struct cfg_module cfg_quic_module = {
	"quic", quic_directives, quic_init, quic_finish, NULL,
};
