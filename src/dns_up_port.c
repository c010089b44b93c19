#include "config.h"
/* dns_up_port.c - the sockets of UDP attempts (see dns_up.h). Every attempt
 * gets a port of its own, as if it had a socket of its own: the socket is
 * connected to the server from a port the kernel picks at random, and when
 * the attempt ends the socket is disconnected (connect to AF_UNSPEC), which
 * frees that port at once, so the kernel refuses whatever comes to it
 * later, exactly as after close(). What is kept is only the socket (its
 * SO_MARK, its place in epoll): the next attempt's connect() binds it to
 * a new random port. That saves socket(), setsockopt(), two epoll_ctl()
 * and close() on every query, most of what an upstream query cost.
 *
 * Datagrams queued before the disconnect (late answers, forgeries) are
 * read and dropped right after it, before the socket can carry another
 * attempt, so nothing meant for an old port reaches a new one; a pending
 * ICMP error goes the same way. Idle sockets are few (DNS_UP_PORT_IDLE),
 * keep their share of the descriptor budget only while it is
 * less than half used, and are closed after DNS_UP_PORT_IDLE_MS unused.
 * Owns the sockets; the attempts (dns_up.c) own what they read. */

#include "dns_up_int.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

/* Idle sockets kept (both families), and how long one may stay idle. */
#define DNS_UP_PORT_IDLE 256
#define DNS_UP_PORT_IDLE_MS 1000
/* Datagrams dropped from a released socket before it is closed instead. */
#define DNS_UP_PORT_DRAIN 64

struct dns_up_port {
	struct dns_up_port *next; /* idle list, most recently used first */
	struct dns_up *u;
	struct event *ev;
	dns_up_port_cb cb; /* the attempt reading it; NULL while idle */
	void *arg;
	struct ownsock_tok tok;
	int fd;
	uint8_t fam; /* 0: IPv4, 1: IPv6 */
	uint64_t idle_ms;
};

static void port_read_cb(evutil_socket_t fd, short what, void *arg);

/* Read and drop what the socket holds; false when it will not run dry. */
static bool drain(int fd)
{
	uint8_t b[1];

	for (int i = 0; i < DNS_UP_PORT_DRAIN; i++)
		if (recv(fd, b, sizeof(b), MSG_TRUNC) < 0 && errno == EAGAIN)
			return true; /* (an ICMP error is reported once, then cleared) */
	return false;
}

static void port_free(struct dns_up *u, struct dns_up_port *p)
{
	event_free(p->ev);
	dns_up_sock_free(u, p->fd);
	free(p);
}

static void port_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_port *p = arg;

	if (p->cb)
		p->cb(p->arg);
	else
		drain(p->fd); /* a straggler queued while the port was let go */
}

/* Close the sockets idle for DNS_UP_PORT_IDLE_MS; come back while any is left. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up *u = arg;
	uint64_t now = sl_now_ms();

	for (int f = 0; f < 2; f++) {
		struct dns_up_port **pp = &u->idle[f];

		while (*pp && (*pp)->idle_ms + DNS_UP_PORT_IDLE_MS > now)
			pp = &(*pp)->next;
		while (*pp) { /* the rest went idle even earlier */
			struct dns_up_port *p = *pp;

			*pp = p->next;
			u->nidle--;
			port_free(u, p);
		}
	}
	if (u->nidle)
		event_add(u->sweep, &(struct timeval){DNS_UP_PORT_IDLE_MS / 1000, 0});
}

/* An idle socket of family fam, or a new one. */
static struct dns_up_port *port_get(struct dns_up *u, uint8_t fam, int *err)
{
	struct dns_up_port *p = u->idle[fam];
	int fd;

	if (p) {
		u->idle[fam] = p->next;
		u->nidle--;
		return p;
	}
	fd = dns_up_sock_new(u, fam ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	*err = -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (p)
		p->ev = event_new(u->env.base, fd, EV_READ | EV_PERSIST, port_read_cb, p);
	if (!p || !p->ev || event_add(p->ev, NULL) < 0) {
		if (p && p->ev)
			event_free(p->ev);
		free(p);
		dns_up_sock_free(u, fd);
		return NULL;
	}
	p->u = u;
	p->fd = fd;
	p->fam = fam;
	return p;
}

int dns_up_port_open(struct dns_up *u, const struct addr *a, dns_up_port_cb cb, void *arg,
		     struct dns_up_port **out)
{
	struct dns_up_port *p;
	int err;

	*out = NULL;
	p = port_get(u, addr_family(a) == AF_INET6, &err);
	if (!p)
		return err;
	/* an unbound socket: connect() binds it to a random free port */
	if (connect(p->fd, &a->u.sa, a->len) < 0) {
		err = -errno;
		port_free(u, p); /* it may hold a port now: never reused */
		return err;
	}
	ownsock_add(u->env.own, p->fd, IPPROTO_UDP, &p->tok);
	p->cb = cb;
	p->arg = arg;
	u->nsocks++;
	*out = p;
	return p->fd;
}

void dns_up_port_close(struct dns_up *u, struct dns_up_port *p)
{
	struct dns_up_budget *b = u->env.budget;
	static const struct sockaddr unspec = {.sa_family = AF_UNSPEC};

	ownsock_del(u->env.own, &p->tok);
	p->cb = NULL;
	u->nsocks--;
	/* Its budget share stays with an idle socket only while the budget has room to spare. */
	if (u->nidle >= DNS_UP_PORT_IDLE ||
	    (b && atomic_load_explicit(&b->used, memory_order_relaxed) > b->max / 2) ||
	    connect(p->fd, &unspec, sizeof(unspec)) < 0 || !drain(p->fd)) {
		port_free(u, p);
		return;
	}
	p->idle_ms = sl_now_ms();
	p->next = u->idle[p->fam];
	u->idle[p->fam] = p;
	u->nidle++;
	if (!u->sweep)
		u->sweep = event_new(u->env.base, -1, 0, sweep_cb, u);
	if (u->sweep && !event_pending(u->sweep, EV_TIMEOUT, NULL))
		event_add(u->sweep, &(struct timeval){DNS_UP_PORT_IDLE_MS / 1000, 0});
}

size_t dns_up_idle_sockets(const struct dns_up *u)
{
	return u->nidle;
}

void dns_up_port_free_all(struct dns_up *u)
{
	for (int f = 0; f < 2; f++)
		while (u->idle[f]) {
			struct dns_up_port *p = u->idle[f];

			u->idle[f] = p->next;
			port_free(u, p);
		}
	u->nidle = 0;
	if (u->sweep)
		event_free(u->sweep);
	u->sweep = NULL;
}
