/* ntp_svc.c - the NTP service. Client-mode requests are either answered
 * from the gateway's own clock (ntp-local; never while the kernel says the
 * clock is unsynchronised) or sent from marked upstream sockets to every
 * ntp-redirect server at once, and the first valid answer (mode 4, origin
 * timestamp = the request's transmit timestamp) goes back to the client
 * from the address it asked. Requests with a MAC or extension fields (NTS)
 * are neither: another server's answer would fail the client's check, so
 * they go unmodified to the address the client asked, from a marked
 * socket, and that server's answers come back unmodified. Modes 6 and 7,
 * short packets and anything that is not a client request are dropped and
 * counted; each client is rate-limited by one limiter that all workers
 * share. */
#include "config.h"
#include "ntp_svc.h"
#include "engine.h"
#include "ntp.h"
#include "ratelimit.h"
#include "relay.h"
#include "resolve.h"
#include "svc.h"
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Buckets held by the shared limiter (clients beyond it share slots). */
#define NTP_RL_SLOTS 8192
/* Answers a passed flow may still relay: one per request sent, at most this
 * many owed at once (a client that stops listening owes nothing more). */
#define NTP_PASS_MAX_OWED 8

struct ntp_flow {
	struct relay_leg *legs[NTP_MAX_SERVERS];
	size_t n;
	struct addr srv[NTP_MAX_SERVERS]; /* the ntp-redirect list the legs were opened for */
	size_t n_srv;
	uint8_t req[NTP_HEADER_LEN]; /* the request being answered */
	bool pending;                /* no answer relayed for it yet */
	struct relay_leg *pass;      /* to f->origdst, for authenticated requests */
	uint32_t pass_mark;          /* the mark it was opened with */
	unsigned owed;               /* answers pass may still relay */
};

/* The per-client limiter, in engine->svc_shared[SVC_NTP]. One for all
 * workers: the kernel spreads a client's flows (one per source port) over
 * the workers' SO_REUSEPORT listeners, so per-worker buckets would multiply
 * the limit by the number of workers. NTP is slow traffic: one lock is
 * cheap. */
struct ntp_shared {
	pthread_mutex_t lock;
	struct ratelimit *rl;
	unsigned rate, burst; /* what rl was made with */
	unsigned users;       /* workers using it */
};

static const struct ntp_conf *nconf(const struct worker *w)
{
	return w->cfg->svc[SVC_NTP];
}

/* Workers are set up and torn down one after another on the main thread
 * (never while a worker runs), so the first one in makes the shared state
 * and the last one out frees it. */
static int ntp_worker_init(struct worker *w)
{
	const struct ntp_conf *c = nconf(w);
	struct ntp_shared *sh = w->eng->svc_shared[SVC_NTP];

	if (!sh) {
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			return -1;
		sh->rl = ratelimit_new(c->rate, c->burst, NTP_RL_SLOTS, false);
		if (!sh->rl || pthread_mutex_init(&sh->lock, NULL) != 0) {
			ratelimit_free(sh->rl);
			free(sh);
			return -1;
		}
		sh->rate = c->rate;
		sh->burst = c->burst;
		w->eng->svc_shared[SVC_NTP] = sh;
	}
	sh->users++;
	w->svc_state[SVC_NTP] = sh;
	return 0;
}

static void ntp_worker_fini(struct worker *w)
{
	struct ntp_shared *sh = w->svc_state[SVC_NTP];

	w->svc_state[SVC_NTP] = NULL;
	if (!sh || --sh->users)
		return;
	ratelimit_free(sh->rl);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
	w->eng->svc_shared[SVC_NTP] = NULL;
}

/* Each worker calls this from its own thread; the first to see new limits
 * swaps the limiter (buckets start full again), the others find it done. */
static void ntp_reconfigure(struct worker *w, const struct cfg *old)
{
	const struct ntp_conf *n = nconf(w);
	struct ntp_shared *sh = w->svc_state[SVC_NTP];
	struct ratelimit *rl;

	pthread_mutex_lock(&sh->lock);
	if (sh->rate != n->rate || sh->burst != n->burst) {
		rl = ratelimit_new(n->rate, n->burst, NTP_RL_SLOTS, false);
		if (rl) { /* else keep the old limiter */
			ratelimit_free(sh->rl);
			sh->rl = rl;
			sh->rate = n->rate;
			sh->burst = n->burst;
		}
	}
	pthread_mutex_unlock(&sh->lock);
}

