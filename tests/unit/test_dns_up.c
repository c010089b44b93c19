#include "config.h"
/* test_dns_up.c - dns_up.c against fake DNS servers on loopback (a thread
 * answering UDP and TCP on random ports, fake_dns.c): the query sluice
 * builds (fresh ID, EDNS 1232), a fresh source port per query, forged
 * answers (wrong ID, wrong question) ignored, a socket kept between
 * queries but never its port (the old one free again, a datagram queued
 * for it dropped with it), 0x20 echo, the pre-EDNS
 * retry, failover on silence, ICMP refusal and SERVFAIL, the hard timeout,
 * TC -> TCP, tcp:// (pipelined on one connection) and mixed groups,
 * SO_MARK on every socket (and no traffic when it cannot be set), the
 * ownsock registry, the descriptor budget, cancellation (dns_up_cancel, on
 * free, from a callback), deferred failures, and 1000 queries in flight. */

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctr.h"
#include "dns_up.h"
#include "fake_dns.h"
#include "fdplan.h"
#include "ownsock.h"
#include "rng.h"

#include <sodium.h>

static struct dns_up_server srv_of(const struct fake *f, bool tcp)
{
	struct dns_up_server v;
	char s[80];

	assert_non_null(f);
	snprintf(s, sizeof(s), "%s://%s:%u", tcp ? "tcp" : "udp",
		 f->family == AF_INET ? "127.0.0.1" : "[::1]", f->port);
	assert_int_equal(dns_up_server_parse(s, &v, NULL, 0), 0);
	return v;
}

/* A free port with nothing behind it: the kernel answers with ICMP port unreachable. */
static struct dns_up_server srv_closed(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int port = fake_bind(fd, AF_INET, 0);
	struct dns_up_server v;
	char s[40];

	close(fd);
	snprintf(s, sizeof(s), "udp://127.0.0.1:%d", port);
	assert_int_equal(dns_up_server_parse(s, &v, NULL, 0), 0);
	return v;
}

/* ---- callbacks and the loop ---- */

struct res {
	int calls;
	int status;
	size_t len;
	uint64_t at;
	struct dns_query q; /* what was asked: valid until the callback */
	uint8_t pkt[512];
	uint8_t ans[8192];
};

/* A group as the DNS service uses one: a transport and its servers. */
struct grp {
	struct dns_up *u;
	struct dns_up_server sv[DNS_UP_MAX_SERVERS];
	size_t n;
	struct dns_up_opts opts;
};

struct ctx {
	struct event_base *base;
	struct fake_set fk;
	int done, want;
	bool in_send;
	uint32_t mark;
	struct rng rng;
	struct ctr ctr;
	struct ownsock *own;
	struct dns_up_budget budget;
	struct grp grps[4];
	size_t ngrp;
	struct grp *free_me; /* freed by the first callback (test_free_from_cb) */
};

static struct ctx *g;

static void grp_free(struct grp *gr)
{
	dns_up_free(gr->u);
	gr->u = NULL;
}

static void on_answer(void *arg, int status, const uint8_t *ans, size_t len,
		      const struct dns_answer_info *ai)
{
	struct res *r = arg;

	if (g->in_send)
		fail_msg("callback from inside dns_up_send()");
	r->calls++;
	r->status = status;
	r->at = sl_now_ms();
	r->len = SL_MIN(len, sizeof(r->ans));
	if (status == 0) {
		memcpy(r->ans, ans, r->len);
		assert_non_null(ai);
	} else if (ans || len || ai) {
		fail_msg("status %d with an answer", status);
	}
	if (g->free_me) {
		struct grp *u = g->free_me;

		g->free_me = NULL;
		grp_free(u);
	}
	if (++g->done >= g->want)
		event_base_loopbreak(g->base);
}

static int send_h(struct grp *u, const uint8_t *q, size_t len, struct res *r,
		  struct dns_up_q **h)
{
	int rc;

	if (!q || len > sizeof(r->pkt))
		return -EINVAL;
	memcpy(r->pkt, q, len);
	if (dns_query_parse(r->pkt, len, &r->q) < 0)
		return -EINVAL;
	g->in_send = true;
	rc = dns_up_send(u->u, u->sv, u->n, &u->opts, &r->q, r->pkt, on_answer, r, h);
	g->in_send = false;
	return rc;
}

static int send_q(struct grp *u, const uint8_t *q, size_t len, struct res *r)
{
	return send_h(u, q, len, r, NULL);
}

