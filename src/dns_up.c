#include "config.h"
/* dns_up.c - one worker's DNS transport to upstream servers (see dns_up.h):
 * the query records, their attempt schedule and timers, and UDP attempts
 * on sockets of their own (DNSCrypt ones sealed and opened by
 * dns_up_crypt.c). TCP connections live in dns_up_tcp.c, HTTP/2 ones in
 * dns_up_h2.c. It does
 * not decide where a query goes (the DNS service picks the servers), nor
 * cache, nor touch the client's answer. */

#include "dns_up_int.h"
#include "ctr.h"
#include "log.h"
#include "rng.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DNS_UP_ROUNDS 2
#define DNS_UP_MIN_TRY_MS 200
#define DNS_UP_READS 8 /* datagrams read per wake-up of one attempt */
#define DNS_UP_SPARE_Q 64 /* query records kept for reuse, each with its timer */

void dns_up_count(struct dns_up *u, int ctr_id)
{
	if (u->env.ctr)
		ctr_inc(u->env.ctr, (enum ctr_id)ctr_id);
}

int dns_up_server_parse(const char *s, struct dns_up_server *out, char *err, size_t errlen)
{
	struct dns_url u;

	if (dns_url_parse(s, &u, err, errlen) < 0)
		return -EINVAL;
	if (u.is_name || (u.proto != DNS_PROTO_UDP && u.proto != DNS_PROTO_TCP)) {
		snprintf(err, err ? errlen : 0,
			 "'%s': a host name, tls://, https:// or a stamp needs the config", s);
		return -EINVAL;
	}
	out->addr = u.addr;
	out->proto = (uint8_t)u.proto;
	out->tls = NULL;
	out->crypt = NULL;
	return 0;
}

struct dns_up *dns_up_new(const struct dns_up_env *env)
{
	struct dns_up *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->env = *env;
	return u;
}

size_t dns_up_inflight(const struct dns_up *u)
{
	return u->inflight;
}

size_t dns_up_sockets(const struct dns_up *u)
{
	return u->nsocks;
}

/* ---- sockets ---- */

static bool budget_take(struct dns_up *u)
{
	struct dns_up_budget *b = u->env.budget;

	if (!b)
		return true;
	if (atomic_fetch_add_explicit(&b->used, 1, memory_order_relaxed) < b->max)
		return true;
	atomic_fetch_sub_explicit(&b->used, 1, memory_order_relaxed);
	return false;
}

static void budget_give(struct dns_up *u)
{
	if (u->env.budget)
		atomic_fetch_sub_explicit(&u->env.budget->used, 1, memory_order_relaxed);
}

/* A marked, non-blocking socket of family, its share of the budget taken. */
int dns_up_sock_new(struct dns_up *u, int family, int type, int proto)
{
	int fd, err;

	if (!budget_take(u)) {
		dns_up_count(u, CTR_DNS_UPSTREAM_NOFD);
		return -EMFILE;
	}
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		err = -errno;
		budget_give(u);
		if (err == -EMFILE || err == -ENFILE)
			dns_up_count(u, CTR_DNS_UPSTREAM_NOFD);
		return err;
	}
	if (u->env.mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &u->env.mark, sizeof(u->env.mark)) < 0) {
		err = -errno;
		if (!u->mark_logged) {
			u->mark_logged = true;
			log_err("dns: cannot set SO_MARK 0x%x on upstream sockets: %s (needs "
				"CAP_NET_ADMIN); upstream queries fail",
				u->env.mark, strerror(errno));
		}
		dns_up_sock_free(u, fd);
		return err;
	}
	return fd;
}

void dns_up_sock_free(struct dns_up *u, int fd)
{
	close(fd);
	budget_give(u);
}

/* A marked, non-blocking socket connected (or connecting) to a. */
int dns_up_sock(struct dns_up *u, const struct addr *a, int type, int proto,
		struct ownsock_tok *tok)
{
	int fd = dns_up_sock_new(u, addr_family(a), type, proto), err;

