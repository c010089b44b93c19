#include "config.h"
/* dns_up.c - an upstream group's UDP/TCP transport on c-ares 1.18 and the
 * worker's libevent loop. It owns the c-ares channels (one per run of
 * same-transport servers, since ARES_FLAG_USEVC is per channel), the events
 * for the sockets c-ares opens (ARES_OPT_SOCK_STATE_CB) and its timers, one
 * record per query (fresh random ID, hard timeout, deferred callbacks), and
 * the process-wide table of upstream socket addresses behind dns_up_is_own().
 * It does not parse or build DNS messages beyond the ID, cache, or pick
 * groups: the DNS service does. c-ares 1.18 facts this relies on are noted
 * where they matter. */

#include "dns_up.h"
#include "log.h"

#include <ares.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_UP_TRIES 2
#define DNS_UP_MIN_TRY_MS 200
/* A burst of answers on c-ares 1.18's single UDP socket per server must fit. */
#define DNS_UP_RCVBUF (1 << 20)

struct dns_up_chan;

/* One socket c-ares opened, watched by one event. */
struct dns_up_sock {
	struct dns_up_sock *next;
	struct dns_up_chan *c;
	struct event *ev;
	int fd;
	short what;
};

/* One c-ares channel: a run of servers sharing a transport. */
struct dns_up_chan {
	struct dns_up *u;
	ares_channel ch;
	struct event *tmr;
	uint64_t tmr_at; /* when tmr fires (ms, sl_now_ms), 0 when idle */
	struct dns_up_sock *socks;
	size_t nq; /* queries c-ares holds on this channel */
};

/*
 * One query. It lives until both sides are done: the user's callback ran
 * (user_done) and c-ares let go of it (cares_done).
 */
struct dns_up_q {
	struct dns_up_q *prev, *next;
	struct dns_up *u;
	dns_up_cb cb;
	void *arg;
	struct event *tmr; /* hard timeout, also delivers deferred results */
	uint64_t deadline;
	int status; /* result waiting for delivery through tmr */
	uint16_t id;
	uint8_t chan;
	bool user_done, cares_done, in_send;
	size_t len;
	uint8_t msg[];
};

struct dns_up {
	struct event_base *base;
	uint32_t mark;
	unsigned timeout_ms, try_ms;
	const struct timeval *q_tv; /* timeout_ms as a common timeout: O(1) timer adds */
	size_t inflight;	    /* callbacks owed */
	size_t nalive;		    /* records alive */
	struct dns_up_q *queries;
	unsigned busy; /* depth of calls into c-ares */
	bool closing;
	struct log_limit mark_log;
	size_t nchan;
	struct dns_up_chan *chans;
	uint8_t ids[65536 / 8]; /* IDs of records c-ares may still match */
};

/* ---- process-wide table of upstream socket addresses ---- */

struct own_ent {
	struct addr local;
	const void *owner;
};

/* The only shared mutable state here: every worker's sockets, for loop detection. */
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static struct own_ent *own_tab;
static size_t own_n, own_cap;

static void own_add(const void *owner, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct own_ent e = {.owner = owner};

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    addr_from_sa(&e.local, (struct sockaddr *)&ss, sl) < 0)
		return;
	addr_unmap(&e.local);
	pthread_mutex_lock(&own_lock);
	if (own_n == own_cap) {
		size_t cap = own_cap ? own_cap * 2 : 16;
		struct own_ent *t = realloc(own_tab, cap * sizeof(*t));

		if (!t)
			goto done;
		own_tab = t;
		own_cap = cap;
	}
	own_tab[own_n++] = e;
done:
	pthread_mutex_unlock(&own_lock);
}

static void own_del(const void *owner)
{
	pthread_mutex_lock(&own_lock);
	for (size_t i = 0; i < own_n; i++) {
		if (own_tab[i].owner == owner) {
			own_tab[i] = own_tab[--own_n];
			break;
		}
	}
	if (own_n == 0) {
		free(own_tab);
		own_tab = NULL;
		own_cap = 0;
	}
	pthread_mutex_unlock(&own_lock);
}

bool dns_up_is_own(const struct addr *local)
{
	struct addr a;
	bool found = false;

	if (!local)
		return false;
	a = *local;
	addr_unmap(&a);
	pthread_mutex_lock(&own_lock);
	for (size_t i = 0; i < own_n && !found; i++)
		found = addr_equal(&own_tab[i].local, &a);
	pthread_mutex_unlock(&own_lock);
	return found;
}