static size_t inflight(const struct grp *u)
{
	return dns_up_inflight(u->u);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the loop until `want` callbacks in all have run, or ms passed. */
static void run(int want, unsigned ms)
{
	struct event *t = evtimer_new(g->base, stop_cb, g->base);
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	g->want = want;
	evtimer_add(t, &tv);
	if (g->done < want)
		event_base_dispatch(g->base);
	event_free(t);
}

static bool can_mark(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint32_t m = 1;
	bool ok = setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) == 0;

	close(fd);
	return ok;
}

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof(c));
	if (sodium_init() < 0)
		return -1;
	c.base = event_base_new();
	c.mark = can_mark() ? 0x5a17 : 0;
	rng_init(&c.rng);
	c.own = ownsock_new();
	c.budget.max = 100000;
	g = &c;
	*state = &c;
	return c.base && c.own ? 0 : -1;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	for (size_t i = 0; i < c->ngrp; i++)
		if (c->grps[i].u)
			grp_free(&c->grps[i]);
	fake_stop(&c->fk);
	event_base_free(c->base);
	ownsock_free(c->own);
	assert_int_equal(atomic_load(&c->budget.used), 0); /* every descriptor given back */
	return 0;
}

static struct grp *mk(const struct dns_up_server *s, size_t n, unsigned timeout_ms)
{
	struct dns_up_env env = {.base = g->base, .ctr = &g->ctr, .own = g->own, .rng = &g->rng,
				 .budget = &g->budget, .mark = g->mark};
	struct grp *gr;

	assert_true(g->ngrp < SL_ARRAY_LEN(g->grps));
	gr = &g->grps[g->ngrp++];
	gr->u = dns_up_new(&env);
	assert_non_null(gr->u);
	memcpy(gr->sv, s, n * sizeof(*s));
	gr->n = n;
	gr->opts = (struct dns_up_opts){.timeout_ms = timeout_ms};
	return gr;
}

/* The socket of ours whose peer is the fake's port (any family), or -1. */
static int sock_to(uint16_t port, int type)
{
	for (int fd = 3; fd < 4096; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int t = 0;
		socklen_t tl = sizeof(t);
		struct addr a;

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0 || t != type ||
		    getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    addr_from_sa(&a, (struct sockaddr *)&ss, sl) < 0)
			continue;
		if (addr_port(&a) == port)
			return fd;
	}
	return -1;
}

/* The UDP socket of an attempt under way (not connected: bound by its
 * send to a port on the wildcard address), or -1. */
static int udp_sock_bound(void)
{
	for (int fd = 3; fd < 4096; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int t = 0;
		socklen_t tl = sizeof(t);
		struct addr a;

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0 || t != SOCK_DGRAM ||
		    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    addr_from_sa(&a, (struct sockaddr *)&ss, sl) < 0)
			continue;
		if (addr_port(&a) && addr_is_any(&a))
			return fd;
	}
	return -1;
}

/* ---- tests ---- */

