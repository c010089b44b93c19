#include "config.h"
/* test_dns_up.c - dns_up.c against fake DNS servers on loopback (a thread
 * answering UDP and TCP on random ports): answers and IDs, failover on
 * silence, ICMP refusal and SERVFAIL, the hard timeout, TC -> TCP, tcp://
 * and mixed groups, SO_MARK on every socket (and no traffic when it cannot
 * be set), dns_up_is_own(), cancellation on free (also from a callback),
 * deferred failures, and 1000 queries in flight. */

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
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

/* ---- DNS messages ---- */

static size_t make_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, bool edns)
{
	size_t o = 12;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;
	b[11] = edns ? 1 : 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		b[o++] = (uint8_t)l;
		memcpy(b + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(qtype >> 8);
	b[o++] = (uint8_t)qtype;
	b[o++] = 0;
	b[o++] = 1;
	if (edns) {
		static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};

		memcpy(b + o, opt, sizeof(opt));
		o += sizeof(opt);
	}
	return o;
}

/* Offset just past the (single) question, or 0. */
static size_t question_end(const uint8_t *m, size_t len)
{
	size_t o = 12;

	while (o < len && m[o] != 0) {
		if (m[o] > 63)
			return 0;
		o += (size_t)m[o] + 1;
	}
	o += 1 + 4;
	return o <= len ? o : 0;
}

enum fk_mode { FK_ANSWER, FK_SILENT, FK_TC, FK_SERVFAIL, FK_BIG };

#define BIG_RRS 11

/* The fake's answer to q: A 192.0.2.tag, TC, SERVFAIL or 11 TXT records (~3 KB). */
static size_t build_answer(const uint8_t *q, size_t qlen, enum fk_mode mode, uint8_t tag,
			   uint8_t *out, size_t cap)
{
	size_t qe = question_end(q, qlen), o;

	if (!qe || qe + BIG_RRS * 268 > cap)
		return 0;
	memcpy(out, q, qe);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x01) | (mode == FK_TC ? 0x02 : 0));
	out[3] = (uint8_t)(0x80 | (mode == FK_SERVFAIL ? 2 : 0));
	memset(out + 6, 0, 6);
	o = qe;
	if (mode == FK_ANSWER) {
		const uint8_t rr[16] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, tag};

		memcpy(out + o, rr, sizeof(rr));
		o += sizeof(rr);
		out[7] = 1;
	} else if (mode == FK_BIG) {
		for (int i = 0; i < BIG_RRS; i++) {
			const uint8_t rr[13] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 1, 0, 255};

			memcpy(out + o, rr, sizeof(rr));
			o += sizeof(rr);
			memset(out + o, 'a' + i, 255);
			o += 255;
		}
		out[7] = BIG_RRS;
	}
	return o;
}

/* ---- fake servers ---- */

struct fake {
	int family;
	int udp_fd, tcp_fd;
	enum fk_mode udp_mode, tcp_mode;
	uint8_t tag;
	uint16_t port;
	int udp_queries, tcp_queries; /* under fk_lock */
	uint8_t last[512];
	size_t last_len;
};

struct conn {
	int fd;
	struct fake *f;
	size_t len;
	uint8_t buf[70000];
};

#define MAX_FAKES 4
#define MAX_CONNS 8

struct fakes {
	struct fake f[MAX_FAKES];
	size_t n;
	int stop[2];
	pthread_t th;
	bool running;
	struct conn conns[MAX_CONNS];
};

static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_query(struct fake *f, const uint8_t *q, size_t len, bool tcp)
{
	pthread_mutex_lock(&fk_lock);
	if (tcp)
		f->tcp_queries++;
	else
		f->udp_queries++;
	f->last_len = SL_MIN(len, sizeof(f->last));
	memcpy(f->last, q, f->last_len);
	pthread_mutex_unlock(&fk_lock);
}

