/* dns_tcp.c - DNS over TCP from clients (RFC 7766): connections accepted on
 * transparent listeners (`intercept tcp 53 dns`: the accepted socket's
 * local address is the resolver the client asked) and on dns-listen
 * sockets. Each connection reads length-prefixed queries, hands them to the
 * same path as UDP (rules, cache, upstreams), and writes answers in
 * whatever order they come (pipelining, at most DNS_TCP_PIPELINE waiting
 * per connection, then reading pauses until one is answered). It closes after
 * dns-tcp-idle-timeout with no query waiting, on a framing error, or when
 * the client stops reading its answers; connections are capped in total
 * and per client. Owns the listeners' events and the connections; waiting
 * queries hold references, so a connection outlives its socket until they
 * are done. */
#include "config.h"
#include "dns_int.h"
#include "dns_tcp_frame.h"
#include "clients.h"
#include "engine.h"
#include "ownsock.h"
#include "worker.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DNS_TCP_PIPELINE 64
#define DNS_TCP_MAX_LIS 32
#define DNS_TCP_ACCEPTS 32	    /* per wake-up of one listener */
#define DNS_TCP_OUT_MAX (256 << 10) /* answers a client leaves unread before it is cut off */
#define DNS_TCP_PAUSE_MS 100	    /* accept pauses this long when descriptors run out */

struct dns_tconn {
	struct dns_tconn *prev, *next;
	struct dns_tcp *t;
	struct bufferevent *bev;
	struct event *idle;
	struct dns_src src;
	unsigned refs; /* 1 while open, plus one per query waiting */
	bool open, eof;
};

struct dns_tlis {
	struct dns_tcp *t;
	struct event *ev, *pause;
	int fd;
	bool transparent;
};

struct dns_tcp {
	struct dns_worker *dw;
	struct dns_tlis lis[DNS_TCP_MAX_LIS];
	size_t n_lis;
	struct dns_tconn *conns;
	size_t n;
	uint8_t frame[DNS_TCP_FRAME_MAX];
};

struct dns_tcp *dns_tcp_new(struct dns_worker *dw)
{
	struct dns_tcp *t = calloc(1, sizeof(*t));

	if (t)
		t->dw = dw;
	return t;
}

size_t dns_tcp_count(const struct dns_tcp *t)
{
	return t->n;
}

static const struct dns_conf *tconf(const struct dns_tcp *t)
{
	return dns_wconf(t->dw);
}

static void idle_arm(struct dns_tconn *c)
{
	unsigned s = tconf(c->t)->tcp_idle_s;

	event_add(c->idle, &(struct timeval){s, 0});
}

static void unadmit(struct dns_tcp *t, const struct addr *client)
{
	struct dns_shared *sh = t->dw->sh;

	atomic_fetch_sub(&sh->tcp_conns, 1);
	atomic_fetch_sub_explicit(&sh->budget.used, 1, memory_order_relaxed);
	clients_put(sh->clients, client, CLIENTS_DNS_TCP);
}

/* Close the socket; the struct lives on while queries hold references. */
static void conn_close(struct dns_tconn *c)
{
	struct dns_tcp *t = c->t;

	if (!c->open)
		return;
	c->open = false;
	bufferevent_free(c->bev); /* closes the socket */
	c->bev = NULL;
	event_del(c->idle);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->n--;
	unadmit(t, &c->src.client);
	dns_tconn_unref(c);
}

void dns_tconn_ref(struct dns_tconn *c)
{
	c->refs++;
	if (c->open)
		event_del(c->idle);
}

