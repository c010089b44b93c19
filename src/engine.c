/* engine.c - the process around the workers: opens the listeners (as root),
 * drops privileges, starts one worker per CPU, and runs the main loop for
 * signals (SIGHUP reload, SIGTERM/SIGINT exit, SIGUSR1 stats) and metrics.
 * The running config root lives here and is swapped whole on reload. */
#include "config.h"
#include "engine.h"
#include "listen.h"
#include "log.h"
#include "clients.h"
#include "ctl.h"
#include "stats.h"
#include "ownsock.h"
#include "ratelimit.h"
#include "resolve.h"
#include "svc.h"
#include "notify.h"
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

/* Clients the per-client counters keep at once (DNS in flight, sessions). */
#define CLIENTS_MAX 65536

/* How long the start waits for the config's host names to resolve. */
#define RESOLVE_START_MS 5000

static bool has_family(const struct cfg *c, int family)
{
	for (size_t i = 0; i < c->n_listen; i++)
		if (addr_family(&c->listen[i]) == family)
			return true;
	return false;
}

/* The services' sockets for c (the same set for every worker). */
static size_t svc_sockets(const struct cfg *c, struct svc_sock *out)
{
	size_t n = 0;

	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->sockets)
			n += sv->sockets(c, out + n, SVC_MAX_SOCKS - n);
	}
	return n;
}

static void close_all(int *fds, size_t n)
{
	while (n--)
		close(fds[n]);
}

/* Open every listener and service socket for one worker; on failure closes
 * what it opened. */
static int open_listeners(const struct cfg *c, int *fds, struct svc_sock *socks, size_t n_socks)
{
	bool v6only = has_family(c, AF_INET);
	char buf[ADDR_STRLEN];
	size_t i;

	for (i = 0; i < c->n_listen; i++) {
		fds[i] = listen_open(&c->listen[i], v6only);
		if (fds[i] < 0) {
			log_err("cannot listen on %s: %s%s",
				addr_fmt(&c->listen[i], buf, sizeof(buf)), strerror(-fds[i]),
				fds[i] == -EPERM ? " (transparent sockets need CAP_NET_ADMIN)" : "");
			close_all(fds, i);
			return -1;
		}
	}
	for (size_t j = 0; j < n_socks; j++) {
		socks[j].fd = listen_open_sock(&socks[j], v6only);
		if (socks[j].fd < 0) {
			log_err("cannot open %s %s socket on %s: %s%s", cfg_svc_name(socks[j].svc),
				socks[j].type == SOCK_STREAM ? "TCP" : "UDP",
				addr_fmt(&socks[j].addr, buf, sizeof(buf)), strerror(-socks[j].fd),
				socks[j].fd == -EADDRINUSE ? " (another server owns that address and port)"
							   : "");
			while (j--)
				close(socks[j].fd);
			close_all(fds, i);
			return -1;
		}
	}
	return 0;
}

