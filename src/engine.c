/* engine.c - the process around the workers: opens the listeners (as root),
 * drops privileges, starts one worker per CPU, and runs the main loop for
 * signals (SIGHUP reload, SIGTERM/SIGINT exit, SIGUSR1 stats) and metrics.
 * The running config root lives here and is swapped whole on reload. */
#include "config.h"
#include "engine.h"
#include "dns_svc.h"
#include "listen.h"
#include "log.h"
#include "priv.h"
#include "reply.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool has_family(const struct cfg *c, int family)
{
	for (size_t i = 0; i < c->n_listen; i++)
		if (addr_family(&c->listen[i]) == family)
			return true;
	return false;
}

/* Open every listener for one worker; on failure closes what it opened. */
static int open_listeners(const struct cfg *c, int *fds)
{
	bool v6only = has_family(c, AF_INET);
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < c->n_listen; i++) {
		fds[i] = listen_open(&c->listen[i], v6only);
		if (fds[i] < 0) {
			log_err("cannot listen on %s: %s", addr_fmt(&c->listen[i], buf, sizeof(buf)),
				strerror(-fds[i]));
			while (i--)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

void engine_counters(struct engine *e, uint64_t out[CTR_COUNT])
{
	memset(out, 0, sizeof(uint64_t) * CTR_COUNT);
	for (unsigned i = 0; i < e->nworkers; i++)
		for (int c = 0; c < CTR_COUNT; c++)
			out[c] += ctr_get(&e->workers[i].ctr, (enum ctr_id)c);
}

size_t engine_flows(struct engine *e)
{
	size_t n = 0;

	for (unsigned i = 0; i < e->nworkers; i++)
		n += atomic_load_explicit(&e->workers[i].nflows, memory_order_relaxed);
	return n;
}

static void dump_stats(struct engine *e)
{
	uint64_t v[CTR_COUNT];

	engine_counters(e, v);
	log_notice("stats: flows_active %zu", engine_flows(e));
	for (int c = 0; c < CTR_COUNT; c++)
		if (v[c])
			log_notice("stats: %s %llu", ctr_name((enum ctr_id)c), (unsigned long long)v[c]);
}

static void reload(struct engine *e)
{
	char err[1024];
	struct cfg *n;

	if (e->pending) {
		log_warn("reload already in progress; SIGHUP ignored");
		return;
	}
	n = cfg_load(e->cfg_path, err, sizeof(err));
	if (!n) {
		log_err("reload failed, keeping the running config: %s", err);
		return;
	}
	if (n->n_listen != e->cfg->n_listen ||
	    memcmp(n->listen, e->cfg->listen, sizeof(n->listen[0]) * n->n_listen) != 0)
		log_warn("listen addresses changed: they take effect at the next restart");
	e->pending = n;
	atomic_store(&e->reload_left, e->nworkers);
	for (unsigned i = 0; i < e->nworkers; i++)
		worker_reload(&e->workers[i]);
}

void engine_worker_reloaded(struct engine *e)
{
	if (atomic_fetch_sub(&e->reload_left, 1) == 1)
		event_active(e->reload_done, EV_TIMEOUT, 0);
}

static void reload_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct cfg *old = e->cfg;

	e->cfg = e->pending;
	e->pending = NULL;
	cfg_free(old);
	log_notice("configuration reloaded from %s", e->cfg_path);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	if (sig == SIGHUP)
		reload(e);
	else if (sig == SIGUSR1)
		dump_stats(e);
	else {
		log_notice("signal %d: exiting", (int)sig);
		event_base_loopbreak(e->base);
	}
}

static int start_signals(struct engine *e)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < SL_ARRAY_LEN(sigs); i++) {
		e->sig[i] = evsignal_new(e->base, sigs[i], signal_cb, e);
		if (!e->sig[i] || event_add(e->sig[i], NULL) < 0)
			return -ENOMEM;
	}
	e->reload_done = event_new(e->base, -1, 0, reload_done_cb, e);
	return e->reload_done ? 0 : -ENOMEM;
}

