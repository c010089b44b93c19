/* dns.c - the DNS service: every query a LAN client sends to any resolver,
 * over UDP or TCP, intercepted or sent to the gateway itself (dns-listen),
 * is parsed, checked for loops, decided by the rules (first match wins),
 * and answered from a block, an address, the hosts files, the shared
 * cache, or an upstream group (or the resolver the client asked, for
 * passthrough). Answers leave the way the query came, from the address the
 * client asked, with its ID, its question and at most its size limit
 * (max-udp-size over UDP). DNS takes no session: a query is state only
 * while it waits for an upstream (dns_pend.c). Owns the per-worker state
 * and the process-wide part (cache, per-client counters, descriptor
 * budget); the upstream transport is dns_up, TCP is dns_tcp. */
#include "config.h"
#include "dns_svc.h"
#include "dns_int.h"
#include "clients.h"
#include "dns_cache.h"
#include "dns_cachefile.h"
#include "dns_rule.h"
#include "dns_zone.h"
#include "engine.h"
#include "listen.h"
#include "list_text.h"
#include "log.h"
#include "match.h"
#include "nftset.h"
#include "ownsock.h"
#include "policy.h"
#include "qlog.h"
#include "ratelimit.h"
#include "stats.h"
#include "reply.h"
#include "resolve.h"
#include "svc.h"
#include "worker.h"

#include <errno.h>
#include <net/if.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const struct dns_conf *dns_wconf(const struct dns_worker *dw)
{
	return dns_conf_get(dw->w->cfg);
}

void dns_src_limit(const struct dns_worker *dw, const struct dns_src *src, struct dns_query *q)
{
	if (src->via == DNS_VIA_TCP)
		q->limit = SL_MAX_DGRAM;
	else
		dns_query_cap_udp(q, dns_wconf(dw)->max_udp);
}

void dns_deliver(struct dns_worker *dw, const struct dns_src *src, int n)
{
	struct worker *w = dw->w;

	if (n <= 0)
		return;
	switch (src->via) {
	case DNS_VIA_TPROXY:
		reply_sendto(w->reply, &src->local, &src->client, dw->out, (size_t)n);
		break;
	case DNS_VIA_SOCK:
		/* batched with the other replies of this loop pass */
		reply_send_fd(w->reply, src->fd, &src->client, dw->out, (size_t)n);
		break;
	case DNS_VIA_TCP:
		dns_tconn_answer(src->conn, dw->out, (size_t)n);
		break;
	}
}

static void send_error(struct dns_worker *dw, const struct dns_src *src, const struct dns_query *q,
		       const uint8_t *pkt, int rcode)
{
	dns_deliver(dw, src, dns_build_error(q, pkt, rcode, dw->out, sizeof(dw->out)));
}

/* A client rule above the deciding one could send this name elsewhere for
 * another client, so such answers are not shared through the cache. */
static bool client_dependent(const struct dns_conf *d, const struct dns_rule *r)
{
	for (const struct dns_rule *i = d->rules; r && i <= r; i++)
		if (i->m->type == POLICY_M_CLIENT)
			return true;
	return false;
}

/* A group's servers now, its host names replaced by their current addresses
 * (in the order c-ares gave them; a name not resolved yet is skipped). */
static size_t expand_hosts(struct dns_worker *dw, const struct dns_group *g,
			   struct dns_up_server *out)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n && n < DNS_UP_MAX_SERVERS; i++) {
		struct addr a[DNS_UP_MAX_SERVERS];
		size_t k;

		if (!g->hosts[i]) {
			out[n++] = g->servers[i];
			continue;
		}
		k = resolve_get(dw->w->eng->res, g->hosts[i], addr_port(&g->servers[i].addr), a,
				DNS_UP_MAX_SERVERS - n);
		for (size_t j = 0; j < k; j++)
			out[n++] = (struct dns_up_server){.addr = a[j], .proto = g->servers[i].proto,
							  .tls = g->servers[i].tls};
	}
	return n;
}