	tok->slot = 0;
	if (fd < 0)
		return fd;
	/* Stream queries are small writes, each waited on: without this, Nagle
	 * holds one back until the previous one's ACK, which a server delays
	 * (40 ms), and a pipelined connection crawls. Writes are still
	 * gathered per event loop pass (libevent writes on the next pass). */
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	if (connect(fd, &a->u.sa, a->len) < 0 && errno != EINPROGRESS) {
		err = -errno;
		dns_up_sock_free(u, fd);
		return err;
	}
	ownsock_add(u->env.own, fd, proto, tok);
	u->nsocks++;
	return fd;
}

void dns_up_sock_close(struct dns_up *u, int fd, struct ownsock_tok *tok)
{
	ownsock_del(u->env.own, tok);
	dns_up_sock_free(u, fd);
	u->nsocks--;
}

/* ---- messages ---- */

/* The query for attempt (srv, id) into out, the name's case pattern into qwire. */
int dns_up_build(struct dns_up_q *q, uint8_t srv, uint16_t id, bool edns, uint8_t *qwire,
		 uint8_t *out, size_t outlen)
{
	const struct dns_query *cq = q->cq;

	const uint8_t *ecs = NULL;
	size_t ecs_len = 0;

	memcpy(qwire, cq->lname, cq->lname_len);
	if (q->x20) {
		uint8_t rnd[DNS_NAME_WIRE_MAX / 8 + 1];

		rng_bytes(q->u->env.rng, rnd, sizeof(rnd));
		dns_name_0x20(qwire, cq->lname_len, rnd);
	}
	(void)srv;
	if (q->noecs || q->ecs_strip) {
		ecs = NULL;
	} else if (q->ecs_len) {
		ecs = q->ecs;
		ecs_len = q->ecs_len;
	} else if (cq->ecs_len) {
		ecs = q->pkt + cq->ecs_off;
		ecs_len = cq->ecs_len;
	}
	return dns_build_upstream_ecs(cq, id, qwire, edns, ecs, ecs_len, out, outlen);
}

enum dns_up_verdict dns_up_judge(struct dns_up_q *q, const uint8_t *m, size_t len, uint16_t id,
				 const uint8_t *qwire, bool edns, bool tcp,
				 struct dns_answer_info *ai)
{
	const struct dns_query *cq = q->cq;
	int rcode;

	if (len < DNS_HDR_LEN || (uint16_t)(m[0] << 8 | m[1]) != id ||
	    dns_answer_inspect(m, len, ai) < 0 ||
	    !dns_answer_question_is(m, len, ai, qwire, cq->lname_len, cq->qtype, cq->qclass,
				    q->x20))
		return UPV_IGNORE;
	rcode = ai->rcode | ai->ext_rcode << 4;
	if (ai->tc && !tcp)
		return UPV_TC;
	if (rcode == DNS_RCODE_FORMERR && edns && !ai->has_opt)
		return UPV_NOEDNS; /* RFC 6891 7: a server that does not know EDNS */
	if (rcode == DNS_RCODE_REFUSED && edns && !q->noecs && !q->ecs_strip &&
	    (q->ecs_len || cq->ecs_len))
		return UPV_NOECS;
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_NOTIMP ||
	    rcode == DNS_RCODE_REFUSED)
		return UPV_FAILOVER;
	return UPV_ANSWER;
}

/* ---- UDP attempts ---- */

static void try_close(struct dns_up_try *t)
{
	if (t->fd < 0)
		return;
	dns_up_port_close(t->q->u, t->port);
	t->port = NULL;
	t->fd = -1;
}

static void udp_read_cb(void *arg);

static int udp_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	struct dns_up *u = q->u;
	struct dns_up_try *t = &q->udp[q->cur ^ 1];
	uint8_t msg[DNS_UP_MSG_MAX];
	int n, fd, rc;

	if (q->cq->ecs_len > 512)
		return -EINVAL;
	try_close(t); /* the attempt before the current one */
	fd = dns_up_port_open(u, &q->sv[srv].addr, udp_read_cb, t, &t->port);
	if (fd < 0)
		return fd;
	t->fd = fd;
	t->srv = srv;
	t->edns = edns;
	t->id = rng_u16(u->env.rng);
	n = dns_up_build(q, srv, t->id, edns, t->qwire, msg, sizeof(msg));
	if (n >= 0 && q->sv[srv].proto == DNS_PROTO_DNSCRYPT)
		n = dns_up_crypt_seal(q, srv, &t->ck, msg, (size_t)n, sizeof(msg), false);
	if (n < 0) {
		try_close(t);
		return -ENOMEM;
	}
	if ((rc = dns_up_port_send(u, t->port, msg, (size_t)n)) < 0) {
		try_close(t);
		return rc;
	}
	dns_up_count(u, CTR_DNS_UPSTREAM_SENT);
	q->cur ^= 1;
	return 0;
}