static int fk_count(struct fake *f, bool tcp)
{
	int n;

	pthread_mutex_lock(&fk_lock);
	n = tcp ? f->tcp_queries : f->udp_queries;
	pthread_mutex_unlock(&fk_lock);
	return n;
}

static void fk_udp(struct fake *f)
{
	uint8_t q[4096], a[8192];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->udp_fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);
		size_t al;

		if (n < 0)
			return;
		note_query(f, q, (size_t)n, false);
		al = build_answer(q, (size_t)n, f->udp_mode, f->tag, a, sizeof(a));
		if (al)
			(void)sendto(f->udp_fd, a, al, 0, (struct sockaddr *)&from, fl);
	}
}

static void fk_conn(struct conn *c)
{
	uint8_t a[8192];
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += (size_t)n;
	while (c->len >= 2) {
		size_t ml = (size_t)c->buf[0] << 8 | c->buf[1], al;

		if (c->len < 2 + ml)
			break;
		note_query(c->f, c->buf + 2, ml, true);
		al = build_answer(c->buf + 2, ml, c->f->tcp_mode, c->f->tag, a + 2, sizeof(a) - 2);
		if (al) {
			a[0] = (uint8_t)(al >> 8);
			a[1] = (uint8_t)al;
			(void)send(c->fd, a, al + 2, MSG_NOSIGNAL);
		}
		memmove(c->buf, c->buf + 2 + ml, c->len - 2 - ml);
		c->len -= 2 + ml;
	}
}

static void fk_accept(struct fakes *s, struct fake *f)
{
	int fd = accept(f->tcp_fd, NULL, NULL);

	if (fd < 0)
		return;
	for (size_t i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd < 0) {
			s->conns[i].fd = fd;
			s->conns[i].f = f;
			s->conns[i].len = 0;
			return;
		}
	}
	close(fd);
}

static void *fk_thread(void *arg)
{
	struct fakes *s = arg;

	for (;;) {
		struct pollfd p[1 + 2 * MAX_FAKES + MAX_CONNS];
		void *who[SL_ARRAY_LEN(p)];
		int kind[SL_ARRAY_LEN(p)];
		nfds_t n = 0;

		p[n] = (struct pollfd){.fd = s->stop[0], .events = POLLIN};
		kind[n++] = 0;
		for (size_t i = 0; i < s->n; i++) {
			struct fake *f = &s->f[i];

			if (f->udp_fd >= 0 && f->udp_mode != FK_SILENT) {
				p[n] = (struct pollfd){.fd = f->udp_fd, .events = POLLIN};
				who[n] = f;
				kind[n++] = 1;
			}
			if (f->tcp_fd >= 0 && f->tcp_mode != FK_SILENT) {
				p[n] = (struct pollfd){.fd = f->tcp_fd, .events = POLLIN};
				who[n] = f;
				kind[n++] = 2;
			}
		}
		for (size_t i = 0; i < MAX_CONNS; i++) {
			if (s->conns[i].fd >= 0) {
				p[n] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
				who[n] = &s->conns[i];
				kind[n++] = 3;
			}
		}
		if (poll(p, n, 1000) < 0)
			continue;
		if (p[0].revents)
			return NULL;
		for (nfds_t i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (kind[i] == 1)
				fk_udp(who[i]);
			else if (kind[i] == 2)
				fk_accept(s, who[i]);
			else
				fk_conn(who[i]);
		}
	}
}