static void test_parse(void **state)
{
	struct dns_up_server s;
	char err[128];

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://192.0.2.1", &s, err, sizeof(err)), 0);
	assert_int_equal(s.proto, DNS_PROTO_UDP);
	assert_int_equal(addr_port(&s.addr), 53);
	assert_int_equal(dns_up_server_parse("tcp://[2001:db8::1]:5353", &s, err, sizeof(err)), 0);
	assert_int_equal(s.proto, DNS_PROTO_TCP);
	assert_int_equal(addr_family(&s.addr), AF_INET6);
	assert_int_equal(addr_port(&s.addr), 5353);
	assert_int_equal(dns_up_server_parse("198.51.100.7:54", &s, err, sizeof(err)), 0);
	assert_int_equal(s.proto, DNS_PROTO_UDP);
	assert_int_equal(addr_port(&s.addr), 54);
	assert_int_equal(dns_up_server_parse("tls://1.1.1.1", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tls://"));
	assert_int_equal(dns_up_server_parse("quic://1.1.1.1", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown scheme"));
	assert_int_equal(dns_up_server_parse("udp://example.com", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(dns_up_server_parse("udp://192.0.2.1:0", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(dns_up_server_parse("udp://", &s, err, sizeof(err)), -EINVAL);
	/* A link-local server without its interface is refused when parsed (so -t agrees). */
	assert_int_equal(dns_up_server_parse("udp://[fe80::1]", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "link-local"));
	assert_int_equal(dns_up_server_parse("udp://[fe80::1%lo]:53", &s, err, sizeof(err)), 0);
	assert_int_not_equal(s.addr.u.in6.sin6_scope_id, 0);
}

/* The query sluice builds (not the client's bytes), the ID it chose, the answer. */
static void answer_family(int family)
{
	uint8_t q[512], want[8192];
	struct res r = {0};
	struct fake *f = fake_add(&g->fk, family, FAKE_ANSWER, -1, 7);
	struct dns_up_server s;
	struct grp *u;
	size_t ql, wl, qe;

	if (!f) {
		print_message("no %s loopback here; skipped\n",
			      family == AF_INET ? "IPv4" : "IPv6");
		skip();
	}
	s = srv_of(f, false);
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	/* the client sends no EDNS; sluice asks with it anyway */
	ql = fake_query(q, 0x1234, "www.Example.com", 1, false);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(inflight(u), 1);
	assert_int_equal(r.calls, 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(inflight(u), 0);

	/* Header: a fresh ID, RD; one question, lowercased; one OPT of 1232 bytes. */
	assert_int_equal(fake_count(f, false), 1);
	qe = fake_question_end(q, ql);
	assert_int_equal(f->last_len, qe + 11);
	assert_memory_equal(f->last + 2, "\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01", 10);
	assert_memory_equal(f->last + 12, "\x03www\x07" "example\x03" "com\x00\x00\x01\x00\x01", qe - 12);
	assert_memory_equal(f->last + qe, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);
	/* The answer is the server's, with the ID it was asked with. */
	wl = fake_answer(f->last, f->last_len, FAKE_ANSWER, 7, want, sizeof(want));
	assert_int_equal(r.len, wl);
	assert_memory_equal(r.ans, want, wl);
	assert_int_equal(r.ans[wl - 1], 7); /* 192.0.2.7 */
	grp_free(u);
}

static void test_answer_v4(void **state)
{
	(void)state;
	answer_family(AF_INET);
}

static void test_answer_v6(void **state)
{
	(void)state;
	answer_family(AF_INET6);
}

/* Every query leaves from a socket of its own: a fresh source port and a fresh ID. */
#define NPORTS 200

static void test_fresh_ports_ids(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	static struct res r[NPORTS];
	uint8_t q[512];
	size_t ql = fake_query(q, 0x4242, "same.example", 1, false);
	struct grp *u;
	int same = 0, ports;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < NPORTS; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(NPORTS, 3000);
	for (int i = 0; i < NPORTS; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		same += memcmp(r[i].ans, q, 2) == 0;
	}
	for (int i = 1; i < 8; i++)
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(r[i].ans, r[j].ans, 2);
	assert_true(same <= 2);
	ports = fake_distinct_ports(f, NPORTS);
	print_message("%d queries left from %d distinct source ports\n", NPORTS, ports);
	assert_true(ports >= 150);
	grp_free(u);
}

/* Queries one after the other: one socket carries them all (dns_up_port.c),
 * each from a port of its own. */
static void test_ports_sequential(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 7, "seq.example", 1, false);
	struct grp *u;
	int ports;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(send_q(u, q, ql, &r), 0);
		run(i + 1, 2000);
		assert_int_equal(r.calls, i + 1);
		assert_int_equal(r.status, 0);
		assert_int_equal(dns_up_sockets(u->u), 0);
		assert_int_equal(dns_up_idle_sockets(u->u), 1);
		assert_int_equal(atomic_load(&g->budget.used), 1);
	}
	ports = fake_distinct_ports(f, 50);
	print_message("50 queries in a row on one socket, from %d distinct ports\n", ports);
	assert_true(ports >= 45); /* random ports: a repeat now and then, not a habit */
	grp_free(u);
	assert_int_equal(atomic_load(&g->budget.used), 0);
}

/* An attempt's port is let go when it ends: nothing of ours holds it any
 * more, a datagram queued for it (a late duplicate) is dropped with it and
 * never reaches the next attempt on the same socket, and an idle socket is
 * closed after a while, its budget share given back. */
static void test_port_released(void **state)
{
	int srv = socket(AF_INET, SOCK_DGRAM, 0), b;
	int sport = fake_bind(srv, AF_INET, 0);
	struct dns_up_server s;
	struct res r[2] = {{0}};
	uint8_t q[512], m[512], ans[4096];
	size_t ql = fake_query(q, 9, "late.example", 1, true), al;
	struct sockaddr_storage from[2];
	socklen_t fl;
	uint16_t port[2];
	uint64_t ign;
	char url[40];
	struct grp *u;
	ssize_t n;

	(void)state;
	snprintf(url, sizeof(url), "udp://127.0.0.1:%d", sport);
	assert_int_equal(dns_up_server_parse(url, &s, NULL, 0), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
		assert_int_equal(dns_up_sockets(u->u), 1);
		assert_int_equal(dns_up_idle_sockets(u->u), 0);
		fl = sizeof(from[i]);
		n = recvfrom(srv, m, sizeof(m), 0, (struct sockaddr *)&from[i], &fl);
		assert_true(n > 0);
		port[i] = ntohs(((struct sockaddr_in *)&from[i])->sin_port);
		al = fake_answer(m, (size_t)n, FAKE_ANSWER, 1, ans, sizeof(ans));
		assert_true(al > 0);
		ign = ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED);
		/* the answer, then a copy of it that is still queued when the attempt ends */
		for (int k = 0; k < (i ? 1 : 2); k++)
			assert_int_equal(sendto(srv, ans, al, 0, (struct sockaddr *)&from[i], fl),
					 (ssize_t)al);
		run(i + 1, 2000);
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED), ign);
		assert_int_equal(dns_up_sockets(u->u), 0);
		assert_int_equal(dns_up_idle_sockets(u->u), 1);
		/* the port is free again: anyone may bind it */
		b = socket(AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(fake_bind(b, AF_INET, port[i]), port[i]);
		close(b);
	}
	assert_int_not_equal(port[0], port[1]);
	assert_int_equal(atomic_load(&g->budget.used), 1);
	run(3, 2200); /* nothing more comes: idle sockets are closed meanwhile */
	assert_int_equal(dns_up_idle_sockets(u->u), 0);
	assert_int_equal(atomic_load(&g->budget.used), 0);
	grp_free(u);
	close(srv);
}

/* The attempt's socket is not connected (dns_up_port.c): sluice itself
 * takes answers only from the server's address and port. A perfect forgery
 * (the right ID and question) from another port of the server's address is
 * ignored and counted; the server's own answer then counts. IPv4 and IPv6. */
static void test_wrong_source(void **state)
{
	(void)state;
	for (int fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		int srv = socket(fam, SOCK_DGRAM, 0), other = socket(fam, SOCK_DGRAM, 0);
		int sport = fake_bind(srv, fam, 0);
		struct dns_up_server s;
		struct res r = {0};
		uint8_t q[512], m[512], ans[4096];
		size_t ql = fake_query(q, 3, "forged.example", 1, true), al;
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		uint64_t ign;
		char url[48];
		struct grp *u;
		ssize_t n;

		if (sport < 0) { /* no IPv6 loopback here */
			close(srv);
			close(other);
			continue;
		}
		assert_true(fake_bind(other, fam, 0) > 0);
		snprintf(url, sizeof(url), fam == AF_INET ? "udp://127.0.0.1:%d" : "udp://[::1]:%d",
			 sport);
		assert_int_equal(dns_up_server_parse(url, &s, NULL, 0), 0);
		u = mk(&s, 1, 2000);
		assert_int_equal(send_q(u, q, ql, &r), 0);
		n = recvfrom(srv, m, sizeof(m), 0, (struct sockaddr *)&from, &fl);
		assert_true(n > 0);
		al = fake_answer(m, (size_t)n, FAKE_ANSWER, 66, ans, sizeof(ans));
		ign = ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED);
		assert_int_equal(sendto(other, ans, al, 0, (struct sockaddr *)&from, fl), (ssize_t)al);
		run(g->done + 1, 200);
		assert_int_equal(r.calls, 0);
		assert_int_equal(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED), ign + 1);
		al = fake_answer(m, (size_t)n, FAKE_ANSWER, 7, ans, sizeof(ans));
		assert_int_equal(sendto(srv, ans, al, 0, (struct sockaddr *)&from, fl), (ssize_t)al);
		run(g->done + 1, 2000);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.ans[r.len - 1], 7); /* 192.0.2.7: the server's */
		grp_free(u);
		close(srv);
		close(other);
	}
}

/* Forged answers (another ID; the right ID with another question) are ignored and counted. */
static void test_spoof_ignored(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_SPOOF, -1, 9);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "bank.example", 1, true);
	struct grp *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 9); /* 192.0.2.9, not the forged 203.0.113.66 */
	assert_int_equal(r.ans[r.len - 4], 192);
	assert_int_equal(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED), 2);
	grp_free(u);
}