void dns_tconn_unref(struct dns_tconn *c)
{
	if (--c->refs == 0) {
		event_free(c->idle);
		free(c);
		return;
	}
	if (!c->open)
		return;
	if (c->refs == DNS_TCP_PIPELINE && !c->eof) {
		/* A slot is free again. Queries already in the input buffer
		 * when reading paused need no new bytes to be taken: run the
		 * read callback for them, deferred (this may be inside the
		 * pending table's answer loop). */
		bufferevent_enable(c->bev, EV_READ);
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
	}
	if (c->refs != 1)
		return;
	/* No query waits any more. */
	if (c->eof && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_close(c);
		return;
	}
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	idle_arm(c);
}

void dns_tconn_answer(struct dns_tconn *c, const uint8_t *msg, size_t len)
{
	struct evbuffer *out;
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	if (!c->open || len > DNS_TCP_FRAME_MAX)
		return;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > DNS_TCP_OUT_MAX) {
		/* The client does not read its answers: it gets no more memory. */
		ctr_inc(&c->t->dw->w->ctr, CTR_DNS_TCP_ERRORS);
		conn_close(c);
		return;
	}
	if (evbuffer_add(out, hdr, 2) < 0 || evbuffer_add(out, msg, len) < 0) {
		conn_close(c);
		return;
	}
	ctr_inc(&c->t->dw->w->ctr, CTR_REPLY_SENT);
	if (c->refs == 1)
		idle_arm(c);
}

