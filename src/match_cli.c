/* match_cli.c - `sluice match NAME [TYPE]`: says which dns-rule decides a
 * name, and which list entry (with its file and line) or geosite entry
 * made the rule match, so a user can see why a name went where it went.
 * NAME is read in presentation form (\DDD escapes) and matched in the
 * canonical form the DNS service gives a query for it. */
#include "config.h"
#include "cfg.h"
#include "dns_conf.h"
#include "dns_rule.h"
#include "dns_msg.h"
#include "dns_zone.h"
#include "match.h"
#include "policy.h"
#include "ctl.h"
#include "dns_up.h"
#include "dns_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sluice_match_main(struct cfg *cfg, int argc, char **argv);

static const char *kind_name(enum match_kind k)
{
	static const char *const n[] = {"full", "domain", "keyword", "regexp"};

	return k <= MATCH_REGEXP ? n[k] : "?";
}

static void print_action(const struct dns_rule *r, FILE *out)
{
	static const char *const modes[] = {"nxdomain", "refused", "zero", "drop"};
	char ip[INET6_ADDRSTRLEN];

	switch (r->atype) {
	case DNS_A_FORWARD:
		fprintf(out, "forward %s", r->group->name);
		if (r->accept_ip)
			fprintf(out, " accept-ip %s else %s (the answer of %s only when its first "
				     "address is in %s)",
				r->accept_ip->name, r->accept_else->name, r->group->name,
				r->accept_ip->name);
		break;
	case DNS_A_PASSTHROUGH:
		fputs("passthrough (to the resolver the client asked)", out);
		break;
	case DNS_A_BLOCK:
		fprintf(out, "block %s", modes[r->block]);
		break;
	case DNS_A_HOSTS:
		fputs("hosts (answer from the hosts files)", out);
		break;
	case DNS_A_ADDRESS:
		fputs("address", out);
		for (size_t i = 0; i < r->addrs.n4; i++)
			fprintf(out, " %s", inet_ntop(AF_INET, &r->addrs.v4[i], ip, sizeof(ip)));
		for (size_t i = 0; i < r->addrs.n6; i++)
			fprintf(out, " %s", inet_ntop(AF_INET6, &r->addrs.v6[i], ip, sizeof(ip)));
		break;
	}
}

/* The running sets carry no line numbers (and drop entries below a domain
 * entry): read this one list again with line tags and say which entry, on
 * which line, decides the name. Returns false when it cannot tell. */
static bool list_entry(const struct policy_list *l, const char *name, char *val, size_t vlen,
		       enum match_kind *kind, unsigned *line)
{
	struct policy_list tmp = {.format = l->format, .path = l->path};
	struct match_hit h;
	bool ok = false;

	if (policy_list_load(&tmp, NULL, true) == 0 && match_lookup_ex(tmp.pos, name, strlen(name), &h)) {
		snprintf(val, vlen, "%.*s", (int)h.len, h.value);
		*kind = h.kind;
		*line = h.tag;
		ok = true;
	}
	tmp.format = tmp.path = NULL;
	policy_list_fini(&tmp);
	return ok;
}

static void print_why(const struct policy *p, const struct policy_matcher *m,
		      const struct match_hit *hit, const char *name, FILE *out)
{
	const char *v = hit->value ? hit->value : "";
	int vl = (int)hit->len;

	char val[256];
	enum match_kind k;
	unsigned line;

	if (m->type == POLICY_M_LIST && list_entry(m->list, name, val, sizeof(val), &k, &line))
		fprintf(out, "  matched list '%s' (%s:%s) entry %s:%s at %s:%u\n", m->list->name,
			m->list->format, m->list->path, kind_name(k), val, m->list->path, line);
	else if (m->type == POLICY_M_LIST)
		fprintf(out, "  matched list '%s' (%s:%s) entry %s:%.*s\n", m->list->name,
			m->list->format, m->list->path, kind_name(hit->kind), vl, v);
	else if (m->type == POLICY_M_SET && m->src == POLICY_SRC_GEOSITE_DAT)
		fprintf(out, "  matched geosite:%s%s%s entry %s:%.*s in %s\n", m->code,
			m->attr ? "@" : "", m->attr ? m->attr : "", kind_name(hit->kind), vl, v,
			p->geosite);
	else if (m->type == POLICY_M_SET && m->src == POLICY_SRC_GEOSITE_DIR)
		fprintf(out, "  matched geosite:%s%s%s entry %s:%.*s in %s\n", m->code,
			m->attr ? "@" : "", m->attr ? m->attr : "", kind_name(hit->kind), vl, v,
			p->geosite_dir);
	else if (m->type == POLICY_M_SET)
		fprintf(out, "  matched %s:%.*s\n", kind_name(hit->kind), vl, v);
	else
		fprintf(out, "  matched %s\n", m->text);
}

/* Local zones come before the rules (dns.c): a name under one is answered
 * from it, whatever the rules say. */