/* dns-0x20: a random case goes out and must come back exactly. */
static void test_0x20(void **state)
{
	struct fake *echo = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 1);
	struct fake *lower = fake_add(&g->fk, AF_INET, FAKE_LOWER, -1, 2);
	struct dns_up_server se = srv_of(echo, false), sl = srv_of(lower, false);
	struct res r[3] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "abcdefghijklmnopqrstuvw.example", 1, true), upper = 0;
	struct grp *ue, *ul, *ul_off;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	ue = mk(&se, 1, 2000);
	ue->opts.x20 = true;
	ul = mk(&sl, 1, 600);
	ul->opts.x20 = true;
	ul_off = mk(&sl, 1, 2000);
	assert_int_equal(send_q(ue, q, ql, &r[0]), 0);
	assert_int_equal(send_q(ul, q, ql, &r[1]), 0);
	assert_int_equal(send_q(ul_off, q, ql, &r[2]), 0);
	run(3, 3000);
	assert_int_equal(r[0].status, 0);
	for (size_t i = 13; i < 13 + 23; i++)
		upper += echo->last[i] >= 'A' && echo->last[i] <= 'Z';
	assert_true(upper > 0 && upper < 23);
	assert_memory_equal(r[0].ans + 12, echo->last + 12, ql - 12 - 11); /* echoed exactly */
	/* A server that lowercases the name cannot be told from a spoofer: no answer. */
	assert_int_equal(r[1].status, -ETIMEDOUT);
	assert_true(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_IGNORED) >= 1);
	/* Without dns-0x20 case does not matter. */
	assert_int_equal(r[2].status, 0);
	assert_int_equal(r[2].ans[r[2].len - 1], 2);
}

