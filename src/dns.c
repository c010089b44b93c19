/* dns.c - the DNS service: every query a LAN client sends to any resolver
 * is parsed, checked for loops, decided by the rules (first match wins),
 * and answered from a block, an address, the hosts files, the shared cache,
 * or an upstream group (or the resolver the client asked, for passthrough).
 * Answers leave from the address the client asked, with its ID, its
 * question and at most its UDP size. Owns the per-worker upstream channels
 * and the pending queries; the cache belongs to the engine (it survives
 * reloads). */
#include "config.h"
#include "dns_svc.h"
#include "dns_cache.h"
#include "dns_conf.h"
#include "dns_match.h"
#include "dns_msg.h"
#include "dns_up.h"
#include "engine.h"
#include "list_text.h"
#include "log.h"
#include "match.h"
#include "reply.h"
#include "svc.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define PASS_SLOTS 16
#define GC_MS 1000

/* Channels of one config generation; old ones drain after a reload. */
struct dns_gen {
	struct dns_up **ups;
	size_t n;
	struct dns_gen *next;
};

struct pass_slot {
	struct addr dst;
	struct dns_up *up;
	uint64_t used_ms;
};

struct dns_worker {
	struct worker *w;
	struct dns_cache *cache;
	struct dns_gen *cur;
	struct dns_gen *old;
	struct pass_slot pass[PASS_SLOTS];
	struct event *gc_ev;
	uint8_t out[SL_MAX_DGRAM];
};

/* One query waiting for an upstream. Holds no config pointers, so a
 * reload can free the old config while it waits. */
struct dns_pending {
	struct dns_worker *dw;
	struct addr client, origdst;
	bool cache_ok;
	bool answer_client; /* false for a background refresh */
	size_t len;
	struct dns_query q;
	uint8_t pkt[];
};

static const struct dns_conf *dconf(const struct worker *w)
{
	return dns_conf_get(w->cfg);
}

static void send_answer(struct dns_worker *dw, const struct addr *from, const struct addr *to,
			const uint8_t *buf, int n)
{
	if (n > 0)
		reply_sendto(dw->w->reply, from, to, buf, (size_t)n);
}

static void send_error(struct dns_worker *dw, struct flow *f, const struct dns_query *q,
		       const uint8_t *pkt, int rcode)
{
	send_answer(dw, &f->origdst, &f->client, dw->out,
		    dns_build_error(q, pkt, rcode, dw->out, sizeof(dw->out)));
}

static struct dns_gen *gen_new(struct worker *w, const struct dns_conf *d)
{
	struct dns_gen *g = calloc(1, sizeof(*g));
	char err[256];

	if (!g || !(g->ups = calloc(d->n_groups + 1, sizeof(*g->ups))))
		goto fail;
	g->n = d->n_groups;
	for (size_t i = 0; i < d->n_groups; i++) {
		struct dns_up_server sv[DNS_MAX_SERVERS];
		const struct dns_group *grp = &d->groups[i];

		for (size_t j = 0; j < grp->n; j++) {
			sv[j].addr = grp->servers[j];
			sv[j].tcp = grp->tcp[j];
		}
		g->ups[i] = dns_up_new(w->base, sv, grp->n, w->cfg->mark, d->timeout_ms, err,
				       sizeof(err));
		if (!g->ups[i]) {
			log_err("upstream %s: %s", grp->name, err);
			goto fail;
		}
	}
	return g;
fail:
	for (size_t i = 0; g && g->ups && i < g->n; i++)
		if (g->ups[i])
			dns_up_free(g->ups[i]);
	if (g)
		free(g->ups);
	free(g);
	return NULL;
}

static void gen_free(struct dns_gen *g)
{
	for (size_t i = 0; i < g->n; i++)
		dns_up_free(g->ups[i]);
	free(g->ups);
	free(g);
}

static bool gen_idle(const struct dns_gen *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (dns_up_inflight(g->ups[i]))
			return false;
	return true;
}

/* Free drained generations and passthrough channels idle for a minute. */
static void gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_worker *dw = arg;
	struct dns_gen **pp = &dw->old;
	uint64_t now = sl_now_ms();

	while (*pp) {
		struct dns_gen *g = *pp;

		if (gen_idle(g)) {
			*pp = g->next;
			gen_free(g);
		} else {
			pp = &g->next;
		}
	}
	for (size_t i = 0; i < PASS_SLOTS; i++) {
		struct pass_slot *s = &dw->pass[i];

		if (s->up && s->used_ms + 60000 < now && !dns_up_inflight(s->up)) {
			dns_up_free(s->up);
			s->up = NULL;
		}
	}
}

static void cache_apply(struct dns_cache *c, const struct dns_conf *d)
{
	dns_cache_set_ttl(c, d->min_ttl, d->max_ttl);
	dns_cache_set_stale(c, d->serve_stale ? 86400 : 0);
	dns_cache_set_prefetch(c, d->prefetch);
}