/* ---- sockets and timers ---- */

static void sock_free(struct dns_up_sock *s)
{
	own_del(s);
	event_free(s->ev);
	free(s);
}

/* Leave a call into c-ares; true when u was freed (dns_up_free() ran meanwhile). */
static bool up_leave(struct dns_up *u);

static void chan_ensure_timer(struct dns_up_chan *c);
static void chan_arm_exact(struct dns_up_chan *c);

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_sock *s = arg;
	struct dns_up_chan *c = s->c; /* s may be freed inside ares_process_fd */
	struct dns_up *u = c->u;

	u->busy++;
	ares_process_fd(c->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	if (!up_leave(u))
		chan_ensure_timer(c);
}

/* ARES_OPT_SOCK_STATE_CB: c-ares wants fd watched for r/w, or (0, 0) before it closes fd. */
static void chan_sock_state(void *data, ares_socket_t fd, int r, int w)
{
	struct dns_up_chan *c = data;
	struct dns_up_sock **pp = &c->socks, *s;
	short what = (short)((r ? EV_READ : 0) | (w ? EV_WRITE : 0));

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	s = *pp;
	if (!what) {
		if (s) {
			*pp = s->next;
			sock_free(s);
		}
		return;
	}
	if (!s) {
		/* On a stalled socket the query's hard timeout still ends it. */
		s = calloc(1, sizeof(*s));
		if (!s)
			return;
		s->ev = event_new(c->u->base, fd, what | EV_PERSIST, sock_cb, s);
		if (!s->ev) {
			free(s);
			return;
		}
		s->c = c;
		s->fd = fd;
		s->next = c->socks;
		c->socks = s;
		/* Connected already (the state callback follows connect()). */
		own_add(s, fd);
	} else if (s->what != what) {
		event_del(s->ev);
		event_assign(s->ev, c->u->base, fd, what | EV_PERSIST, sock_cb, s);
	} else {
		return;
	}
	s->what = what;
	event_add(s->ev, NULL);
}

/*
 * ares_set_socket_configure_callback: runs before connect(), so the SYN and
 * the route lookup already carry the mark (the create callback of 1.18 runs
 * after connect()). c-ares 1.18 only treats exactly -1 as failure.
 */
static int chan_sock_config(ares_socket_t fd, int type, void *data)
{
	struct dns_up_chan *c = data;
	struct dns_up *u = c->u;
	uint32_t mark = u->mark;
	int sz = DNS_UP_RCVBUF;

	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		/* Unmarked traffic would loop back into sluice: fail the socket. */
		if (log_limit_ok(&u->mark_log, 1, 10000))
			log_warn("dns upstream: SO_MARK %#x: %s; query not sent", mark,
				 strerror(errno));
		return -1;
	}
	if (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return 0;
}

static void chan_tmr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_chan *c = arg;
	struct dns_up *u = c->u;

	(void)fd;
	(void)what;
	c->tmr_at = 0;
	u->busy++;
	ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	if (!up_leave(u))
		chan_arm_exact(c);
}