static unsigned worker_count(const struct cfg *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->workers)
		return c->workers;
	return n > 0 ? (unsigned)SL_MIN(n, 64) : 1;
}

/* Everything that needs root: listeners for every worker, then the drop. */
static int start_privileged(struct engine *e, int (*fds)[CFG_MAX_LISTEN])
{
	unsigned i;

	for (i = 0; i < e->nworkers; i++)
		if (open_listeners(e->cfg, fds[i]) < 0)
			goto fail;
	if (e->cfg->user && priv_drop(e->cfg->user) < 0)
		goto fail;
	return 0;
fail:
	while (i--)
		for (size_t j = 0; j < e->cfg->n_listen; j++)
			close(fds[i][j]);
	return -1;
}

static int start_workers(struct engine *e, int (*fds)[CFG_MAX_LISTEN])
{
	for (unsigned i = 0; i < e->nworkers; i++) {
		struct worker *w = &e->workers[i];

		if (worker_init(w, e, i, e->cfg, fds[i], e->cfg->n_listen) < 0) {
			log_err("cannot set up worker %u", i);
			/* later workers' listeners are not owned by anyone yet */
			for (unsigned j = i + 1; j < e->nworkers; j++)
				for (size_t k = 0; k < e->cfg->n_listen; k++)
					close(fds[j][k]);
			e->nworkers = i + 1;
			return -1;
		}
	}
	for (unsigned i = 0; i < e->nworkers; i++)
		if (worker_start(&e->workers[i]) < 0)
			return -1;
	return 0;
}

static void engine_fini(struct engine *e)
{
	metrics_stop(e);
	for (unsigned i = 0; i < e->nworkers; i++)
		worker_stop(&e->workers[i]);
	for (unsigned i = 0; i < e->nworkers; i++)
		worker_fini(&e->workers[i]);
	free(e->workers);
	for (size_t i = 0; i < SL_ARRAY_LEN(e->sig); i++)
		if (e->sig[i])
			event_free(e->sig[i]);
	if (e->reload_done)
		event_free(e->reload_done);
	if (e->base)
		event_base_free(e->base);
	dns_shared_free(e);
	bindmap_free(e->binds);
	bindmap_free(e->upstreams);
	cfg_free(e->pending);
	cfg_free(e->cfg);
	libevent_global_shutdown();
}

int engine_run(const char *cfg_path, struct cfg *cfg)
{
	struct engine e = {.cfg = cfg, .cfg_path = cfg_path};
	int (*fds)[CFG_MAX_LISTEN] = NULL;
	int rc = 1;

	if (evthread_use_pthreads() < 0 || sodium_init() < 0) {
		log_err("cannot initialise libevent threads or libsodium");
		cfg_free(cfg);
		return 1;
	}
	randombytes_buf(e.flow_key, sizeof(e.flow_key));
	e.nworkers = worker_count(cfg);
	e.workers = calloc(e.nworkers, sizeof(*e.workers));
	fds = calloc(e.nworkers, sizeof(*fds));
	e.binds = bindmap_new();
	e.upstreams = bindmap_new();
	e.base = event_base_new();
	if (!e.workers || !fds || !e.binds || !e.upstreams || !e.base) {
		e.nworkers = 0;
		goto done;
	}
	if (start_privileged(&e, fds) < 0) {
		e.nworkers = 0;
		goto done;
	}
	if (start_workers(&e, fds) < 0 || start_signals(&e) < 0)
		goto done;
	if (cfg->has_metrics && metrics_start(&e, &cfg->metrics) < 0)
		goto done;
	log_notice("sluice %s running: %u worker(s), %zu listener(s), %zu intercept(s)",
		   PACKAGE_VERSION, e.nworkers, cfg->n_listen, cfg->n_intercept);
	event_base_dispatch(e.base);
	rc = 0;
done:
	free(fds);
	engine_fini(&e);
	return rc;
}