/* Workers are set up one after another on the main thread, so the first
 * one can create the shared cache without a lock. */
static struct dns_cache *shared_cache(struct worker *w)
{
	const struct dns_conf *d = dconf(w);
	struct dns_cache *c = w->eng->svc_shared[SVC_DNS];

	if (!c && d->cache_size) {
		c = dns_cache_new(d->cache_size, 16);
		if (c)
			cache_apply(c, d);
		w->eng->svc_shared[SVC_DNS] = c;
	}
	return c;
}

void dns_shared_free(struct engine *e)
{
	dns_cache_free(e->svc_shared[SVC_DNS]);
	e->svc_shared[SVC_DNS] = NULL;
}

static int dns_worker_init(struct worker *w)
{
	struct dns_worker *dw = calloc(1, sizeof(*dw));

	if (!dw)
		return -ENOMEM;
	w->svc_state[SVC_DNS] = dw;
	dw->w = w;
	dw->cache = shared_cache(w);
	dw->cur = gen_new(w, dconf(w));
	dw->gc_ev = event_new(w->base, -1, EV_PERSIST, gc_cb, dw);
	if (!dw->cur || !dw->gc_ev || event_add(dw->gc_ev, &(struct timeval){GC_MS / 1000, 0}) < 0)
		return -ENOMEM;
	return 0;
}

static void dns_worker_fini(struct worker *w)
{
	struct dns_worker *dw = w->svc_state[SVC_DNS];

	if (!dw)
		return;
	if (dw->gc_ev)
		event_free(dw->gc_ev);
	if (dw->cur)
		gen_free(dw->cur);
	while (dw->old) {
		struct dns_gen *g = dw->old;

		dw->old = g->next;
		gen_free(g);
	}
	for (size_t i = 0; i < PASS_SLOTS; i++)
		if (dw->pass[i].up)
			dns_up_free(dw->pass[i].up);
	free(dw);
	w->svc_state[SVC_DNS] = NULL;
}

/* New channels for the new groups; the old ones finish their queries. */
static void dns_reconfigure(struct worker *w, const struct cfg *old)
{
	struct dns_worker *dw = w->svc_state[SVC_DNS];
	struct dns_gen *g = gen_new(w, dconf(w));

	if (!g) {
		log_err("dns: cannot set up the new upstream groups; keeping the old ones");
		return;
	}
	dw->cur->next = dw->old;
	dw->old = dw->cur;
	dw->cur = g;
	if (dw->cache && w->id == 0)
		cache_apply(dw->cache, dconf(w));
}

static struct dns_up *pass_up(struct dns_worker *dw, const struct addr *dst)
{
	struct worker *w = dw->w;
	struct pass_slot *victim = NULL;
	struct dns_up_server sv = {.addr = *dst, .tcp = false};
	char err[256];
	uint64_t now = sl_now_ms();

	for (size_t i = 0; i < PASS_SLOTS; i++) {
		struct pass_slot *s = &dw->pass[i];

		if (s->up && addr_equal(&s->dst, dst)) {
			s->used_ms = now;
			return s->up;
		}
		if (!s->up)
			victim = victim && !victim->up ? victim : s;
		else if (!dns_up_inflight(s->up) && (!victim || (victim->up && s->used_ms < victim->used_ms)))
			victim = s;
	}
	if (!victim)
		return NULL;
	if (victim->up)
		dns_up_free(victim->up);
	victim->up = dns_up_new(w->base, &sv, 1, w->cfg->mark, dconf(w)->timeout_ms, err, sizeof(err));
	victim->dst = *dst;
	victim->used_ms = now;
	return victim->up;
}

static void up_answer(struct dns_pending *p, const uint8_t *ans, size_t len)
{
	struct dns_worker *dw = p->dw;
	struct ctr *ctr = &dw->w->ctr;
	struct dns_answer_info ai;
	int n;

	if (dns_answer_inspect(ans, len, &ai) < 0 || !dns_answer_matches(ans, len, &ai, &p->q)) {
		ctr_inc(ctr, CTR_DNS_UPSTREAM_BAD);
		if (p->answer_client)
			send_answer(dw, &p->origdst, &p->client, dw->out,
				    dns_build_error(&p->q, p->pkt, DNS_RCODE_SERVFAIL, dw->out,
						    sizeof(dw->out)));
		return;
	}
	ctr_inc(ctr, CTR_DNS_UPSTREAM_ANSWERS);
	if (p->cache_ok && dw->cache)
		dns_cache_put(dw->cache, &p->q, ans, len, &ai, sl_now_ms());
	if (!p->answer_client)
		return;
	if (len > dns_query_udp_limit(&p->q)) {
		ctr_inc(ctr, CTR_DNS_TRUNCATED);
		n = dns_build_truncated(&p->q, p->pkt, ai.rcode, dw->out, sizeof(dw->out));
		send_answer(dw, &p->origdst, &p->client, dw->out, n);
		return;
	}
	memcpy(dw->out, ans, len);
	dns_set_id(dw->out, p->q.id);
	/* The same TTL limits as cached copies get, so clients agree with the cache. */
	dns_rewrite_ttls(dw->out, len, ai.ttl_off, ai.n_ttl, 0, dconf(dw->w)->min_ttl,
			 dconf(dw->w)->max_ttl);
	send_answer(dw, &p->origdst, &p->client, dw->out, (int)len);
}