/* A server that answers FORMERR to EDNS is asked again without it. */
static void test_noedns(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_NOEDNS, -1, 3);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "old.example", 1, true);
	struct grp *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 3);
	assert_int_equal(fake_count(f, false), 2);
	assert_int_equal(f->last[11], 0); /* the second query had no OPT */
}

static void test_failover_silent(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 2);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "fail.example", 1, true);
	struct grp *u;
	uint64_t t0;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(s, 2, 1200); /* per try: 1200 / (2 servers * 3) = 200 ms */
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 2);
	assert_true(r.at - t0 >= 190);
	assert_true(r.at - t0 < 1200);
	assert_int_equal(fake_count(live, false), 1);
	grp_free(u);
}

static void test_failover_refused(void **state)
{
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 3);
	struct dns_up_server s[2] = {srv_closed(), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "refused.example", 1, true);
	struct grp *u;
	uint64_t t0;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(s, 2, 1200);
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 3);
	assert_true(r.at - t0 < 150); /* the ICMP error, not the 200 ms try timeout */
	grp_free(u);
}

/* SERVFAIL moves on to the next server; when every server says so, -ECONNREFUSED. */
static void test_failover_servfail(void **state)
{
	struct fake *bad = fake_add(&g->fk, AF_INET, FAKE_SERVFAIL, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 4);
	struct dns_up_server s[2] = {srv_of(bad, false), srv_of(live, false)};
	struct res r = {0}, r2 = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "servfail.example", 1, true);
	struct grp *u, *u2;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(s, 2, 1200);
	u2 = mk(s, 1, 1200);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(send_q(u2, q, ql, &r2), 0);
	run(2, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 4);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(r2.status, -ECONNREFUSED);
	assert_int_equal(fake_count(bad, false), 3); /* u: once; u2: both rounds */
	grp_free(u);
	grp_free(u2);
}

/* Every server silent: -ETIMEDOUT once at timeout_ms, every socket closed. */
static void test_all_down(void **state)
{
	struct fake *d1 = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *d2 = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 2);
	struct dns_up_server s[2] = {srv_of(d1, false), srv_of(d2, false)};
	struct dns_up_server refused[2] = {srv_closed(), srv_closed()};
	struct res r = {0}, rr = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "down.example", 1, true);
	struct grp *u, *ur;
	uint64_t t0;

	(void)state;
	u = mk(s, 2, 300); /* tries clamp to 200 ms: the timeout cuts the schedule short */
	ur = mk(refused, 2, 300);
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(send_q(ur, q, ql, &rr), 0);
	assert_int_equal(dns_up_sockets(u->u), 1);
	run(2, 2000);
	assert_int_equal(rr.calls, 1);
	assert_int_equal(rr.status, -ECONNREFUSED);
	assert_true(rr.at - t0 < 150);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ETIMEDOUT);
	assert_true(r.at - t0 >= 295);
	assert_true(r.at - t0 <= 300 + 300);
	assert_int_equal(inflight(u), 0);
	assert_int_equal(dns_up_sockets(u->u), 0);
	assert_int_equal(dns_up_sockets(ur->u), 0);
	run(100, 300);
	assert_int_equal(r.calls, 1);
	grp_free(u);
	grp_free(ur);
	assert_int_equal(r.calls, 1);
}

/* A TC answer over UDP: the same server over TCP; the 3 KB answer arrives whole. */
static void test_tc_to_tcp(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_TC, FAKE_BIG, 9);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512], want[8192];
	size_t ql = fake_query(q, 0xbeef, "big.example", 16, true), wl;
	struct grp *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(fake_count(f, false), 1);
	assert_int_equal(fake_count(f, true), 1);
	wl = fake_answer(f->last, f->last_len, FAKE_BIG, 9, want, sizeof(want));
	assert_true(wl > 2900);
	assert_int_equal(r.len, wl);
	assert_int_equal(r.ans[2] & 0x02, 0); /* TC clear */
	assert_memory_equal(r.ans, want, wl);
	grp_free(u);
}

/* tcp://: many queries share one connection, answered in any order. */
#define NTCP 50

static void test_tcp_pipelined(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 5);
	struct dns_up_server s = srv_of(f, true);
	static struct res r[NTCP];
	uint8_t q[512];
	struct grp *u;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < NTCP; i++) {
		char name[32];
		size_t ql;

		snprintf(name, sizeof(name), "t%d.example", i);
		ql = fake_query(q, (uint16_t)i, name, 1, true);
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	}
	run(NTCP, 3000);
	for (int i = 0; i < NTCP; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].ans[r[i].len - 1], 5);
		/* each got the answer to its own question */
		assert_memory_equal(r[i].ans + 12, r[i].q.lname, r[i].q.lname_len);
	}
	assert_int_equal(fake_count(f, false), 0);
	assert_int_equal(fake_count(f, true), NTCP);
	assert_int_equal(fake_accepts(f), 1);
	assert_int_equal(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_TCP), NTCP);
	grp_free(u);
}

