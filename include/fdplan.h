/* fdplan.h - file descriptors: raise RLIMIT_NOFILE as far as the hard
 * limit allows, then split what there is between sessions, the reply
 * socket cache and DNS, so that a full session table can never take the
 * descriptors DNS needs (and every cap is one the process can honour). */
#ifndef FDPLAN_H
#define FDPLAN_H

#include <stddef.h>

#include "cfg.h"

/** What the process may use, derived from RLIMIT_NOFILE and the config. */
struct fdplan {
	unsigned long nofile;  /* the soft limit in force */
	unsigned nworkers;     /* the workers it was made for */
	unsigned max_sessions; /* sessions across all workers (at most `max-sessions`) */
	unsigned max_per_client;
	unsigned reply_cache;  /* unconnected reply sockets each worker may cache */
	size_t dns_fds;	       /* descriptors DNS may hold (upstream sockets, TCP) */
	bool lowered;	       /* max_sessions is below the config's */
};

/** Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now. */
unsigned long fdplan_raise_nofile(void);

/**
 * Plan descriptor use for c on nworkers workers with nofile descriptors,
 * nsocks service sockets per worker besides the listeners.
 */
void fdplan_make(const struct cfg *c, unsigned nworkers, size_t nsocks, unsigned long nofile,
		 struct fdplan *out);

/**
 * Worker id's share of a cap of total over nworkers workers: the shares add
 * up to total exactly (the first total % nworkers workers take one more),
 * and none is below 1.
 */
unsigned fdplan_share(unsigned total, unsigned nworkers, unsigned id);

#endif
