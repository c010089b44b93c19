/* dns_pend.c - queries waiting for an upstream answer, one worker's. A
 * query the cache cannot answer becomes a waiter; identical ones (same
 * name, type, class, DO and CD bits, same destination) wait on one
 * upstream query, so a flood of one name costs one upstream query and an
 * off-path spoofer gets one chance, not many. Each waiter counts against
 * its client's in-flight cap (process-wide, see clients.h). When the
 * answer comes, it is cached and every waiter gets its own copy (its ID,
 * question case, EDNS and size limit). Before that, two checks of the
 * answer: accept-ip (the first group's answer is used only when its first
 * address is in the rule's ip-list; else the same record asks the else
 * group, and new identical queries keep joining it) and bogus-nxdomain
 * (an answer with a listed address becomes NXDOMAIN). Owns the records and
 * their waiters; holds no config pointers (a reload may free the config
 * meanwhile): the ip-list and else group are kept by name and looked up in
 * the running config when the answer comes. */
#include "config.h"
#include "dns_int.h"
#include "clients.h"
#include "dns_cache.h"
#include "dns_iplist.h"
#include "dns_rule.h"
#include "dns_svcb.h"
#include "stats.h"
#include "worker.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* kind, name, type, class, bits, opts, group (or server), nftsets, accept-ip names */
#define KEY_MAX                                                                                    \
	(1 + DNS_NAME_WIRE_MAX + 6 + 1 + 255 + 1 + 4 * NFTSET_MAX_PER_RULE + 1 +                   \
	 2 * (1 + DNS_IPLIST_NAME_MAX))
/* accept-ip's ip-list and else group, each NUL-terminated */
#define ACCEPT_MAX (2 * (DNS_IPLIST_NAME_MAX + 1))
/* Records and waiters of queries up to SPARE_PKT bytes (every usual one) are
 * kept for reuse, SPARE_MAX of each: a miss then costs no malloc. */
#define SPARE_PKT 512
#define SPARE_MAX 64

struct dns_waiter {
	struct dns_waiter *next;
	struct dns_src src;
	struct dns_note note;
	uint32_t limit;
	size_t len;
	uint8_t pkt[];
};

/* One upstream query of a record: the whole group (order, fastest), or one
 * server each (parallel). */
struct dns_sub {
	struct dns_pend *p;
	struct dns_up_q *uq;
};

struct dns_pend {
	struct dns_pend *hnext;	      /* hash chain (merge candidates only) */
	struct dns_pend *prev, *next; /* every record */
	struct dns_pend_tab *t;
	struct dns_sub sub[DNS_UP_MAX_SERVERS];
	uint8_t nsub, live; /* upstream queries made, still out */
	struct addr first;  /* fastest: the server put first, */
	uint8_t first_proto; /* penalised when another answers */
	uint64_t hash;
	bool cache_ok, hashed;
	uint8_t opts; /* DNS_DEST_*: rewrites of the answer */
	uint8_t n_nft; /* nftsets the answer's addresses go into (refs, no config pointers) */
	uint32_t nft[NFTSET_MAX_PER_RULE];
	struct dns_waiter *waiters, **tail;
	struct dns_query q; /* the first client's query, rebuilt for each attempt */
	uint16_t klen;
	uint16_t alen; /* accept-ip names still to apply (0: none, or done) */
	size_t len;
	uint8_t data[]; /* pkt (len bytes), the key (klen), accept-ip names (alen) */
};

/* A server's answer time, for policy=fastest (exponentially weighted). */
struct dns_rtt {
	struct addr addr;
	uint8_t proto;
	unsigned ms;
	uint64_t used_ms;
};

#define DNS_RTT_SLOTS 64
#define DNS_RTT_EXPLORE 16 /* one query in this many tries another server first */

