/* svc.h - the service interface: what the engine calls for each
 * intercepted flow. A service keeps per-worker state in
 * w->svc_state[id] and per-flow state in f->svc_data. */
#ifndef SVC_H
#define SVC_H

#include <sys/uio.h>
#include "cfg.h"

struct worker;
struct flow;
struct engine;
struct evbuffer;

/** A socket the engine opens for a service, one per worker, before privileges are dropped. */
struct svc_sock {
	struct addr addr;
	int type;	  /* SOCK_DGRAM or SOCK_STREAM (listening) */
	bool transparent; /* IP(V6)_TRANSPARENT: takes intercepted traffic */
	enum svc_id svc;  /* the service it is for */
	int fd;		  /* set by the engine; owned by the worker */
};

/** Most service sockets per worker. */
#define SVC_MAX_SOCKS 48

struct svc {
	enum svc_id id;
	/** Open a connected transparent reply socket per flow (long flows). */
	bool connected_reply;
	/** Process-wide state (engine->svc_shared[id]): set up before the workers
	 * start and torn down after they are gone; either may be NULL. */
	int (*proc_init)(struct engine *e);
	void (*proc_fini)(struct engine *e);
	/** Sockets this service needs for config c (the same set for every
	 * worker), written to out[0..max); returns how many. May be NULL. */
	size_t (*sockets)(const struct cfg *c, struct svc_sock *out, size_t max);
	/** Descriptors one flow may hold at most under config c (the descriptor
	 * plan, fdplan.c); NULL: 2, its reply socket and one upstream socket. */
	unsigned (*flow_fds)(const struct cfg *c);
	/** Append Prometheus text for process-wide metrics (main thread); may be NULL. */
	void (*metrics)(struct engine *e, struct evbuffer *out);
	/**
	 * A `sluice ctl` verb the engine does not know (main thread): append
	 * "ok\n" and a body, or "error MESSAGE\n", to out and return true; false
	 * when the verb is not this service's. May be NULL.
	 */
	bool (*ctl)(struct engine *e, const char *verb, const char *arg, struct evbuffer *out);
	/** Per-worker set-up and tear-down; either may be NULL. */
	int (*worker_init)(struct worker *w);
	void (*worker_fini)(struct worker *w);
	/** The worker switched to a new config (old is still valid); may be NULL. */
	void (*reconfigure)(struct worker *w, const struct cfg *old);
	/**
	 * Sessionless services: each intercepted datagram comes here straight
	 * from the listener, with no flow (DNS). When set, the flow hooks below
	 * are not used.
	 */
	void (*datagram)(struct worker *w, const struct addr *client, const struct addr *origdst,
			 const uint8_t *data, size_t len);
	/** A new flow: set f->svc_data. A negative return drops the datagram and the flow. */
	int (*flow_open)(struct worker *w, struct flow *f);
	/** One datagram from the flow's client. */
	void (*input)(struct worker *w, struct flow *f, const uint8_t *data, size_t len);
	/**
	 * Several datagrams from the flow's client, in order (a batch read from
	 * its connected socket); may be NULL, then input() is called for each.
	 */
	void (*input_many)(struct worker *w, struct flow *f, const struct iovec *iov, unsigned n);
	/** The flow ends: free f->svc_data and whatever hangs off it. */
	void (*flow_close)(struct worker *w, struct flow *f);
};

/** The service with this id, or NULL when it is not built in. */
const struct svc *svc_get(enum svc_id id);

extern const struct svc svc_relay;

#endif