/* A foreign name (the `foreign` matcher) routed to a group marked
 * leak-check (a domestic resolver) has leaked: counted. So is a client's
 * ECS option that an ecs=strip group is kept from seeing. */
static void leak_check(struct dns_worker *dw, const struct dns_group *g, const struct dns_query *q)
{
	const struct dns_conf *d = dns_wconf(dw);

	if (g->ecs_mode == DNS_ECS_STRIP && q->ecs)
		ctr_inc(&dw->w->ctr, CTR_DNS_ECS_STRIPPED);

	if (g->leak_check && d->foreign &&
	    policy_match(d->foreign, q->name, q->name_len, q->qtype, NULL, NULL))
		ctr_inc(&dw->w->ctr, CTR_DNS_LEAKED_FOREIGN);
}

/* A rule's nftsets get the addresses of the answer in dw->out (n bytes:
 * the cache's or a local one, TTLs as the client gets them) before it goes. */
static void answer_nftset(struct dns_worker *dw, const struct dns_rule *r, int n)
{
	uint32_t refs[NFTSET_MAX_PER_RULE];
	uint8_t k = dns_nftset_refs(dw, r, refs);

	if (k && n > 0)
		dns_nftset_answer(dw, refs, k, dw->out, (size_t)n, 0, UINT32_MAX, true);
}

void dns_group_dest(struct dns_worker *dw, const struct dns_group *g, struct dns_up_server *exp,
		    struct dns_dest *dest)
{
	*dest = (struct dns_dest){.servers = g->servers, .n = g->n, .group = g->name,
				  .policy = g->policy,
				  .ecs = g->ecs_mode == DNS_ECS_SET ? g->ecs_opt : NULL,
				  .ecs_len = g->ecs_mode == DNS_ECS_SET ? g->ecs_len : 0,
				  .ecs_strip = g->ecs_mode == DNS_ECS_STRIP};
	if (g->has_hosts) {
		dest->n = expand_hosts(dw, g, exp);
		dest->servers = exp;
	}
}

static void forward(struct dns_worker *dw, const struct dns_src *src, const struct dns_rule *r,
		    const struct dns_query *q, const uint8_t *pkt, size_t len, struct dns_note *note)
{
	const struct dns_conf *d = dns_wconf(dw);
	struct ctr *ctr = &dw->w->ctr;
	bool pass = r ? r->atype == DNS_A_PASSTHROUGH : d->n_groups == 0;
	/* Passthrough answers depend on the resolver asked, which the cache key
	 * does not hold: they are not shared. */
	bool cache_ok = d->cache_size && !pass && !client_dependent(d, r);
	struct dns_up_server pass_sv, exp[DNS_UP_MAX_SERVERS];
	struct dns_dest dest;
	struct dns_cache_hit hit = {0};
	int n;

	if (!pass) /* a cache hit says which group's answer it is too */
		dns_note_group(note, (r ? r->group : &d->groups[0])->name);
	if (cache_ok) {
		n = dns_cache_get_rd(dw->sh->cache, dw->cache_rd, q, pkt, dw->out, sizeof(dw->out),
				     sl_now_ms(), &hit);
		if (n > 0) {
			ctr_inc(ctr, CTR_DNS_CACHE_HITS);
			if (hit.truncated)
				ctr_inc(ctr, CTR_DNS_TRUNCATED);
			answer_nftset(dw, r, n);
			dns_deliver(dw, src, n);
			dns_note_done(dw, src, note, q, n, hit.stale ? DNS_NOTE_STALE : DNS_NOTE_HIT,
				      NULL);
			if (!hit.refresh)
				return;
			ctr_inc(ctr, CTR_DNS_PREFETCH);
			src = NULL; /* a background refresh: nobody waits for it */
		} else {
			ctr_inc(ctr, CTR_DNS_CACHE_MISSES);
		}
	}
	if (pass) {
		ctr_inc(ctr, CTR_DNS_PASSTHROUGH);
		/* The resolver the client asked: the original destination. A query
		 * to the gateway itself (dns-listen) has no other resolver to go to. */
		if (!src || src->to_gateway) {
			if (src) {
				send_error(dw, src, q, pkt, DNS_RCODE_REFUSED);
				dns_note_done(dw, src, note, q, 4, DNS_NOTE_NOCACHE, NULL);
			}
			return;
		}
		pass_sv = (struct dns_up_server){.addr = src->local, .proto = DNS_PROTO_UDP};
		dest = (struct dns_dest){.servers = &pass_sv, .n = 1};
	} else {
		const struct dns_group *g = r ? r->group : &d->groups[0];

		ctr_inc(ctr, CTR_DNS_FORWARDED);
		dns_group_dest(dw, g, exp, &dest);
		leak_check(dw, g, q);
	}
	if (r)
		dest.opts = (uint8_t)((r->no_ech ? DNS_DEST_NO_ECH : 0) |
				      (r->no_aaaa ? DNS_DEST_NO_IPV6HINT : 0));
	dest.n_nft = dns_nftset_refs(dw, r, dest.nft);
	if (r && r->accept_ip) {
		dest.accept = r->accept_ip->name;
		dest.accept_else = r->accept_else->name;
	}
	dns_pend_forward(dw->pend, src, q, pkt, len, &dest, cache_ok, note);
}