void engine_counters(struct engine *e, uint64_t out[CTR_COUNT])
{
	memcpy(out, e->retired, sizeof(uint64_t) * CTR_COUNT);
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

size_t engine_stats(struct engine *e, struct stats **out)
{
	for (unsigned i = 0; i < e->nworkers; i++)
		out[i] = e->workers[i].stats;
	return e->nworkers;
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

#define RELAY_RL_SLOTS 16384

/* (Re)make the relay limiter when the config's rates differ from its own. */
static void relay_limits(struct engine *e, const struct cfg *c)
{
	struct ratelimit *rl = NULL;

	if (c->relay_rate == e->relay_rate && c->relay_burst == e->relay_burst)
		return;
	if (c->relay_rate && !(rl = ratelimit_new(c->relay_rate, c->relay_burst, RELAY_RL_SLOTS, true))) {
		log_err("relay-rate-limit: out of memory; keeping the old limits");
		return;
	}
	pthread_mutex_lock(&e->relay_lock);
	ratelimit_free(e->relay_rl);
	e->relay_rl = rl;
	e->relay_rate = c->relay_rate;
	e->relay_burst = c->relay_burst;
	pthread_mutex_unlock(&e->relay_lock);
}

unsigned engine_relay_allow(struct engine *e, const struct addr *client, unsigned n)
{
	uint64_t now = sl_now_ms();
	unsigned ok = 0;

	pthread_mutex_lock(&e->relay_lock);
	if (!e->relay_rl)
		ok = n;
	while (ok < n && ratelimit_allow(e->relay_rl, &client->u.sa, now))
		ok++;
	pthread_mutex_unlock(&e->relay_lock);
	return ok;
}

static void warn_line(void *arg, const char *msg)
{
	log_warn("%s", msg);
}

/* Do old and new need the same service sockets (opened once, at start)? */
static bool same_sockets(const struct cfg *a, const struct cfg *b)
{
	struct svc_sock sa[SVC_MAX_SOCKS], sb[SVC_MAX_SOCKS];
	size_t na = svc_sockets(a, sa), nb = svc_sockets(b, sb);

	for (size_t i = 0; na == nb && i < na; i++)
		if (!addr_equal(&sa[i].addr, &sb[i].addr) || sa[i].type != sb[i].type ||
		    sa[i].transparent != sb[i].transparent)
			return false;
	return na == nb;
}

/* The descriptor plan for c; says so when a session cap had to come down. */
static void plan(struct engine *e, const struct cfg *c, unsigned nw, struct fdplan *l)
{
	fdplan_make(c, nw, e->n_socks, e->limits.nofile, l);
	if (l->lowered)
		log_warn("max-sessions %u lowered to %u: RLIMIT_NOFILE is %lu (raise it, e.g. "
			 "LimitNOFILE= in the systemd unit or ulimit -n)",
			 c->max_sessions, l->max_sessions, l->nofile);
	log_info("descriptors: %lu; sessions up to %u, DNS up to %zu, %u cached reply sockets "
		 "per worker", l->nofile, l->max_sessions, l->dns_fds, l->reply_cache);
}

static unsigned worker_count(const struct cfg *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->workers)
		return c->workers;
	return n > 0 ? (unsigned)SL_MIN(n, 64) : 1;
}

int engine_reload(struct engine *e, char *err, size_t errlen)
{
	struct cfg *n;
	unsigned nw;

	if (e->pending) {
		snprintf(err, errlen, "a reload is already in progress");
		return -1;
	}
	notify_reloading();
	n = cfg_load(e->cfg_path, err, errlen);
	if (!n) {
		notify_sendf("READY=1\nSTATUS=reload failed, running the old config: %.*s",
			     (int)strcspn(err, "\n"), err);
		return -1;
	}
	nw = worker_count(n);
	if (engine_live_plan(e, n, nw, err, errlen) < 0) {
		cfg_free(n);
		notify_sendf("READY=1\nSTATUS=reload failed, running the old config: %.*s",
			     (int)strcspn(err, "\n"), err);
		return -1;
	}
	if (!same_sockets(e->cfg, n))
		log_warn("dns-listen or `intercept tcp` changed: the sockets they need open at the "
			 "next restart");
	cfg_warnings(n, warn_line, NULL);
	plan(e, n, nw, &e->pending_limits);
	resolve_config(e->res, n); /* new names are looked up now, kept ones stay */
	relay_limits(e, n);
	e->pending = n;
	/* Workers a smaller `workers` removes keep the old config until they stop. */
	nw = SL_MIN(nw, e->nworkers);
	atomic_store(&e->reload_left, nw);
	for (unsigned i = 0; i < nw; i++)
		worker_reload(&e->workers[i]);
	return 0;
}

/* metrics and control follow the config on reload; a failure to open the
 * new one is logged and leaves it off (the old one is already closed). */
static void apply_endpoints(struct engine *e, const struct cfg *old, const struct cfg *n)
{
	if (old->has_metrics != n->has_metrics ||
	    (n->has_metrics && (!e->http || !addr_equal(&e->http_addr, &n->metrics)))) {
		metrics_stop(e);
		if (n->has_metrics && metrics_start(e, &n->metrics) == 0)
			log_notice("metrics now at %s",
				   addr_fmt(&n->metrics, (char[ADDR_STRLEN]){0}, ADDR_STRLEN));
	}
	if (!n->control || !e->ctl || strcmp(n->control, ctl_path(e->ctl)) != 0) {
		if (e->ctl && (!n->control || strcmp(n->control, ctl_path(e->ctl)) != 0)) {
			ctl_stop(e->ctl);
			e->ctl = NULL;
		}
		if (n->control && !e->ctl && (e->ctl = ctl_start(e, n->control)))
			log_notice("control socket now at %s", n->control);
	}
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
	e->limits = e->pending_limits;
	engine_live_finish(e); /* workers removed or added; the old config is still there */
	log_notice("configuration reloaded from %s", e->cfg_path);
	ctl_reload_done(e->ctl, NULL);
	apply_endpoints(e, old, e->cfg);
	cfg_free(old);
	notify_ready("running; configuration reloaded");
	if (e->reload_again) { /* the file may have changed after this reload read it */
		char err[1024];

		e->reload_again = false;
		if (engine_reload(e, err, sizeof(err)) < 0)
			log_err("reload failed, keeping the running config: %s", err);
	}
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;

	char err[1024];

	if (sig == SIGHUP && e->pending) {
		/* Refusing it would lose a change made after that reload read the
		 * file (a script that writes and signals twice in a row). */
		e->reload_again = true;
		log_info("SIGHUP during a reload: reloading again once it is done");
	} else if (sig == SIGHUP) {
		if (engine_reload(e, err, sizeof(err)) < 0)
			log_err("reload failed, keeping the running config: %s", err);
	} else if (sig == SIGUSR1) {
		dump_stats(e);
	} else if (sig == SIGUSR2) {
		/* logrotate moved the query log: every worker opens it again */
		atomic_fetch_add_explicit(&e->qlog_gen, 1, memory_order_release);
		log_info("SIGUSR2: reopening the query log");
	} else {
		log_notice("signal %d: exiting", (int)sig);
		notify_stopping();
		event_base_loopbreak(e->base);
	}
}

/* Once a second: the history behind the status page's plots; the metrics
 * and control sockets accept again if running out of descriptors paused them. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t v[CTR_COUNT];

	engine_counters(e, v);
	stats_hist_tick(e->hist, v);
	metrics_resume(e);
	ctl_resume(e->ctl);
}

static int start_signals(struct engine *e)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < SL_ARRAY_LEN(sigs); i++) {
		e->sig[i] = evsignal_new(e->base, sigs[i], signal_cb, e);
		if (!e->sig[i] || event_add(e->sig[i], NULL) < 0)
			return -ENOMEM;
	}
	e->reload_done = event_new(e->base, -1, 0, reload_done_cb, e);
	e->tick = event_new(e->base, -1, EV_PERSIST, tick_cb, e);
	if (!e->reload_done || !e->tick || event_add(e->tick, &(struct timeval){1, 0}) < 0)
		return -ENOMEM;
	return 0;
}


/* One worker's sockets, opened before the privilege drop. */
struct wsocks {
	int fds[CFG_MAX_LISTEN];
	struct svc_sock socks[SVC_MAX_SOCKS];
};

static void close_wsocks(const struct engine *e, struct wsocks *ws)
{
	close_all(ws->fds, e->cfg->n_listen);
	for (size_t j = 0; j < e->n_socks; j++)
		close(ws->socks[j].fd);
}

/* Everything that needs root: sockets for every worker, then the drop. */
static int start_privileged(struct engine *e, struct wsocks *ws)
{
	struct svc_sock tmpl[SVC_MAX_SOCKS];
	unsigned i;

	if (!e->cfg->user)
		priv_report(); /* unprivileged: what it may do; root: nothing to say */
	/* The control socket first (a live one means another sluice runs), while
	 * root may still create it in /run. */
	if (e->cfg->control && !(e->ctl = ctl_start(e, e->cfg->control)))
		return -1;
	e->n_socks = svc_sockets(e->cfg, tmpl);
	for (i = 0; i < e->nworkers; i++) {
		memcpy(ws[i].socks, tmpl, e->n_socks * sizeof(*tmpl));
		if (open_listeners(e->cfg, ws[i].fds, ws[i].socks, e->n_socks) < 0)
			goto fail;
	}
	if (e->cfg->user && priv_drop(e->cfg->user) < 0)
		goto fail;
	return 0;
fail:
	ctl_stop(e->ctl);
	e->ctl = NULL;
	while (i--)
		close_wsocks(e, &ws[i]);
	return -1;
}

static int start_services(struct engine *e)
{
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->proc_init && sv->proc_init(e) < 0) {
			log_err("cannot set up the %s service", cfg_svc_name((enum svc_id)s));
			return -1;
		}
	}
	return 0;
}

