/* worker.c - one worker: its event loop and everything on the datagram
 * path after the listener: flow lookup, flow start and end, the idle sweep,
 * replies, and switching config on reload. */
#include "config.h"
#include "worker.h"
#include "stats.h"
#include "engine.h"
#include "gso.h"
#include "listen.h"
#include "log.h"
#include "clients.h"
#include "ownsock.h"
#include "reply.h"
#include "svc.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REPLY_IDLE_MS 30000
#define SWEEP_MS 250

static void on_flow_removed(void *ctx, struct flow *f, enum flow_end why)
{
	static const enum ctr_id ids[] = {
		[FLOW_END_EXPIRED] = CTR_FLOWS_EXPIRED,
		[FLOW_END_EVICTED] = CTR_FLOWS_EVICTED,
		[FLOW_END_EVICTED_CLIENT] = CTR_FLOWS_EVICTED_CLIENT,
		[FLOW_END_CLOSED] = CTR_FLOWS_CLOSED,
		[FLOW_END_SHUTDOWN] = CTR_FLOWS_CLOSED,
	};
	struct worker *w = ctx;
	const struct svc *s = svc_get(f->svc);

	ctr_inc(&w->ctr, ids[why]);
	if (w->eng)
		clients_put(w->eng->clients, &f->client, CLIENTS_FLOWS);
	if (s && s->flow_close)
		s->flow_close(w, f);
	if (f->reply_ev)
		event_free(f->reply_ev);
	if (f->reply_fd >= 0)
		reply_close_connected(w->reply, f->reply_fd, &f->origdst);
	atomic_store_explicit(&w->nflows, atomic_load_explicit(&w->nflows, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = sl_now_ms();

	flow_expire(w->flows, now);
	reply_sweep(w->reply, now, REPLY_IDLE_MS);
}

static void listener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	listen_read(w, fd);
}

/*
 * Datagrams the kernel delivers to a flow's connected reply socket. The
 * source is checked on every read: with several connected sockets sharing
 * one address:port, the kernel has been seen (6.18) to hand one flow's
 * socket a datagram from another client port. Such a datagram is dispatched
 * by its real 4-tuple instead, so it can never leak into the wrong flow.
 */
bool worker_read_start(struct worker *w, struct mmsghdr *mm, struct gso_rx *rx, enum ctr_id cut)
{
	size_t n;

	gso_rx_start(rx, &mm->msg_hdr, mm->msg_hdr.msg_iov->iov_base, mm->msg_len);
	n = gso_rx_count(rx);
	if (n > 1)
		ctr_inc(&w->ctr, CTR_RX_GRO);
	if (mm->msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		ctr_add(&w->ctr, cut, n);
		return false;
	}
	return true;
}

/* One read from f's socket (a datagram, or a run GRO coalesced): false when
 * it belongs to another flow (then its datagrams have been dispatched by
 * their real 4-tuple) or arrived cut short. */
static bool flow_sock_own(struct worker *w, struct flow *f, struct mmsghdr *mm, struct gso_rx *rx)
{
	struct msghdr *m = &mm->msg_hdr;
	struct addr src;
	struct iovec d;

	bool whole = worker_read_start(w, mm, rx, CTR_RX_TRUNCATED);

	ctr_add(&w->ctr, CTR_RX_DGRAMS, gso_rx_count(rx));
	ctr_add(&w->ctr, CTR_RX_BYTES, mm->msg_len);
	if (!whole || addr_from_sa(&src, m->msg_name, m->msg_namelen) < 0)
		return false;
	addr_unmap(&src);
	if (addr_equal(&src, &f->client))
		return true;
	ctr_inc(&w->ctr, CTR_RX_MISDELIVERED);
	while (gso_rx_next(rx, &d))
		worker_dispatch(w, &src, &f->origdst, d.iov_base, d.iov_len);
	return false;
}

/* relay-rate-limit: of n datagrams from client to a relay or quic flow, how
 * many may go (the rest are dropped and counted). */
static unsigned relay_allowed(struct worker *w, enum svc_id svc, const struct addr *client,
			      unsigned n)
{
	unsigned ok;

	if (!w->eng || !w->cfg->relay_rate || (svc != SVC_RELAY && svc != SVC_QUIC))
		return n;
	ok = engine_relay_allow(w->eng, client, n);
	ctr_add(&w->ctr, CTR_RELAY_RATE_LIMITED, n - ok);
	return ok;
}

/* Hand a batch of the flow's own datagrams to its service, in order. */
static void flow_sock_input(struct worker *w, struct flow *f, struct iovec *iov, unsigned n)
{
	const struct svc *s = svc_get(f->svc);

	n = relay_allowed(w, f->svc, &f->client, n);
	if (!n || f->dead)
		return;
	flow_touch(w->flows, f, sl_now_ms());
	if (s->input_many) {
		s->input_many(w, f, iov, n);
		return;
	}
	for (unsigned i = 0; i < n && !f->dead; i++)
		s->input(w, f, iov[i].iov_base, iov[i].iov_len);
}

static void flow_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flow *f = arg;
	struct worker *w = f->owner;
	struct iovec own[256]; /* recv-batch is at most 256 */

	worker_flow_hold(f);
	for (int round = 0; round < 4 && !f->dead; round++) {
		int n = listen_recv_batch(w, fd);
		unsigned k = 0;

		for (int i = 0; i < n && !f->dead; i++) {
			struct gso_rx rx;

			if (!flow_sock_own(w, f, &w->msgs[i], &rx))
				continue;
			while (gso_rx_next(&rx, &own[k])) {
				if (++k == SL_ARRAY_LEN(own)) { /* GRO runs fill it: in parts */
					flow_sock_input(w, f, own, k);
					k = 0;
				}
			}
		}
		flow_sock_input(w, f, own, k);
		if ((unsigned)n < w->batch)
			break;
	}
	worker_flow_release(w, f);
}

