/* svc.h - the service interface: what the engine calls for each
 * intercepted flow. A service keeps per-worker state in
 * w->svc_state[id] and per-flow state in f->svc_data. */
#ifndef SVC_H
#define SVC_H

#include <sys/uio.h>
#include "cfg.h"

struct worker;
struct flow;

struct svc {
	enum svc_id id;
	/** Open a connected transparent reply socket per flow (long flows). */
	bool connected_reply;
	/** Per-worker set-up and tear-down; either may be NULL. */
	int (*worker_init)(struct worker *w);
	void (*worker_fini)(struct worker *w);
	/** The worker switched to a new config (old is still valid); may be NULL. */
	void (*reconfigure)(struct worker *w, const struct cfg *old);
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
