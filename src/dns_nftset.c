/* dns_nftset.c - the DNS side of nftset: a rule with `nftset SETS` puts
 * the A and AAAA addresses of every answer it serves into those sets, for
 * routing by domain. Answers from an upstream (dns_pend.c), from the
 * cache (so a set entry that ran out comes back when the client asks
 * again) and from address/hosts rules (dns.c) all come here. Each address
 * gets the TTL the client sees as its timeout, but at least
 * nftset-min-timeout.
 *
 * Order: add, then deliver. The additions are sent (and committed by the
 * kernel, see nftset_nl.c) before the client gets the answer, so the
 * first packet it sends to the address already matches the set; the cost
 * is one netlink round trip inside the kernel per answer that added
 * something new (deduplicated answers cost nothing). Answers nobody waits
 * for (background refreshes) are flushed together at the end of the loop
 * pass. The adder (nftset.c) is the worker's own; its refs hold no config
 * pointer, so a query waiting across a reload is safe. */
#include "config.h"
#include "dns_int.h"
#include "nftset.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_worker *dw = arg;

	nftset_flush(dw->nft, sl_now_ms());
}

int dns_nftset_init(struct dns_worker *dw)
{
	const struct dns_conf *d = dns_wconf(dw);
	struct nftset_env env = {.ctr = &dw->w->ctr, .once = &dw->sh->nft_once};

	dw->nft = nftset_new(&env);
	dw->nft_ev = event_new(dw->w->base, -1, 0, flush_cb, dw);
	if (!dw->nft || !dw->nft_ev)
		return -ENOMEM;
	if (nftset_sync(dw->nft, d->nftsets, d->n_nftsets) < 0)
		return -ENOSPC;
	/* Say at start what is wrong with a set, not at the first answer. */
	if (dw->w->id == 0)
		nftset_check(dw->nft, sl_now_ms());
	return 0;
}

void dns_nftset_fini(struct dns_worker *dw)
{
	if (dw->nft_ev)
		event_free(dw->nft_ev);
	nftset_free(dw->nft);
}

void dns_nftset_reconfigure(struct dns_worker *dw)
{
	const struct dns_conf *d = dns_wconf(dw);

	/* The config checked the count: this cannot fail. */
	(void)nftset_sync(dw->nft, d->nftsets, d->n_nftsets);
	if (dw->w->id == 0)
		nftset_check(dw->nft, sl_now_ms());
}

uint8_t dns_nftset_refs(const struct dns_worker *dw, const struct dns_rule *r, uint32_t *refs)
{
	uint8_t n = 0;

	for (uint8_t i = 0; r && i < r->n_nftset; i++)
		refs[n++] = nftset_ref(dw->nft, r->nftset[i]);
	return n;
}

void dns_nftset_answer(struct dns_worker *dw, const uint32_t *refs, size_t n, const uint8_t *pkt,
		       size_t len, uint32_t min_ttl, uint32_t max_ttl, bool client_waits)
{
	unsigned floor = dns_wconf(dw)->nftset_min_timeout;
	struct dns_rr_addr a[64];
	uint64_t now = sl_now_ms();
	int k;

	if (!n)
		return;
	k = dns_answer_addrs(pkt, len, a, SL_ARRAY_LEN(a));
	for (int i = 0; i < k; i++) {
		uint32_t ttl = SL_MIN(SL_MAX(a[i].ttl, min_ttl), max_ttl);

		for (size_t j = 0; j < n; j++)
			nftset_add(dw->nft, refs[j], a[i].af, a[i].addr, SL_MAX(ttl, floor), now);
	}
	if (!nftset_pending(dw->nft))
		return;
	if (client_waits)
		nftset_flush(dw->nft, now);
	else
		event_active(dw->nft_ev, EV_TIMEOUT, 1);
}
