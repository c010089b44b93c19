#include "config.h"
/* dns_up_tcp.c - pooled stream connections to upstream DNS servers: TCP
 * (tcp:// servers, answers truncated over UDP) and TLS (tls://, RFC 7858).
 * A connection carries up to DNS_UP_TCP_PIPELINE queries at once, each
 * under an ID unique on it, and takes answers in any order (RFC 7766
 * 6.2.1); it closes after DNS_UP_TCP_IDLE_MS without queries. When a
 * server closes a connection that has answered before (servers that close
 * after every answer, or restart), the queries still on it are sent once
 * more on a new connection; otherwise they move on to their next server.
 * DNSCrypt over TCP (answers truncated over UDP) is framed the same way;
 * its answers find their query by the nonce they echo, then open.
 * A server whose connection fails (refused, TLS verification, timeout
 * before it is up) is left alone for a backoff that doubles up to
 * DNS_UP_BACKOFF_MAX_MS; TLS sessions are resumed. A connection that has
 * said nothing since a query on it was sent, until that query ran out of
 * time, may be dead without a close (a middlebox that forgot it, a server
 * stuck on it): it takes no new queries and closes once the ones on it are
 * gone, so the next query opens a new one. Owns the connections and the
 * per-server state (HTTPS servers' too: dns_up_h2.c uses it); the queries'
 * schedule stays in dns_up.c. */

#include "dns_up_int.h"
#include "ctr.h"
#include "dns_tcp_frame.h"
#include "rng.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#define DNS_UP_MAX_SRVS 256 /* remembered stream servers per worker */

struct dns_up_conn {
	struct dns_up_conn *next;
	struct dns_up *u;
	struct dns_up_srv *st;
	struct bufferevent *bev;
	struct event *idle;
	SSL *ssl;
	struct ownsock_tok tok;
	int fd;
	bool up;	/* connected (TCP) or handshake done (TLS) */
	bool retired;	/* silent under a query that timed out: no new queries */
	uint32_t heard; /* reads that brought bytes */
	unsigned answered;
	unsigned n;
	struct dns_up_q *slot[DNS_UP_TCP_PIPELINE];
};

/* ---- per-server state ---- */

static bool srv_is(const struct dns_up_srv *st, const struct dns_up_server *sv)
{
	return st->proto == sv->proto && addr_equal(&st->addr, &sv->addr) &&
	       (!sv->tls || (st->ctx == sv->tls->ctx && strcmp(st->auth, sv->tls->auth) == 0));
}

static void srv_free(struct dns_up_srv *st)
{
	if (st->sess)
		SSL_SESSION_free(st->sess);
	SSL_CTX_free(st->ctx);
	free(st);
}

/* Forget the least recently used server no connection uses. */
static void srv_evict(struct dns_up *u)
{
	struct dns_up_srv **victim = NULL;

	for (struct dns_up_srv **pp = &u->srvs; *pp; pp = &(*pp)->next)
		if (!(*pp)->conns && (!victim || (*pp)->used_ms < (*victim)->used_ms))
			victim = pp;
	if (victim) {
		struct dns_up_srv *st = *victim;

		*victim = st->next;
		srv_free(st);
		u->nsrvs--;
	}
}

struct dns_up_srv *dns_up_srv_get(struct dns_up *u, const struct dns_up_server *sv)
{
	struct dns_up_srv *st;

	for (st = u->srvs; st; st = st->next)
		if (srv_is(st, sv))
			return st;
	if (u->nsrvs >= DNS_UP_MAX_SRVS)
		srv_evict(u);
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->addr = sv->addr;
	st->proto = sv->proto;
	if (sv->tls) {
		SSL_CTX_up_ref(sv->tls->ctx);
		st->ctx = sv->tls->ctx;
		memcpy(st->auth, sv->tls->auth, sizeof(st->auth));
	}
	st->next = u->srvs;
	u->srvs = st;
	u->nsrvs++;
	return st;
}

void dns_up_srv_failed(struct dns_up_srv *st)
{
	st->backoff_ms = st->backoff_ms ? SL_MIN(st->backoff_ms * 2, DNS_UP_BACKOFF_MAX_MS)
					: DNS_UP_BACKOFF_MS;
	st->down_until = sl_now_ms() + st->backoff_ms;
}

/* ---- connections ---- */

static void conn_free(struct dns_up_conn *c)
{
	struct dns_up_conn **pp = &c->u->conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	if (c->idle)
		event_free(c->idle);
	bufferevent_free(c->bev); /* without BEV_OPT_CLOSE_ON_FREE: SSL and fd go here */
	if (c->ssl)
		SSL_free(c->ssl);
	dns_up_sock_close(c->u, c->fd, &c->tok);
	c->st->conns--;
	free(c);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

static void conn_idle(struct dns_up_conn *c)
{
	int ms = c->retired ? 0 : DNS_UP_TCP_IDLE_MS;

	event_add(c->idle, &(struct timeval){ms / 1000, (ms % 1000) * 1000});
}

static int slot_of(const struct dns_up_conn *c, uint16_t id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->slot[i]->tcp_id == id)
			return (int)i;
	return -1;
}