struct dns_pend_tab {
	struct dns_worker *dw;
	struct dns_rtt rtt[DNS_RTT_SLOTS];
	struct dns_pend **b;
	size_t mask, hashed, count;
	struct dns_pend *all;
	struct dns_pend *spare_p; /* chained by next */
	struct dns_waiter *spare_w;
	unsigned nspare_p, nspare_w;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

struct dns_pend_tab *dns_pend_new(struct dns_worker *dw)
{
	struct dns_pend_tab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->dw = dw;
	t->mask = 255;
	t->b = calloc(t->mask + 1, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	rng_bytes(&dw->rng, t->hkey, sizeof(t->hkey));
	return t;
}

size_t dns_pend_count(const struct dns_pend_tab *t)
{
	return t->count;
}

static unsigned client_cap(const struct dns_worker *dw)
{
	unsigned cap = dns_wconf(dw)->inflight_per_client;
	size_t fair = dw->sh->budget.max / 4; /* four clients can always be served */

	if (dw->sh->budget.max && fair < cap)
		cap = (unsigned)SL_MAX(fair, 8);
	return cap;
}

/* A waiter for src; NULL when its client is at its cap or memory is short. */
static struct dns_waiter *waiter_new(struct dns_worker *dw, const struct dns_src *src,
				     const struct dns_query *q, const uint8_t *pkt, size_t len,
				     const struct dns_note *note)
{
	struct dns_waiter *w;

	if (!clients_take(dw->sh->clients, &src->client, CLIENTS_DNS_INFLIGHT, client_cap(dw))) {
		ctr_inc(&dw->w->ctr, CTR_DNS_CLIENT_LIMITED);
		return NULL;
	}
	if (len <= SPARE_PKT && (w = dw->pend->spare_w)) {
		dw->pend->spare_w = w->next;
		dw->pend->nspare_w--;
	} else {
		w = malloc(sizeof(*w) + SL_MAX(len, (size_t)SPARE_PKT));
	}
	if (!w) {
		clients_put(dw->sh->clients, &src->client, CLIENTS_DNS_INFLIGHT);
		return NULL;
	}
	w->next = NULL;
	w->src = *src;
	w->note = *note;
	w->limit = q->limit;
	w->len = len;
	memcpy(w->pkt, pkt, len);
	if (src->via == DNS_VIA_TCP)
		dns_tconn_ref(src->conn);
	return w;
}

static void waiter_free(struct dns_worker *dw, struct dns_waiter *w)
{
	clients_put(dw->sh->clients, &w->src.client, CLIENTS_DNS_INFLIGHT);
	if (w->src.via == DNS_VIA_TCP)
		dns_tconn_unref(w->src.conn);
	if (w->len <= SPARE_PKT && dw->pend->nspare_w < SPARE_MAX) {
		w->next = dw->pend->spare_w;
		dw->pend->spare_w = w;
		dw->pend->nspare_w++;
		return;
	}
	free(w);
}

/* A record is spare-sized when its packet and key fit these bytes. */
#define SPARE_DATA (SPARE_PKT + KEY_MAX + ACCEPT_MAX)

static void pend_put(struct dns_pend_tab *t, struct dns_pend *p)
{
	if (p->len + p->klen + p->alen <= SPARE_DATA && t->nspare_p < SPARE_MAX) {
		p->next = t->spare_p;
		t->spare_p = p;
		t->nspare_p++;
		return;
	}
	free(p);
}

/* The waiter's answer: a's copy for its query (from server by), or
 * SERVFAIL without a. */
static void waiter_answer(struct dns_worker *dw, struct dns_waiter *w,
			  const struct dns_answer_src *a, const struct dns_up_server *by,
			  enum dns_note_cache cache)
{
	const struct dns_conf *d = dns_wconf(dw);
	struct dns_query q;
	int n;