/* tcp:// whose first connection goes silent (no answer, no close, no RST):
 * the query that timed out on it is asked again on a new connection and
 * answered, and so is the next one; the silent connection is not used again. */
static void test_tcp_silent_conn(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_SILENT, FAKE_MUTE_FIRST, 7);
	struct dns_up_server s = srv_of(f, true);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql;
	struct grp *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 900); /* attempts: 300 ms (TCP: twice the try), then the rest */
	ql = fake_query(q, 1, "first.example", 1, true);
	assert_int_equal(send_q(u, q, ql, &r[0]), 0);
	run(1, 3000);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[0].status, 0);
	assert_int_equal(r[0].ans[r[0].len - 1], 7);
	assert_int_equal(fake_accepts(f), 2);
	ql = fake_query(q, 2, "second.example", 1, true);
	assert_int_equal(send_q(u, q, ql, &r[1]), 0);
	run(2, 3000);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, 0);
	assert_int_equal(fake_accepts(f), 2); /* the second connection, kept */
	assert_int_equal(fake_count(f, true), 3);
	grp_free(u);
}

/* udp then tcp servers, tried in order within one budget. */
static void test_mixed(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *t = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 6);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(t, true)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 7, "mixed.example", 1, true);
	struct grp *u;
	uint64_t t0;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(s, 2, 1200);
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 6);
	assert_true(r.at - t0 < 1200);
	assert_int_equal(fake_count(t, true), 1);
	assert_int_equal(fake_count(t, false), 0);
	grp_free(u);
}

/* SO_MARK on UDP and TCP sockets; their local addresses in the ownsock registry. */
static void test_mark_and_own(void **state)
{
	struct fake *du = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *dt = fake_add(&g->fk, AF_INET, FAKE_SILENT, FAKE_SILENT, 2);
	struct dns_up_server su = srv_of(du, false), st = srv_of(dt, true);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "mark.example", 1, true);
	struct grp *u1, *u2;
	struct addr own[2], other;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	(void)state;
	u1 = mk(&su, 1, 2000);
	u2 = mk(&st, 1, 2000);
	assert_int_equal(send_q(u1, q, ql, &r[0]), 0);
	assert_int_equal(send_q(u2, q, ql, &r[1]), 0);
	for (int i = 0; i < 2; i++) {
		uint32_t m = 0;
		socklen_t ml = sizeof(m);
		int s = i ? sock_to(dt->port, SOCK_STREAM) : udp_sock_bound();

		assert_int_equal(dns_up_sockets(i ? u2->u : u1->u), 1);
		assert_true(s >= 0);
		assert_int_equal(getsockopt(s, SOL_SOCKET, SO_MARK, &m, &ml), 0);
		if (g->mark)
			assert_int_equal(m, 0x5a17);
		sl = sizeof(ss);
		assert_int_equal(getsockname(s, (struct sockaddr *)&ss, &sl), 0);
		assert_int_equal(addr_from_sa(&own[i], (struct sockaddr *)&ss, sl), 0);
		if (!i) {
			/* Unbound (sendto): the wildcard. A looped datagram shows the
			 * host address the route picked (loopback here) with that port;
			 * an address not the host's with that port is somebody else. */
			struct addr far = own[0];

			assert_true(addr_is_any(&own[0]));
			assert_int_equal(addr_parse("192.0.2.77", false, 0, &far), 0);
			addr_set_port(&far, addr_port(&own[0]));
			assert_false(ownsock_has(g->own, &far, IPPROTO_UDP));
			assert_int_equal(addr_parse("127.0.0.1", false, 0, &own[0]), 0);
			addr_set_port(&own[0], addr_port(&far));
		}
		assert_true(ownsock_has(g->own, &own[i], i ? IPPROTO_TCP : IPPROTO_UDP));
		assert_false(ownsock_has(g->own, &own[i], i ? IPPROTO_UDP : IPPROTO_TCP));
	}
	/* A bound port that is not ours. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	fake_bind(fd, AF_INET, 0);
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	addr_from_sa(&other, (struct sockaddr *)&ss, sl);
	assert_false(ownsock_has(g->own, &other, IPPROTO_UDP));
	close(fd);
	grp_free(u1);
	grp_free(u2);
	assert_false(ownsock_has(g->own, &own[0], IPPROTO_UDP));
	assert_false(ownsock_has(g->own, &own[1], IPPROTO_TCP));
	assert_int_equal(r[0].status, -ECANCELED);
	assert_int_equal(r[1].status, -ECANCELED);
	if (!g->mark)
		print_message(
		    "SO_MARK not permitted (no CAP_NET_ADMIN/CAP_NET_RAW): mark not checked\n");
}

/* Ports of closed relay legs are remembered with their peer for at least
 * OWN_RECENT_MS (relay.c takes another port when the kernel offers one). */
