/* worker.h - one worker thread: its event loop, listeners, flow table,
 * reply sockets and counters. Nothing in a worker is shared with another
 * worker except the config (read-only) and what the engine hands out. */
#ifndef WORKER_H
#define WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include "cfg.h"
#include "ctr.h"
#include "flow.h"
#include "svc.h"

struct engine;
struct event_base;
struct event;
struct reply;
struct stats;

struct worker {
	unsigned id;
	struct engine *eng;
	struct event_base *base;
	pthread_t thread;
	bool started;
	const struct cfg *cfg;
	int lis_fd[CFG_MAX_LISTEN];
	struct event *lis_ev[CFG_MAX_LISTEN];
	size_t n_lis;
	struct svc_sock socks[SVC_MAX_SOCKS]; /* services' own sockets (the worker closes them) */
	size_t n_socks;
	struct flow_table *flows;
	struct reply *reply;
	struct event *sweep_ev;
	struct event *reload_ev;
	struct event *stop_ev;
	struct ctr ctr;
	struct stats *stats; /* top names, clients, latencies (stats.h) */
	_Atomic size_t nflows; /* mirror of flow_count() for other threads */
	void *svc_state[SVC_COUNT];
	/* recvmmsg batch */
	unsigned batch;
	struct mmsghdr *msgs;
	struct iovec *iov;
	uint8_t *bufs;
	uint8_t *cbufs;
	struct sockaddr_storage *names;
	uint8_t *scratch; /* SL_MAX_DGRAM bytes for services' upstream reads */
};

/**
 * Set up a worker (event base, flow table, buffers); the listeners and the
 * services' sockets are given and owned by it from now on (also on failure).
 */
int worker_init(struct worker *w, struct engine *eng, unsigned id, const struct cfg *cfg,
		const int *lis_fd, size_t n_lis, const struct svc_sock *socks, size_t n_socks);

/**
 * Switch to n listeners (worker thread, at a reload): listener j is the
 * worker's own old listener keep[j] when keep[j] >= 0, else the socket
 * fd[j] (the worker's from now on). Old listeners not kept are closed.
 */
void worker_set_listeners(struct worker *w, const int *fd, const int *keep, size_t n);

/** Start its thread. */
int worker_start(struct worker *w);

/** Ask it to stop (any thread) and wait for it. */
void worker_stop(struct worker *w);

/** Free everything it owns, including the listener sockets. */
void worker_fini(struct worker *w);

/** Ask it to switch to the engine's pending config (any thread). */
void worker_reload(struct worker *w);

/**
 * Handle one datagram from a listener or a connected reply socket: find or
 * make its flow and hand it to the flow's service.
 */
void worker_dispatch(struct worker *w, const struct addr *client, const struct addr *origdst,
		     const uint8_t *data, size_t len);

/** Keep a flow alive across a callback that may close it. */
void worker_flow_hold(struct flow *f);

/** End the hold; false when the flow was closed meanwhile (and is now freed). */
bool worker_flow_release(struct worker *w, struct flow *f);

/** End a flow from inside a service (safe from its own callbacks if not used after). */
void worker_flow_close(struct worker *w, struct flow *f);

/** Send a datagram to the flow's client from the flow's original destination. */
int worker_flow_reply(struct worker *w, struct flow *f, const void *buf, size_t len);

/** Send iov[0..n) (a datagram each) to the flow's client, in order: through
 * its connected reply socket as one batch (runs of one size as GSO sends). */
void worker_flow_reply_many(struct worker *w, struct flow *f, const struct iovec *iov, unsigned n);

struct gso_rx;

/** Start splitting read mm (from a flow or upstream socket) into its
 * datagrams, counting a run GRO coalesced (rx_gro); false when the read
 * arrived cut short: its datagrams are dropped, counted in cut. */
bool worker_read_start(struct worker *w, struct mmsghdr *mm, struct gso_rx *rx, enum ctr_id cut);

/** Mark a flow active (upstream traffic counts as activity). */
void worker_flow_touch(struct worker *w, struct flow *f);

#endif