static bool rate_allow(struct worker *w, struct flow *f)
{
	struct ntp_shared *sh = w->svc_state[SVC_NTP];
	bool ok;

	pthread_mutex_lock(&sh->lock);
	ok = ratelimit_allow(sh->rl, &f->client.u.sa, sl_now_ms());
	pthread_mutex_unlock(&sh->lock);
	return ok;
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

/* Relay answers from the server asked, unmodified: one per request sent,
 * and only server packets (the client checks the rest: MAC or NTS, origin). */
static bool pass_filter(struct worker *w, struct flow *f, void *arg, const uint8_t *data,
			size_t len)
{
	struct ntp_flow *nf = arg;

	if (!nf->owed || !ntp_is_server_packet(data, len)) {
		ctr_inc(&w->ctr, CTR_NTP_UPSTREAM_IGNORED);
		return false;
	}
	nf->owed--;
	ctr_inc(&w->ctr, CTR_NTP_AUTHENTICATED_PASSED);
	return true;
}

/* Send an authenticated request, as it is, to the address the client asked
 * (the relay service's way), opening the leg on first use and again when a
 * reload changed the mark. */
static void pass_request(struct worker *w, struct flow *f, struct ntp_flow *nf, const uint8_t *data,
			 size_t len)
{
	if (nf->pass && nf->pass_mark != w->cfg->mark) {
		relay_leg_close(nf->pass);
		nf->pass = NULL;
	}
	if (!nf->pass) {
		nf->pass = relay_leg_open(w, f, &f->origdst, w->cfg->mark);
		if (!nf->pass) {
			ctr_inc(&w->ctr, CTR_RELAY_TX_ERRORS);
			return;
		}
		nf->pass_mark = w->cfg->mark;
		relay_leg_set_filter(nf->pass, pass_filter, nf);
	}
	if (relay_leg_send(w, nf->pass, data, len) == 0 && nf->owed < NTP_PASS_MAX_OWED)
		nf->owed++;
}

static void close_legs(struct ntp_flow *nf)
{
	for (size_t i = 0; i < nf->n; i++)
		relay_leg_close(nf->legs[i]);
	nf->n = nf->n_srv = 0;
}

/* The ntp-redirect servers now: addresses as given, and for a host name
 * (a pool) its first current address (unresolved names are skipped). */
static size_t targets(const struct worker *w, struct addr *out)
{
	const struct ntp_conf *c = nconf(w);
	size_t n = 0;

	for (size_t i = 0; i < c->n_servers; i++) {
		if (!c->hosts[i])
			out[n++] = c->servers[i];
		else if (w->eng)
			n += resolve_get(w->eng->res, c->hosts[i], addr_port(&c->servers[i]), out + n, 1);
	}
	return n;
}

/* Legs to the current servers; the old ones (another config's) go. */
static void open_legs(struct worker *w, struct flow *f, struct ntp_flow *nf)
{
	struct addr t[NTP_MAX_SERVERS];
	size_t n = targets(w, t);

	close_legs(nf);
	for (size_t i = 0; i < n; i++) {
		struct relay_leg *l = relay_leg_open(w, f, &t[i], w->cfg->mark);

		nf->srv[i] = t[i];
		if (!l)
			continue; /* e.g. no route for this family: the others may do */
		relay_leg_set_filter(l, answer_filter, nf);
		nf->legs[nf->n++] = l;
	}
	nf->n_srv = n;
}

/* True when the legs were opened for the running ntp-redirect list (and
 * its names' current addresses). A flow outlives reloads (a client polling
 * from a fixed port, as ntpd does from 123, keeps it), so it must follow
 * the config it runs under. */
static bool legs_current(const struct worker *w, const struct ntp_flow *nf)
{
	struct addr t[NTP_MAX_SERVERS];
	size_t n = targets(w, t);

	if (nf->n_srv != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!addr_equal(&nf->srv[i], &t[i]))
			return false;
	return true;
}

static int ntp_flow_open(struct worker *w, struct flow *f)
{
	struct ntp_flow *nf = calloc(1, sizeof(*nf));

	if (!nf)
		return -1;
	f->svc_data = nf;
	if (nconf(w)->local)
		return 0;
	open_legs(w, f, nf);
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
	if (v != NTP_CLIENT_REQUEST && v != NTP_CLIENT_AUTHENTICATED)
		return;
	if (!rate_allow(w, f)) {
		ctr_inc(&w->ctr, CTR_NTP_RATE_LIMITED);
		return;
	}
	if (v == NTP_CLIENT_AUTHENTICATED) {
		pass_request(w, f, nf, data, len);
		return;
	}
	if (nconf(w)->local) {
		close_legs(nf); /* left from a redirect config before a reload */
		answer_locally(w, f, data, len);
		return;
	}
	if (!legs_current(w, nf))
		open_legs(w, f, nf);
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
	close_legs(nf);
	relay_leg_close(nf->pass);
	free(nf);
	f->svc_data = NULL;
}

/* A flow's reply socket, a leg per ntp-redirect server and the
 * authenticated pass-through leg. */
static unsigned ntp_flow_fds(const struct cfg *c)
{
	const struct ntp_conf *n = c->svc[SVC_NTP];

	return n ? (unsigned)(2 + n->n_servers) : 2;
}

const struct svc svc_ntp = {
	.id = SVC_NTP,
	.connected_reply = true,
	.flow_fds = ntp_flow_fds,
	.worker_init = ntp_worker_init,
	.worker_fini = ntp_worker_fini,
	.reconfigure = ntp_reconfigure,
	.flow_open = ntp_flow_open,
	.input = ntp_input,
	.flow_close = ntp_flow_close,
};