static void answer_local(struct dns_worker *dw, const struct dns_src *src, const struct dns_rule *r,
			 const struct dns_query *q, const uint8_t *pkt, const struct dns_note *note)
{
	const struct dns_conf *d = dns_wconf(dw);
	struct in_addr v4[DNS_MAX_ADDRS];
	struct in6_addr v6[DNS_MAX_ADDRS];
	struct dns_addr_list al = {0};
	uint32_t ttl = r->ttl >= 0 ? (uint32_t)r->ttl : d->block_ttl;
	int n = -1, c4, c6;

	switch (r->atype) {
	case DNS_A_BLOCK:
		ctr_inc(&dw->w->ctr, CTR_DNS_BLOCKED);
		if (dw->stats)
			topk_add(dw->stats->top[STATS_BLOCKED], q->name, q->name_len);
		if (r->block == DNS_BLOCK_DROP)
			break;
		if (r->block == DNS_BLOCK_ZERO)
			n = dns_build_block_zero(q, pkt, d->block_ttl, dw->out, sizeof(dw->out));
		else if (r->block == DNS_BLOCK_NXDOMAIN)
			n = dns_build_nxdomain(q, pkt, d->block_ttl, dw->out, sizeof(dw->out));
		else
			n = dns_build_error(q, pkt, DNS_RCODE_REFUSED, dw->out, sizeof(dw->out));
		break;
	case DNS_A_ADDRESS:
		ctr_inc(&dw->w->ctr, CTR_DNS_LOCAL_ANSWERS);
		al = (struct dns_addr_list){r->addrs.v4, r->addrs.n4, r->addrs.v6,
					    r->no_aaaa ? 0 : r->addrs.n6};
		n = dns_build_address(q, pkt, &al, ttl, dw->out, sizeof(dw->out));
		break;
	case DNS_A_HOSTS:
		ctr_inc(&dw->w->ctr, CTR_DNS_LOCAL_ANSWERS);
		c4 = list_hosts_lookup(d->hosts, q->name, q->name_len, AF_INET, v4, DNS_MAX_ADDRS);
		c6 = list_hosts_lookup(d->hosts, q->name, q->name_len, AF_INET6, v6, DNS_MAX_ADDRS);
		al = (struct dns_addr_list){v4, (size_t)SL_MAX(0, SL_MIN(c4, DNS_MAX_ADDRS)), v6,
					    r->no_aaaa ? 0 : (size_t)SL_MAX(0, SL_MIN(c6, DNS_MAX_ADDRS))};
		n = dns_build_address(q, pkt, &al, ttl, dw->out, sizeof(dw->out));
		break;
	default:
		return;
	}
	if (n > 0 && (dw->out[2] & (DNS_F_TC >> 8)))
		ctr_inc(&dw->w->ctr, CTR_DNS_TRUNCATED);
	answer_nftset(dw, r, n);
	dns_deliver(dw, src, n);
	dns_note_done(dw, src, note, q, n, DNS_NOTE_NOCACHE, NULL);
}