	if (dns_query_parse(w->pkt, w->len, &q) < 0)
		return;
	q.limit = w->limit;
	if (a) {
		n = dns_build_answer(a, &q, w->pkt, 0, d->min_ttl, d->max_ttl, dw->out,
				     sizeof(dw->out));
	} else {
		ctr_inc(&dw->w->ctr, CTR_DNS_SERVFAIL);
		n = dns_build_error(&q, w->pkt, DNS_RCODE_SERVFAIL, dw->out, sizeof(dw->out));
	}
	if (a && n > 0 && (dw->out[2] & (DNS_F_TC >> 8)))
		ctr_inc(&dw->w->ctr, CTR_DNS_TRUNCATED);
	dns_deliver(dw, &w->src, n);
	dns_note_done(dw, &w->src, &w->note, &q, n, cache, a ? by : NULL);
}

static uint64_t key_hash(const struct dns_pend_tab *t, const uint8_t *k, size_t len)
{
	uint64_t h;

	crypto_shorthash((uint8_t *)&h, k, len, t->hkey);
	return h;
}

static size_t key_make(const struct dns_query *q, const struct dns_dest *dest, uint8_t *k)
{
	size_t n = 0;

	k[n++] = dest->group ? 1 : 2;
	memcpy(k + n, q->lname, q->lname_len);
	n += q->lname_len;
	k[n++] = (uint8_t)(q->qtype >> 8);
	k[n++] = (uint8_t)q->qtype;
	k[n++] = (uint8_t)(q->qclass >> 8);
	k[n++] = (uint8_t)q->qclass;
	k[n++] = (uint8_t)((q->do_bit ? 1 : 0) | (q->flags & DNS_F_CD ? 2 : 0));
	k[n++] = dest->opts; /* answers rewritten differently are different answers */
	k[n++] = dest->n_nft; /* and ones that fill other nftsets */
	memcpy(k + n, dest->nft, 4u * dest->n_nft);
	n += 4u * dest->n_nft;
	if (dest->group) {
		size_t gl = strnlen(dest->group, 255);

		k[n++] = (uint8_t)gl;
		memcpy(k + n, dest->group, gl);
		n += gl;
	} else {
		n += addr_key(&dest->servers[0].addr, true, k + n);
	}
	/* the same name asked of the same group with and without accept-ip (a
	 * reload between them) are different questions */
	k[n++] = dest->accept ? 1 : 0;
	for (int i = 0; dest->accept && i < 2; i++) {
		const char *s = i ? dest->accept_else : dest->accept;
		size_t sl = strnlen(s, DNS_IPLIST_NAME_MAX);

		k[n++] = (uint8_t)sl;
		memcpy(k + n, s, sl);
		n += sl;
	}
	return n;
}

static struct dns_pend *find(struct dns_pend_tab *t, uint64_t h, const uint8_t *k, size_t kl)
{
	for (struct dns_pend *p = t->b[h & t->mask]; p; p = p->hnext)
		if (p->hash == h && p->klen == kl && memcmp(p->data + p->len, k, kl) == 0)
			return p;
	return NULL;
}

static void grow(struct dns_pend_tab *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct dns_pend **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i <= t->mask; i++)
		while (t->b[i]) {
			struct dns_pend *p = t->b[i];

			t->b[i] = p->hnext;
			p->hnext = b[p->hash & (nb - 1)];
			b[p->hash & (nb - 1)] = p;
		}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

static void unlink_pend(struct dns_pend *p)
{
	struct dns_pend_tab *t = p->t;

	if (p->hashed) {
		struct dns_pend **pp = &t->b[p->hash & t->mask];

		while (*pp != p)
			pp = &(*pp)->hnext;
		*pp = p->hnext;
		p->hashed = false;
		t->hashed--;
	}
	if (p->prev)
		p->prev->next = p->next;
	else
		t->all = p->next;
	if (p->next)
		p->next->prev = p->prev;
	t->count--;
}

/* The rule's rewrites of the answer in dw->ans (no-ech, no-aaaa); true
 * when ai now describes dw->ans as it is after them. */
static bool rewrite(struct dns_worker *dw, size_t *len, struct dns_answer_info *ai, uint8_t opts)
{
	size_t n;

	if (ai->qtype != DNS_TYPE_HTTPS && ai->qtype != DNS_TYPE_SVCB)
		return false;
	n = dns_svcb_strip(dw->ans, *len, sizeof(dw->ans), opts & DNS_DEST_NO_ECH,
			   opts & DNS_DEST_NO_IPV6HINT);
	if (n != *len)
		ctr_inc(&dw->w->ctr, CTR_DNS_SVCB_REWRITTEN);
	*len = n;
	return dns_answer_inspect(dw->ans, n, ai) == 0;
}

/* ---- server answer times (policy=fastest) ---- */

static struct dns_rtt *rtt_find(struct dns_pend_tab *t, const struct addr *a, uint8_t proto,
				bool make)
{
	struct dns_rtt *oldest = &t->rtt[0];

	for (size_t i = 0; i < DNS_RTT_SLOTS; i++) {
		struct dns_rtt *r = &t->rtt[i];

		if (r->used_ms && r->proto == proto && addr_equal(&r->addr, a))
			return r;
		if (r->used_ms < oldest->used_ms)
			oldest = r;
	}
	if (!make)
		return NULL;
	*oldest = (struct dns_rtt){.addr = *a, .proto = proto, .ms = 0, .used_ms = sl_now_ms()};
	return oldest;
}

static void rtt_note(struct dns_pend_tab *t, const struct addr *a, uint8_t proto, unsigned ms)
{
	struct dns_rtt *r = rtt_find(t, a, proto, true);

	/* the first sample counts whole, then 1/4 of each new one */
	r->ms = r->ms ? (r->ms * 3 + ms) / 4 : (ms ? ms : 1);
	r->used_ms = sl_now_ms();
}

static unsigned rtt_of(struct dns_pend_tab *t, const struct dns_up_server *sv)
{
	struct dns_rtt *r = rtt_find(t, &sv->addr, sv->proto, false);

	return r ? r->ms : 0; /* unknown: tried soon, so it gets measured */
}

/* servers[0..n) fastest first into out; now and then another one first. */
static void order_fastest(struct dns_pend_tab *t, const struct dns_up_server *servers, size_t n,
			  struct dns_up_server *out)
{
	memcpy(out, servers, n * sizeof(*out));
	for (size_t i = 1; i < n; i++) /* insertion sort: groups are short */
		for (size_t j = i; j > 0 && rtt_of(t, &out[j]) < rtt_of(t, &out[j - 1]); j--) {
			struct dns_up_server tmp = out[j];

			out[j] = out[j - 1];
			out[j - 1] = tmp;
		}
	if (n > 1 && rng_u16(&t->dw->rng) % DNS_RTT_EXPLORE == 0) {
		size_t k = 1 + rng_u16(&t->dw->rng) % (n - 1);
		struct dns_up_server tmp = out[0];

		out[0] = out[k];
		out[k] = tmp;
	}
}

/* ---- answers ---- */

static int send_subs(struct dns_pend_tab *t, struct dns_pend *p, const struct dns_dest *dest,
		     const struct dns_up_opts *opts);

/* accept-ip LIST else GROUP, on the first group's answer: used when its
 * first A/AAAA address is in LIST (or it has none). Otherwise, and when
 * that group failed, p asks GROUP once (with GROUP's policy and ECS) and
 * waits on, keeping its waiters and its place in the merge table; GROUP's
 * answer is then used as it is. A list gone in a reload trusts nothing; a
 * group gone fails the query (the answer was not trusted, so it is not
 * served). 1: asked GROUP; 0: use this answer; <0: fail. */
static int accept_ip(struct dns_pend *p, int status, const uint8_t *ans, size_t len,
		     const struct dns_answer_info *ai)
{
	struct dns_worker *dw = p->t->dw;
	const struct dns_conf *d = dns_wconf(dw);
	const char *list = (const char *)p->data + p->len + p->klen;
	const struct dns_iplist *l = dns_iplist_find(d, list);
	const struct dns_group *g = dns_group_find(d, list + strlen(list) + 1);
	struct dns_up_server exp[DNS_UP_MAX_SERVERS];
	struct dns_up_opts opts;
	struct dns_dest dest;

	p->alen = 0; /* one second opinion, never more */
	if (status == 0 && l && dns_iplist_trusted(l, ans, len)) {
		ctr_inc(&dw->w->ctr, CTR_DNS_ACCEPT_IP_ACCEPTED);
		return 0;
	}
	if (status == 0)
		ctr_inc(&dw->w->ctr, CTR_DNS_UPSTREAM_ANSWERS); /* an answer all the same */
	ctr_inc(&dw->w->ctr, status == 0 ? CTR_DNS_ACCEPT_IP_REJECTED : CTR_DNS_ACCEPT_IP_FALLBACK);
	if (!g)
		return -ENOENT;
	ctr_inc(&dw->w->ctr, CTR_DNS_FORWARDED);
	for (struct dns_waiter *w = p->waiters; w; w = w->next) /* the query log names it */
		dns_note_group(&w->note, g->name);
	dns_group_dest(dw, g, exp, &dest);
	opts = (struct dns_up_opts){.timeout_ms = d->timeout_ms, .x20 = d->x20,
				    .ecs = dest.ecs_len ? dest.ecs : NULL, .ecs_len = dest.ecs_len,
				    .ecs_strip = dest.ecs_strip};
	/* the first group's queries are all done or cancelled (sub_cb) */
	p->nsub = p->live = 0;
	memset(&p->first, 0, sizeof(p->first));
	return send_subs(p->t, p, &dest, &opts) < 0 ? -EIO : 1;
}

/* bogus-nxdomain: dw->ans becomes NXDOMAIN with an SOA (TTL block-ttl)
 * for p's question, as if the upstream had said so, so the cache and every
 * waiter take it the usual way. Its length, 0 if it could not be built. */
static size_t bogus_nxdomain(struct dns_worker *dw, const struct dns_pend *p,
			     struct dns_answer_info *ai)
{
	struct dns_query q = p->q;
	int n;