/* Arm for c-ares's next timeout. ares_timeout() walks every query (1.18), so only here. */
static void chan_arm_exact(struct dns_up_chan *c)
{
	struct timeval tv, *tp;

	if (!c->nq) {
		event_del(c->tmr);
		c->tmr_at = 0;
		return;
	}
	tp = ares_timeout(c->ch, NULL, &tv);
	if (tp != &tv) {
		chan_ensure_timer(c);
		return;
	}
	/* ares_timeout() rounds down to the ms: one more keeps us from waking just before. */
	tv.tv_usec += 1000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	event_add(c->tmr, &tv);
	c->tmr_at = sl_now_ms() + (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/*
 * Cheap bound after a send or socket event: every timeout c-ares sets is at
 * least try_ms after the send, so firing by now + try_ms never misses one.
 */
static void chan_ensure_timer(struct dns_up_chan *c)
{
	uint64_t at = sl_now_ms() + c->u->try_ms;
	struct timeval tv = {.tv_sec = c->u->try_ms / 1000,
			     .tv_usec = (c->u->try_ms % 1000) * 1000};

	if (!c->nq) {
		event_del(c->tmr);
		c->tmr_at = 0;
		return;
	}
	if (c->tmr_at && c->tmr_at <= at)
		return;
	event_add(c->tmr, &tv);
	c->tmr_at = at;
}

/* ---- queries ---- */

static void id_set(struct dns_up *u, uint16_t id, bool on)
{
	if (on)
		u->ids[id >> 3] |= (uint8_t)(1u << (id & 7));
	else
		u->ids[id >> 3] &= (uint8_t) ~(1u << (id & 7));
}

static bool id_used(const struct dns_up *u, uint16_t id)
{
	return u->ids[id >> 3] & (1u << (id & 7));
}

static void q_free(struct dns_up_q *q)
{
	struct dns_up *u = q->u;

	if (q->prev)
		q->prev->next = q->next;
	else
		u->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	u->nalive--;
	event_free(q->tmr);
	free(q);
}

/* c-ares is done with q: its ID may be reused. */
static void q_cares_done(struct dns_up_q *q)
{
	q->cares_done = true;
	id_set(q->u, q->id, false);
	if (q->user_done)
		q_free(q);
}

/* Run the user's callback (once); free q first if c-ares is done with it. */
static void q_finish(struct dns_up_q *q, int status, const uint8_t *ans, size_t len)
{
	dns_up_cb cb = q->cb;
	void *arg = q->arg;

	q->user_done = true;
	q->u->inflight--;
	event_del(q->tmr);
	if (q->cares_done)
		q_free(q);
	cb(arg, status, ans, len); /* last: it may free u */
}

static int q_status(int ares_status)
{
	switch (ares_status) {
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}

static void q_send_chan(struct dns_up_q *q, size_t k);

static void q_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_up_q *q = arg;
	struct dns_up *u = q->u;
	int st;

	(void)timeouts;
	u->chans[q->chan].nq--;
	if (status == ARES_EDESTRUCTION || q->user_done) {
		q_cares_done(q);
		return;
	}
	if (status == ARES_SUCCESS && abuf && alen >= 12) {
		q_cares_done(q);
		q_finish(q, 0, abuf, (size_t)alen);
		return;
	}
	/* Next run of servers (other transport) with what is left of the budget. */
	if ((size_t)q->chan + 1 < u->nchan && !u->closing && sl_now_ms() < q->deadline) {
		q_send_chan(q, (size_t)q->chan + 1);
		return;
	}
	st = status == ARES_SUCCESS ? -EIO : q_status(status);
	q_cares_done(q);
	if (q->in_send) {
		/* Never call back from inside dns_up_send(): deliver on the next loop turn. */
		q->status = st;
		event_active(q->tmr, EV_TIMEOUT, 1);
		return;
	}
	q_finish(q, st, NULL, 0);
}

/* Hand q to channel k. c-ares may call q_ares_cb() (a failure) before returning. */
static void q_send_chan(struct dns_up_q *q, size_t k)
{
	struct dns_up_chan *c = &q->u->chans[k];

	q->chan = (uint8_t)k;
	c->nq++;
	/* ares_send() of 1.18 copies the bytes and keeps them, ID included. */
	ares_send(c->ch, q->msg, (int)q->len, q_ares_cb, q);
	chan_ensure_timer(c); /* q may be gone; c is not */
}

static void q_tmr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_q *q = arg;

	(void)fd;
	(void)what;
	if (q->user_done)
		return;
	/* Either a deferred failure or our hard timeout (c-ares's later result is ignored). */
	q_finish(q, q->cares_done ? q->status : -ETIMEDOUT, NULL, 0);
}

static uint16_t pick_id(const struct dns_up *u)
{
	uint16_t id = 0;

	/* At most a quarter of the space is in use, so this ends fast. */
	for (int i = 0; i < 256; i++) {
		id = (uint16_t)randombytes_uniform(65536);
		if (!id_used(u, id))
			break;
	}
	return id;
}

int dns_up_send(struct dns_up *u, const uint8_t *query, size_t len, dns_up_cb cb, void *arg)
{
	struct dns_up_q *q;

	if (!u || !query || !cb || len < 12 || len > 65535)
		return -EINVAL;
	if (u->closing)
		return -ESHUTDOWN;
	if (u->nalive >= DNS_UP_MAX_INFLIGHT)
		return -EAGAIN;
	q = calloc(1, sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	q->tmr = evtimer_new(u->base, q_tmr_cb, q);
	if (!q->tmr) {
		free(q);
		return -ENOMEM;
	}
	q->u = u;
	q->cb = cb;
	q->arg = arg;
	q->len = len;
	memcpy(q->msg, query, len);
	q->id = pick_id(u);
	q->msg[0] = (uint8_t)(q->id >> 8);
	q->msg[1] = (uint8_t)q->id;
	id_set(u, q->id, true);
	q->next = u->queries;
	if (q->next)
		q->next->prev = q;
	u->queries = q;
	u->nalive++;
	u->inflight++;
	q->deadline = sl_now_ms() + u->timeout_ms;
	evtimer_add(q->tmr, u->q_tv);
	q->in_send = true;
	u->busy++;
	q_send_chan(q, 0);
	/* q is alive: only a delivered callback frees it, and none ran. */
	q->in_send = false;
	u->busy--;
	return 0;
}

size_t dns_up_inflight(const struct dns_up *u)
{
	return u ? u->inflight : 0;
}

size_t dns_up_sockets(const struct dns_up *u, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; u && k < u->nchan; k++)
		for (const struct dns_up_sock *s = u->chans[k].socks; s; s = s->next, n++)
			if (n < max)
				fds[n] = s->fd;
	return n;
}

/* ---- lifetime ---- */

static void up_destroy(struct dns_up *u)
{
	for (size_t k = 0; k < u->nchan; k++) {
		struct dns_up_chan *c = &u->chans[k];

		/* Calls q_ares_cb(ARES_EDESTRUCTION) for each query, then closes sockets. */
		if (c->ch)
			ares_destroy(c->ch);
		while (c->socks) {
			struct dns_up_sock *s = c->socks;

			c->socks = s->next;
			sock_free(s);
		}
		if (c->tmr)
			event_free(c->tmr);
	}
	/* Defensive: ares_destroy() above has ended every query c-ares held. */
	while (u->queries)
		q_free(u->queries);
	free(u->chans);
	free(u);
}

static bool up_leave(struct dns_up *u)
{
	if (--u->busy || !u->closing)
		return false;
	up_destroy(u);
	return true;
}

void dns_up_free(struct dns_up *u)
{
	struct dns_up_q *q, *next;

	if (!u || u->closing)
		return;
	u->closing = true;
	/* Callbacks may not free other records: send and free are refused while closing. */
	for (q = u->queries; q; q = next) {
		next = q->next;
		if (!q->user_done)
			q_finish(q, -ECANCELED, NULL, 0);
	}
	if (!u->busy)
		up_destroy(u);
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
	if (sodium_init() < 0)
		lib_status = -1;
	else if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		lib_status = -1;
}

static int chan_init(struct dns_up_chan *c, const struct dns_up_server *srv, size_t n, char *err,
		     size_t errlen)
{
	struct ares_options o;
	struct ares_addr_port_node nodes[DNS_UP_MAX_SERVERS];
	char lookups[] = "b";
	int rc;
	/* Everything ARES_CONFIG_CHECK wants, so /etc/resolv.conf is not read. */
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
		   ARES_OPT_LOOKUPS | ARES_OPT_SERVERS | ARES_OPT_DOMAINS | ARES_OPT_SORTLIST |
		   ARES_OPT_NOROTATE | ARES_OPT_SOCK_STATE_CB;

	memset(&o, 0, sizeof(o));
	/* No ARES_FLAG_EDNS: with it, a FORMERR answer makes 1.18 cut 11 bytes off the raw query.
	 */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | (srv[0].tcp ? ARES_FLAG_USEVC : 0);
	o.timeout = (int)c->u->try_ms;
	o.tries = DNS_UP_TRIES;
	o.ndots = 1;
	o.lookups = lookups;
	o.sock_state_cb = chan_sock_state;
	o.sock_state_cb_data = c;
	rc = ares_init_options(&c->ch, &o, mask);
	if (rc != ARES_SUCCESS) {
		c->ch = NULL;
		goto fail;
	}
	memset(nodes, 0, sizeof(nodes));
	for (size_t i = 0; i < n; i++) {
		const struct addr *a = &srv[i].addr;

		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		nodes[i].family = addr_family(a);
		if (nodes[i].family == AF_INET)
			memcpy(&nodes[i].addr.addr4, &a->u.in.sin_addr, 4);
		else
			memcpy(&nodes[i].addr.addr6, &a->u.in6.sin6_addr, 16);
		nodes[i].udp_port = addr_port(a);
		nodes[i].tcp_port = addr_port(a);
	}
	rc = ares_set_servers_ports(c->ch, nodes);
	if (rc != ARES_SUCCESS)
		goto fail;
	ares_set_socket_configure_callback(c->ch, chan_sock_config, c);
	c->tmr = evtimer_new(c->u->base, chan_tmr_cb, c);
	if (!c->tmr) {
		rc = ARES_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
	return -EIO;
}

static int check_servers(const struct dns_up_server *servers, size_t n, char *err, size_t errlen)
{
	char buf[ADDR_STRLEN];

	if (!servers || n == 0 || n > DNS_UP_MAX_SERVERS) {
		snprintf(err, errlen, "an upstream group needs 1 to %d servers",
			 DNS_UP_MAX_SERVERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct addr *a = &servers[i].addr;

		if (addr_family(a) != AF_INET && addr_family(a) != AF_INET6) {
			snprintf(err, errlen, "upstream %zu: not an IP address", i + 1);
			return -EINVAL;
		}
		/* c-ares 1.18 has no scope id for its servers. */
		if (addr_family(a) == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a->u.in6.sin6_addr)) {
			snprintf(err, errlen, "upstream %s: link-local addresses are not supported",
				 addr_fmt(a, buf, sizeof(buf)));
			return -EINVAL;
		}
	}
	return 0;
}

struct dns_up *dns_up_new(struct event_base *base, const struct dns_up_server *servers, size_t n,
			  uint32_t mark, unsigned timeout_ms, char *err, size_t errlen)
{
	struct dns_up_server srv[DNS_UP_MAX_SERVERS];
	struct dns_up *u = NULL;
	struct timeval tv;
	unsigned rounds = (1u << DNS_UP_TRIES) - 1; /* c-ares doubles the timeout each round */

	if (!base) {
		snprintf(err, errlen, "no event base");
		return NULL;
	}
	if (check_servers(servers, n, err, errlen) < 0)
		return NULL;
	if (timeout_ms == 0)
		timeout_ms = DNS_UP_DEFAULT_TIMEOUT_MS;
	if (timeout_ms > DNS_UP_MAX_TIMEOUT_MS) {
		snprintf(err, errlen, "upstream timeout over %u ms", DNS_UP_MAX_TIMEOUT_MS);
		return NULL;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_status < 0) {
		snprintf(err, errlen, "c-ares or libsodium initialisation failed");
		return NULL;
	}
	memcpy(srv, servers, n * sizeof(*srv));
	for (size_t i = 0; i < n; i++)
		addr_unmap(&srv[i].addr);
	u = calloc(1, sizeof(*u));
	if (!u || !(u->chans = calloc(n, sizeof(*u->chans))))
		goto fail_nomem;
	u->base = base;
	u->mark = mark;
	u->timeout_ms = timeout_ms;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	u->q_tv = event_base_init_common_timeout(base, &tv);
	if (!u->q_tv)
		goto fail_nomem;
	/* Both rounds over every server fit in timeout_ms. */
	u->try_ms = SL_MAX(timeout_ms / (unsigned)(n * rounds), DNS_UP_MIN_TRY_MS);
	for (size_t i = 0, j; i < n; i = j) {
		struct dns_up_chan *c = &u->chans[u->nchan++];

		for (j = i + 1; j < n && srv[j].tcp == srv[i].tcp;)
			j++;
		c->u = u;
		if (chan_init(c, &srv[i], j - i, err, errlen) < 0)
			goto fail;
	}
	return u;
fail_nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (u && u->chans)
		up_destroy(u);
	else
		free(u);
	return NULL;
}

int dns_up_server_parse(const char *s, struct dns_up_server *out)
{
	struct dns_up_server v;

	if (!s || !out)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	if (strncmp(s, "udp://", 6) == 0) {
		s += 6;
	} else if (strncmp(s, "tcp://", 6) == 0) {
		s += 6;
		v.tcp = true;
	} else if (strstr(s, "://")) {
		return -EINVAL;
	}
	if (addr_parse(s, false, 53, &v.addr) < 0 || addr_port(&v.addr) == 0)
		return -EINVAL;
	*out = v;
	return 0;
}