/* Local zones are answered before the rules: they are the operator's own
 * names (printer.lan), so no rule (`all forward ...`, a block list that
 * happens to match) can send them upstream or block them, and their order
 * among the dns-rule lines does not matter. False when q is in no zone. */
static bool answer_zone(struct dns_worker *dw, const struct dns_src *src,
			const struct dns_query *q, const uint8_t *pkt, struct dns_note *note)
{
	const struct dns_conf *d = dns_wconf(dw);
	const struct dns_zone *z = d->n_zones ? dns_zone_find(d->zones, d->n_zones, q) : NULL;
	size_t i = 0;
	int n;

	if (!z)
		return false;
	while (d->zones[i] != z)
		i++;
	ctr_inc(&dw->w->ctr, CTR_DNS_LOCAL_ZONE_ANSWERS);
	dns_note_rule(note, d->zone_at[i].file, d->zone_at[i].line, "local-zone");
	n = dns_zone_answer(z, q, pkt, dw->out, sizeof(dw->out));
	if (n > 0 && (dw->out[2] & (DNS_F_TC >> 8)))
		ctr_inc(&dw->w->ctr, CTR_DNS_TRUNCATED);
	dns_deliver(dw, src, n);
	dns_note_done(dw, src, note, q, n, DNS_NOTE_NOCACHE, NULL);
	return true;
}

/* no-aaaa: an AAAA query gets NODATA at once (the name exists, without IPv6). */
static void no_aaaa(struct dns_worker *dw, const struct dns_src *src, const struct dns_query *q,
		    const uint8_t *pkt, const struct dns_note *note)
{
	static const struct dns_addr_list none;
	int n = dns_build_address(q, pkt, &none, dns_wconf(dw)->block_ttl, dw->out,
				  sizeof(dw->out));

	ctr_inc(&dw->w->ctr, CTR_DNS_NO_AAAA);
	dns_deliver(dw, src, n);
	dns_note_done(dw, src, note, q, n, DNS_NOTE_NOCACHE, NULL);
}

/* A query from one of sluice's own upstream sockets came back in: the mark
 * or the route that should keep it out is missing. Refuse, say so once. */
static bool looped(struct dns_worker *dw, const struct dns_src *src)
{
	struct worker *w = dw->w;

	if (!w->eng || !ownsock_has(w->eng->own, &src->client,
				    src->via == DNS_VIA_TCP ? IPPROTO_TCP : IPPROTO_UDP))
		return false;
	ctr_inc(&w->ctr, CTR_DNS_LOOP_REFUSED);
	if (!atomic_exchange(&w->eng->loop_reported, true)) {
		log_err("dns: a query from sluice's own upstream socket was intercepted again "
			"(a routing loop); refusing it. Fix: load the ruleset from `sluice rules` "
			"(it returns early for `mark 0x%x`) and make sure nothing rewrites that mark",
			w->cfg->mark);
	}
	return true;
}

/* dns-rate-limit: may this client's query go on? */
static bool rate_ok(struct dns_worker *dw, const struct dns_src *src)
{
	struct dns_shared *sh = dw->sh;
	bool ok;

	pthread_mutex_lock(&sh->rl_lock);
	ok = !sh->rl || ratelimit_allow(sh->rl, &src->client.u.sa, sl_now_ms());
	pthread_mutex_unlock(&sh->rl_lock);
	return ok;
}

