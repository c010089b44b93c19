#include "config.h"
/* test_dns_up.c - dns_up.c against fake DNS servers on loopback (a thread
 * answering UDP and TCP on random ports, fake_dns.c): answers and IDs, failover on
 * silence, ICMP refusal and SERVFAIL, the hard timeout, TC -> TCP, tcp://
 * and mixed groups, SO_MARK on every socket (and no traffic when it cannot
 * be set), dns_up_is_own(), cancellation on free (also from a callback),
 * deferred failures, and 1000 queries in flight. */

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

#include "dns_up.h"
#include "fake_dns.h"

static struct dns_up_server srv_of(const struct fake *f, bool tcp)
{
	struct dns_up_server v;
	char s[80];

	assert_non_null(f);
	snprintf(s, sizeof(s), "%s://%s:%u", tcp ? "tcp" : "udp",
		 f->family == AF_INET ? "127.0.0.1" : "[::1]", f->port);
	assert_int_equal(dns_up_server_parse(s, &v), 0);
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
	assert_int_equal(dns_up_server_parse(s, &v), 0);
	return v;
}

/* ---- callbacks and the loop ---- */

struct res {
	int calls;
	int status;
	size_t len;
	uint64_t at;
	uint8_t ans[8192];
};

struct ctx {
	struct event_base *base;
	struct fake_set fk;
	int done, want;
	bool in_send;
	uint32_t mark;
	struct dns_up *free_me; /* freed by the first callback (test_free_from_cb) */
};

static struct ctx *g;

static void on_answer(void *arg, int status, const uint8_t *ans, size_t len)
{
	struct res *r = arg;

	if (g->in_send)
		fail_msg("callback from inside dns_up_send()");
	r->calls++;
	r->status = status;
	r->at = sl_now_ms();
	r->len = SL_MIN(len, sizeof(r->ans));
	if (status == 0)
		memcpy(r->ans, ans, r->len);
	else if (ans || len)
		fail_msg("status %d with an answer", status);
	if (g->free_me) {
		struct dns_up *u = g->free_me;

		g->free_me = NULL;
		dns_up_free(u);
	}
	if (++g->done >= g->want)
		event_base_loopbreak(g->base);
}

static int send_q(struct dns_up *u, const uint8_t *q, size_t len, struct res *r)
{
	int rc;

	g->in_send = true;
	rc = dns_up_send(u, q, len, on_answer, r);
	g->in_send = false;
	return rc;
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
	c.base = event_base_new();
	c.mark = can_mark() ? 0x5a17 : 0;
	g = &c;
	*state = &c;
	return c.base ? 0 : -1;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fake_stop(&c->fk);
	event_base_free(c->base);
	return 0;
}

static struct dns_up *mk(const struct dns_up_server *s, size_t n, unsigned timeout_ms)
{
	char err[128] = "";
	struct dns_up *u = dns_up_new(g->base, s, n, g->mark, timeout_ms, err, sizeof(err));

	if (!u)
		fail_msg("dns_up_new: %s", err);
	return u;
}

/* ---- tests ---- */

static void test_parse(void **state)
{
	struct dns_up_server s;
	char err[128];

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://192.0.2.1", &s), 0);
	assert_false(s.tcp);
	assert_int_equal(addr_port(&s.addr), 53);
	assert_int_equal(dns_up_server_parse("tcp://[2001:db8::1]:5353", &s), 0);
	assert_true(s.tcp);
	assert_int_equal(addr_family(&s.addr), AF_INET6);
	assert_int_equal(addr_port(&s.addr), 5353);
	assert_int_equal(dns_up_server_parse("198.51.100.7:54", &s), 0);
	assert_false(s.tcp);
	assert_int_equal(addr_port(&s.addr), 54);
	assert_int_equal(dns_up_server_parse("tls://1.1.1.1", &s), -EINVAL);
	assert_int_equal(dns_up_server_parse("udp://example.com", &s), -EINVAL);
	assert_int_equal(dns_up_server_parse("udp://192.0.2.1:0", &s), -EINVAL);
	assert_int_equal(dns_up_server_parse("udp://", &s), -EINVAL);

	assert_null(dns_up_new(g->base, &s, 0, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "servers"));
	assert_int_equal(dns_up_server_parse("udp://[fe80::1]", &s), 0);
	assert_null(dns_up_new(g->base, &s, 1, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "link-local"));
}