static void on_query(void *arg, const uint8_t *msg, size_t len)
{
	struct dns_tconn *c = arg;

	dns_query_in(c->t->dw, &c->src, msg, len);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tconn *c = arg;
	struct dns_tcp *t = c->t;
	int rc;

	c->refs++; /* c stays valid while its queries run (no idle re-arm: bytes are not activity) */
	while (c->open && c->refs - 2 < DNS_TCP_PIPELINE) {
		rc = dns_tcp_frame_take(bufferevent_get_input(bev), t->frame, sizeof(t->frame));
		if (rc == 0)
			break;
		if (rc < 0) {
			ctr_inc(&t->dw->w->ctr, CTR_DNS_TCP_ERRORS);
			conn_close(c);
			break;
		}
		on_query(c, t->frame, (size_t)rc);
		if (c->open && c->refs == 2)
			idle_arm(c); /* answered at once: the connection is idle again */
	}
	/* At the pipeline cap, stop reading until answers come back. */
	if (c->open && c->refs - 2 >= DNS_TCP_PIPELINE)
		bufferevent_disable(bev, EV_READ);
	if (--c->refs == 0) {
		event_free(c->idle);
		free(c);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct dns_tconn *c = arg;

	/* Everything written: a client that sent EOF is done once nothing waits. */
	if (c->eof && c->refs == 1)
		conn_close(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_tconn *c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (c->refs > 1 || evbuffer_get_length(bufferevent_get_output(bev)) > 0)) {
		/* Half-closed after its queries: answer them, then close. */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_close(c);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_tconn *c = arg;

	ctr_inc(&c->t->dw->w->ctr, CTR_DNS_TCP_CLOSED_IDLE);
	conn_close(c);
}

/* May this client have one more connection? Takes its share if so. */
static bool admit(struct dns_tcp *t, const struct addr *client)
{
	struct dns_shared *sh = t->dw->sh;
	const struct dns_conf *d = tconf(t);

	if (atomic_fetch_add(&sh->tcp_conns, 1) >= d->tcp_max)
		goto no_total;
	if (atomic_fetch_add_explicit(&sh->budget.used, 1, memory_order_relaxed) >= sh->budget.max)
		goto no_budget;
	if (!clients_take(sh->clients, client, CLIENTS_DNS_TCP, d->tcp_per_client))
		goto no_client;
	return true;
no_client:
no_budget:
	atomic_fetch_sub_explicit(&sh->budget.used, 1, memory_order_relaxed);
no_total:
	atomic_fetch_sub(&sh->tcp_conns, 1);
	return false;
}

static bool intercepted(const struct dns_tcp *t, const struct addr *local)
{
	const struct cfg_intercept *ic = cfg_intercept_find_tcp(t->dw->w->cfg, addr_port(local));

	return ic && ic->svc == SVC_DNS;
}

static void conn_new(struct dns_tlis *l, int fd, const struct addr *client,
		     const struct addr *local)
{
	struct dns_tcp *t = l->t;
	struct worker *w = t->dw->w;
	struct dns_tconn *c;

	/* Our own upstream connection tproxied back to us (a loop), or a port
	 * a reload no longer intercepts: not ours to answer. */
	if (!cfg_client_allowed(w->cfg, client)) {
		ctr_inc(&w->ctr, CTR_RX_DENIED);
		close(fd);
		return;
	}
	if ((w->eng && ownsock_has(w->eng->own, client, IPPROTO_TCP)) ||
	    (l->transparent && !intercepted(t, local)) || !admit(t, client)) {
		ctr_inc(&w->ctr, CTR_DNS_TCP_REFUSED);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c) {
		c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
		c->idle = event_new(w->base, -1, 0, idle_cb, c);
	}
	if (!c || !c->bev || !c->idle) {
		if (c && c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c && c->idle)
			event_free(c->idle);
		free(c);
		c = NULL;
	}
	if (!c) {
		unadmit(t, client);
		return;
	}
	c->t = t;
	c->refs = 1;
	c->open = true;
	c->src = (struct dns_src){.via = DNS_VIA_TCP, .client = *client, .local = *local,
				  .fd = -1, .conn = c, .to_gateway = !l->transparent};
	c->next = t->conns;
	if (t->conns)
		t->conns->prev = c;
	t->conns = c;
	t->n++;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* Bound what one client can make sluice buffer: one frame beyond the cap. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, DNS_TCP_FRAME_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
	idle_arm(c);
	ctr_inc(&w->ctr, CTR_DNS_TCP_ACCEPTED);
}

static int sock_addr(int fd, bool peer, struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		      : getsockname(fd, (struct sockaddr *)&ss, &sl);

	if (rc < 0 || addr_from_sa(a, (struct sockaddr *)&ss, sl) < 0)
		return -1;
	addr_unmap(a);
	return 0;
}

static void pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_tlis *l = arg;

	event_add(l->ev, NULL);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct dns_tlis *l = arg;

	for (int i = 0; i < DNS_TCP_ACCEPTS; i++) {
		struct addr client, local;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* No descriptor: stop accepting for a moment instead of spinning. */
				ctr_inc(&l->t->dw->w->ctr, CTR_DNS_TCP_REFUSED);
				event_del(l->ev);
				event_add(l->pause, &(struct timeval){0, DNS_TCP_PAUSE_MS * 1000});
			}
			return;
		}
		if (sock_addr(fd, true, &client) < 0 || sock_addr(fd, false, &local) < 0) {
			close(fd);
			continue;
		}
		conn_new(l, fd, &client, &local);
	}
}

int dns_tcp_listen(struct dns_tcp *t, int fd, bool transparent)
{
	struct dns_tlis *l;
	struct event_base *base = t->dw->w->base;

	if (t->n_lis == DNS_TCP_MAX_LIS)
		return -ENOSPC;
	l = &t->lis[t->n_lis];
	l->t = t;
	l->fd = fd;
	l->transparent = transparent;
	l->ev = event_new(base, fd, EV_READ | EV_PERSIST, accept_cb, l);
	l->pause = event_new(base, -1, 0, pause_cb, l);
	if (!l->ev || !l->pause || event_add(l->ev, NULL) < 0) {
		if (l->ev)
			event_free(l->ev);
		if (l->pause)
			event_free(l->pause);
		return -ENOMEM;
	}
	t->n_lis++;
	return 0;
}

void dns_tcp_free(struct dns_tcp *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_lis; i++) {
		event_free(t->lis[i].ev);
		event_free(t->lis[i].pause);
	}
	while (t->conns)
		conn_close(t->conns);
	free(t);
}