static int alloc_batch(struct worker *w)
{
	w->batch = w->cfg->recv_batch;
	w->msgs = calloc(w->batch, sizeof(*w->msgs));
	w->iov = calloc(w->batch, sizeof(*w->iov));
	w->names = calloc(w->batch, sizeof(*w->names));
	w->cbufs = calloc(w->batch, 128);
	/* Untouched pages of these 64 KiB slots never become resident. */
	w->bufs = mmap(NULL, (size_t)w->batch * SL_MAX_DGRAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->scratch = malloc(SL_MAX_DGRAM);
	if (w->bufs == MAP_FAILED)
		w->bufs = NULL;
	return w->msgs && w->iov && w->names && w->cbufs && w->bufs && w->scratch ? 0 : -ENOMEM;
}

/* This worker's share of the session cap (the engine's descriptor plan:
 * the shares add up to it); the per-client cap holds for the whole process
 * (see admit()), so each table may reach it. */
static void caps(const struct worker *w, const struct fdplan *l, unsigned *total, unsigned *client)
{
	*total = fdplan_share(l->max_sessions, l->nworkers, w->id);
	*client = l->max_per_client;
}

/* A new session of client, counted across every worker: at the per-client
 * cap its least recently active session here makes room; with none here,
 * the new one is refused (its sessions elsewhere end by their timeouts). */
static bool admit(struct worker *w, const struct addr *client)
{
	unsigned cap = w->eng->limits.max_per_client;

	while (!clients_take(w->eng->clients, client, CLIENTS_FLOWS, cap))
		if (!flow_evict_client(w->flows, client))
			return false;
	return true;
}

int worker_init(struct worker *w, struct engine *eng, unsigned id, const struct cfg *cfg,
		const int *lis_fd, size_t n_lis, const struct svc_sock *socks, size_t n_socks)
{
	unsigned total, client;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->eng = eng;
	w->cfg = cfg;
	w->n_lis = n_lis;
	memcpy(w->lis_fd, lis_fd, n_lis * sizeof(*lis_fd));
	w->n_socks = n_socks;
	memcpy(w->socks, socks, n_socks * sizeof(*socks));
	caps(w, &eng->limits, &total, &client);
	w->base = event_base_new();
	w->flows = flow_table_new(eng->flow_key, total, client, on_flow_removed, w);
	w->reply = reply_new(w->base, eng->binds, &w->ctr, eng->limits.reply_cache);
	w->stats = stats_new(eng->stats_key);
	if (!w->base || !w->flows || !w->reply || !w->stats || alloc_batch(w) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n_lis; i++) {
		w->lis_ev[i] = event_new(w->base, lis_fd[i], EV_READ | EV_PERSIST, listener_cb, w);
		if (!w->lis_ev[i] || event_add(w->lis_ev[i], NULL) < 0)
			return -ENOMEM;
	}
	w->sweep_ev = event_new(w->base, -1, EV_PERSIST, sweep_cb, w);
	if (!w->sweep_ev || event_add(w->sweep_ev, &(struct timeval){0, SWEEP_MS * 1000}) < 0)
		return -ENOMEM;
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);
		int rc;

		if (sv && sv->worker_init && (rc = sv->worker_init(w)) < 0)
			return rc;
	}
	return 0;
}

void worker_flow_hold(struct flow *f)
{
	f->busy++;
}