/* Answer content, the ID dns_up chose, the query bytes the server saw. */
static void answer_family(int family)
{
	uint8_t q[512], want[8192];
	struct res r = {0};
	struct fake *f = fake_add(&g->fk, family, FAKE_ANSWER, -1, 7);
	struct dns_up_server s;
	struct dns_up *u;
	size_t ql, wl;

	if (!f) {
		print_message("no %s loopback here; skipped\n",
			      family == AF_INET ? "IPv4" : "IPv6");
		skip();
	}
	s = srv_of(f, false);
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	ql = fake_query(q, 0x1234, "www.Example.com", 1, true);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(dns_up_inflight(u), 1);
	assert_int_equal(r.calls, 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(dns_up_inflight(u), 0);

	/* The server saw our bytes, EDNS and all, with another ID; the answer carries that ID. */
	assert_int_equal(fake_count(f, false), 1);
	assert_int_equal(f->last_len, ql);
	assert_memory_equal(f->last + 2, q + 2, ql - 2);
	assert_memory_equal(r.ans, f->last, 2);
	/* The caller restores the client's ID and gets exactly what the server built. */
	wl = fake_answer(q, ql, FAKE_ANSWER, 7, want, sizeof(want));
	assert_int_equal(r.len, wl);
	r.ans[0] = q[0];
	r.ans[1] = q[1];
	assert_memory_equal(r.ans, want, wl);
	assert_int_equal(r.ans[wl - 1], 7); /* 192.0.2.7 */
	dns_up_free(u);
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

/* IDs differ between queries even when the client's are equal. */
static void test_fresh_ids(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	struct res r[8] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 0x4242, "same.example", 1, false);
	struct dns_up *u;
	int same = 0;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 8; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(8, 3000);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		same += memcmp(r[i].ans, q, 2) == 0;
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(r[i].ans, r[j].ans, 2);
	}
	assert_true(same <= 1);
	dns_up_free(u);
}

static void test_failover_silent(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 2);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "fail.example", 1, true);
	struct dns_up *u;
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
	dns_up_free(u);
}

static void test_failover_refused(void **state)
{
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 3);
	struct dns_up_server s[2] = {srv_closed(), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "refused.example", 1, true);
	struct dns_up *u;
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
	dns_up_free(u);
}

/* c-ares fails over on SERVFAIL; when every server says so, the caller gets -ECONNREFUSED. */
static void test_failover_servfail(void **state)
{
	struct fake *bad = fake_add(&g->fk, AF_INET, FAKE_SERVFAIL, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 4);
	struct dns_up_server s[2] = {srv_of(bad, false), srv_of(live, false)};
	struct res r = {0}, r2 = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "servfail.example", 1, true);
	struct dns_up *u, *u2;

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
	assert_int_equal(fake_count(bad, false), 3); /* u: once; u2: both tries */
	dns_up_free(u);
	dns_up_free(u2);
}

/* Every server silent: -ETIMEDOUT once at timeout_ms; c-ares's later end is ignored. */
static void test_all_down(void **state)
{
	struct fake *d1 = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *d2 = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 2);
	struct dns_up_server s[2] = {srv_of(d1, false), srv_of(d2, false)};
	struct dns_up_server refused[2] = {srv_closed(), srv_closed()};
	struct res r = {0}, rr = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "down.example", 1, true);
	struct dns_up *u, *ur;
	uint64_t t0;
	int fds[8];

	(void)state;
	u = mk(s, 2, 300); /* tries clamp to 200 ms: c-ares alone would take 1200 ms */
	ur = mk(refused, 2, 300);
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(send_q(ur, q, ql, &rr), 0);
	run(2, 2000);
	assert_int_equal(rr.calls, 1);
	assert_int_equal(rr.status, -ECONNREFUSED);
	assert_true(rr.at - t0 < 150);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ETIMEDOUT);
	assert_true(r.at - t0 >= 295);
	assert_true(r.at - t0 <= 300 + 300);
	assert_int_equal(dns_up_inflight(u), 0);
	/* Let c-ares finish its own schedule: no second callback, sockets closed. */
	for (int i = 0; i < 30 && dns_up_sockets(u, fds, 8) > 0; i++)
		run(100, 100);
	assert_int_equal(dns_up_sockets(u, fds, 8), 0);
	assert_int_equal(r.calls, 1);
	dns_up_free(u);
	dns_up_free(ur);
	assert_int_equal(r.calls, 1);
}