static int bind_port(int fd, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons(port);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(port);
		sl = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return -1;
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	return family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				 : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A fake on loopback: UDP (and TCP on the same port when tcp_mode is given). NULL: no such family. */
static struct fake *fake_add(struct fakes *s, int family, enum fk_mode udp_mode, int tcp_mode,
			     uint8_t tag)
{
	struct fake *f = &s->f[s->n];
	int sz = 4 << 20;

	assert_true(s->n < MAX_FAKES);
	for (int tries = 0; tries < 50; tries++) {
		int port, one = 1;

		f->udp_fd = socket(family, SOCK_DGRAM, 0);
		if (f->udp_fd < 0)
			return NULL;
		port = bind_port(f->udp_fd, family, 0);
		if (port < 0) {
			close(f->udp_fd);
			return NULL;
		}
		f->tcp_fd = -1;
		if (tcp_mode >= 0) {
			f->tcp_fd = socket(family, SOCK_STREAM, 0);
			setsockopt(f->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind_port(f->tcp_fd, family, (uint16_t)port) < 0 ||
			    listen(f->tcp_fd, 16) < 0) {
				close(f->tcp_fd);
				close(f->udp_fd);
				continue;
			}
		}
		if (setsockopt(f->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(f->udp_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		f->family = family;
		f->udp_mode = udp_mode;
		f->tcp_mode = tcp_mode >= 0 ? (enum fk_mode)tcp_mode : FK_SILENT;
		f->tag = tag;
		f->port = (uint16_t)port;
		s->n++;
		return f;
	}
	fail_msg("no free port for a UDP+TCP fake");
	return NULL;
}

static void fakes_start(struct fakes *s)
{
	for (size_t i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	assert_int_equal(pipe(s->stop), 0);
	assert_int_equal(pthread_create(&s->th, NULL, fk_thread, s), 0);
	s->running = true;
}

static void fakes_stop(struct fakes *s)
{
	if (s->running) {
		assert_int_equal(write(s->stop[1], "x", 1), 1);
		pthread_join(s->th, NULL);
		close(s->stop[0]);
		close(s->stop[1]);
		s->running = false;
	}
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	for (size_t i = 0; i < s->n; i++) {
		close(s->f[i].udp_fd);
		if (s->f[i].tcp_fd >= 0)
			close(s->f[i].tcp_fd);
	}
	s->n = 0;
}

static struct dns_up_server srv_of(const struct fake *f, bool tcp)
{
	struct dns_up_server v;
	char s[80];

	snprintf(s, sizeof(s), "%s://%s:%u", tcp ? "tcp" : "udp",
		 f->family == AF_INET ? "127.0.0.1" : "[::1]", f->port);
	assert_int_equal(dns_up_server_parse(s, &v), 0);
	return v;
}

/* A free port with nothing behind it: the kernel answers with ICMP port unreachable. */
static struct dns_up_server srv_closed(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int port = bind_port(fd, AF_INET, 0);
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
	struct fakes fk;
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

	fakes_stop(&c->fk);
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
	struct fake *f = fake_add(&g->fk, family, FK_ANSWER, -1, 7);
	struct dns_up_server s;
	struct dns_up *u;
	size_t ql, wl;

	if (!f) {
		print_message("no %s loopback here; skipped\n", family == AF_INET ? "IPv4" : "IPv6");
		skip();
	}
	s = srv_of(f, false);
	fakes_start(&g->fk);
	u = mk(&s, 1, 2000);
	ql = make_query(q, 0x1234, "www.Example.com", 1, true);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(dns_up_inflight(u), 1);
	assert_int_equal(r.calls, 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(dns_up_inflight(u), 0);

	/* The server saw our bytes, EDNS and all, with another ID; the answer carries that ID. */
	assert_int_equal(fk_count(f, false), 1);
	assert_int_equal(f->last_len, ql);
	assert_memory_equal(f->last + 2, q + 2, ql - 2);
	assert_memory_equal(r.ans, f->last, 2);
	/* The caller restores the client's ID and gets exactly what the server built. */
	wl = build_answer(q, ql, FK_ANSWER, 7, want, sizeof(want));
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	struct res r[8] = {{0}};
	uint8_t q[512];
	size_t ql = make_query(q, 0x4242, "same.example", 1, false);
	struct dns_up *u;
	int same = 0;

	(void)state;
	fakes_start(&g->fk);
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
	struct fake *dead = fake_add(&g->fk, AF_INET, FK_SILENT, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 2);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "fail.example", 1, true);
	struct dns_up *u;
	uint64_t t0;

	(void)state;
	fakes_start(&g->fk);
	u = mk(s, 2, 1200); /* per try: 1200 / (2 servers * 3) = 200 ms */
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 2);
	assert_true(r.at - t0 >= 190);
	assert_true(r.at - t0 < 1200);
	assert_int_equal(fk_count(live, false), 1);
	dns_up_free(u);
}

static void test_failover_refused(void **state)
{
	struct fake *live = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 3);
	struct dns_up_server s[2] = {srv_closed(), srv_of(live, false)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "refused.example", 1, true);
	struct dns_up *u;
	uint64_t t0;

	(void)state;
	fakes_start(&g->fk);
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
	struct fake *bad = fake_add(&g->fk, AF_INET, FK_SERVFAIL, -1, 1);
	struct fake *live = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 4);
	struct dns_up_server s[2] = {srv_of(bad, false), srv_of(live, false)};
	struct res r = {0}, r2 = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "servfail.example", 1, true);
	struct dns_up *u, *u2;

	(void)state;
	fakes_start(&g->fk);
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
	assert_int_equal(fk_count(bad, false), 3); /* u: once; u2: both tries */
	dns_up_free(u);
	dns_up_free(u2);
}

/* Every server silent: -ETIMEDOUT once at timeout_ms; c-ares's later end is ignored. */
static void test_all_down(void **state)
{
	struct fake *d1 = fake_add(&g->fk, AF_INET, FK_SILENT, -1, 1);
	struct fake *d2 = fake_add(&g->fk, AF_INET, FK_SILENT, -1, 2);
	struct dns_up_server s[2] = {srv_of(d1, false), srv_of(d2, false)};
	struct dns_up_server refused[2] = {srv_closed(), srv_closed()};
	struct res r = {0}, rr = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "down.example", 1, true);
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_TC, FK_BIG, 9);
	struct dns_up_server s = srv_of(f, false);
	struct res r = {0};
	uint8_t q[512], want[8192];
	size_t ql = make_query(q, 0xbeef, "big.example", 16, true), wl;
	struct dns_up *u;

	(void)state;
	fakes_start(&g->fk);
	u = mk(&s, 1, 2000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(fk_count(f, false), 1);
	assert_int_equal(fk_count(f, true), 1);
	wl = build_answer(q, ql, FK_BIG, 9, want, sizeof(want));
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_ANSWER, FK_ANSWER, 5);
	struct dns_up_server s = srv_of(f, true);
	struct res r[3] = {{0}};
	uint8_t q[512];
	size_t ql = make_query(q, 7, "tcp.example", 1, true);
	struct dns_up *u;

	(void)state;
	fakes_start(&g->fk);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	run(3, 3000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].ans[r[i].len - 1], 5);
	}
	assert_int_equal(fk_count(f, false), 0);
	assert_int_equal(fk_count(f, true), 3);
	dns_up_free(u);
}

