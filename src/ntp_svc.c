/* ntp_svc.c - the NTP service. Client-mode requests are either answered
 * from the gateway's own clock (ntp-local; never while the kernel says the
 * clock is unsynchronised) or sent from marked upstream sockets to every
 * ntp-redirect server at once, and the first valid answer (mode 4, origin
 * timestamp = the request's transmit timestamp) goes back to the client
 * from the address it asked. Modes 6 and 7, short packets and anything
 * that is not a client request are dropped and counted; each client is
 * rate-limited. */
#include "config.h"
#include "ntp_svc.h"
#include "ntp.h"
#include "relay.h"
#include "svc.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ntp_flow {
	struct relay_leg *legs[NTP_MAX_SERVERS];
	size_t n;
	uint8_t req[NTP_HEADER_LEN]; /* the request being answered */
	bool pending;                /* no answer relayed for it yet */
};

static const struct ntp_conf *nconf(const struct worker *w)
{
	return w->cfg->svc[SVC_NTP];
}

static int ntp_worker_init(struct worker *w)
{
	const struct ntp_conf *c = nconf(w);

	w->svc_state[SVC_NTP] = ntp_ratelimit_new(c->rate, c->burst, 4096);
	return w->svc_state[SVC_NTP] ? 0 : -1;
}

static void ntp_worker_fini(struct worker *w)
{
	ntp_ratelimit_free(w->svc_state[SVC_NTP]);
	w->svc_state[SVC_NTP] = NULL;
}

static void ntp_reconfigure(struct worker *w, const struct cfg *old)
{
	const struct ntp_conf *o = old->svc[SVC_NTP], *n = nconf(w);
	struct ntp_ratelimit *rl;

	if (o->rate == n->rate && o->burst == n->burst)
		return;
	rl = ntp_ratelimit_new(n->rate, n->burst, 4096);
	if (!rl)
		return; /* keep the old limiter */
	ntp_ratelimit_free(w->svc_state[SVC_NTP]);
	w->svc_state[SVC_NTP] = rl;
}

/* Relay only the first answer to the current request, and only a real one. */
static bool answer_filter(struct worker *w, struct flow *f, void *arg, const uint8_t *data,
			  size_t len)
{
	struct ntp_flow *nf = arg;

	if (!nf->pending || !ntp_is_server_reply(data, len, nf->req, sizeof(nf->req))) {
		ctr_inc(&w->ctr, CTR_NTP_UPSTREAM_IGNORED);
		return false;
	}
	nf->pending = false;
	ctr_inc(&w->ctr, CTR_NTP_REDIRECTED);
	return true;
}

static int ntp_flow_open(struct worker *w, struct flow *f)
{
	const struct ntp_conf *c = nconf(w);
	struct ntp_flow *nf = calloc(1, sizeof(*nf));

	if (!nf)
		return -1;
	f->svc_data = nf;
	if (c->local)
		return 0;
	for (size_t i = 0; i < c->n_servers; i++) {
		struct relay_leg *l = relay_leg_open(w, f, &c->servers[i], w->cfg->mark);

		if (!l)
			continue; /* e.g. no route for this family: the others may do */
		relay_leg_set_filter(l, answer_filter, nf);
		nf->legs[nf->n++] = l;
	}
	return nf->n ? 0 : -1;
}

static void answer_locally(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	const struct ntp_conf *c = nconf(w);
	struct timespec rx, tx;
	struct ntp_clock clk;
	uint8_t out[NTP_REPLY_LEN];
	int n;

	clock_gettime(CLOCK_REALTIME, &rx);
	if (ntp_clock_read(&clk, (int)c->stratum) < 0 || !clk.synced) {
		ctr_inc(&w->ctr, CTR_NTP_LOCAL_UNSYNCED);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &tx);
	n = ntp_build_reply(data, len, &clk, &rx, &tx, out, sizeof(out));
	if (n < 0) {
		ctr_inc(&w->ctr, CTR_NTP_LOCAL_UNSYNCED);
		return;
	}
	if (worker_flow_reply(w, f, out, (size_t)n) == 0)
		ctr_inc(&w->ctr, CTR_NTP_LOCAL_ANSWERS);
}

static void ntp_input(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	struct ntp_flow *nf = f->svc_data;
	enum ntp_verdict v = ntp_classify(data, len);

	ctr_inc(&w->ctr, CTR_NTP_FIRST + (int)v);
	if (v != NTP_CLIENT_REQUEST)
		return;
	if (!ntp_ratelimit_allow(w->svc_state[SVC_NTP], &f->client.u.sa, sl_now_ms())) {
		ctr_inc(&w->ctr, CTR_NTP_RATE_LIMITED);
		return;
	}
	if (nconf(w)->local) {
		answer_locally(w, f, data, len);
		return;
	}
	memcpy(nf->req, data, sizeof(nf->req));
	nf->pending = true;
	for (size_t i = 0; i < nf->n; i++)
		relay_leg_send(w, nf->legs[i], data, len);
}

static void ntp_flow_close(struct worker *w, struct flow *f)
{
	struct ntp_flow *nf = f->svc_data;

	if (!nf)
		return;
	for (size_t i = 0; i < nf->n; i++)
		relay_leg_close(nf->legs[i]);
	free(nf);
	f->svc_data = NULL;
}

const struct svc svc_ntp = {
	.id = SVC_NTP,
	.connected_reply = true,
	.worker_init = ntp_worker_init,
	.worker_fini = ntp_worker_fini,
	.reconfigure = ntp_reconfigure,
	.flow_open = ntp_flow_open,
	.input = ntp_input,
	.flow_close = ntp_flow_close,
};