static void test_own_recent(void **state)
{
	struct ownsock *o = ownsock_new();
	struct ownsock_tok tok, kept, tok2;
	struct addr p1, p2, local;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint64_t t = 5000;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), fd2 = socket(AF_INET, SOCK_DGRAM, 0);

	(void)state;
	assert_non_null(o);
	assert_int_equal(addr_parse("127.0.0.1:9", false, 0, &p1), 0);
	assert_int_equal(addr_parse("127.0.0.1:10", false, 0, &p2), 0);
	assert_int_equal(connect(fd, &p1.u.sa, p1.len), 0);
	assert_int_equal(connect(fd2, &p1.u.sa, p1.len), 0);
	assert_int_equal(ownsock_add(o, fd, IPPROTO_UDP, &tok), 0);
	assert_int_equal(ownsock_add(o, fd2, IPPROTO_UDP, &tok2), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(addr_from_sa(&local, (struct sockaddr *)&ss, sl), 0);
	assert_false(ownsock_recent(o, &tok, &p1, t));
	kept = tok;
	ownsock_retire(o, &tok, &p1, t);
	assert_int_equal(tok.slot, 0); /* unregistered, as ownsock_del */
	assert_false(ownsock_has(o, &local, IPPROTO_UDP));
	ownsock_retire(o, &tok, &p1, t); /* twice: nothing */
	assert_true(ownsock_recent(o, &kept, &p1, t + 1));
	assert_false(ownsock_recent(o, &kept, &p2, t + 1)); /* another peer */
	assert_false(ownsock_recent(o, &tok2, &p1, t + 1)); /* another port */
	assert_false(ownsock_recent(o, &tok, &p1, t + 1));  /* no socket */
	/* Through a generation turn, then gone after two. */
	assert_true(ownsock_recent(o, &kept, &p1, t + OWN_RECENT_MS - 1));
	assert_true(ownsock_recent(o, &kept, &p1, t + OWN_RECENT_MS + 1));
	assert_false(ownsock_recent(o, &kept, &p1, t + 3 * OWN_RECENT_MS));
	ownsock_retire(o, &tok2, &p2, t + 3 * OWN_RECENT_MS);
	assert_false(ownsock_recent(o, &kept, &p1, t + 3 * OWN_RECENT_MS));
	close(fd);
	close(fd2);
	ownsock_free(o);
}

static bool set_net_caps(cap_flag_value_t v)
{
	cap_value_t caps[2] = {CAP_NET_ADMIN, CAP_NET_RAW};
	cap_t c = cap_get_proc();
	bool ok = c && cap_set_flag(c, CAP_EFFECTIVE, 2, caps, v) == 0 && cap_set_proc(c) == 0;

	cap_free(c);
	return ok;
}

/* Without the right to mark, no socket is used: nothing unmarked reaches the server. */
static void test_mark_denied(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 1);
	struct dns_up_server s[2] = {srv_of(f, false), srv_of(f, true)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "nomark.example", 1, true);
	struct grp *u;

	(void)state;
	if (!g->mark || !set_net_caps(CAP_CLEAR)) {
		print_message("cannot drop CAP_NET_ADMIN/CAP_NET_RAW here; skipped\n");
		skip();
	}
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(s, 2, 1000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(r.calls, 0);
	run(1, 2000);
	assert_true(set_net_caps(CAP_SET));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECONNREFUSED);
	assert_int_equal(fake_count(f, false) + fake_count(f, true), 0);
	grp_free(u);
}

/* A failure inside dns_up_send() (connect() refused at once) is delivered later. */
static void test_deferred_failure(void **state)
{
	struct dns_up_server s;
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "bcast.example", 1, false);
	struct grp *u;

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://255.255.255.255", &s, NULL, 0), 0);
	u = mk(&s, 1, 1000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(inflight(u), 1);
	run(1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECONNREFUSED);
	assert_int_equal(inflight(u), 0);
	grp_free(u);
}

/* The descriptor budget: past it, queries fail at once (counted) instead of taking more. */
static void test_budget(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct dns_up_server s = srv_of(dead, false);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "budget.example", 1, true);
	struct grp *u;

	(void)state;
	g->budget.max = 1;
	u = mk(&s, 1, 1000);
	assert_int_equal(send_q(u, q, ql, &r[0]), 0);
	assert_int_equal(send_q(u, q, ql, &r[1]), 0);
	assert_int_equal(atomic_load(&g->budget.used), 1);
	run(1, 500);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, -EMFILE);
	assert_int_equal(r[0].calls, 0);
	assert_true(ctr_get(&g->ctr, CTR_DNS_UPSTREAM_NOFD) >= 1);
	grp_free(u);
	assert_int_equal(atomic_load(&g->budget.used), 0);
}

