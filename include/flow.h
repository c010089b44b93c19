/* flow.h - the session table: one entry per (client addr:port, original
 * destination addr:port), SipHash-keyed buckets, idle expiry, a global cap
 * and a per-client cap with least-recently-active eviction. It knows
 * nothing about sockets: whoever owns the table frees what hangs off a flow
 * in the on_remove callback. Single-threaded: each worker owns one table. */
#ifndef FLOW_H
#define FLOW_H

#include "addr.h"
#include "cfg.h"
#include "sl_queue.h"

struct flow_client;
struct flow_table;
struct event;

/** Why a flow leaves the table (passed to on_remove). */
enum flow_end {
	FLOW_END_EXPIRED,
	FLOW_END_EVICTED,	 /* global cap */
	FLOW_END_EVICTED_CLIENT, /* per-client cap */
	FLOW_END_CLOSED,	 /* closed by its service or the engine */
	FLOW_END_SHUTDOWN,
};

#define FLOW_MAX_TCLASS 16

/** One session. Fields below "owner" belong to whoever owns the table. */
struct flow {
	struct addr client;
	struct addr origdst;
	uint64_t hash;
	uint64_t last_ms;
	unsigned timeout_ms;
	struct flow *hnext;
	TAILQ_ENTRY(flow) tc_link; /* activity list of its timeout class */
	TAILQ_ENTRY(flow) cl_link; /* its client's activity list */
	struct flow_client *fc;
	uint8_t tclass;
	/* owner */
	void *owner;
	enum svc_id svc;
	uint16_t port; /* intercepted port the flow came in on */
	bool reply_raw;
	bool reply_nogso; /* the kernel refused GSO sends on reply_fd */
	uint8_t busy; /* callbacks running on it: closing is deferred */
	bool dead;    /* closed while busy: the last release frees it */
	int reply_fd;
	struct event *reply_ev;
	void *svc_data;
};

/** Called before a flow is freed; must not call back into the table. */
typedef void (*flow_remove_fn)(void *ctx, struct flow *f, enum flow_end why);

/**
 * A new table. key: 16 random bytes for SipHash. max_flows and
 * max_per_client: caps (>= 1). on_remove may be NULL.
 */
struct flow_table *flow_table_new(const uint8_t key[16], unsigned max_flows,
				  unsigned max_per_client, flow_remove_fn on_remove, void *ctx);

/** Remove every flow (FLOW_END_SHUTDOWN) and free the table; NULL is fine. */
void flow_table_free(struct flow_table *t);

/** Change the caps (on reload); takes effect at the next insert. */
void flow_table_set_caps(struct flow_table *t, unsigned max_flows, unsigned max_per_client);

/** The flow for this 4-tuple, or NULL. */
struct flow *flow_lookup(struct flow_table *t, const struct addr *client,
			 const struct addr *origdst);

/**
 * Insert a new flow (the caller checked it is not there). Evicts the least
 * recently active flow of the client, or of the table, when a cap is hit;
 * flows with busy > 0 are never evicted (the cap is then exceeded until
 * they end). Returns NULL only when out of memory.
 */
struct flow *flow_insert(struct flow_table *t, const struct addr *client,
			 const struct addr *origdst, unsigned timeout_s, uint64_t now_ms);

/**
 * Evict the least recently active flow of client (its IP) that no callback
 * is running on (FLOW_END_EVICTED_CLIENT); false when there is none.
 */
bool flow_evict_client(struct flow_table *t, const struct addr *client);

/** Mark a flow active now (moves it to the tail of its lists). */
void flow_touch(struct flow_table *t, struct flow *f, uint64_t now_ms);

/** Remove and free one flow, calling on_remove with why. */
void flow_remove(struct flow_table *t, struct flow *f, enum flow_end why);

/** Remove every flow idle for at least its timeout; returns how many. */
size_t flow_expire(struct flow_table *t, uint64_t now_ms);

/** Milliseconds until the next flow can expire (UINT64_MAX when empty). */
uint64_t flow_next_expiry(const struct flow_table *t, uint64_t now_ms);

/** Number of flows in the table. */
size_t flow_count(const struct flow_table *t);

/** Number of flows held by one client address (port ignored). */
size_t flow_client_count(const struct flow_table *t, const struct addr *client);

#endif
