#include "config.h"
/* dns_up_h2.c - DNS over HTTPS upstreams (RFC 8484): HTTP/2 connections
 * over TLS, kept per server and worker, each carrying up to DNS_H2_STREAMS
 * queries at once (fewer when the server's SETTINGS_MAX_CONCURRENT_STREAMS
 * says so) as streams, answers in any order, matched by stream. A query
 * goes out with ID 0 (RFC 8484 4.1) and its answer is judged like any other
 * (dns_up_judge: ID 0, the question, 0x20 case). TLS is dns_up_tls.c's
 * (verification, SNI, resumption) plus ALPN: a server that does not select
 * h2 is refused. Up to DNS_UP_TCP_CONNS connections a server; an idle one
 * closes after DNS_UP_TCP_IDLE_MS. A stream the server refused unprocessed
 * (REFUSED_STREAM, past a GOAWAY's last stream) and the streams of a lost
 * connection that had answered before are sent once more; any other
 * failure (a status other than 200, another content type, a reset, a body
 * over 65,535 bytes) moves the query on. Connection failures back the
 * server off through dns_up_tcp.c's per-server state. HTTP/2 itself is
 * dns_h2.c's; the queries' schedule stays in dns_up.c. */

#include "dns_up_int.h"
#include "ctr.h"
#include "dns_h2.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H2_OUT_MAX (1u << 20) /* unsent bytes one connection may pile up */
#define H2_PEEK 8	      /* buffer chunks fed to the session per pass */
/* Queries waiting and nothing read for this long: send a PING. Some
 * servers (unbound 1.17) leave answers unsent until the client sends
 * something; the PING also shows the connection is alive. */
#define H2_PROBE_MS 250

struct dns_up_h2c {
	struct dns_up_h2c *next;
	struct dns_up *u;
	struct dns_up_srv *st;
	struct bufferevent *bev;
	struct event *idle;  /* idle close; failures found outside the read path */
	struct event *probe; /* H2_PROBE_MS while queries wait */
	uint64_t rx_ms;	     /* when bytes last came in */
	SSL *ssl;
	struct dns_h2 *h2;
	struct ownsock_tok tok;
	int fd;
	bool up;     /* handshake done, h2 selected */
	bool broken; /* to be failed from idle_cb */
	unsigned answered;
	unsigned n; /* queries on it */
};

static void conn_free(struct dns_up_h2c *c)
{
	struct dns_up_h2c **pp = &c->u->h2conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	if (c->idle)
		event_free(c->idle);
	if (c->probe)
		event_free(c->probe);
	if (c->bev)
		bufferevent_free(c->bev); /* without BEV_OPT_CLOSE_ON_FREE */
	if (c->ssl)
		SSL_free(c->ssl);
	dns_h2_free(c->h2);
	dns_up_sock_close(c->u, c->fd, &c->tok);
	c->st->conns--;
	free(c);
}

static void conn_idle(struct dns_up_h2c *c)
{
	int ms = DNS_UP_TCP_IDLE_MS;

	event_add(c->idle, &(struct timeval){ms / 1000, (ms % 1000) * 1000});
}

/* What the session has to say, onto the wire. */
static int conn_flush(struct dns_up_h2c *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (dns_h2_flush(c->h2, out) < 0 || evbuffer_get_length(out) > H2_OUT_MAX)
		return -EIO;
	return 0;
}

/* A failure found where c cannot be freed: a query being started or let
 * go, or inside c's own bufferevent callbacks, where libevent keeps the
 * bufferevent (and its events on c's descriptor) until they return; a
 * new connection could get the descriptor number meanwhile. idle_cb
 * fails it from the loop. */
static void conn_break(struct dns_up_h2c *c)
{
	c->broken = true;
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->idle, EV_TIMEOUT, 1);
}

/* The connection is gone: each query on it is sent once more (if it had
 * answered before) or moves on. */
static void conn_fail(struct dns_up_h2c *c, int err)
{
	struct dns_up *u = c->u;
	bool resend = c->answered > 0;

	if (!c->up)
		dns_up_srv_failed(c->st);
	for (struct dns_up_q *q = u->queries; q; q = q->next)
		if (q->h2 == c) {
			q->h2 = NULL;
			q->h2_orphan = true;
		}
	conn_free(c);
	/* One at a time from the list's head: a callback may end other queries. */
	for (;;) {
		struct dns_up_q *q = u->queries;

		while (q && !q->h2_orphan)
			q = q->next;
		if (!q)
			break;
		q->h2_orphan = false;
		if (resend && !q->tcp_retried) {
			q->tcp_retried = true;
			if (dns_up_h2_start(q, q->tcp_srv, q->tcp_edns) == 0)
				continue;
		}
		dns_up_advance(q, err);
	}
}

