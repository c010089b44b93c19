#include "config.h"
/* dns_up_tcp.c - pooled TCP connections to upstream DNS servers, for
 * tcp:// servers and answers truncated over UDP. A connection carries up to
 * DNS_UP_TCP_PIPELINE queries at once, each under an ID unique on it, and
 * takes answers in any order (RFC 7766 6.2.1); it closes after
 * DNS_UP_TCP_IDLE_MS without queries. When a server closes a connection
 * that has answered before (servers that close after every answer), the
 * queries still on it are sent once more on a new connection; otherwise
 * they move on to their next server. Owns the connections; the queries'
 * schedule stays in dns_up.c. */

#include "dns_up_int.h"
#include "dns_tcp_frame.h"
#include "ctr.h"
#include "rng.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct dns_up_conn {
	struct dns_up_conn *next;
	struct dns_up *u;
	struct addr addr;
	struct bufferevent *bev;
	struct event *idle;
	struct ownsock_tok tok;
	int fd;
	unsigned answered;
	unsigned n;
	struct dns_up_q *slot[DNS_UP_TCP_PIPELINE];
};

static void conn_free(struct dns_up_conn *c)
{
	struct dns_up_conn **pp = &c->u->conns;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	if (c->idle)
		event_free(c->idle);
	bufferevent_free(c->bev); /* no BEV_OPT_CLOSE_ON_FREE: the fd is closed here */
	dns_up_sock_close(c->u, c->fd, &c->tok);
	free(c);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

static void conn_idle(struct dns_up_conn *c)
{
	int ms = DNS_UP_TCP_IDLE_MS;

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

/* The connection is gone: each query on it resends once or moves on. */
static void conn_fail(struct dns_up_conn *c, int err)
{
	struct dns_up_q *qs[DNS_UP_TCP_PIPELINE];
	unsigned n = c->n;
	bool resend = c->answered > 0;

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

static void conn_msg(struct dns_up_conn *c, size_t len)
{
	struct dns_up *u = c->u;
	struct dns_answer_info ai;
	struct dns_up_q *q;
	int i;

	if (len < 2 || (i = slot_of(c, (uint16_t)(u->rbuf[0] << 8 | u->rbuf[1]))) < 0) {
		dns_up_count(u, CTR_DNS_UPSTREAM_IGNORED); /* late, or not ours */
		return;
	}
	q = c->slot[i];
	switch (dns_up_judge(q, u->rbuf, len, q->tcp_id, q->tcp_qwire, q->tcp_edns, true, &ai)) {
	case UPV_IGNORE:
	case UPV_TC:
		dns_up_count(u, CTR_DNS_UPSTREAM_IGNORED);
		return;
	case UPV_ANSWER:
		c->answered++;
		dns_up_finish(q, 0, u->rbuf, len, &ai);
		return;
	case UPV_NOEDNS:
		c->answered++;
		q->noedns |= (uint16_t)(1u << q->tcp_srv);
		dns_up_tcp_detach(q);
		if (dns_up_tcp_start(q, q->tcp_srv, false) < 0)
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

	/* An answer's callback may start or cancel other queries, never free c. */
	while ((n = dns_tcp_frame_take(in, c->u->rbuf, sizeof(c->u->rbuf))) > 0)
		conn_msg(c, (size_t)n);
	if (n < 0)
		conn_fail(c, -ECONNREFUSED);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dns_up_conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_fail(c, -ECONNREFUSED);
}

static struct dns_up_conn *conn_open(struct dns_up *u, const struct addr *a)
{
	struct dns_up_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->u = u;
	c->addr = *a;
	c->fd = dns_up_sock(u, a, SOCK_STREAM, IPPROTO_TCP, &c->tok);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	c->bev = bufferevent_socket_new(u->env.base, c->fd, 0);
	c->idle = event_new(u->env.base, -1, 0, idle_cb, c);
	if (!c->bev || !c->idle) {
		if (c->idle)
			event_free(c->idle);
		if (c->bev)
			bufferevent_free(c->bev);
		dns_up_sock_close(u, c->fd, &c->tok);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = u->conns;
	u->conns = c;
	return c;
}

/* A connection to a with room for one more query. */
static struct dns_up_conn *conn_get(struct dns_up *u, const struct addr *a)
{
	unsigned count = 0;

	for (struct dns_up_conn *c = u->conns; c; c = c->next) {
		if (!addr_equal(&c->addr, a))
			continue;
		if (c->n < DNS_UP_TCP_PIPELINE)
			return c;
		count++;
	}
	return count < DNS_UP_TCP_CONNS ? conn_open(u, a) : NULL;
}

int dns_up_tcp_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	struct dns_up *u = q->u;
	struct dns_up_conn *c = conn_get(u, &q->sv[srv].addr);
	uint8_t msg[2 + DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4 + 11 + 512];
	int n;

	if (!c)
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
	dns_up_count(u, CTR_DNS_UPSTREAM_SENT);
	dns_up_count(u, CTR_DNS_UPSTREAM_TCP);
	return 0;
}

void dns_up_tcp_free_all(struct dns_up *u)
{
	while (u->conns)
		conn_free(u->conns);
}