int dns_up_udp_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	return udp_start(q, srv, edns);
}

static unsigned attempt_ms(const struct dns_up_q *q, bool tcp)
{
	return (q->try_ms << q->round) * (tcp ? 2 : 1);
}

static void arm(struct dns_up_q *q, unsigned ms)
{
	uint64_t now = sl_now_ms(), at = now + ms;

	if (at > q->deadline)
		at = q->deadline;
	ms = (unsigned)(at > now ? at - now : 0);
	event_add(q->tmr, &(struct timeval){ms / 1000, (ms % 1000) * 1000});
}

static bool waiting(const struct dns_up_q *q)
{
	return q->udp[0].fd >= 0 || q->udp[1].fd >= 0 || q->conn || q->h2 || q->cwait;
}

/* Start one attempt on server srv with the transport it names. */
static int start_attempt(struct dns_up_q *q, uint8_t srv, bool edns)
{
	q->started_us[srv] = sl_now_us();
	q->ans_srv = srv;
	switch (q->sv[srv].proto) {
	case DNS_PROTO_UDP:
		return udp_start(q, srv, edns);
	case DNS_PROTO_TCP:
	case DNS_PROTO_TLS:
		return dns_up_tcp_start(q, srv, edns);
	case DNS_PROTO_HTTPS:
		return dns_up_h2_start(q, srv, edns);
	case DNS_PROTO_DNSCRYPT:
		return dns_up_crypt_start(q, srv, edns);
	}
	return -EINVAL;
}

/* Let go of whatever stream attempt q has going (UDP ones stay: late answers count). */
static void detach_streams(struct dns_up_q *q)
{
	dns_up_tcp_detach(q);
	dns_up_h2_detach(q);
	dns_up_crypt_detach(q);
}

/* Start the next attempt that can be started; false when none is left. */
static bool next_attempt(struct dns_up_q *q)
{
	bool skipped = false;

again:
	while (q->attempt < DNS_UP_ROUNDS * q->n) {
		uint8_t srv = (uint8_t)(q->attempt % q->n);
		bool edns = !(q->noedns & (1u << srv));
		int rc;

		q->round = (uint8_t)(q->attempt / q->n);
		q->attempt++;
		detach_streams(q);
		rc = start_attempt(q, srv, edns);
		if (rc == 0) {
			arm(q, attempt_ms(q, q->sv[srv].proto != DNS_PROTO_UDP));
			return true;
		}
		skipped |= rc == -EAGAIN;
		if (rc == -EMFILE || q->fail != -EMFILE)
			q->fail = rc == -EMFILE ? -EMFILE : -ECONNREFUSED;
	}
	/* Only servers backing off were left: better one more try than none. */
	if (skipped && !q->force && !waiting(q)) {
		q->force = true;
		q->attempt = 0;
		goto again;
	}
	return false;
}

/* The current attempt failed (fail) or ran out of time (0): move on. */
void dns_up_advance(struct dns_up_q *q, int fail)
{
	if (fail)
		q->fail = fail;
	if (next_attempt(q))
		return;
	if (waiting(q)) { /* late answers to earlier attempts still count */
		arm(q, (unsigned)DNS_UP_MAX_TIMEOUT_MS);
		return;
	}
	dns_up_finish(q, q->fail ? q->fail : -ETIMEDOUT, NULL, 0, NULL);
}