/* (Re)make the limiter when the config's rates differ from its own. */
static void rate_apply(struct dns_shared *sh, const struct dns_conf *d)
{
	struct ratelimit *rl = NULL;

	if (d->rate == sh->rate && d->burst == sh->burst)
		return;
	if (d->rate && !(rl = ratelimit_new(d->rate, d->burst, 16384, true)))
		return; /* out of memory: the old limits stay */
	pthread_mutex_lock(&sh->rl_lock);
	ratelimit_free(sh->rl);
	sh->rl = rl;
	sh->rate = d->rate;
	sh->burst = d->burst;
	pthread_mutex_unlock(&sh->rl_lock);
}

/* The top names and clients (when something reads them). */
static void count_query(struct dns_worker *dw, const struct dns_src *src,
			const struct dns_query *q)
{
	uint8_t key[17];

	if (!dw->stats)
		return;
	topk_add(dw->stats->top[STATS_NAMES], q->name, q->name_len);
	topk_add(dw->stats->top[STATS_CLIENTS], key, stats_client_key(&src->client, key));
}

/* The deciding rule and the action it takes, for the query log. */
static void note_rule(struct dns_note *n, const struct dns_rule *r, uint16_t qtype)
{
	static const char *const actions[] = {
		[DNS_A_FORWARD] = "forward", [DNS_A_PASSTHROUGH] = "passthrough",
		[DNS_A_BLOCK] = "block",     [DNS_A_ADDRESS] = "address",
		[DNS_A_HOSTS] = "hosts",
	};
	const char *a = "forward";

	if (r && (size_t)r->atype < SL_ARRAY_LEN(actions) && actions[r->atype])
		a = actions[r->atype];
	if (r && r->no_aaaa && qtype == DNS_TYPE_AAAA &&
	    (r->atype == DNS_A_FORWARD || r->atype == DNS_A_PASSTHROUGH))
		a = "no-aaaa";
	dns_note_rule(n, r ? r->file : NULL, r ? r->line : 0, a);
}

void dns_query_in(struct dns_worker *dw, const struct dns_src *src, const uint8_t *pkt,
		  size_t len)
{
	const struct dns_conf *d = dns_wconf(dw);
	struct ctr *ctr = &dw->w->ctr;
	const struct dns_rule *r;
	struct dns_note note;
	struct dns_query q;
	int rc;

	if (!cfg_client_allowed(dw->w->cfg, &src->client)) {
		ctr_inc(ctr, CTR_RX_DENIED);
		return;
	}
	ctr_inc(ctr, CTR_DNS_QUERIES);
	rc = dns_query_parse(pkt, len, &q);
	dns_src_limit(dw, src, &q);
	if (d->rate && !rate_ok(dw, src)) {
		ctr_inc(ctr, CTR_DNS_RATE_LIMITED);
		if (src->via == DNS_VIA_TCP && rc == 0) /* a TCP client waits for each answer */
			send_error(dw, src, &q, pkt, DNS_RCODE_REFUSED);
		return;
	}
	if (rc < 0) {
		int rcode = dns_error_rcode(rc);

		ctr_inc(ctr, rcode < 0 ? CTR_DNS_DROPPED : CTR_DNS_FORMERR);
		if (rcode >= 0)
			send_error(dw, src, &q, pkt, rcode);
		return;
	}
	dns_note_start(dw, &note);
	count_query(dw, src, &q);
	if (looped(dw, src)) {
		send_error(dw, src, &q, pkt, DNS_RCODE_REFUSED);
		dns_note_rule(&note, NULL, 0, "loop");
		dns_note_done(dw, src, &note, &q, 4, DNS_NOTE_NOCACHE, NULL);
		return;
	}
	if (answer_zone(dw, src, &q, pkt, &note))
		return;
	/* Rules see the presentation name, escapes and all: a name of binary
	 * labels is matched on its canonical form like any other. */
	_Static_assert(DNS_NAME_PRES_MAX - 1 <= MATCH_LOOKUP_MAX, "a query name fits a lookup");
	r = dns_rules_eval(d, d->rules, d->n_rules, q.name, q.name_len, q.qtype, &src->client, NULL);
	note_rule(&note, r, q.qtype);
	if (r && r->atype != DNS_A_FORWARD && r->atype != DNS_A_PASSTHROUGH)
		answer_local(dw, src, r, &q, pkt, &note);
	else if (r && r->no_aaaa && q.qtype == DNS_TYPE_AAAA)
		no_aaaa(dw, src, &q, pkt, &note);
	else
		forward(dw, src, r, &q, pkt, len, &note);
}