/* A TC answer over UDP makes c-ares ask again over TCP; the 3 KB answer arrives whole. */
static void test_tc_to_tcp(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_TC, FAKE_BIG, 9);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512], want[8192];
	size_t ql = fake_query(q, 0xbeef, "big.example", 16, true), wl;
	struct dns_up *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(fake_count(f, false), 1);
	assert_int_equal(fake_count(f, true), 1);
	wl = fake_answer(q, ql, FAKE_BIG, 9, want, sizeof(want));
	assert_true(wl > 2900);
	assert_int_equal(r.len, wl);
	assert_int_equal(r.ans[2] & 0x02, 0); /* TC clear */
	r.ans[0] = q[0];
	r.ans[1] = q[1];
	assert_memory_equal(r.ans, want, wl);
	dns_up_free(u);
}

static void test_tcp_only(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 5);
	struct dns_up_server s = srv_of(f, true);
	struct res r[3] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 7, "tcp.example", 1, true);
	struct dns_up *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(3, 3000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].ans[r[i].len - 1], 5);
	}
	assert_int_equal(fake_count(f, false), 0);
	assert_int_equal(fake_count(f, true), 3);
	dns_up_free(u);
}

/* udp then tcp servers: two channels tried in order within one budget. */
static void test_mixed(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *t = fake_add(&g->fk, AF_INET, FAKE_ANSWER, FAKE_ANSWER, 6);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(t, true)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 7, "mixed.example", 1, true);
	struct dns_up *u;
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
	dns_up_free(u);
}

/* SO_MARK on UDP and TCP sockets; dns_up_is_own() for their local addresses. */
static void test_mark_and_own(void **state)
{
	struct fake *du = fake_add(&g->fk, AF_INET, FAKE_SILENT, -1, 1);
	struct fake *dt = fake_add(&g->fk, AF_INET, FAKE_SILENT, FAKE_SILENT, 2);
	struct dns_up_server su = srv_of(du, false), st = srv_of(dt, true);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "mark.example", 1, true);
	struct dns_up *u1, *u2;
	struct addr own[2], other;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fds[4], fd;

	(void)state;
	u1 = mk(&su, 1, 2000);
	u2 = mk(&st, 1, 2000);
	assert_int_equal(send_q(u1, q, ql, &r[0]), 0);
	assert_int_equal(send_q(u2, q, ql, &r[1]), 0);
	for (int i = 0; i < 2; i++) {
		uint32_t m = 0;
		socklen_t ml = sizeof(m);
		int type = 0;
		socklen_t tl = sizeof(type);

		assert_int_equal(dns_up_sockets(i ? u2 : u1, fds, 4), 1);
		assert_int_equal(getsockopt(fds[0], SOL_SOCKET, SO_TYPE, &type, &tl), 0);
		assert_int_equal(type, i ? SOCK_STREAM : SOCK_DGRAM);
		assert_int_equal(getsockopt(fds[0], SOL_SOCKET, SO_MARK, &m, &ml), 0);
		if (g->mark)
			assert_int_equal(m, 0x5a17);
		sl = sizeof(ss);
		assert_int_equal(getsockname(fds[0], (struct sockaddr *)&ss, &sl), 0);
		assert_int_equal(addr_from_sa(&own[i], (struct sockaddr *)&ss, sl), 0);
		assert_true(dns_up_is_own(&own[i]));
	}
	/* A bound port that is not ours. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	fake_bind(fd, AF_INET, 0);
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	addr_from_sa(&other, (struct sockaddr *)&ss, sl);
	assert_false(dns_up_is_own(&other));
	close(fd);
	dns_up_free(u1);
	dns_up_free(u2);
	assert_false(dns_up_is_own(&own[0]));
	assert_false(dns_up_is_own(&own[1]));
	assert_int_equal(r[0].status, -ECANCELED);
	assert_int_equal(r[1].status, -ECANCELED);
	if (!g->mark)
		print_message(
		    "SO_MARK not permitted (no CAP_NET_ADMIN/CAP_NET_RAW): mark not checked\n");
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
	struct dns_up *u;

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
	dns_up_free(u);
}

/* A failure inside ares_send() (connect() refused at once) is delivered later. */
static void test_deferred_failure(void **state)
{
	struct dns_up_server s;
	struct res r = {0};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "bcast.example", 1, false);
	struct dns_up *u;

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://255.255.255.255", &s), 0);
	u = mk(&s, 1, 1000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(dns_up_inflight(u), 1);
	run(1, 2000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECONNREFUSED);
	assert_int_equal(dns_up_inflight(u), 0);
	dns_up_free(u);
}