static void up_cb(void *arg, int status, const uint8_t *ans, size_t len)
{
	struct dns_pending *p = arg;
	struct dns_worker *dw = p->dw;

	if (status == 0) {
		up_answer(p, ans, len);
	} else if (p->answer_client) {
		/* Timeout or every server failed: SERVFAIL rather than silence. */
		ctr_inc(&dw->w->ctr, CTR_DNS_SERVFAIL);
		send_answer(dw, &p->origdst, &p->client, dw->out,
			    dns_build_error(&p->q, p->pkt, DNS_RCODE_SERVFAIL, dw->out,
					    sizeof(dw->out)));
	}
	free(p);
}

static void send_upstream(struct dns_worker *dw, struct flow *f, struct dns_up *up,
			  const struct dns_query *q, const uint8_t *pkt, size_t len, bool cache_ok,
			  bool answer_client)
{
	struct dns_pending *p = malloc(sizeof(*p) + len);

	if (!p || !up) {
		free(p);
		ctr_inc(&dw->w->ctr, CTR_DNS_SERVFAIL);
		if (answer_client)
			send_error(dw, f, q, pkt, DNS_RCODE_SERVFAIL);
		return;
	}
	p->dw = dw;
	p->client = f->client;
	p->origdst = f->origdst;
	p->cache_ok = cache_ok;
	p->answer_client = answer_client;
	p->len = len;
	p->q = *q;
	memcpy(p->pkt, pkt, len);
	if (dns_up_send(up, p->pkt, len, up_cb, p) < 0) {
		ctr_inc(&dw->w->ctr, CTR_DNS_SERVFAIL);
		if (answer_client)
			send_error(dw, f, q, pkt, DNS_RCODE_SERVFAIL);
		free(p);
	}
}

/* A client: rule above the deciding one could send this name elsewhere for
 * another client, so such answers are not shared through the cache. */
static bool client_dependent(const struct dns_conf *d, const struct dns_rule *r)
{
	for (const struct dns_rule *i = d->rules; r && i <= r; i++)
		if (i->mtype == DNS_M_CLIENT)
			return true;
	return false;
}

static void forward(struct dns_worker *dw, struct flow *f, const struct dns_rule *r,
		    const struct dns_query *q, const uint8_t *pkt, size_t len)
{
	const struct dns_conf *d = dconf(dw->w);
	bool pass = r ? r->atype == DNS_A_PASSTHROUGH : d->n_groups == 0;
	/* Passthrough answers depend on the resolver asked, which the cache key
	 * does not hold: they are not shared. */
	bool cache_ok = dw->cache && !pass && !client_dependent(d, r);
	struct dns_cache_hit hit;
	struct dns_up *up;
	int n;

	if (cache_ok) {
		n = dns_cache_get(dw->cache, q, pkt, dw->out, sizeof(dw->out), sl_now_ms(), &hit);
		if (n > 0) {
			ctr_inc(&dw->w->ctr, CTR_DNS_CACHE_HITS);
			if (hit.truncated)
				ctr_inc(&dw->w->ctr, CTR_DNS_TRUNCATED);
			send_answer(dw, &f->origdst, &f->client, dw->out, n);
			if (!hit.refresh)
				return;
			ctr_inc(&dw->w->ctr, CTR_DNS_PREFETCH);
			cache_ok = true;
		} else {
			ctr_inc(&dw->w->ctr, CTR_DNS_CACHE_MISSES);
			hit.refresh = false;
		}
	} else {
		hit.refresh = false;
	}
	if (pass) {
		/* The resolver the client asked, on port 53 of the original destination. */
		ctr_inc(&dw->w->ctr, CTR_DNS_PASSTHROUGH);
		up = pass_up(dw, &f->origdst);
	} else {
		ctr_inc(&dw->w->ctr, CTR_DNS_FORWARDED);
		size_t gi = r ? r->group->index : 0;

		up = gi < dw->cur->n ? dw->cur->ups[gi] : NULL;
	}
	send_upstream(dw, f, up, q, pkt, len, cache_ok, !hit.refresh);
}