bool worker_flow_release(struct worker *w, struct flow *f)
{
	if (--f->busy == 0 && f->dead) {
		flow_remove(w->flows, f, FLOW_END_CLOSED);
		return false;
	}
	return !f->dead;
}

void worker_flow_close(struct worker *w, struct flow *f)
{
	if (f->busy) {
		f->dead = true;
		return;
	}
	flow_remove(w->flows, f, FLOW_END_CLOSED);
}

void worker_flow_touch(struct worker *w, struct flow *f)
{
	flow_touch(w->flows, f, sl_now_ms());
}

int worker_flow_reply(struct worker *w, struct flow *f, const void *buf, size_t len)
{
	if (f->reply_fd >= 0) {
		if (send(f->reply_fd, buf, len, MSG_DONTWAIT) < 0) {
			ctr_inc(&w->ctr, CTR_REPLY_ERRORS);
			return -errno;
		}
		ctr_inc(&w->ctr, CTR_REPLY_SENT);
		return 0;
	}
	if (f->reply_raw)
		return reply_raw(w->reply, &f->origdst, &f->client, buf, len);
	return reply_sendto(w->reply, &f->origdst, &f->client, buf, len);
}

void worker_flow_reply_many(struct worker *w, struct flow *f, const struct iovec *iov, unsigned n)
{
	unsigned done;

	if (f->reply_fd < 0) {
		for (unsigned i = 0; i < n; i++)
			worker_flow_reply(w, f, iov[i].iov_base, iov[i].iov_len);
		return;
	}
	done = gso_send(f->reply_fd, iov, n, &f->reply_nogso);
	ctr_add(&w->ctr, CTR_REPLY_SENT, done);
	ctr_add(&w->ctr, CTR_REPLY_ERRORS, n - done);
}