static void test_send_errors(void **state)
{
	struct dns_up_server s;
	struct res r = {0};
	uint8_t q[16] = {0};
	struct grp *u;

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://127.0.0.1:9", &s, NULL, 0), 0);
	u = mk(&s, 1, 1000);
	assert_int_equal(send_q(u, q, 11, &r), -EINVAL);
	assert_int_equal(send_q(u, NULL, 12, &r), -EINVAL);
	assert_int_equal(dns_up_send(u->u, u->sv, u->n, NULL, NULL, q, on_answer, &r, NULL), -EINVAL);
	assert_int_equal(dns_up_send(u->u, u->sv, 0, NULL, &r.q, q, on_answer, &r, NULL), -EINVAL);
	assert_int_equal(inflight(u), 0);
	grp_free(u);
	assert_int_equal(r.calls, 0);
}

static void test_free_pending(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, FAKE_SILENT, 1);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(dead, true)};
	struct res r[5] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "pending.example", 1, true);
	struct grp *u;

	(void)state;
	u = mk(s, 2, 2000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(5, 50);
	assert_int_equal(inflight(u), 5);
	grp_free(u);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, -ECANCELED);
	}
	run(100, 100);
	for (int i = 0; i < 5; i++)
		assert_int_equal(r[i].calls, 1);
}

/* dns_up_cancel: the callback never runs, the sockets close; also from another callback. */
static struct dns_up_q *cancel_me;

static void on_answer_cancel(void *arg, int status, const uint8_t *ans, size_t len,
			     const struct dns_answer_info *ai)
{
	if (cancel_me) {
		dns_up_cancel(cancel_me);
		cancel_me = NULL;
	}
	on_answer(arg, status, ans, len, ai);
}

static void test_cancel(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 2);
	struct dns_up_server sd = srv_of(dead, false), sl = srv_of(live, true);
	struct res r[3] = {{0}};
	struct dns_up_q *h;
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "cancel.example", 1, true);
	struct grp *u, *ut;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&sd, 1, 2000);
	assert_int_equal(send_h(u, q, ql, &r[0], &h), 0);
	assert_non_null(h);
	assert_int_equal(dns_up_sockets(u->u), 1);
	dns_up_cancel(h);
	assert_int_equal(inflight(u), 0);
	assert_int_equal(dns_up_sockets(u->u), 0);
	/* Two on one TCP connection: the first answer's callback cancels the second. */
	ut = mk(&sl, 1, 2000);
	memcpy(r[1].pkt, q, ql);
	assert_int_equal(dns_query_parse(r[1].pkt, ql, &r[1].q), 0);
	assert_int_equal(dns_up_send(ut->u, ut->sv, 1, &ut->opts, &r[1].q, r[1].pkt,
				     on_answer_cancel, &r[1], NULL), 0);
	assert_int_equal(send_h(ut, q, ql, &r[2], &cancel_me), 0);
	run(1, 2000);
	run(100, 300);
	assert_int_equal(r[0].calls, 0);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, 0);
	assert_int_equal(r[2].calls, 0);
	assert_int_equal(inflight(ut), 0);
}

#define MANY 1000

static void test_many(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 8);
	struct dns_up_server s = srv_of(f, false);
	static struct res r[MANY];
	static uint8_t q[MANY][64];
	size_t ql[MANY];
	struct grp *u;
	uint64_t t0;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2500);
	t0 = sl_now_ms();
	for (int i = 0; i < MANY; i++) {
		char name[32];

		snprintf(name, sizeof(name), "q%d.example", i);
		ql[i] = fake_query(q[i], (uint16_t)i, name, 1, true);
		assert_int_equal(send_q(u, q[i], ql[i], &r[i]), 0);
	}
	assert_int_equal(inflight(u), MANY);
	run(MANY, 3000);
	for (int i = 0; i < MANY; i++) {
		size_t qe = fake_question_end(q[i], ql[i]);

		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_memory_equal(r[i].ans + 12, q[i] + 12, qe - 12);
	}
	assert_int_equal(inflight(u), 0);
	print_message("%d queries in flight answered in %llu ms (server saw %d)\n", MANY,
		      (unsigned long long)(sl_now_ms() - t0), fake_count(f, false));
	grp_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_ports_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ports_sequential, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spoof_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_0x20, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_noedns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_silent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_servfail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tc_to_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_pipelined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_silent_conn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_and_own, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deferred_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	    cmocka_unit_test(test_own_recent),
	};

	fdplan_raise_nofile(); /* a socket per query: 1000 in flight need the room */
	event_enable_debug_mode(); /* catches misuse of events (re-assigning a pending one...) */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
