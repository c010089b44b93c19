/* engine_live.c - a reload that changes `listen` or `workers`, without a
 * restart. Before the new config is handed out, the main thread plans each
 * worker's listeners: an address kept stays on the very socket it has (made
 * before the privilege drop, maybe as root: a new socket could not join its
 * SO_REUSEPORT group as another user); an address new to the config gets
 * a new socket per worker (with the capabilities sluice kept; a failure,
 * e.g. a port below 1024 without CAP_NET_BIND_SERVICE, refuses the reload
 * with a clear message and nothing changes). A worker the reload adds
 * shares the kept sockets (a dup of an existing worker's: the same socket,
 * read by both) and has its own for new addresses. Workers the reload
 * removes stop once the others run the new config; their sessions end and
 * their counters are kept in the engine's totals. */
#include "config.h"
#include "engine.h"
#include "listen.h"
#include "log.h"
#include "svc.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lisplan {
	int fd[CFG_MAX_LISTEN];	  /* a socket this worker gets, or -1 */
	int keep[CFG_MAX_LISTEN]; /* the index in its own old listeners it keeps, or -1 */
	size_t n;
};

static int old_index(const struct cfg *c, const struct addr *a)
{
	for (size_t k = 0; k < c->n_listen; k++)
		if (addr_equal(&c->listen[k], a))
			return (int)k;
	return -1;
}

static bool has_family(const struct cfg *c, int family)
{
	for (size_t i = 0; i < c->n_listen; i++)
		if (addr_family(&c->listen[i]) == family)
			return true;
	return false;
}

static void plan_free(struct lisplan *p, unsigned n)
{
	for (unsigned i = 0; p && i < n; i++)
		for (size_t j = 0; j < p[i].n; j++)
			if (p[i].fd[j] >= 0)
				close(p[i].fd[j]);
	free(p);
}

/* Worker i's listeners for n; -1 with err set. */
static int plan_worker(struct engine *e, const struct cfg *n, unsigned i, struct lisplan *p,
		       char *err, size_t errlen)
{
	bool v6only = has_family(n, AF_INET);
	char buf[ADDR_STRLEN];

	p->n = n->n_listen;
	for (size_t j = 0; j < n->n_listen; j++) {
		int k = old_index(e->cfg, &n->listen[j]);

		p->keep[j] = -1;
		p->fd[j] = -1;
		if (k >= 0 && i < e->nworkers) {
			p->keep[j] = k;
			continue;
		}
		p->fd[j] = k >= 0 ? dup(e->workers[i % e->nworkers].lis_fd[k])
				  : listen_open(&n->listen[j], v6only);
		if (p->fd[j] < 0) {
			int rc = k >= 0 ? -errno : p->fd[j];

			snprintf(err, errlen, "listen %s: %s%s", addr_fmt(&n->listen[j], buf, sizeof(buf)),
				 strerror(-rc),
				 rc == -EACCES || rc == -EPERM
					 ? " (a listener needs CAP_NET_ADMIN, and CAP_NET_BIND_SERVICE below "
					   "port 1024; this process lacks one: restart it with them)"
					 : "");
			p->fd[j] = -1;
			return -1;
		}
	}
	return 0;
}

int engine_live_plan(struct engine *e, const struct cfg *n, unsigned nw, char *err, size_t errlen)
{
	bool same = nw == e->nworkers && n->n_listen == e->cfg->n_listen;
	struct lisplan *p;

	for (size_t j = 0; same && j < n->n_listen; j++)
		same = addr_equal(&n->listen[j], &e->cfg->listen[j]);
	if (same)
		return 0;
	/* A [::] socket kept is dual-stack or IPv6-only as it was made. */
	if (has_family(n, AF_INET) != has_family(e->cfg, AF_INET) && has_family(n, AF_INET6) &&
	    has_family(e->cfg, AF_INET6)) {
		snprintf(err, errlen, "listen: adding or removing IPv4 beside IPv6 listeners needs "
				      "a restart (the IPv6 sockets' v6only setting would change)");
		return -1;
	}
	p = calloc(nw, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < nw; i++)
		if (plan_worker(e, n, i, &p[i], err, errlen) < 0) {
			plan_free(p, i + 1);
			return -1;
		}
	e->lisplan = p;
	e->plan_workers = nw;
	return 0;
}

void engine_live_adopt(struct worker *w)
{
	struct lisplan *p = w->eng->lisplan;

	if (!p || w->id >= w->eng->plan_workers)
		return;
	worker_set_listeners(w, p[w->id].fd, p[w->id].keep, p[w->id].n);
	for (size_t j = 0; j < p[w->id].n; j++)
		p[w->id].fd[j] = -1; /* the worker's now */
}

/* Workers past nw: stopped, their counters kept. */
static void retire(struct engine *e, unsigned nw)
{
	for (unsigned i = nw; i < e->nworkers; i++) {
		worker_stop(&e->workers[i]);
		for (int c = 0; c < CTR_COUNT; c++)
			e->retired[c] += ctr_get(&e->workers[i].ctr, (enum ctr_id)c);
		worker_fini(&e->workers[i]);
	}
	log_notice("workers: %u now (%u stopped; their sessions ended)", nw, e->nworkers - nw);
	e->nworkers = nw;
}

/* Workers up to nw: their planned listeners, dups of worker 0's service sockets. */
static void recruit(struct engine *e, struct lisplan *p, unsigned nw)
{
	unsigned i;

	for (i = e->nworkers; i < nw; i++) {
		struct worker *w = &e->workers[i];
		struct svc_sock socks[SVC_MAX_SOCKS];
		size_t j;
		int rc;

		memcpy(socks, e->workers[0].socks, e->n_socks * sizeof(*socks));
		for (j = 0; j < e->n_socks; j++)
			if ((socks[j].fd = dup(e->workers[0].socks[j].fd)) < 0)
				break;
		if (j < e->n_socks) {
			while (j--)
				close(socks[j].fd);
			log_err("workers: cannot start worker %u: %s; running %u", i, strerror(errno), i);
			break;
		}
		/* the worker owns its sockets from here on, also when it fails */
		rc = worker_init(w, e, i, e->cfg, p[i].fd, p[i].n, socks, e->n_socks);
		for (j = 0; j < p[i].n; j++)
			p[i].fd[j] = -1;
		if (rc < 0 || worker_start(w) < 0) {
			log_err("workers: cannot start worker %u; running %u", i, i);
			worker_stop(w);
			worker_fini(w);
			break;
		}
	}
	if (i > e->nworkers)
		log_notice("workers: %u now (%u started)", i, i - e->nworkers);
	e->nworkers = i;
}

void engine_live_finish(struct engine *e)
{
	unsigned nw = e->plan_workers;

	if (!e->lisplan)
		return;
	if (nw < e->nworkers)
		retire(e, nw);
	else if (nw > e->nworkers)
		recruit(e, e->lisplan, nw);
	plan_free(e->lisplan, e->plan_workers);
	e->lisplan = NULL;
	e->plan_workers = 0;
}