/* Unlink q, close what it holds and free it. */
static void q_release(struct dns_up_q *q)
{
	struct dns_up *u = q->u;

	if (q->prev)
		q->prev->next = q->next;
	else
		u->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	try_close(&q->udp[0]);
	try_close(&q->udp[1]);
	detach_streams(q);
	u->inflight--;
	if (u->nspare < DNS_UP_SPARE_Q) { /* spares save a malloc and an event_new a query */
		event_del(q->tmr);
		q->next = u->spare;
		u->spare = q;
		u->nspare++;
		return;
	}
	event_free(q->tmr);
	free(q);
}

void dns_up_finish(struct dns_up_q *q, int status, const uint8_t *ans, size_t len,
		   const struct dns_answer_info *ai)
{
	struct dns_up *u = q->u;
	dns_up_cb cb = q->cb;
	void *arg = q->arg;

	u->done_ok = status == 0;
	if (status == 0) {
		u->done_sv = q->sv[q->ans_srv];
		u->done_rtt_us = sl_now_us() - q->started_us[q->ans_srv];
	}
	q_release(q); /* first: the callback may start or cancel other queries */
	cb(arg, status, ans, len, ai);
	u->done_ok = false;
}

bool dns_up_answered_by(const struct dns_up *u, struct dns_up_server *sv, uint64_t *rtt_us)
{
	if (!u->done_ok)
		return false;
	*sv = u->done_sv;
	*rtt_us = u->done_rtt_us;
	return true;
}

/* One message on a UDP attempt; false when q is gone or moved on. */
static bool udp_msg(struct dns_up_try *t, size_t len)
{
	struct dns_up_q *q = t->q;
	struct dns_answer_info ai;
	bool current = t == &q->udp[q->cur];
	uint8_t srv = t->srv;

	enum dns_up_verdict v;

	/* what does not open is a forgery (or late, for a rotated key): ignored like one */
	if (q->sv[srv].proto == DNS_PROTO_DNSCRYPT &&
	    !dns_up_crypt_open(q, srv, &t->ck, q->u->rbuf, &len)) {
		dns_up_count(q->u, CTR_DNS_UPSTREAM_IGNORED);
		return true;
	}
	v = dns_up_judge(q, q->u->rbuf, len, t->id, t->qwire, t->edns, false, &ai);
	switch (v) {
	case UPV_IGNORE:
		dns_up_count(q->u, CTR_DNS_UPSTREAM_IGNORED);
		return true;
	case UPV_ANSWER:
		q->ans_srv = srv;
		dns_up_finish(q, 0, q->u->rbuf, len, &ai);
		return false;
	case UPV_TC: /* the same server over TCP, in the time left */
		try_close(t);
		dns_up_tcp_detach(q);
		if (dns_up_tcp_start(q, srv, t->edns) == 0)
			arm(q, attempt_ms(q, true));
		else if (current)
			dns_up_advance(q, -ECONNREFUSED);
		return false;
	case UPV_NOEDNS:
	case UPV_NOECS:
		if (v == UPV_NOEDNS)
			q->noedns |= (uint16_t)(1u << srv);
		else
			q->noecs = true;
		try_close(t);
		if (udp_start(q, srv, v == UPV_NOECS) < 0 && current)
			dns_up_advance(q, -ECONNREFUSED);
		return false;
	case UPV_FAILOVER:
		try_close(t);
		if (current || !waiting(q))
			dns_up_advance(q, -ECONNREFUSED);
		return false;
	}
	return false;
}

static void udp_read_cb(void *arg)
{
	struct dns_up_try *t = arg;
	struct dns_up_q *q = t->q;

	for (int i = 0; i < DNS_UP_READS; i++) {
		ssize_t n = dns_up_port_recv(t->port, q->u->rbuf, sizeof(q->u->rbuf));
		bool current = t == &q->udp[q->cur];

		if (n == -EAGAIN)
			return;
		if (n == -ENOMSG) { /* from elsewhere: forged */
			dns_up_count(q->u, CTR_DNS_UPSTREAM_IGNORED);
			continue;
		}
		if (n < 0) {
			/* ICMP unreachable (ECONNREFUSED) or another hard error */
			try_close(t);
			if (current || !waiting(q))
				dns_up_advance(q, -ECONNREFUSED);
			return;
		}
		if (!udp_msg(t, (size_t)n))
			return;
	}
}

