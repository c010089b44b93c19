/* engine.h - the process: the running config, the workers, signals,
 * reload, stats and metrics. */
#ifndef ENGINE_H
#define ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include "cfg.h"
#include "ctr.h"
#include "fdplan.h"
#include "log.h"

struct worker;
struct bindmap;
struct ownsock;
struct resolve;
struct clients;
struct ratelimit;
struct event_base;
struct event;
struct evhttp;
struct evbuffer;
struct ctl;
struct stats;

/** Most worker threads (`workers` N). */
#define ENGINE_MAX_WORKERS 256

struct engine {
	struct cfg *cfg;     /* the running config root */
	struct cfg *pending; /* being handed to the workers on reload */
	struct event_base *base;
	struct worker *workers;
	unsigned nworkers;
	struct bindmap *binds; /* sluice's reply sockets, by bound address */
	struct ownsock *own;   /* sluice's upstream sockets, for loop detection */
	struct resolve *res;   /* host names in the config, resolved on the main loop */
	struct log_once once;  /* messages any worker logs once for the process */
	struct clients *clients; /* per-client counts every worker shares */
	pthread_mutex_t relay_lock; /* guards relay_rl (relay-rate-limit), swapped on reload */
	struct ratelimit *relay_rl;
	unsigned relay_rate, relay_burst; /* what relay_rl was made with */
	struct fdplan limits;  /* the descriptor plan for cfg */
	struct fdplan pending_limits; /* and for pending, during a reload */
	uint8_t flow_key[16];
	atomic_uint reload_left;
	bool reload_again;    /* SIGHUP during a reload: reload once more when it is done */
	atomic_bool loop_reported; /* a routing loop was logged (once a process) */
	struct event *sig[5];
	struct event *reload_done;
	struct evhttp *http;
	struct addr http_addr; /* where http listens */
	struct evconnlistener *http_lis; /* http's listener (paused by accept errors) */
	struct ctl *ctl;       /* the control socket, or NULL */
	atomic_uint qlog_gen;  /* bumped on SIGUSR2: query logs open their file again */
	uint8_t stats_key[16]; /* SipHash key of every worker's top tables */
	struct stats_hist *hist; /* per-second history of a few counters (main thread) */
	struct event *tick;
	uint64_t start_ms; /* when it started (sl_now_ms) */
	struct lisplan *lisplan; /* a reload's listeners per worker (engine_live.c), or NULL */
	unsigned plan_workers;	 /* the workers lisplan is for */
	uint64_t retired[CTR_COUNT]; /* counters of workers a reload stopped */
	const char *cfg_path;
	void *svc_shared[SVC_COUNT]; /* process-wide service state (svc proc_init) */
	size_t n_socks;		     /* service sockets per worker */
};

/**
 * Open the listeners, drop privileges, start the workers and run until
 * SIGTERM/SIGINT. Takes ownership of cfg. Returns the process exit code.
 */
int engine_run(const char *cfg_path, struct cfg *cfg);

/** Sum every worker's counters into out. */
void engine_counters(struct engine *e, uint64_t out[CTR_COUNT]);

/** Flows held by all workers now. */
size_t engine_flows(struct engine *e);

/**
 * relay-rate-limit: may client send n more datagrams through a relay or
 * quic flow? Returns how many of them it may (0..n). Thread-safe.
 */
unsigned engine_relay_allow(struct engine *e, const struct addr *client, unsigned n);

/** Every worker's stats into out (ENGINE_MAX_WORKERS); returns how many. */
size_t engine_stats(struct engine *e, struct stats **out);

/**
 * Reload the config file (SIGHUP, `sluice ctl reload`). 0 when the new
 * config is being handed to the workers (ctl_reload_done tells when it is
 * done); -1 with "FILE:LINE: message" or another reason in err.
 */
int engine_reload(struct engine *e, char *err, size_t errlen);

/* engine_live.c: `listen` and `workers` changed by a reload. */
struct lisplan;
/** Plan the listeners of nw workers for n (main thread); -1 with err set. */
int engine_live_plan(struct engine *e, const struct cfg *n, unsigned nw, char *err, size_t errlen);
/** A worker takes its planned listeners (its thread, in its reload). */
void engine_live_adopt(struct worker *w);
/** The reload is done: stop the workers removed, start the ones added. */
void engine_live_finish(struct engine *e);

/** Called by a worker when it has switched to e->pending. */
void engine_worker_reloaded(struct engine *e);

/** Start the metrics HTTP endpoint on the engine's base. */
int metrics_start(struct engine *e, const struct addr *a);

/** Stop it. */
void metrics_stop(struct engine *e);

/** Accept again on the metrics listener if an accept error paused it (each tick). */
void metrics_resume(struct engine *e);

/** The Prometheus text of /metrics into b. */
void metrics_text(struct engine *e, struct evbuffer *b);

/** The status page (HTML) into b (status.c); -1 without memory. */
int status_page(struct engine *e, struct evbuffer *b);

#endif
