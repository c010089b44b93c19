#include "config.h"
/* resolve.c - config host names resolved with c-ares 1.18 on the main
 * loop (see resolve.h). Owns the channel, the events for the sockets
 * c-ares opens (ARES_OPT_SOCK_STATE_CB), and one record per name with its
 * current addresses (under a mutex: workers read them) and its refresh
 * timer. What is resolved, and through which servers, comes from the
 * config's core fields (hosts, bootstrap), so this module knows no service. */
#include "resolve.h"
#include "cfg.h"
#include "log.h"

#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RESOLVE_RETRY_S 30
#define RESOLVE_MIN_TTL_S 10
#define RESOLVE_MAX_TTL_S 86400

struct rs_sock {
	struct rs_sock *next;
	struct resolve *r;
	struct event *ev;
	int fd;
};

struct rs_name {
	struct resolve *r;
	char *host;
	struct event *tmr; /* next lookup */
	struct addr addrs[RESOLVE_MAX_ADDRS];
	size_t n;	 /* under r->lock */
	bool pending;	 /* a lookup is out */
	bool answered;	 /* had a first answer or failure */
	bool failing;	 /* the last lookup failed (logged once) */
	bool keep;	 /* still in the config (resolve_config) */
};

struct resolve {
	struct event_base *base;
	ares_channel ch;
	bool have_ch;
	struct event *tmr; /* c-ares's own timeouts */
	struct rs_sock *socks;
	pthread_mutex_t lock;
	struct rs_name **names;
	size_t n;
	uint32_t mark;
};

bool resolve_is_name(const char *s)
{
	size_t len = strlen(s), lab = 0;
	bool alpha = false;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_') || ++lab > 63)
			return false;
		alpha |= (c < '0' || c > '9');
	}
	return alpha; /* "1.2.3.4" is an address, never a name */
}

/* ---- c-ares on the loop ---- */

static void arm(struct resolve *r)
{
	struct timeval tv, *tp;

	if (!r->have_ch)
		return;
	tp = ares_timeout(r->ch, NULL, &tv);
	if (tp)
		event_add(r->tmr, tp);
	else
		event_del(r->tmr);
}

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rs_sock *s = arg;
	struct resolve *r = s->r; /* s may go inside ares_process_fd */

	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	arm(r);
}

static void tmr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolve *r = arg;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm(r);
}

static void sock_state(void *data, ares_socket_t fd, int rd, int wr)
{
	struct resolve *r = data;
	struct rs_sock **pp = &r->socks, *s;
	short what = (short)((rd ? EV_READ : 0) | (wr ? EV_WRITE : 0));

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	s = *pp;
	if (s)
		event_del(s->ev);
	if (!what) {
		if (s) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->r = r;
		s->fd = fd;
		s->next = r->socks;
		r->socks = s;
	} else {
		event_free(s->ev);
	}
	s->ev = event_new(r->base, fd, what | EV_PERSIST, sock_cb, s);
	if (s->ev)
		event_add(s->ev, NULL);
}

/* Every socket c-ares opens carries the mark, so the ruleset lets it pass. */
static int sock_create(ares_socket_t fd, int type, void *data)
{
	struct resolve *r = data;

	if (r->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark)) < 0)
		return -1;
	return 0;
}

static int channel_new(struct resolve *r, const struct cfg *c)
{
	struct ares_options o = {0};
	struct ares_addr_port_node nodes[CFG_MAX_BOOTSTRAP];
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS;

	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	o.tries = 2;
	o.timeout = 1000;
	if (c->n_bootstrap) {
		mask |= ARES_OPT_LOOKUPS;
		o.lookups = (char *)"b";
	}
	if (ares_init_options(&r->ch, &o, mask) != ARES_SUCCESS)
		return -ENOMEM;
	r->have_ch = true;
	ares_set_socket_callback(r->ch, sock_create, r);
	for (size_t i = 0; i < c->n_bootstrap; i++) {
		const struct addr *a = &c->bootstrap[i];

		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].next = i + 1 < c->n_bootstrap ? &nodes[i + 1] : NULL;
		nodes[i].family = addr_family(a);
		if (nodes[i].family == AF_INET)
			nodes[i].addr.addr4 = a->u.in.sin_addr;
		else
			memcpy(&nodes[i].addr.addr6, &a->u.in6.sin6_addr, 16);
		nodes[i].udp_port = nodes[i].tcp_port = addr_port(a);
	}
	if (c->n_bootstrap && ares_set_servers_ports(r->ch, nodes) != ARES_SUCCESS)
		return -EINVAL;
	return 0;
}

/* ---- names ---- */

static void lookup(struct rs_name *nm);

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	lookup(arg);
}

static void schedule(struct rs_name *nm, unsigned s)
{
	event_add(nm->tmr, &(struct timeval){s, 0});
}

static void got(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct rs_name *nm = arg;
	struct resolve *r = nm->r;
	struct addr a[RESOLVE_MAX_ADDRS];
	size_t n = 0;
	int ttl = RESOLVE_MAX_TTL_S;

	nm->pending = false;
	if (status == ARES_EDESTRUCTION)
		return; /* the channel is being replaced: the new one asks again */
	nm->answered = true;
	for (struct ares_addrinfo_node *p = res ? res->nodes : NULL; p && n < RESOLVE_MAX_ADDRS;
	     p = p->ai_next)
		if (addr_from_sa(&a[n], p->ai_addr, (socklen_t)p->ai_addrlen) == 0) {
			ttl = p->ai_ttl < ttl ? p->ai_ttl : ttl;
			n++;
		}
	if (res)
		ares_freeaddrinfo(res);
	if (status != ARES_SUCCESS || n == 0) {
		if (!nm->failing)
			log_warn("resolve %s: %s; asking again in %d s%s", nm->host,
				 status == ARES_SUCCESS ? "no address" : ares_strerror(status),
				 RESOLVE_RETRY_S, nm->n ? " (its last addresses stay in use)" : "");
		nm->failing = true;
		schedule(nm, RESOLVE_RETRY_S);
		return;
	}
	if (nm->failing || !nm->n)
		log_info("resolve %s: %zu address(es), TTL %d s", nm->host, n, ttl);
	nm->failing = false;
	pthread_mutex_lock(&r->lock);
	memcpy(nm->addrs, a, n * sizeof(*a));
	nm->n = n;
	pthread_mutex_unlock(&r->lock);
	schedule(nm, (unsigned)SL_MIN(SL_MAX(ttl, RESOLVE_MIN_TTL_S), RESOLVE_MAX_TTL_S));
}