/* udp then tcp servers: two channels tried in order within one budget. */
static void test_mixed(void **state)
{
	struct fake *dead = fake_add(&g->fk, AF_INET, FK_SILENT, -1, 1);
	struct fake *t = fake_add(&g->fk, AF_INET, FK_ANSWER, FK_ANSWER, 6);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(t, true)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 7, "mixed.example", 1, true);
	struct dns_up *u;
	uint64_t t0;

	(void)state;
	fakes_start(&g->fk);
	u = mk(s, 2, 1200);
	t0 = sl_now_ms();
	assert_int_equal(send_q(u, q, ql, &r), 0);
	run(1, 3000);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.ans[r.len - 1], 6);
	assert_true(r.at - t0 < 1200);
	assert_int_equal(fk_count(t, true), 1);
	assert_int_equal(fk_count(t, false), 0);
	dns_up_free(u);
}

/* SO_MARK on UDP and TCP sockets; dns_up_is_own() for their local addresses. */
static void test_mark_and_own(void **state)
{
	struct fake *du = fake_add(&g->fk, AF_INET, FK_SILENT, -1, 1);
	struct fake *dt = fake_add(&g->fk, AF_INET, FK_SILENT, FK_SILENT, 2);
	struct dns_up_server su = srv_of(du, false), st = srv_of(dt, true);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "mark.example", 1, true);
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
	bind_port(fd, AF_INET, 0);
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
	if (!g->mark) {
		print_message("SO_MARK not permitted (no CAP_NET_ADMIN/CAP_NET_RAW): mark not checked\n");
		skip();
	}
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_ANSWER, FK_ANSWER, 1);
	struct dns_up_server s[2] = {srv_of(f, false), srv_of(f, true)};
	struct res r = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "nomark.example", 1, true);
	struct dns_up *u;

	(void)state;
	if (!g->mark || !set_net_caps(CAP_CLEAR)) {
		print_message("cannot drop CAP_NET_ADMIN/CAP_NET_RAW here; skipped\n");
		skip();
	}
	fakes_start(&g->fk);
	u = mk(s, 2, 1000);
	assert_int_equal(send_q(u, q, ql, &r), 0);
	assert_int_equal(r.calls, 0);
	run(1, 2000);
	assert_true(set_net_caps(CAP_SET));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECONNREFUSED);
	assert_int_equal(fk_count(f, false) + fk_count(f, true), 0);
	dns_up_free(u);
}