/* ---- intercepted UDP: straight from the listener, no session ---- */

static void dns_datagram(struct worker *w, const struct addr *client, const struct addr *origdst,
			 const uint8_t *data, size_t len)
{
	struct dns_src src = {.via = DNS_VIA_TPROXY, .client = *client, .local = *origdst, .fd = -1};

	dns_query_in(w->svc_state[SVC_DNS], &src, data, len);
}

/* ---- dns-listen UDP sockets ---- */

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_lsock *ls = arg;
	struct dns_worker *dw = ls->dw;
	struct worker *w = dw->w;
	struct dns_src src = {.via = DNS_VIA_SOCK, .local = ls->local, .fd = fd, .to_gateway = true};

	for (int round = 0; round < 8; round++) {
		int n = listen_recv_batch(w, fd);

		for (int i = 0; i < n; i++) {
			struct msghdr *m = &w->msgs[i].msg_hdr;

			ctr_inc(&w->ctr, CTR_RX_DGRAMS);
			if (m->msg_flags & MSG_TRUNC ||
			    addr_from_sa(&src.client, m->msg_name, m->msg_namelen) < 0) {
				ctr_inc(&w->ctr, CTR_RX_TRUNCATED);
				continue;
			}
			addr_unmap(&src.client);
			dns_query_in(dw, &src, m->msg_iov->iov_base, w->msgs[i].msg_len);
		}
		if ((unsigned)n < w->batch)
			return;
	}
}

/* ---- service hooks ---- */

static size_t dns_sockets(const struct cfg *c, struct svc_sock *out, size_t max)
{
	const struct dns_conf *d = dns_conf_get(c);
	size_t n = 0;

	/* Intercepted TCP: one transparent listener per listen address. */
	for (size_t i = 0; c->n_tcp_intercept && i < c->n_listen && n < max; i++)
		out[n++] = (struct svc_sock){.addr = c->listen[i], .type = SOCK_STREAM,
					     .transparent = true, .svc = SVC_DNS, .fd = -1};
	for (size_t i = 0; d && i < d->n_listen && n + 2 <= max; i++) {
		struct addr a = d->listen[i];

		/* A link-local address's interface, now (0 if it is not there: the
		 * bind then fails and says so). */
		if (d->listen_if[i][0])
			a.u.in6.sin6_scope_id = if_nametoindex(d->listen_if[i]);
		out[n++] = (struct svc_sock){.addr = a, .type = SOCK_DGRAM, .svc = SVC_DNS, .fd = -1};
		out[n++] = (struct svc_sock){.addr = a, .type = SOCK_STREAM, .svc = SVC_DNS, .fd = -1};
	}
	return n;
}