static void test_send_errors(void **state)
{
	struct dns_up_server s;
	struct res r = {0};
	uint8_t q[16] = {0};
	struct dns_up *u;

	(void)state;
	assert_int_equal(dns_up_server_parse("udp://127.0.0.1:9", &s), 0);
	u = mk(&s, 1, 1000);
	assert_int_equal(send_q(u, q, 11, &r), -EINVAL);
	assert_int_equal(send_q(u, NULL, 12, &r), -EINVAL);
	assert_int_equal(dns_up_send(u, q, 12, NULL, &r), -EINVAL);
	assert_int_equal(dns_up_inflight(u), 0);
	dns_up_free(u);
	assert_int_equal(r.calls, 0);
}

static void test_free_pending(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FAKE_SILENT, FAKE_SILENT, 1);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(dead, true)};
	struct res r[5] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "pending.example", 1, true);
	struct dns_up *u;

	(void)state;
	u = mk(s, 2, 2000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(5, 50);
	assert_int_equal(dns_up_inflight(u), 5);
	dns_up_free(u);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, -ECANCELED);
	}
	run(100, 100);
	for (int i = 0; i < 5; i++)
		assert_int_equal(r[i].calls, 1);
}

/* The first answer's callback frees u while c-ares is still processing. */
static void test_free_from_cb(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = fake_query(q, 1, "reentry.example", 1, true);
	struct dns_up *u;

	(void)state;
	assert_int_equal(fake_start(&g->fk), 0);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 2; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	/* Both answers are queued before the loop reads the socket. */
	for (int i = 0; i < 200 && fake_count(f, false) < 2; i++)
		usleep(1000);
	usleep(20000);
	g->free_me = u;
	run(2, 2000);
	assert_null(g->free_me);
	assert_int_equal(r[0].calls + r[1].calls, 2);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].status + r[0].status, -ECANCELED);
	run(100, 100);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
}

#define MANY 1000

static void test_many(void **state)
{
	struct fake *f = fake_add(&g->fk, AF_INET, FAKE_ANSWER, -1, 8);
	struct dns_up_server s = srv_of(f, false);
	static struct res r[MANY];
	static uint8_t q[MANY][64];
	size_t ql[MANY];
	struct dns_up *u;
	uint64_t t0;

	(void)state;
	memset(r, 0, sizeof(r));
	assert_int_equal(fake_start(&g->fk), 0);
	/* Answers lost to a small receive buffer (no CAP_NET_ADMIN) come on c-ares's retry. */
	u = mk(&s, 1, 2500);
	t0 = sl_now_ms();
	for (int i = 0; i < MANY; i++) {
		char name[32];

		snprintf(name, sizeof(name), "q%d.example", i);
		ql[i] = fake_query(q[i], (uint16_t)i, name, 1, true);
		assert_int_equal(send_q(u, q[i], ql[i], &r[i]), 0);
	}
	assert_int_equal(dns_up_inflight(u), MANY);
	run(MANY, 3000);
	for (int i = 0; i < MANY; i++) {
		size_t qe = fake_question_end(q[i], ql[i]);

		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_memory_equal(r[i].ans + 12, q[i] + 12, qe - 12);
	}
	assert_int_equal(dns_up_inflight(u), 0);
	print_message("%d queries in flight answered in %llu ms (server saw %d)\n", MANY,
		      (unsigned long long)(sl_now_ms() - t0), fake_count(f, false));
	dns_up_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_v6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_silent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failover_servfail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tc_to_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_and_own, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_denied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deferred_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_from_cb, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	event_enable_debug_mode(); /* catches misuse of events (re-assigning a pending one...) */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