static void slot_del(struct dns_up_conn *c, unsigned i)
{
	c->slot[i] = c->slot[--c->n];
	if (c->n == 0)
		conn_idle(c);
}

void dns_up_tcp_detach(struct dns_up_q *q)
{
	struct dns_up_conn *c = q->conn;

	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		if (c->slot[i] == q) {
			slot_del(c, i);
			break;
		}
	q->conn = NULL;
}

void dns_up_tcp_timed_out(struct dns_up_q *q)
{
	if (q->conn && q->conn->heard == q->tcp_heard)
		q->conn->retired = true;
}

/* The connection is gone: each query on it resends once or moves on. */
static void conn_fail(struct dns_up_conn *c, int err)
{
	struct dns_up_q *qs[DNS_UP_TCP_PIPELINE];
	unsigned n = c->n;
	bool resend = c->answered > 0;

	if (!c->up)
		dns_up_srv_failed(c->st);
	memcpy(qs, c->slot, n * sizeof(*qs));
	for (unsigned i = 0; i < n; i++)
		qs[i]->conn = NULL;
	c->n = 0;
	conn_free(c);
	for (unsigned i = 0; i < n; i++) {
		struct dns_up_q *q = qs[i];

		if (resend && !q->tcp_retried) {
			q->tcp_retried = true;
			if (dns_up_tcp_start(q, q->tcp_srv, q->tcp_edns) == 0)
				continue;
		}
		dns_up_advance(q, err);
	}
}

/* The query a DNSCrypt answer is for (by the client nonce it echoes), the
 * answer opened in place; -1 when none (dns_up_crypt_open counts a forgery). */
static int crypt_slot(struct dns_up_conn *c, size_t *len)
{
	const uint8_t *nonce = dnscrypt_answer_nonce(c->u->rbuf, *len);

	for (unsigned i = 0; nonce && i < c->n; i++) {
		struct dns_up_q *q = c->slot[i];

		if (memcmp(q->tcp_ck.nonce, nonce, DNSCRYPT_HALF_NONCE) == 0)
			return dns_up_crypt_open(q, q->tcp_srv, &q->tcp_ck, c->u->rbuf, len) ? (int)i
											       : -1;
	}
	return -1;
}

static void conn_msg(struct dns_up_conn *c, size_t len)
{
	struct dns_up *u = c->u;
	struct dns_answer_info ai;
	enum dns_up_verdict v;
	struct dns_up_q *q;
	int i;

	if (c->st->proto == DNS_PROTO_DNSCRYPT)
		i = crypt_slot(c, &len);
	else
		i = len < 2 ? -1 : slot_of(c, (uint16_t)(u->rbuf[0] << 8 | u->rbuf[1]));
	if (i < 0) {
		dns_up_count(u, CTR_DNS_UPSTREAM_IGNORED); /* late, or not ours */
		return;
	}
	q = c->slot[i];
	v = dns_up_judge(q, u->rbuf, len, q->tcp_id, q->tcp_qwire, q->tcp_edns, true, &ai);
	switch (v) {
	case UPV_IGNORE:
	case UPV_TC:
		dns_up_count(u, CTR_DNS_UPSTREAM_IGNORED);
		return;
	case UPV_ANSWER:
		c->answered++;
		q->ans_srv = q->tcp_srv;
		dns_up_finish(q, 0, u->rbuf, len, &ai);
		return;
	case UPV_NOEDNS:
	case UPV_NOECS:
		c->answered++;
		if (v == UPV_NOEDNS)
			q->noedns |= (uint16_t)(1u << q->tcp_srv);
		else
			q->noecs = true;
		dns_up_tcp_detach(q);
		if (dns_up_tcp_start(q, q->tcp_srv, v == UPV_NOECS) < 0)
			dns_up_advance(q, -ECONNREFUSED);
		return;
	case UPV_FAILOVER:
		c->answered++;
		dns_up_tcp_detach(q);
		dns_up_advance(q, -ECONNREFUSED);
		return;
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct dns_up_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int n;

	c->heard++;
	/* An answer's callback may start or cancel other queries, never free c. */
	while ((n = dns_tcp_frame_take(in, c->u->rbuf, sizeof(c->u->rbuf))) > 0)
		conn_msg(c, (size_t)n);
	if (n < 0)
		conn_fail(c, -ECONNREFUSED);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_up_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->ssl) {
			dns_up_count(c->u, CTR_DNS_UPSTREAM_TLS_HANDSHAKES);
			if (SSL_session_reused(c->ssl))
				dns_up_count(c->u, CTR_DNS_UPSTREAM_TLS_RESUMED);
		}
		c->up = true;
		c->st->backoff_ms = 0;
		c->st->down_until = 0;
		c->st->last_error[0] = '\0';
		return;
	}
	if (c->ssl && !c->up)
		dns_up_tls_failed(c->u, c->st, c->ssl, bufferevent_get_openssl_error(bev));
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_fail(c, -ECONNREFUSED);
}