static bool in_zone(const struct dns_conf *d, const uint8_t *wire, size_t wlen, uint16_t qtype)
{
	struct dns_query q = {.qtype = qtype, .qclass = DNS_CLASS_IN, .question_ok = true,
			      .lname_len = (uint16_t)wlen};
	const struct dns_zone *z;
	char name[DNS_NAME_PRES_MAX], apex[DNS_NAME_PRES_MAX], tb[16];

	memcpy(q.lname, wire, wlen);
	z = dns_zone_find(d->zones, d->n_zones, &q);
	if (!z)
		return false;
	dns_name_to_text(wire, name);
	dns_zone_apex_text(z, apex);
	printf("%s %s: local-zone %s. (answered from the zone file, before any dns-rule)\n",
	       name[0] ? name : ".", dns_type_name(qtype, tb, sizeof(tb)), apex);
	return true;
}

/* The group a name goes to, as the config has it. */
static void print_group(const struct dns_group *g, FILE *out)
{
	static const char *const pol[] = {"order", "parallel", "fastest"};
	char a[ADDR_STRLEN];

	fprintf(out, "  group %s: policy=%s", g->name, pol[g->policy]);
	if (g->ecs_mode == DNS_ECS_STRIP)
		fputs(" ecs=strip", out);
	else if (g->ecs_mode == DNS_ECS_SET)
		fputs(" ecs=set", out);
	if (g->leak_check)
		fputs(" leak-check", out);
	for (size_t i = 0; i < g->n; i++) {
		fprintf(out, " %s://", dns_proto_name(g->servers[i].proto));
		if (g->hosts[i])
			fprintf(out, "%s:%u", g->hosts[i], addr_port(&g->servers[i].addr));
		else
			fputs(addr_fmt(&g->servers[i].addr, a, sizeof(a)), out);
		if (g->tls[i] && g->tls[i]->auth[0])
			fprintf(out, "#%s", g->tls[i]->auth);
	}
	fputc('\n', out);
}

/* The running daemon's cache for the name, through the control socket;
 * nothing when the config has no `control` or no daemon answers. */
static void print_cached(const struct cfg *cfg, const char *name, const char *type, FILE *out)
{
	char *argv[] = {"cache", (char *)name, (char *)type}, *ans;
	size_t len;

	if (!cfg->control)
		return;
	if (ctl_ask(cfg->control, 3, argv, &ans, &len, true) < 0) {
		fprintf(out, "  cache: no running sluice answers at %s\n", cfg->control);
		return;
	}
	if (strncmp(ans, "ok\n", 3) == 0)
		fprintf(out, "  cache: %.*s\n", (int)strcspn(ans + 3, "\n"), ans + 3);
	free(ans);
}

int sluice_match_main(struct cfg *cfg, int argc, char **argv)
{
	const struct dns_conf *d = dns_conf_get(cfg);
	struct match_hit hit;
	const struct dns_rule *r;
	char name[DNS_NAME_PRES_MAX], tb[16];
	uint8_t wire[DNS_NAME_WIRE_MAX];
	uint16_t qtype = 1;
	size_t len;

	if (argc < 1 || argc > 2) {
		fprintf(stderr, "usage: sluice match [-c FILE] NAME [TYPE]\n");
		return 2;
	}
	if (argc == 2 && !(qtype = dns_type_parse(argv[1]))) {
		fprintf(stderr, "sluice match: unknown DNS type '%s'\n", argv[1]);
		return 2;
	}
	/* The name as a query for it carries it: \DDD and \X escapes read,
	 * then written back the way the DNS service writes query names. */
	if (dns_name_from_text(argv[0], strlen(argv[0]), wire, &len) < 0) {
		fprintf(stderr,
			"sluice match: '%s' is not a domain name (labels of 1 to 63 bytes, 255 "
			"in all; \\DDD or \\X for other bytes)\n",
			argv[0]);
		return 2;
	}
	if (in_zone(d, wire, len, qtype))
		return 0;
	len = dns_name_to_text(wire, name);
	memset(&hit, 0, sizeof(hit));
	r = dns_rules_eval(d, d->rules, d->n_rules, name, len, qtype, NULL, &hit);
	printf("%s %s: ", len ? name : ".", dns_type_name(qtype, tb, sizeof(tb)));
	if (!r) {
		if (d->n_groups)
			printf("no rule matches: default forward %s (the first upstream group)\n",
			       d->groups[0].name);
		else
			printf("no rule matches: default passthrough (to the resolver the client asked)\n");
	} else {
		print_action(r, stdout);
		printf("\n  rule %s:%u: dns-rule %s\n", r->file, r->line, r->m->text);
		print_why(policy_get(cfg), r->m, &hit, name, stdout);
	}
	if (r ? r->atype == DNS_A_FORWARD : d->n_groups > 0) {
		print_group(r ? r->group : &d->groups[0], stdout);
		print_cached(cfg, len ? name : ".", dns_type_name(qtype, tb, sizeof(tb)), stdout);
	}
	return 0;
}