static void lookup(struct rs_name *nm)
{
	struct ares_addrinfo_hints h = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct resolve *r = nm->r;

	if (nm->pending || !r->have_ch)
		return;
	nm->pending = true;
	ares_getaddrinfo(r->ch, nm->host, NULL, &h, got, nm);
	arm(r);
}

static struct rs_name *find(struct resolve *r, const char *host)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->names[i]->host, host) == 0)
			return r->names[i];
	return NULL;
}

static void name_free(struct rs_name *nm)
{
	if (nm->tmr)
		event_free(nm->tmr);
	free(nm->host);
	free(nm);
}

static struct rs_name *name_new(struct resolve *r, const char *host)
{
	struct rs_name *nm = calloc(1, sizeof(*nm));
	struct rs_name **t = realloc(r->names, (r->n + 1) * sizeof(*t));

	if (t)
		r->names = t;
	if (!nm || !t || !(nm->host = strdup(host)) ||
	    !(nm->tmr = event_new(r->base, -1, 0, refresh_cb, nm))) {
		if (nm)
			name_free(nm);
		return NULL;
	}
	nm->r = r;
	pthread_mutex_lock(&r->lock);
	r->names[r->n++] = nm;
	pthread_mutex_unlock(&r->lock);
	return nm;
}

/* ---- the module ---- */

struct resolve *resolve_new(struct event_base *base)
{
	struct resolve *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	r->tmr = event_new(base, -1, 0, tmr_cb, r);
	if (!r->tmr || pthread_mutex_init(&r->lock, NULL) != 0 ||
	    ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		if (r->tmr)
			event_free(r->tmr);
		free(r);
		return NULL;
	}
	return r;
}

static void channel_free(struct resolve *r)
{
	if (!r->have_ch)
		return;
	r->have_ch = false;
	ares_destroy(r->ch); /* pending lookups end with ARES_EDESTRUCTION */
	event_del(r->tmr);
}

/* Drop the names the new config no longer has. */
static void prune(struct resolve *r)
{
	size_t k = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (r->names[i]->keep)
			r->names[k++] = r->names[i];
		else
			name_free(r->names[i]);
	}
	r->n = k;
	pthread_mutex_unlock(&r->lock);
}

int resolve_config(struct resolve *r, const struct cfg *c)
{
	int rc;

	channel_free(r); /* the bootstrap servers or the mark may have changed */
	r->mark = c->mark;
	for (size_t i = 0; i < r->n; i++)
		r->names[i]->keep = false;
	for (size_t i = 0; i < c->n_hosts; i++) {
		struct rs_name *nm = find(r, c->hosts[i]);

		if (!nm && !(nm = name_new(r, c->hosts[i])))
			return -ENOMEM;
		nm->keep = true;
	}
	prune(r);
	if (!r->n)
		return 0;
	rc = channel_new(r, c);
	if (rc < 0) {
		log_err("resolve: cannot start c-ares (%s)", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < r->n; i++)
		if (!r->names[i]->n || r->names[i]->failing)
			lookup(r->names[i]);
		else if (!evtimer_pending(r->names[i]->tmr, NULL))
			schedule(r->names[i], RESOLVE_MIN_TTL_S);
	return 0;
}

static bool all_answered(const struct resolve *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!r->names[i]->answered)
			return false;
	return true;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
}

void resolve_wait(struct resolve *r, unsigned ms)
{
	uint64_t end = sl_now_ms() + ms, now;
	struct event *wake = evtimer_new(r->base, wake_cb, NULL);

	/* The loop runs only c-ares's events here: the workers have not started. */
	while (wake && !all_answered(r) && (now = sl_now_ms()) < end) {
		unsigned left = (unsigned)SL_MIN(end - now, 100);

		struct timeval tv = {0, (suseconds_t)left * 1000};

		evtimer_add(wake, &tv);
		event_base_loop(r->base, EVLOOP_ONCE);
	}
	if (wake)
		event_free(wake);
	for (size_t i = 0; i < r->n; i++)
		if (!r->names[i]->answered)
			log_warn("resolve %s: no answer yet; its servers are skipped until there is",
				 r->names[i]->host);
}

size_t resolve_get(struct resolve *r, const char *host, uint16_t port, struct addr *out,
		   size_t max)
{
	size_t n = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && !n; i++) {
		const struct rs_name *nm = r->names[i];

		if (strcmp(nm->host, host) != 0)
			continue;
		for (; n < nm->n && n < max; n++) {
			out[n] = nm->addrs[n];
			addr_set_port(&out[n], port);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

void resolve_free(struct resolve *r)
{
	if (!r)
		return;
	channel_free(r);
	for (size_t i = 0; i < r->n; i++)
		name_free(r->names[i]);
	free(r->names);
	event_free(r->tmr);
	pthread_mutex_destroy(&r->lock);
	ares_library_cleanup();
	free(r);
}