static void cache_apply(struct dns_shared *sh, const struct dns_conf *d)
{
	struct dns_cache *c = sh->cache;

	if (d->cache_size != sh->cache_size) {
		dns_cache_set_capacity(c, d->cache_size);
		if (!d->cache_size)
			dns_cache_clear(c);
		log_info("dns: cache-size %u (was %u)", d->cache_size, sh->cache_size);
		sh->cache_size = d->cache_size;
	}
	dns_cache_set_ttl(c, d->min_ttl, d->max_ttl);
	dns_cache_set_stale(c, d->serve_stale ? 86400 : 0);
	dns_cache_set_prefetch(c, d->prefetch);
}

/* cache-file at start: the limits applied first (max-ttl and the
 * serve-stale window decide what comes back). Never fatal. */
static void cache_file_load(struct dns_shared *sh, const struct dns_conf *d)
{
	struct dns_cachefile_stats st;
	int rc;

	cache_apply(sh, d);
	rc = dns_cachefile_load(sh->cache, d->cache_file, &st);
	if (rc == -ENOENT)
		log_info("cache-file %s: not there yet; starting with an empty cache", d->cache_file);
	else if (rc == -EBADMSG)
		log_warn("cache-file %s: damaged or not a sluice cache file (version %d); ignored",
			 d->cache_file, DNS_CACHEFILE_VERSION);
	else if (rc < 0)
		log_warn("cache-file %s: cannot read: %s; ignored", d->cache_file, strerror(-rc));
	else
		log_notice("cache-file %s: %zu answers restored, %zu expired, %zu refused",
			   d->cache_file, st.restored, st.expired, st.refused);
}

/* cache-file at exit. The engine calls proc_fini once every worker thread
 * has been joined, so nothing writes the cache while it is saved. */
static void cache_file_save(struct dns_cache *c, const char *path)
{
	struct dns_cachefile_stats st = {0};
	size_t n = 0;
	int rc = dns_cachefile_save(c, path, &n, &st);

	if (rc < 0)
		log_err("cache-file %s: cannot save the DNS cache: %s", path, strerror(-rc));
	else
		log_notice("cache-file %s: %zu answers saved%s", path, n,
			   st.skipped ? " (the rest left out: the file is at its size limit)" : "");
}

static int dns_proc_init(struct engine *e)
{
	const struct dns_conf *d = dns_conf_get(e->cfg);
	struct dns_shared *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return -ENOMEM;
	e->svc_shared[SVC_DNS] = sh;
	/* Made even with cache-size 0, so a reload can turn it on. */
	if (!(sh->cache = dns_cache_new(SL_MAX(d->cache_size, 16u), 16)))
		return -ENOMEM;
	dns_cache_set_capacity(sh->cache, d->cache_size);
	sh->cache_size = d->cache_size;
	if (d->cache_file && d->cache_size)
		cache_file_load(sh, d);
	else if (d->cache_file)
		log_warn("cache-file %s: not used: cache-size is 0", d->cache_file);
	sh->clients = e->clients; /* the engine's: sessions and DNS counted alike */
	pthread_mutex_init(&sh->rl_lock, NULL);
	rate_apply(sh, d);
	sh->budget.max = e->limits.dns_fds;
	return 0;
}

static void dns_proc_fini(struct engine *e)
{
	struct dns_shared *sh = e->svc_shared[SVC_DNS];
	const struct dns_conf *d;

	if (!sh)
		return;
	d = e->cfg ? dns_conf_get(e->cfg) : NULL;
	if (sh->cache && d && d->cache_file && d->cache_size)
		cache_file_save(sh->cache, d->cache_file);
	dns_cache_free(sh->cache);
	ratelimit_free(sh->rl);
	pthread_mutex_destroy(&sh->rl_lock);
	free(sh);
	e->svc_shared[SVC_DNS] = NULL;
}