	q.edns = false; /* each waiter gets its own OPT */
	q.limit = sizeof(dw->ans);
	n = dns_build_nxdomain(&q, p->data, dns_wconf(dw)->block_ttl, dw->ans, sizeof(dw->ans));
	if (n <= 0 || dns_answer_inspect(dw->ans, (size_t)n, ai) < 0)
		return 0;
	ctr_inc(&dw->w->ctr, CTR_DNS_BOGUS_NXDOMAIN);
	return (size_t)n;
}

/* The record's answer (status 0) or failure reaches every waiter; p is freed. */
static void pend_done(struct dns_pend *p, int status, const uint8_t *ans, size_t len,
		      const struct dns_answer_info *ai, const struct dns_up_server *by)
{
	struct dns_worker *dw = p->t->dw;
	struct dns_answer_info a2;
	struct dns_answer_src src;
	struct dns_waiter *w;

	unlink_pend(p);
	if (status == 0)
		ctr_inc(&dw->w->ctr, CTR_DNS_UPSTREAM_ANSWERS);
	if (status == 0 && dns_iplist_bogus(dns_wconf(dw), ans, len, ai)) {
		len = bogus_nxdomain(dw, p, &a2);
		ans = dw->ans;
		ai = &a2;
		if (!len)
			status = -EIO;
	}
	if (status == 0) {
		if (ans != dw->ans)
			memcpy(dw->ans, ans, len);
		if (ai != &a2)
			a2 = *ai;
		if (p->opts && rewrite(dw, &len, &a2, p->opts))
			ai = &a2;
		if (p->cache_ok && dw->sh->cache)
			dns_cache_put(dw->sh->cache, &p->q, dw->ans, len, ai, sl_now_ms());
		/* into the sets before any waiter has the answer (dns_nftset.c) */
		dns_nftset_answer(dw, p->nft, p->n_nft, dw->ans, len, dns_wconf(dw)->min_ttl,
				  dns_wconf(dw)->max_ttl, p->waiters != NULL);
		src = (struct dns_answer_src){dw->ans, dns_answer_strip_opt(dw->ans, len, &a2),
					      a2.ttl_off, a2.n_ttl, ai->rcode | ai->ext_rcode << 4};
	}
	while ((w = p->waiters)) {
		p->waiters = w->next;
		waiter_answer(dw, w, status == 0 ? &src : NULL, by,
			      p->cache_ok ? DNS_NOTE_MISS : DNS_NOTE_NOCACHE);
		waiter_free(dw, w);
	}
	pend_put(p->t, p);
}

static void sub_cb(void *arg, int status, const uint8_t *ans, size_t len,
		   const struct dns_answer_info *ai)
{
	struct dns_sub *sb = arg;
	struct dns_pend *p = sb->p;
	struct dns_pend_tab *t = p->t;
	struct dns_up_server by;
	bool have_by = false;
	uint64_t us;
	unsigned ms;
	int rc;

	sb->uq = NULL;
	p->live--;
	if (status != 0 && p->live) /* parallel: the others may still answer */
		return;
	if (status == 0 && dns_up_answered_by(t->dw->up, &by, &us)) {
		have_by = true;
		ms = (unsigned)SL_MIN(us / 1000, (uint64_t)UINT32_MAX);
		rtt_note(t, &by.addr, by.proto, ms);
		if (t->dw->stats)
			stats_latency(t->dw->stats, &by.addr, by.proto, us);
		/* fastest: the server put first failed to answer first */
		if (addr_family(&p->first) && !addr_equal(&p->first, &by.addr)) {
			struct dns_rtt *r = rtt_find(t, &p->first, p->first_proto, true);

			r->ms = SL_MAX(r->ms * 2, ms + 1);
		}
	}
	for (unsigned i = 0; i < p->nsub; i++) /* the first good answer ends the others */
		if (p->sub[i].uq) {
			dns_up_cancel(p->sub[i].uq);
			p->sub[i].uq = NULL;
		}
	if (p->alen && (rc = accept_ip(p, status, ans, len, ai)) != 0) {
		if (rc > 0)
			return; /* the else group was asked */
		status = rc;
	}
	pend_done(p, status, ans, len, ai, have_by ? &by : NULL);
}

static struct dns_pend *pend_new(struct dns_pend_tab *t, const struct dns_query *q,
				 const uint8_t *pkt, size_t len, const uint8_t *k, size_t kl,
				 const struct dns_dest *dest)
{
	char acc[ACCEPT_MAX];
	int al = dest->accept ? snprintf(acc, sizeof(acc), "%.*s%c%.*s", DNS_IPLIST_NAME_MAX,
					 dest->accept, '\0', DNS_IPLIST_NAME_MAX, dest->accept_else)
			      : 0;
	size_t need;
	struct dns_pend *p;

	if (al < 0 || (size_t)al >= sizeof(acc))
		return NULL;
	need = len + kl + (size_t)(al ? al + 1 : 0);
	if (need <= SPARE_DATA && (p = t->spare_p)) {
		t->spare_p = p->next;
		t->nspare_p--;
		memset(p, 0, sizeof(*p));
	} else {
		p = calloc(1, sizeof(*p) + SL_MAX(need, (size_t)SPARE_DATA));
	}
	if (!p)
		return NULL;
	p->t = t;
	p->len = len;
	p->klen = (uint16_t)kl;
	p->alen = (uint16_t)(al ? al + 1 : 0);
	memcpy(p->data, pkt, len);
	memcpy(p->data + len, k, kl);
	memcpy(p->data + len + kl, acc, p->alen);
	p->q = *q;
	p->tail = &p->waiters;
	p->next = t->all;
	if (t->all)
		t->all->prev = p;
	t->all = p;
	t->count++;
	return p;
}

static void fail_now(struct dns_worker *dw, struct dns_waiter *w)
{
	waiter_answer(dw, w, NULL, NULL, DNS_NOTE_NOCACHE);
	waiter_free(dw, w);
}

/* The record's upstream queries, as the group's policy says. dns_up reads
 * p->q and p->data (the packet) until sub_cb runs. */
static int send_subs(struct dns_pend_tab *t, struct dns_pend *p, const struct dns_dest *dest,
		     const struct dns_up_opts *opts)
{
	struct dns_up_server ord[DNS_UP_MAX_SERVERS];
	bool parallel = dest->policy == DNS_POLICY_PARALLEL && dest->n > 1;
	size_t n = SL_MIN(dest->n, (size_t)DNS_UP_MAX_SERVERS);

	if (dest->policy == DNS_POLICY_FASTEST && n > 1) {
		order_fastest(t, dest->servers, n, ord);
		p->first = ord[0].addr;
		p->first_proto = ord[0].proto;
	} else {
		memcpy(ord, dest->servers, n * sizeof(*ord));
	}
	for (size_t i = 0; i < (parallel ? n : 1); i++) {
		struct dns_sub *sb = &p->sub[p->nsub];

		sb->p = p;
		if (dns_up_send(t->dw->up, parallel ? &ord[i] : ord, parallel ? 1 : n, opts, &p->q,
				p->data, sub_cb, sb, &sb->uq) < 0)
			continue;
		p->nsub++;
		p->live++;
	}
	if (!p->live)
		return -EIO;
	return 0;
}

void dns_pend_forward(struct dns_pend_tab *t, const struct dns_src *src, const struct dns_query *q,
		      const uint8_t *pkt, size_t len, const struct dns_dest *dest, bool cache_ok,
		      const struct dns_note *note)
{
	struct dns_worker *dw = t->dw;
	const struct dns_conf *d = dns_wconf(dw);
	struct dns_up_opts opts = {.timeout_ms = d->timeout_ms, .x20 = d->x20,
				   .ecs = dest->ecs_len ? dest->ecs : NULL, .ecs_len = dest->ecs_len,
				   .ecs_strip = dest->ecs_strip};
	struct dns_waiter *w = NULL;
	struct dns_pend *p;
	uint8_t k[KEY_MAX];
	size_t kl = key_make(q, dest, k);
	uint64_t h = key_hash(t, k, kl);
	/* A query with its own ECS option, passed on, is answered for its subnet: not shared. */
	bool merge = !q->ecs || dest->ecs_strip || dest->ecs_len;

	if (src && !(w = waiter_new(dw, src, q, pkt, len, note))) {
		if (src->via == DNS_VIA_TCP) /* a TCP client waits for every answer */
			dns_deliver(dw, src, dns_build_error(q, pkt, DNS_RCODE_SERVFAIL, dw->out,
							     sizeof(dw->out)));
		return;
	}
	if (merge && (p = find(t, h, k, kl))) {
		if (w) {
			*p->tail = w;
			p->tail = &w->next;
			ctr_inc(&dw->w->ctr, CTR_DNS_MERGED);
		}
		return; /* a refresh of a name already being asked is done */
	}
	p = pend_new(t, q, pkt, len, k, kl, dest);
	if (!p) {
		if (w)
			fail_now(dw, w);
		return;
	}
	p->cache_ok = cache_ok;
	p->opts = dest->opts;
	if (merge) /* the client's ECS is not what goes upstream: the answer is shared */
		p->q.ecs = false;
	p->n_nft = dest->n_nft;
	memcpy(p->nft, dest->nft, sizeof(p->nft));
	p->hash = h;
	if (w) {
		*p->tail = w;
		p->tail = &w->next;
	}
	if (send_subs(t, p, dest, &opts) < 0) {
		unlink_pend(p);
		if (w)
			fail_now(dw, w);
		pend_put(t, p);
		return;
	}
	if (merge) {
		if (t->hashed >= t->mask + 1)
			grow(t);
		p->hnext = t->b[h & t->mask];
		t->b[h & t->mask] = p;
		p->hashed = true;
		t->hashed++;
	}
}

void dns_pend_free(struct dns_pend_tab *t)
{
	if (!t)
		return;
	while (t->all) {
		struct dns_pend *p = t->all;
		struct dns_waiter *w;

		unlink_pend(p);
		for (unsigned i = 0; i < p->nsub; i++)
			dns_up_cancel(p->sub[i].uq);
		while ((w = p->waiters)) {
			p->waiters = w->next;
			waiter_free(t->dw, w);
		}
		free(p);
	}
	while (t->spare_p) {
		struct dns_pend *p = t->spare_p;

		t->spare_p = p->next;
		free(p);
	}
	while (t->spare_w) {
		struct dns_waiter *w = t->spare_w;

		t->spare_w = w->next;
		free(w);
	}
	free(t->b);
	free(t);
}
