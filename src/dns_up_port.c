#include "config.h"
/* dns_up_port.c - the sockets of UDP attempts (see dns_up.h). Every attempt
 * gets a port of its own, as if it had a socket of its own: its one query
 * goes out with sendto() from an unbound socket, which binds it to a port
 * the kernel picks at random, and when the attempt ends the socket is
 * disconnected (connect to AF_UNSPEC), which frees that port at once, so
 * the kernel refuses whatever comes to it later, exactly as after close().
 * What is kept is only the socket (its SO_MARK, its place in epoll): the
 * next attempt's sendto() binds it to a new random port. That saves
 * socket(), setsockopt(), connect(), two epoll_ctl() and close() on every
 * query, most of what an upstream query cost.
 *
 * The socket is not connected, so what the kernel would check for a
 * connected one is checked here: a datagram counts only when it comes from
 * the server's address and port (recvfrom), and an ICMP error only when the
 * datagram it reports was sent to the server (IP_RECVERR: its copy in the
 * error queue names where it went). Datagrams queued before the disconnect
 * (late answers, forgeries) and pending errors are read and dropped right
 * after it, before the socket can carry another attempt, so nothing meant
 * for an old port reaches a new one. Idle sockets are few
 * (DNS_UP_PORT_IDLE), keep their share of the descriptor budget only while
 * it is less than half used, and are closed after DNS_UP_PORT_IDLE_MS
 * unused. Owns the sockets; the attempts (dns_up.c) own what they read. */

#include "dns_up_int.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

/* Idle sockets kept (both families), and how long one may stay idle. */
#define DNS_UP_PORT_IDLE 256
#define DNS_UP_PORT_IDLE_MS 1000
/* Datagrams (or errors) dropped from a released socket before it is closed instead. */
#define DNS_UP_PORT_DRAIN 64

struct dns_up_port {
	struct dns_up_port *next; /* idle list, most recently used first */
	struct dns_up *u;
	struct event *ev;
	dns_up_port_cb cb; /* the attempt reading it; NULL while idle */
	void *arg;
	struct addr peer; /* the server asked: the only source accepted */
	struct ownsock_tok tok;
	int fd;
	uint8_t fam; /* 0: IPv4, 1: IPv6 */
	bool bound;  /* a send bound it to a port */
	bool err;    /* an error was reported: its copy may wait in the error queue */
	uint64_t idle_ms;
};

/* Read and drop the error queue; true when one of its reports is about a
 * datagram sent to the peer. */
static bool errq_drain(struct dns_up_port *p)
{
	bool ours = false;

	for (int i = 0; i < DNS_UP_PORT_DRAIN; i++) {
		struct sockaddr_storage ss;
		uint8_t b[1];
		struct iovec iov = {b, sizeof(b)};
		/* with a buffer, though the datagram's copy is not wanted: qemu-user
		 * fills msg_name only when there is one */
		struct msghdr m = {
		    .msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov, .msg_iovlen = 1};
		struct addr to;

		if (recvmsg(p->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		/* where the datagram that drew the error was going */
		if (addr_from_sa(&to, (struct sockaddr *)&ss, m.msg_namelen) == 0 &&
		    addr_equal(&to, &p->peer))
			ours = true;
	}
	p->err = false;
	return ours;
}

/* Read and drop what the socket holds; false when it will not run dry. */
static bool drain(struct dns_up_port *p)
{
	uint8_t b[1];
	int i;

	for (i = 0; i < DNS_UP_PORT_DRAIN; i++) {
		if (recv(p->fd, b, sizeof(b), MSG_TRUNC) >= 0)
			continue;
		if (errno == EAGAIN)
			break;
		p->err = true; /* an error is reported once, then cleared */
	}
	if (p->err)
		errq_drain(p);
	return i < DNS_UP_PORT_DRAIN;
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
		drain(p); /* a straggler queued while the port was let go */
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

static int opt(int fd, int level, int name)
{
	int on = 1;

	return setsockopt(fd, level, name, &on, sizeof(on));
}

/* A new socket of family fam, reporting ICMP errors although unconnected. */
static struct dns_up_port *port_new(struct dns_up *u, uint8_t fam, int *err)
{
	int fd = dns_up_sock_new(u, fam ? AF_INET6 : AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	struct dns_up_port *p;

	*err = fd;
	if (fd < 0)
		return NULL;
	if (fam ? opt(fd, SOL_IPV6, IPV6_V6ONLY) < 0 || opt(fd, SOL_IPV6, IPV6_RECVERR) < 0
		: opt(fd, SOL_IP, IP_RECVERR) < 0) {
		*err = -errno;
		dns_up_sock_free(u, fd);
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
	struct addr peer = *a;
	uint8_t fam;
	struct dns_up_port *p;
	int err;

	addr_unmap(&peer); /* an IPv6 socket takes IPv6 only */
	fam = addr_family(&peer) == AF_INET6;
	*out = NULL;
	if ((p = u->idle[fam])) {
		u->idle[fam] = p->next;
		u->nidle--;
	} else if (!(p = port_new(u, fam, &err))) {
		return err;
	}
	p->peer = peer;
	p->cb = cb;
	p->arg = arg;
	u->nsocks++;
	*out = p;
	return p->fd;
}

int dns_up_port_send(struct dns_up *u, struct dns_up_port *p, const void *msg, size_t len)
{
	/* the first send binds the socket to a random free port */
	p->bound = true;
	if (sendto(p->fd, msg, len, 0, &p->peer.u.sa, p->peer.len) < 0)
		return -errno;
	/* Loop detection learns the port now: a copy of this datagram coming
	 * back in is read by this thread after this, by another worker only
	 * after it woke and parsed it. */
	ownsock_add(u->env.own, p->fd, IPPROTO_UDP, &p->tok);
	return 0;
}

/* Is a (a datagram's source) the peer? A link-local one on its interface. */
static bool from_peer(const struct dns_up_port *p, const struct addr *a)
{
	if (!addr_equal(a, &p->peer))
		return false;
	return p->fam == 0 || !p->peer.u.in6.sin6_scope_id ||
	       a->u.in6.sin6_scope_id == p->peer.u.in6.sin6_scope_id;
}

ssize_t dns_up_port_recv(struct dns_up_port *p, uint8_t *buf, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr from;
	ssize_t n = recvfrom(p->fd, buf, cap, 0, (struct sockaddr *)&ss, &sl);
	int err;

	if (n < 0) {
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
			return -EAGAIN;
		return errq_drain(p) ? -err : -ENOMSG;
	}
	if (addr_from_sa(&from, (struct sockaddr *)&ss, sl) < 0 || !from_peer(p, &from))
		return -ENOMSG;
	return n;
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
	    (p->bound && (connect(p->fd, &unspec, sizeof(unspec)) < 0 || !drain(p)))) {
		port_free(u, p);
		return;
	}
	p->bound = false;
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