static int open_socks(struct dns_worker *dw)
{
	struct worker *w = dw->w;
	struct dns_lsock *ls;

	for (size_t i = 0; i < w->n_socks; i++) {
		struct svc_sock *s = &w->socks[i];

		if (s->svc != SVC_DNS)
			continue;
		if (s->type == SOCK_STREAM) {
			if (dns_tcp_listen(dw->tcp, s->fd, s->transparent) < 0)
				return -ENOMEM;
			continue;
		}
		if (dw->n_lsock == SL_ARRAY_LEN(dw->lsock))
			return -ENOSPC;
		ls = &dw->lsock[dw->n_lsock++];
		ls->dw = dw;
		ls->local = s->addr;
		ls->ev = event_new(w->base, s->fd, EV_READ | EV_PERSIST, sock_cb, ls);
		if (!ls->ev || event_add(ls->ev, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int dns_worker_init(struct worker *w)
{
	struct dns_worker *dw = calloc(1, sizeof(*dw));
	struct dns_up_env env;

	if (!dw)
		return -ENOMEM;
	w->svc_state[SVC_DNS] = dw;
	dw->w = w;
	dw->sh = w->eng->svc_shared[SVC_DNS];
	dw->cache_rd = dns_cache_reader(dw->sh->cache); /* -1: its hits take the lock */
	rng_init(&dw->rng);
	if (w->id == 0)
		cache_apply(dw->sh, dns_wconf(dw));
	env = (struct dns_up_env){.base = w->base, .ctr = &w->ctr, .own = w->eng->own,
				  .rng = &dw->rng, .budget = &dw->sh->budget, .once = &dw->sh->once,
				  .mark = w->cfg->mark};
	dw->up = dns_up_new(&env);
	dw->pend = dns_pend_new(dw);
	dw->tcp = dns_tcp_new(dw);
	dw->qlog = qlog_new(w->base, &w->eng->qlog_gen, &w->ctr);
	if (!dw->up || !dw->pend || !dw->tcp || !dw->qlog || dns_nftset_init(dw) < 0)
		return -ENOMEM;
	qlog_set(dw->qlog, dns_wconf(dw)->query_log); /* a failure is logged, lines dropped */
	dw->stats = cfg_wants_stats(w->cfg) ? w->stats : NULL;
	return open_socks(dw);
}

static void dns_worker_fini(struct worker *w)
{
	struct dns_worker *dw = w->svc_state[SVC_DNS];

	if (!dw)
		return;
	for (size_t i = 0; i < dw->n_lsock; i++)
		if (dw->lsock[i].ev)
			event_free(dw->lsock[i].ev);
	/* Connections first: their queries are cancelled with the table. */
	dns_tcp_free(dw->tcp);
	dns_pend_free(dw->pend);
	dns_up_free(dw->up);
	qlog_free(dw->qlog);
	dns_nftset_fini(dw);
	rng_fini(&dw->rng);
	dns_cache_reader_put(dw->sh->cache, dw->cache_rd);
	free(dw);
	w->svc_state[SVC_DNS] = NULL;
}

/* Groups are looked up in the running config on every query and waiting
 * queries hold copies of their servers, so a reload swaps nothing here but
 * the cache's limits and the nftsets the rules name. */
static void dns_reconfigure(struct worker *w, const struct cfg *old)
{
	struct dns_worker *dw = w->svc_state[SVC_DNS];

	if (w->id == 0)
		cache_apply(dw->sh, dns_wconf(dw));
	if (w->id == 0)
		rate_apply(dw->sh, dns_wconf(dw));
	qlog_set(dw->qlog, dns_wconf(dw)->query_log);
	dw->stats = cfg_wants_stats(w->cfg) ? w->stats : NULL;
	dns_nftset_reconfigure(dw);
}

const struct svc svc_dns = {
	.id = SVC_DNS,
	.connected_reply = false,
	.proc_init = dns_proc_init,
	.proc_fini = dns_proc_fini,
	.sockets = dns_sockets,
	.metrics = dns_metrics,
	.ctl = dns_ctl,
	.worker_init = dns_worker_init,
	.worker_fini = dns_worker_fini,
	.reconfigure = dns_reconfigure,
	.datagram = dns_datagram,
};