static void probe_arm(struct dns_up_h2c *c)
{
	if (!evtimer_pending(c->probe, NULL))
		event_add(c->probe, &(struct timeval){0, H2_PROBE_MS * 1000});
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_h2c *c = arg;

	if (c->n == 0 || c->broken)
		return;
	if (c->up && sl_now_ms() - c->rx_ms >= H2_PROBE_MS &&
	    (dns_h2_ping(c->h2) < 0 || conn_flush(c) < 0)) {
		conn_break(c);
		return;
	}
	probe_arm(c);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_h2c *c = arg;

	if (c->broken)
		conn_fail(c, -ECONNREFUSED);
	else if (c->n == 0)
		conn_free(c); /* idle, or drained after a GOAWAY */
}

/* Why a stream's answer was not taken, for the log. */
static void stream_refused(struct dns_up_h2c *c, const struct dns_h2_done *d)
{
	char why[128];

	if (d->status == -EPROTO && d->http_status != 200)
		snprintf(why, sizeof(why), "HTTP status %u", d->http_status);
	else if (d->status == -EPROTO)
		snprintf(why, sizeof(why), "not an application/dns-message answer");
	else if (d->status == -EMSGSIZE)
		snprintf(why, sizeof(why), "answer or its headers too large");
	else
		return; /* resets and refusals: the server's business */
	dns_up_tls_refused(c->u, c->st, why);
}

/* One stream of c ended for q. */
static void stream_done(struct dns_up_h2c *c, struct dns_up_q *q, const struct dns_h2_done *d)
{
	struct dns_answer_info ai;
	uint8_t srv = q->tcp_srv;

	if (d->status == 0) {
		enum dns_up_verdict v;

		c->answered++;
		v = dns_up_judge(q, d->body, d->len, 0, q->tcp_qwire, q->tcp_edns, true, &ai);
		switch (v) {
		case UPV_ANSWER:
			q->ans_srv = srv;
			dns_up_finish(q, 0, d->body, d->len, &ai);
			return;
		case UPV_NOEDNS:
		case UPV_NOECS: /* the same server again, without EDNS or without ECS */
			if (v == UPV_NOEDNS)
				q->noedns |= (uint16_t)(1u << srv);
			else
				q->noecs = true;
			if (dns_up_h2_start(q, srv, v == UPV_NOECS) < 0)
				dns_up_advance(q, -ECONNREFUSED);
			return;
		case UPV_FAILOVER:
			dns_up_advance(q, -ECONNREFUSED);
			return;
		case UPV_IGNORE:
		case UPV_TC: /* the stream was ours: a wrong answer is the server's failure */
			dns_up_count(c->u, CTR_DNS_UPSTREAM_IGNORED);
			dns_up_advance(q, -ECONNREFUSED);
			return;
		}
	}
	if (d->status == -EAGAIN && !q->tcp_retried) { /* refused unprocessed: ask again */
		q->tcp_retried = true;
		if (dns_up_h2_start(q, srv, q->tcp_edns) == 0)
			return;
	}
	if (d->status != -EAGAIN && d->status != -ECONNRESET)
		c->answered++;
	stream_refused(c, d);
	dns_up_advance(q, -ECONNREFUSED);
}

/* Every stream that ended, to its query. Callbacks may start or cancel
 * queries (on c too), never free c. */
static void deliver(struct dns_up_h2c *c)
{
	struct dns_h2_done d;

	while (dns_h2_take(c->h2, &d)) {
		struct dns_up_q *q = d.arg;

		if (q->h2 != c || q->h2_stream != d.stream)
			continue; /* cannot happen: a query let go cancels its stream */
		q->h2 = NULL;
		if (--c->n == 0)
			conn_idle(c);
		stream_done(c, q, &d);
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_up_h2c *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[H2_PEEK];
	int rc = 0;

	c->rx_ms = sl_now_ms();
	while (rc == 0 && evbuffer_get_length(in) > 0) {
		int n = evbuffer_peek(in, -1, NULL, v, H2_PEEK);
		size_t used = 0;

		for (int i = 0; i < SL_MIN(n, H2_PEEK) && rc == 0; i++) {
			rc = dns_h2_recv(c->h2, v[i].iov_base, v[i].iov_len);
			used += v[i].iov_len;
		}
		evbuffer_drain(in, used);
	}
	/* SETTINGS and PING acks, window updates, resets; then the streams that ended */
	if (rc == 0 && conn_flush(c) == 0) {
		deliver(c);
		rc = conn_flush(c);
	} else {
		rc = -EPROTO;
	}
	if (rc < 0 || !dns_h2_alive(c->h2))
		conn_break(c);
	else if (c->n == 0 && dns_h2_draining(c->h2))
		event_active(c->idle, EV_TIMEOUT, 1); /* after a GOAWAY, nothing left to wait for */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_up_h2c *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		const unsigned char *p = NULL;
		unsigned len = 0;

		SSL_get0_alpn_selected(c->ssl, &p, &len);
		if (len != 2 || memcmp(p, "h2", 2) != 0) {
			dns_up_tls_refused(c->u, c->st,
					   "the server did not select HTTP/2 (ALPN h2)");
			conn_break(c); /* c->up stays false: the server backs off */
			return;
		}
		dns_up_count(c->u, CTR_DNS_UPSTREAM_TLS_HANDSHAKES);
		if (SSL_session_reused(c->ssl))
			dns_up_count(c->u, CTR_DNS_UPSTREAM_TLS_RESUMED);
		c->up = true;
		c->st->backoff_ms = 0;
		c->st->down_until = 0;
		c->st->last_error[0] = '\0';
		return;
	}
	if (!c->up)
		dns_up_tls_failed(c->u, c->st, c->ssl, bufferevent_get_openssl_error(bev));
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_break(c);
}