static void answer_local(struct dns_worker *dw, struct flow *f, const struct dns_rule *r,
			 const struct dns_query *q, const uint8_t *pkt)
{
	const struct dns_conf *d = dconf(dw->w);
	struct in_addr v4[DNS_MAX_ADDRS];
	struct in6_addr v6[DNS_MAX_ADDRS];
	struct dns_addr_list al = {0};
	int n = -1, c4, c6;

	switch (r->atype) {
	case DNS_A_BLOCK:
		ctr_inc(&dw->w->ctr, CTR_DNS_BLOCKED);
		if (r->block == DNS_BLOCK_DROP)
			return;
		if (r->block == DNS_BLOCK_ZERO)
			n = dns_build_block_zero(q, pkt, d->block_ttl, dw->out, sizeof(dw->out));
		else if (r->block == DNS_BLOCK_NXDOMAIN)
			n = dns_build_nxdomain(q, pkt, d->block_ttl, dw->out, sizeof(dw->out));
		else
			n = dns_build_error(q, pkt, DNS_RCODE_REFUSED, dw->out, sizeof(dw->out));
		break;
	case DNS_A_ADDRESS:
		ctr_inc(&dw->w->ctr, CTR_DNS_LOCAL_ANSWERS);
		al = (struct dns_addr_list){r->addrs.v4, r->addrs.n4, r->addrs.v6, r->addrs.n6};
		n = dns_build_address(q, pkt, &al, d->block_ttl, dw->out, sizeof(dw->out));
		break;
	case DNS_A_HOSTS:
		ctr_inc(&dw->w->ctr, CTR_DNS_LOCAL_ANSWERS);
		c4 = list_hosts_lookup(d->hosts, q->name, q->name_len, AF_INET, v4, DNS_MAX_ADDRS);
		c6 = list_hosts_lookup(d->hosts, q->name, q->name_len, AF_INET6, v6, DNS_MAX_ADDRS);
		al = (struct dns_addr_list){v4, (size_t)SL_MAX(0, SL_MIN(c4, DNS_MAX_ADDRS)), v6,
					    (size_t)SL_MAX(0, SL_MIN(c6, DNS_MAX_ADDRS))};
		n = dns_build_address(q, pkt, &al, d->block_ttl, dw->out, sizeof(dw->out));
		break;
	default:
		return;
	}
	send_answer(dw, &f->origdst, &f->client, dw->out, n);
}

/* A query from one of sluice's own upstream sockets came back in: the mark
 * or the route that should keep it out is missing. Refuse, say so once. */
static bool looped(struct dns_worker *dw, struct flow *f)
{
	if (!dns_up_is_own(&f->client))
		return false;
	ctr_inc(&dw->w->ctr, CTR_DNS_LOOP_REFUSED);
	if (!atomic_exchange(&dw->w->eng->loop_reported, true)) {
		log_err("dns: a query from sluice's own upstream socket was intercepted again "
			"(a routing loop); refusing it. Fix: load the ruleset from `sluice rules` "
			"(it returns early for `mark 0x%x`) and make sure nothing rewrites that mark",
			dw->w->cfg->mark);
	}
	return true;
}

static void dns_input(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	struct dns_worker *dw = w->svc_state[SVC_DNS];
	const struct dns_conf *d = dconf(w);
	const struct dns_rule *r;
	struct dns_query q;
	int rc;

	ctr_inc(&w->ctr, CTR_DNS_QUERIES);
	rc = dns_query_parse(data, len, &q);
	if (rc < 0) {
		int rcode = dns_error_rcode(rc);

		ctr_inc(&w->ctr, rcode < 0 ? CTR_DNS_DROPPED : CTR_DNS_FORMERR);
		if (rcode >= 0)
			send_error(dw, f, &q, data, rcode);
		return;
	}
	if (looped(dw, f)) {
		send_error(dw, f, &q, data, DNS_RCODE_REFUSED);
		return;
	}
	/* Rules see the presentation name, escapes and all: a name of binary
	 * labels is matched on its canonical form like any other. */
	_Static_assert(DNS_NAME_PRES_MAX - 1 <= MATCH_LOOKUP_MAX, "a query name fits a lookup");
	r = dns_rules_eval(d, d->rules, d->n_rules, q.name, q.name_len, q.qtype, &f->client, NULL);
	if (r && r->atype != DNS_A_FORWARD && r->atype != DNS_A_PASSTHROUGH)
		answer_local(dw, f, r, &q, data);
	else
		forward(dw, f, r, &q, data, len);
}

const struct svc svc_dns = {
	.id = SVC_DNS,
	.connected_reply = false,
	.worker_init = dns_worker_init,
	.worker_fini = dns_worker_fini,
	.reconfigure = dns_reconfigure,
	.input = dns_input,
};