static void tmr_cb(evutil_socket_t fd, short what, void *arg);

/* A zeroed query record with its timer: a spare one, or a new one. */
static struct dns_up_q *q_alloc(struct dns_up *u)
{
	struct dns_up_q *r = u->spare;
	struct event *tmr;

	if (r) {
		u->spare = r->next;
		u->nspare--;
		tmr = r->tmr;
		memset(r, 0, sizeof(*r));
		r->tmr = tmr;
		return r;
	}
	r = calloc(1, sizeof(*r));
	if (r && !(r->tmr = event_new(u->env.base, -1, 0, tmr_cb, r))) {
		free(r);
		return NULL;
	}
	return r;
}

static void tmr_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_q *q = arg;

	if (q->deferred) {
		dns_up_finish(q, q->status, NULL, 0, NULL);
		return;
	}
	dns_up_tcp_timed_out(q);
	if (sl_now_ms() >= q->deadline) {
		dns_up_count(q->u, CTR_DNS_UPSTREAM_TIMEOUTS);
		dns_up_finish(q, -ETIMEDOUT, NULL, 0, NULL);
		return;
	}
	dns_up_count(q->u, CTR_DNS_UPSTREAM_TIMEOUTS);
	dns_up_advance(q, 0);
}

int dns_up_send(struct dns_up *u, const struct dns_up_server *servers, size_t n,
		const struct dns_up_opts *opts, const struct dns_query *q, const uint8_t *pkt,
		dns_up_cb cb, void *arg, struct dns_up_q **h)
{
	unsigned timeout = opts && opts->timeout_ms ? opts->timeout_ms : DNS_UP_DEFAULT_TIMEOUT_MS;
	struct dns_up_q *r;

	if (h)
		*h = NULL;
	if (!u || !servers || n == 0 || n > DNS_UP_MAX_SERVERS || !q || !q->question_ok || !cb ||
	    timeout > DNS_UP_MAX_TIMEOUT_MS)
		return -EINVAL;
	r = q_alloc(u);
	if (!r)
		return -ENOMEM;
	r->u = u;
	r->cb = cb;
	r->arg = arg;
	r->cq = q;
	r->pkt = pkt;
	memcpy(r->sv, servers, n * sizeof(*servers));
	r->n = (uint8_t)n;
	r->x20 = opts && opts->x20;
	r->ecs_strip = opts && opts->ecs_strip;
	if (opts && opts->ecs && opts->ecs_len <= DNS_UP_ECS_MAX) {
		memcpy(r->ecs, opts->ecs, opts->ecs_len);
		r->ecs_len = (uint8_t)opts->ecs_len;
	}
	r->udp[0].fd = r->udp[1].fd = -1;
	r->udp[0].q = r->udp[1].q = r;
	r->deadline = sl_now_ms() + timeout;
	/* Both rounds over every server fit in the timeout (the second round doubles). */
	r->try_ms = SL_MAX(timeout / (unsigned)(n * 3), DNS_UP_MIN_TRY_MS);
	r->next = u->queries;
	if (u->queries)
		u->queries->prev = r;
	u->queries = r;
	u->inflight++;
	if (!next_attempt(r)) { /* delivered from the loop, never from here */
		r->deferred = true;
		r->status = r->fail ? r->fail : -EIO;
		event_active(r->tmr, EV_TIMEOUT, 0);
	}
	if (h)
		*h = r;
	return 0;
}

void dns_up_cancel(struct dns_up_q *q)
{
	if (q)
		q_release(q);
}

void dns_up_free(struct dns_up *u)
{
	if (!u)
		return;
	while (u->queries)
		dns_up_finish(u->queries, -ECANCELED, NULL, 0, NULL);
	dns_up_h2_free_all(u); /* before the server state dns_up_tcp.c frees */
	dns_up_tcp_free_all(u);
	dns_up_crypt_free_all(u);
	dns_up_port_free_all(u);
	while (u->spare) {
		struct dns_up_q *q = u->spare;

		u->spare = q->next;
		event_free(q->tmr);
		free(q);
	}
	free(u);
}