/* A failure inside ares_send() (connect() refused at once) is delivered later. */
static void test_deferred_failure(void **state)
{
	struct dns_up_server s;
	struct res r = {0};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "bcast.example", 1, false);
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
	struct fake *dead = fake_add(&g->fk, AF_INET, FK_SILENT, FK_SILENT, 1);
	struct dns_up_server s[2] = {srv_of(dead, false), srv_of(dead, true)};
	struct res r[5] = {{0}};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "pending.example", 1, true);
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 1);
	struct dns_up_server s = srv_of(f, false);
	struct res r[2] = {{0}};
	uint8_t q[512];
	size_t ql = make_query(q, 1, "reentry.example", 1, true);
	struct dns_up *u;

	(void)state;
	fakes_start(&g->fk);
	u = mk(&s, 1, 2000);
	for (int i = 0; i < 2; i++)
		assert_int_equal(send_q(u, q, ql, &r[i]), 0);
	/* Both answers are queued before the loop reads the socket. */
	for (int i = 0; i < 200 && fk_count(f, false) < 2; i++)
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
	struct fake *f = fake_add(&g->fk, AF_INET, FK_ANSWER, -1, 8);
	struct dns_up_server s = srv_of(f, false);
	static struct res r[MANY];
	static uint8_t q[MANY][64];
	size_t ql[MANY];
	struct dns_up *u;
	uint64_t t0;

	(void)state;
	memset(r, 0, sizeof(r));
	fakes_start(&g->fk);
	u = mk(&s, 1, 4000);
	t0 = sl_now_ms();
	for (int i = 0; i < MANY; i++) {
		char name[32];

		snprintf(name, sizeof(name), "q%d.example", i);
		ql[i] = make_query(q[i], (uint16_t)i, name, 1, true);
		assert_int_equal(send_q(u, q[i], ql[i], &r[i]), 0);
	}
	assert_int_equal(dns_up_inflight(u), MANY);
	run(MANY, 5000);
	for (int i = 0; i < MANY; i++) {
		size_t qe = question_end(q[i], ql[i]);

		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_memory_equal(r[i].ans + 12, q[i] + 12, qe - 12);
	}
	assert_int_equal(dns_up_inflight(u), 0);
	print_message("%d queries in flight answered in %llu ms (server saw %d)\n", MANY,
		      (unsigned long long)(sl_now_ms() - t0), fk_count(f, false));
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

	return cmocka_run_group_tests(tests, NULL, NULL);
}