/* Open the flow's connected reply socket, or note that replies go out raw. */
static int open_reply_sock(struct worker *w, struct flow *f)
{
	int fd = reply_open_connected(w->reply, &f->origdst, &f->client);

	if (fd == -EADDRINUSE) { /* a local service owns it, or we may not bind it */
		f->reply_raw = true;
		return 0;
	}
	if (fd < 0)
		return fd;
	f->reply_fd = fd;
	f->reply_ev = event_new(w->base, fd, EV_READ | EV_PERSIST, flow_sock_cb, f);
	if (!f->reply_ev || event_add(f->reply_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* A datagram whose source is one of sluice's own upstream sockets came back
 * in: the mark that keeps sluice's traffic out of the ruleset is missing.
 * Refuse it (else it would circle forever) and say so once. */
static bool looped(struct worker *w, const struct addr *client)
{
	if (!w->eng || !ownsock_has(w->eng->own, client, IPPROTO_UDP))
		return false;
	ctr_inc(&w->ctr, CTR_FLOWS_LOOP);
	if (!atomic_exchange(&w->eng->loop_reported, true)) {
		log_err("a datagram from sluice's own upstream socket was intercepted again (a "
			"routing loop); dropping such datagrams. Fix: load the ruleset from `sluice "
			"rules` (it returns early for `mark 0x%x`) and keep that mark intact",
			w->cfg->mark);
	}
	return true;
}

static struct flow *flow_open(struct worker *w, const struct addr *client,
			      const struct addr *origdst, const struct cfg_intercept *ic)
{
	const struct svc *s = svc_get(ic->svc);
	struct flow *f;

	if (looped(w, client))
		return NULL;
	if (w->eng && !admit(w, client)) {
		ctr_inc(&w->ctr, CTR_FLOWS_REFUSED);
		return NULL;
	}
	f = flow_insert(w->flows, client, origdst, ic->timeout_s, sl_now_ms());
	if (!f) {
		if (w->eng)
			clients_put(w->eng->clients, client, CLIENTS_FLOWS);
		ctr_inc(&w->ctr, CTR_FLOWS_REFUSED);
		return NULL;
	}
	f->owner = w;
	f->svc = ic->svc;
	f->port = ic->port;
	atomic_store_explicit(&w->nflows, atomic_load_explicit(&w->nflows, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	ctr_inc(&w->ctr, CTR_FLOWS_CREATED);
	if ((s->connected_reply && open_reply_sock(w, f) < 0) ||
	    (s->flow_open && s->flow_open(w, f) < 0)) {
		ctr_inc(&w->ctr, CTR_FLOWS_REFUSED);
		flow_remove(w->flows, f, FLOW_END_CLOSED);
		return NULL;
	}
	return f;
}

void worker_dispatch(struct worker *w, const struct addr *client, const struct addr *origdst,
		     const uint8_t *data, size_t len)
{
	const struct cfg_intercept *ic = cfg_intercept_find(w->cfg, addr_port(origdst));
	const struct svc *s;
	struct flow *f;

	if (!ic) {
		ctr_inc(&w->ctr, CTR_RX_NO_SERVICE);
		return;
	}
	if (!cfg_client_allowed(w->cfg, client)) {
		ctr_inc(&w->ctr, CTR_RX_DENIED);
		return;
	}
	s = svc_get(ic->svc);
	if (s->datagram) { /* no session: the service keeps what state it needs */
		s->datagram(w, client, origdst, data, len);
		return;
	}
	f = flow_lookup(w->flows, client, origdst);
	if (f && f->svc != ic->svc) {
		/* A reload moved this port to another service. */
		worker_flow_close(w, f);
		f = NULL;
	}
	if (!relay_allowed(w, ic->svc, client, 1))
		return;
	if (f)
		flow_touch(w->flows, f, sl_now_ms());
	else if (!(f = flow_open(w, client, origdst, ic)))
		return;
	worker_flow_hold(f);
	svc_get(f->svc)->input(w, f, data, len);
	worker_flow_release(w, f);
}

void worker_set_listeners(struct worker *w, const int *fd, const int *keep, size_t n)
{
	int lis_fd[CFG_MAX_LISTEN];
	struct event *lis_ev[CFG_MAX_LISTEN];
	bool kept[CFG_MAX_LISTEN] = {false};
	char buf[ADDR_STRLEN];

	for (size_t j = 0; j < n; j++) {
		if (keep[j] >= 0) {
			lis_fd[j] = w->lis_fd[keep[j]];
			lis_ev[j] = w->lis_ev[keep[j]];
			kept[keep[j]] = true;
			continue;
		}
		lis_fd[j] = fd[j];
		lis_ev[j] = event_new(w->base, fd[j], EV_READ | EV_PERSIST, listener_cb, w);
		if (!lis_ev[j] || event_add(lis_ev[j], NULL) < 0)
			log_err("worker %u: cannot watch the listener on %s", w->id,
				addr_fmt(&w->eng->pending->listen[j], buf, sizeof(buf)));
	}
	for (size_t k = 0; k < w->n_lis; k++)
		if (!kept[k]) {
			if (w->lis_ev[k])
				event_free(w->lis_ev[k]);
			close(w->lis_fd[k]);
		}
	memcpy(w->lis_fd, lis_fd, n * sizeof(*lis_fd));
	memcpy(w->lis_ev, lis_ev, n * sizeof(*lis_ev));
	w->n_lis = n;
}

static void reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	const struct cfg *old = w->cfg;
	unsigned total, client;

	engine_live_adopt(w); /* new listeners, when `listen` or `workers` changed */
	w->cfg = w->eng->pending;
	caps(w, &w->eng->pending_limits, &total, &client);
	flow_table_set_caps(w->flows, total, client);
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->reconfigure)
			sv->reconfigure(w, old);
	}
	engine_worker_reloaded(w->eng);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	event_base_loopbreak(w->base);
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

int worker_start(struct worker *w)
{
	w->reload_ev = event_new(w->base, -1, 0, reload_cb, w);
	w->stop_ev = event_new(w->base, -1, 0, stop_cb, w);
	if (!w->reload_ev || !w->stop_ev)
		return -ENOMEM;
	if (pthread_create(&w->thread, NULL, thread_main, w) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

void worker_reload(struct worker *w)
{
	event_active(w->reload_ev, EV_TIMEOUT, 0);
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	event_active(w->stop_ev, EV_TIMEOUT, 0);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_fini(struct worker *w)
{
	/* Replies still queued go out before any socket they name closes. */
	reply_flush(w->reply);
	flow_table_free(w->flows); /* closes every flow's sockets */
	w->flows = NULL;
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->worker_fini && w->base)
			sv->worker_fini(w);
	}
	for (size_t i = 0; i < w->n_lis; i++) {
		if (w->lis_ev[i])
			event_free(w->lis_ev[i]);
		close(w->lis_fd[i]);
	}
	for (size_t i = 0; i < w->n_socks; i++)
		if (w->socks[i].fd >= 0)
			close(w->socks[i].fd);
	if (w->sweep_ev)
		event_free(w->sweep_ev);
	if (w->reload_ev)
		event_free(w->reload_ev);
	if (w->stop_ev)
		event_free(w->stop_ev);
	reply_free(w->reply);
	stats_free(w->stats);
	if (w->base)
		event_base_free(w->base);
	if (w->bufs)
		munmap(w->bufs, (size_t)w->batch * SL_MAX_DGRAM);
	free(w->msgs);
	free(w->iov);
	free(w->names);
	free(w->cbufs);
	free(w->scratch);
}