static int start_workers(struct engine *e, struct wsocks *ws)
{
	for (unsigned i = 0; i < e->nworkers; i++) {
		struct worker *w = &e->workers[i];

		if (worker_init(w, e, i, e->cfg, ws[i].fds, e->cfg->n_listen, ws[i].socks,
				e->n_socks) < 0) {
			log_err("cannot set up worker %u", i);
			/* later workers' sockets are not owned by anyone yet */
			for (unsigned j = i + 1; j < e->nworkers; j++)
				close_wsocks(e, &ws[j]);
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
	ctl_stop(e->ctl);
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
	if (e->tick)
		event_free(e->tick);
	free(e->hist);
	resolve_free(e->res); /* its events live on e->base */
	if (e->base)
		event_base_free(e->base);
	for (int s = SVC_COUNT - 1; s >= 0; s--) {
		const struct svc *sv = svc_get((enum svc_id)s);

		if (sv && sv->proc_fini)
			sv->proc_fini(e);
	}
	bindmap_free(e->binds);
	ownsock_free(e->own);
	clients_free(e->clients);
	ratelimit_free(e->relay_rl);
	pthread_mutex_destroy(&e->relay_lock);
	cfg_free(e->pending);
	cfg_free(e->cfg);
	libevent_global_shutdown();
}

int engine_run(const char *cfg_path, struct cfg *cfg)
{
	struct engine e = {.cfg = cfg, .cfg_path = cfg_path, .start_ms = sl_now_ms()};
	struct wsocks *ws = NULL;
	int rc = 1;

	if (evthread_use_pthreads() < 0 || sodium_init() < 0) {
		log_err("cannot initialise libevent threads or libsodium");
		cfg_free(cfg);
		return 1;
	}
	randombytes_buf(e.flow_key, sizeof(e.flow_key));
	randombytes_buf(e.stats_key, sizeof(e.stats_key));
	cfg_warnings(cfg, warn_line, NULL);
	e.limits.nofile = fdplan_raise_nofile();
	e.nworkers = worker_count(cfg);
	/* Room for every worker a reload may add (untouched pages cost nothing). */
	e.workers = calloc(ENGINE_MAX_WORKERS, sizeof(*e.workers));
	ws = calloc(e.nworkers, sizeof(*ws));
	e.binds = bindmap_new();
	e.own = ownsock_new();
	e.clients = clients_new(CLIENTS_MAX);
	e.base = event_base_new();
	e.hist = calloc(1, sizeof(*e.hist));
	pthread_mutex_init(&e.relay_lock, NULL);
	relay_limits(&e, cfg);
	if (!e.workers || !ws || !e.binds || !e.own || !e.clients || !e.base || !e.hist) {
		e.nworkers = 0;
		goto done;
	}
	if (start_privileged(&e, ws) < 0) {
		e.nworkers = 0;
		goto done;
	}
	plan(&e, cfg, e.nworkers, &e.limits);
	/* Upstream and NTP host names: a bounded wait for their first answers. */
	if (!(e.res = resolve_new(e.base)) || resolve_config(e.res, cfg) < 0) {
		for (unsigned i = 0; i < e.nworkers; i++)
			close_wsocks(&e, &ws[i]);
		e.nworkers = 0;
		goto done;
	}
	resolve_wait(e.res, RESOLVE_START_MS);
	if (start_services(&e) < 0) {
		for (unsigned i = 0; i < e.nworkers; i++)
			close_wsocks(&e, &ws[i]);
		e.nworkers = 0;
		goto done;
	}
	if (start_workers(&e, ws) < 0 || start_signals(&e) < 0)
		goto done;
	if (cfg->has_metrics && metrics_start(&e, &cfg->metrics) < 0)
		goto done;
	log_notice("sluice %s running: %u worker(s), %zu listener(s), %zu intercept(s)",
		   PACKAGE_VERSION, e.nworkers, cfg->n_listen, cfg->n_intercept);
	/* The listeners are open, the lists loaded and the workers running. */
	notify_sendf("READY=1\nSTATUS=running: %u worker(s), %zu listener(s), %zu intercept(s)",
		     e.nworkers, cfg->n_listen, cfg->n_intercept);
	event_base_dispatch(e.base);
	rc = 0;
done:
	free(ws);
	engine_fini(&e);
	return rc;
}