static struct bufferevent *bev_new(struct dns_up_conn *c, const struct dns_up_server *sv)
{
	struct event_base *base = c->u->env.base;
	struct bufferevent *bev;

	if (!sv->tls)
		return bufferevent_socket_new(base, c->fd, 0);
	c->ssl = dns_up_tls_ssl_new(sv, c->st);
	if (!c->ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, c->fd, c->ssl, BUFFEREVENT_SSL_CONNECTING, 0);
	if (bev) /* a server that closes without close_notify still ends its answers */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static struct dns_up_conn *conn_open(struct dns_up *u, const struct dns_up_server *sv,
				     struct dns_up_srv *st)
{
	struct dns_up_conn *c = calloc(1, sizeof(*c));

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
	c->bev = bev_new(c, sv);
	c->idle = event_new(u->env.base, -1, 0, idle_cb, c);
	if (!c->bev || !c->idle) {
		if (!c->bev) {
			if (c->idle)
				event_free(c->idle);
			if (c->ssl)
				SSL_free(c->ssl);
			dns_up_sock_close(u, c->fd, &c->tok);
			st->conns--;
			free(c);
			return NULL;
		}
		c->next = u->conns;
		u->conns = c;
		conn_free(c);
		return NULL;
	}
	/* A TCP connection is usable once connect() completes: libevent says so
	 * only through the first write, so TCP counts as up from the start. */
	c->up = !sv->tls;
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = u->conns;
	u->conns = c;
	return c;
}

/* A connection to sv with room for one more query. */
static struct dns_up_conn *conn_get(struct dns_up *u, const struct dns_up_server *sv,
				    struct dns_up_srv *st)
{
	unsigned count = 0;

	for (struct dns_up_conn *c = u->conns; c; c = c->next) {
		if (c->st != st)
			continue;
		if (c->n < DNS_UP_TCP_PIPELINE && !c->retired)
			return c;
		count++; /* full or retired (those close within a query timeout) */
	}
	return count < DNS_UP_TCP_CONNS ? conn_open(u, sv, st) : NULL;
}

int dns_up_tcp_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	struct dns_up *u = q->u;
	const struct dns_up_server *sv = &q->sv[srv];
	struct dns_up_srv *st = dns_up_srv_get(u, sv);
	struct dns_up_conn *c;
	uint8_t msg[2 + DNS_UP_MSG_MAX];
	int n;

	if (!st)
		return -ENOMEM;
	if (sv->proto == DNS_PROTO_DNSCRYPT && !dns_up_crypt_ready(u, sv))
		return -ECONNREFUSED; /* no certificate (yet): nothing to seal with */
	st->used_ms = sl_now_ms();
	if (st->down_until > st->used_ms && !q->force)
		return -EAGAIN;
	if (!(c = conn_get(u, sv, st)))
		return u->env.budget && atomic_load(&u->env.budget->used) >= u->env.budget->max
			       ? -EMFILE
			       : -ECONNREFUSED;
	if (q->cq->ecs_len > 512)
		return -EINVAL;
	do /* unique on this connection, so answers find their query */
		q->tcp_id = rng_u16(u->env.rng);
	while (slot_of(c, q->tcp_id) >= 0);
	q->tcp_srv = srv;
	q->tcp_edns = edns;
	n = dns_up_build(q, srv, q->tcp_id, edns, q->tcp_qwire, msg + 2, sizeof(msg) - 2);
	if (n >= 0 && sv->proto == DNS_PROTO_DNSCRYPT)
		n = dns_up_crypt_seal(q, srv, &q->tcp_ck, msg + 2, (size_t)n, sizeof(msg) - 2, true);
	if (n < 0)
		return n;
	msg[0] = (uint8_t)(n >> 8);
	msg[1] = (uint8_t)n;
	if (bufferevent_write(c->bev, msg, (size_t)n + 2) < 0)
		return -ENOMEM;
	if (c->n == 0)
		event_del(c->idle);
	c->slot[c->n++] = q;
	q->conn = c;
	q->tcp_heard = c->heard;
	dns_up_count(u, CTR_DNS_UPSTREAM_SENT);
	dns_up_count(u, sv->tls ? CTR_DNS_UPSTREAM_TLS : CTR_DNS_UPSTREAM_TCP);
	return 0;
}

void dns_up_tcp_free_all(struct dns_up *u)
{
	while (u->conns)
		conn_free(u->conns);
	while (u->srvs) {
		struct dns_up_srv *st = u->srvs;

		u->srvs = st->next;
		srv_free(st);
	}
	u->nsrvs = 0;
}