static struct dns_up_h2c *conn_open(struct dns_up *u, const struct dns_up_server *sv,
				    struct dns_up_srv *st)
{
	struct dns_up_h2c *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->u = u;
	c->st = st;
	c->fd = dns_up_sock(u, &sv->addr, SOCK_STREAM, IPPROTO_TCP, &c->tok);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	st->conns++;
	c->next = u->h2conns;
	u->h2conns = c;
	c->idle = event_new(u->env.base, -1, 0, idle_cb, c);
	c->probe = event_new(u->env.base, -1, 0, probe_cb, c);
	c->h2 = dns_h2_new();
	c->ssl = dns_up_tls_ssl_new(sv, st);
	/* SSL_set_alpn_protos returns 0 on success */
	if (!c->idle || !c->probe || !c->h2 || !c->ssl ||
	    SSL_set_alpn_protos(c->ssl, (const uint8_t *)"\2h2", 3))
		goto fail;
	c->bev = bufferevent_openssl_socket_new(u->env.base, c->fd, c->ssl,
						BUFFEREVENT_SSL_CONNECTING, 0);
	if (!c->bev)
		goto fail;
	/* a server that closes without close_notify still ends its streams */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0 || conn_flush(c) < 0)
		goto fail;
	conn_idle(c); /* until its first query */
	return c;
fail:
	conn_free(c);
	return NULL;
}

/* A connection to sv that takes another stream. */
static struct dns_up_h2c *conn_get(struct dns_up *u, const struct dns_up_server *sv,
				   struct dns_up_srv *st)
{
	unsigned count = 0;

	for (struct dns_up_h2c *c = u->h2conns; c; c = c->next) {
		if (c->st != st || c->broken || dns_h2_draining(c->h2))
			continue;
		if (dns_h2_room(c->h2) > 0)
			return c;
		count++;
	}
	return count < DNS_UP_TCP_CONNS ? conn_open(u, sv, st) : NULL;
}

int dns_up_h2_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	struct dns_up *u = q->u;
	const struct dns_up_server *sv = &q->sv[srv];
	struct dns_up_srv *st;
	struct dns_up_h2c *c;
	uint8_t msg[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4 + 11 + 512];
	int32_t id;
	int n;

	if (!sv->tls || q->cq->ecs_len > 512)
		return -EINVAL;
	st = dns_up_srv_get(u, sv);
	if (!st)
		return -ENOMEM;
	st->used_ms = sl_now_ms();
	if (st->down_until > st->used_ms && !q->force)
		return -EAGAIN;
	if (!(c = conn_get(u, sv, st)))
		return u->env.budget && atomic_load(&u->env.budget->used) >= u->env.budget->max
			   ? -EMFILE
			   : -ECONNREFUSED;
	/* ID 0 (RFC 8484 4.1): the stream tells answers apart */
	n = dns_up_build(q, srv, 0, edns, q->tcp_qwire, msg, sizeof(msg));
	if (n < 0)
		return n;
	id = dns_h2_submit(c->h2, sv->tls->authority, sv->tls->path, msg, (size_t)n, q);
	if (id < 0)
		return id == -ENOMEM ? -ENOMEM : -ECONNREFUSED;
	q->tcp_srv = srv;
	q->tcp_edns = edns;
	q->h2 = c;
	q->h2_stream = id;
	if (c->n++ == 0)
		event_del(c->idle);
	probe_arm(c);
	if (conn_flush(c) < 0)
		conn_break(c);
	dns_up_count(u, CTR_DNS_UPSTREAM_SENT);
	dns_up_count(u, CTR_DNS_UPSTREAM_HTTPS);
	return 0;
}

void dns_up_h2_detach(struct dns_up_q *q)
{
	struct dns_up_h2c *c = q->h2;

	if (!c)
		return;
	q->h2 = NULL;
	dns_h2_cancel(c->h2, q->h2_stream); /* RST_STREAM: the server may stop working on it */
	if (conn_flush(c) < 0)
		conn_break(c);
	if (--c->n == 0 && !c->broken)
		conn_idle(c);
}

void dns_up_h2_free_all(struct dns_up *u)
{
	while (u->h2conns)
		conn_free(u->h2conns);
}
