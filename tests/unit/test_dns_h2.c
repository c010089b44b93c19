#include "config.h"
/* test_dns_h2.c - the DoH HTTP/2 client (dns_h2.c) against an nghttp2
 * server session in memory: the request RFC 8484 asks for (POST, :path,
 * :authority, content-type and accept application/dns-message,
 * content-length, the query as body), answers in any order matched by
 * stream, what is refused (a status other than 200, another content type,
 * no body, a body over 65,535 bytes, a header list over 16 KiB), resets and
 * refusals (REFUSED_STREAM and GOAWAY: safe to ask again), the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, cancelled streams (open, pending, or
 * ended and not yet taken), a server that sends garbage, and freeing with
 * streams in every state. */

#include <errno.h>
#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns_h2.h"

#define MAXREQ 16

/* What the server saw of one request. */
struct req {
	int32_t id;
	char method[16], scheme[16], path[64], authority[64], ctype[64], accept[64], clen[16];
	uint8_t body[2048];
	size_t len;
	bool ended;
	uint32_t closed_with; /* RST_STREAM / close code; UINT32_MAX while open */
};

struct srv {
	nghttp2_session *s;
	struct req req[MAXREQ];
	size_t n;
	const uint8_t *resp; /* the body the next response sends */
	size_t resp_len, resp_off;
};

struct t {
	struct srv sv;
	struct dns_h2 *h;
	struct evbuffer *c2s;
};

static struct req *req_of(struct srv *sv, int32_t id)
{
	for (size_t i = 0; i < sv->n; i++)
		if (sv->req[i].id == id)
			return &sv->req[i];
	return NULL;
}

static int s_begin(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct srv *sv = ud;

	if (f->hd.type == NGHTTP2_HEADERS && sv->n < MAXREQ && !req_of(sv, f->hd.stream_id)) {
		memset(&sv->req[sv->n], 0, sizeof(sv->req[0]));
		sv->req[sv->n].id = f->hd.stream_id;
		sv->req[sv->n].closed_with = UINT32_MAX;
		sv->n++;
	}
	return 0;
}

static void put(char *dst, size_t size, const uint8_t *v, size_t len)
{
	snprintf(dst, size, "%.*s", (int)len, (const char *)v);
}

static int s_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
		    const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct req *r = req_of(ud, f->hd.stream_id);
	char n[32];

	if (!r)
		return 0;
	put(n, sizeof(n), name, namelen);
	if (!strcmp(n, ":method"))
		put(r->method, sizeof(r->method), value, valuelen);
	else if (!strcmp(n, ":scheme"))
		put(r->scheme, sizeof(r->scheme), value, valuelen);
	else if (!strcmp(n, ":path"))
		put(r->path, sizeof(r->path), value, valuelen);
	else if (!strcmp(n, ":authority"))
		put(r->authority, sizeof(r->authority), value, valuelen);
	else if (!strcmp(n, "content-type"))
		put(r->ctype, sizeof(r->ctype), value, valuelen);
	else if (!strcmp(n, "accept"))
		put(r->accept, sizeof(r->accept), value, valuelen);
	else if (!strcmp(n, "content-length"))
		put(r->clen, sizeof(r->clen), value, valuelen);
	return 0;
}

static int s_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t len,
		  void *ud)
{
	struct req *r = req_of(ud, id);

	if (r && r->len + len <= sizeof(r->body)) {
		memcpy(r->body + r->len, d, len);
		r->len += len;
	}
	return 0;
}

static int s_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct req *r = req_of(ud, f->hd.stream_id);

	if (r && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA))
		r->ended = true;
	return 0;
}

static int s_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct req *r = req_of(ud, id);

	if (r)
		r->closed_with = code;
	return 0;
}

static ssize_t s_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
		      nghttp2_data_source *src, void *ud)
{
	struct srv *sv = ud;
	size_t n = sv->resp_len - sv->resp_off;

	if (n > length)
		n = length;
	memcpy(buf, sv->resp + sv->resp_off, n);
	sv->resp_off += n;
	if (sv->resp_off == sv->resp_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* A server whose first SETTINGS allow max_streams (0: nghttp2's default). */
static void srv_init(struct srv *sv, uint32_t max_streams)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams};

	memset(sv, 0, sizeof(*sv));
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, s_begin);
	nghttp2_session_callbacks_set_on_header_callback(cb, s_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, s_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, s_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, s_close);
	assert_int_equal(nghttp2_session_server_new(&sv->s, cb, sv), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(
	    nghttp2_submit_settings(sv->s, NGHTTP2_FLAG_NONE, &iv, max_streams ? 1 : 0), 0);
}

static struct t *t_new(uint32_t max_streams)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	srv_init(&t->sv, max_streams);
	t->h = dns_h2_new();
	t->c2s = evbuffer_new();
	assert_non_null(t->h);
	assert_non_null(t->c2s);
	return t;
}

static void t_free(struct t *t)
{
	dns_h2_free(t->h);
	nghttp2_session_del(t->sv.s);
	evbuffer_free(t->c2s);
	free(t);
}

/* Client to server only. */
static void to_server(struct t *t)
{
	size_t len;

	assert_int_equal(dns_h2_flush(t->h, t->c2s), 0);
	len = evbuffer_get_length(t->c2s);
	if (len) {
		assert_int_equal(
		    nghttp2_session_mem_recv(t->sv.s, evbuffer_pullup(t->c2s, -1), len),
		    (ssize_t)len);
		evbuffer_drain(t->c2s, len);
	}
}

/* Server to client only; returns what dns_h2_recv said. */
static int to_client(struct t *t)
{
	const uint8_t *p;
	ssize_t n;
	int rc = 0;

	while ((n = nghttp2_session_mem_send(t->sv.s, &p)) > 0 && rc == 0)
		rc = dns_h2_recv(t->h, p, (size_t)n);
	return rc;
}

/* Both ways until nothing moves. */
static void pump(struct t *t)
{
	for (int i = 0; i < 50; i++) {
		to_server(t);
		assert_int_equal(to_client(t), 0);
		if (!nghttp2_session_want_write(t->sv.s) && evbuffer_get_length(t->c2s) == 0) {
			assert_int_equal(dns_h2_flush(t->h, t->c2s), 0);
			if (evbuffer_get_length(t->c2s) == 0)
				return;
		}
	}
	fail_msg("the sessions kept talking");
}

static void respond(struct t *t, int32_t id, const char *status, const char *ctype,
		    const void *body, size_t len)
{
	nghttp2_nv nv[2] = {
	    {(uint8_t *)":status", (uint8_t *)status, 7, strlen(status), NGHTTP2_NV_FLAG_NONE},
	    {(uint8_t *)"content-type", (uint8_t *)ctype, 12, ctype ? strlen(ctype) : 0,
	     NGHTTP2_NV_FLAG_NONE},
	};
	nghttp2_data_provider dp = {.read_callback = s_body};

	t->sv.resp = body;
	t->sv.resp_len = len;
	t->sv.resp_off = 0;
	assert_int_equal(nghttp2_submit_response(t->sv.s, id, nv, ctype ? 2 : 1, len ? &dp : NULL),
			 0);
	pump(t);
}

static const uint8_t query[] = "\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
			       "\x03www\x07"
			       "example\x03"
			       "com\x00\x00\x01\x00\x01";
static const uint8_t answer[] = "\x00\x00\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
				"\x03www\x07"
				"example\x03"
				"com\x00\x00\x01\x00\x01"
				"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01";
#define QLEN (sizeof(query) - 1)
#define ALEN (sizeof(answer) - 1)

static int32_t submit(struct t *t, void *arg)
{
	int32_t id = dns_h2_submit(t->h, "doh.example", "/dns-query", query, QLEN, arg);

	assert_true(id > 0);
	return id;
}

/* The next ended stream must be id's, for arg, with status. */
static struct dns_h2_done take(struct t *t, int32_t id, void *arg, int status)
{
	struct dns_h2_done d;

	assert_true(dns_h2_take(t->h, &d));
	assert_int_equal(d.stream, id);
	assert_ptr_equal(d.arg, arg);
	assert_int_equal(d.status, status);
	if (status != 0) {
		assert_null(d.body);
		assert_int_equal(d.len, 0);
	}
	return d;
}

/* ---- tests ---- */

static void test_request(void **state)
{
	struct t *t = t_new(0);
	struct dns_h2_done d;
	struct req *r;
	int x;
	int32_t id;

	(void)state;
	assert_true(dns_h2_alive(t->h));
	assert_int_equal(dns_h2_room(t->h), DNS_H2_STREAMS);
	id = submit(t, &x);
	assert_int_equal(id, 1);
	assert_int_equal(dns_h2_streams(t->h), 1);
	pump(t);
	r = req_of(&t->sv, id);
	assert_non_null(r);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->scheme, "https");
	assert_string_equal(r->path, "/dns-query");
	assert_string_equal(r->authority, "doh.example");
	assert_string_equal(r->ctype, "application/dns-message");
	assert_string_equal(r->accept, "application/dns-message");
	assert_int_equal(atoi(r->clen), QLEN);
	assert_true(r->ended);
	assert_int_equal(r->len, QLEN);
	assert_memory_equal(r->body, query, QLEN);
	assert_false(dns_h2_take(t->h, &d));

	respond(t, id, "200", "application/dns-message", answer, ALEN);
	d = take(t, id, &x, 0);
	assert_int_equal(d.http_status, 200);
	assert_int_equal(d.len, ALEN);
	assert_memory_equal(d.body, answer, ALEN);
	assert_false(dns_h2_take(t->h, &d));
	assert_int_equal(dns_h2_streams(t->h), 0);
	assert_int_equal(dns_h2_room(t->h), DNS_H2_STREAMS);
	assert_false(dns_h2_draining(t->h));
	/* Bad arguments. */
	assert_int_equal(dns_h2_submit(t->h, "a", "/", query, QLEN, NULL), -EINVAL);
	assert_int_equal(dns_h2_submit(t->h, "a", "/", query, 0, &x), -EINVAL);
	assert_int_equal(dns_h2_submit(t->h, "a", "/", query, DNS_H2_REQ_MAX + 1, &x), -EINVAL);
	t_free(t);
}

static void test_any_order(void **state)
{
	struct t *t = t_new(0);
	int a[3];
	int32_t id[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		id[i] = submit(t, &a[i]);
	assert_int_equal(id[1], 3);
	assert_int_equal(id[2], 5);
	pump(t);
	respond(t, id[2], "200", "application/dns-message", answer, ALEN);
	respond(t, id[0], "200", "application/dns-message; charset=utf-8", answer, ALEN);
	take(t, id[2], &a[2], 0);
	take(t, id[0], &a[0], 0);
	assert_int_equal(dns_h2_streams(t->h), 1);
	respond(t, id[1], "200", "Application/DNS-Message", answer, ALEN);
	take(t, id[1], &a[1], 0);
	t_free(t);
}

static void test_refused_answers(void **state)
{
	static const struct {
		const char *status, *ctype;
		size_t len;
		int want;
	} cs[] = {
	    {"404", "text/html", 5, -EPROTO},
	    {"500", "application/dns-message", ALEN, -EPROTO},
	    {"200", "text/plain", ALEN, -EPROTO},
	    {"200", "application/dns-messages", ALEN, -EPROTO},
	    {"200", NULL, ALEN, -EPROTO},
	    {"200", "application/dns-message", 0, -EPROTO},
	    {"204", "application/dns-message", 0, -EPROTO},
	};
	struct t *t = t_new(0);

	(void)state;
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		int32_t id = submit(t, t);
		struct dns_h2_done d;

		pump(t);
		respond(t, id, cs[i].status, cs[i].ctype, answer, cs[i].len);
		d = take(t, id, t, cs[i].want);
		assert_int_equal(d.http_status, (unsigned)atoi(cs[i].status));
	}
	assert_true(dns_h2_alive(t->h)); /* refused answers cost their stream only */
	t_free(t);
}

static void test_body_bound(void **state)
{
	static uint8_t big[DNS_H2_BODY_MAX + 1];
	struct t *t = t_new(0);
	struct dns_h2_done d;
	int32_t id;

	(void)state;
	memset(big, 0xab, sizeof(big));
	id = submit(t, t);
	pump(t);
	respond(t, id, "200", "application/dns-message", big, DNS_H2_BODY_MAX);
	d = take(t, id, t, 0);
	assert_int_equal(d.len, DNS_H2_BODY_MAX);
	assert_memory_equal(d.body, big, DNS_H2_BODY_MAX);
	id = submit(t, t);
	pump(t);
	respond(t, id, "200", "application/dns-message", big, sizeof(big));
	take(t, id, t, -EMSGSIZE);
	assert_true(dns_h2_alive(t->h));
	t_free(t);
}

/* Bodies held at once (ended, not taken) are bounded per session. */
static void test_bodies_bound(void **state)
{
	static uint8_t big[60000];
	struct t *t = t_new(0);
	struct dns_h2_done d;
	int32_t id[40];
	unsigned ok = 0, big_fail = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		id[i] = submit(t, t);
	pump(t);
	for (int i = 0; i < 40; i++)
		respond(t, id[i], "200", "application/dns-message", big, sizeof(big));
	while (dns_h2_take(t->h, &d)) {
		ok += d.status == 0;
		big_fail += d.status == -EMSGSIZE;
	}
	assert_int_equal(ok + big_fail, 40);
	assert_true(ok <= DNS_H2_BODIES_MAX / DNS_H2_BODY_MAX);
	assert_true(ok >= DNS_H2_BODIES_MAX / DNS_H2_BODY_MAX - 1);
	/* taken bodies are given back: the next one fits */
	id[0] = submit(t, t);
	pump(t);
	respond(t, id[0], "200", "application/dns-message", big, sizeof(big));
	take(t, id[0], t, 0);
	t_free(t);
}

static void test_header_bound(void **state)
{
	static char v[1000];
	nghttp2_nv nv[20];
	struct t *t = t_new(0);
	int32_t id;

	(void)state;
	memset(v, 'v', sizeof(v));
	nv[0] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE};
	for (int i = 1; i < 20; i++)
		nv[i] = (nghttp2_nv){(uint8_t *)"x-filler", (uint8_t *)v, 8, sizeof(v),
				     NGHTTP2_NV_FLAG_NO_INDEX};
	id = submit(t, t);
	pump(t);
	assert_int_equal(nghttp2_submit_response(t->sv.s, id, nv, 20, NULL), 0);
	pump(t);
	take(t, id, t, -EMSGSIZE);
	t_free(t);
}

static void test_resets(void **state)
{
	struct t *t = t_new(0);
	int32_t a, b;

	(void)state;
	a = submit(t, &a);
	b = submit(t, &b);
	pump(t);
	assert_int_equal(
	    nghttp2_submit_rst_stream(t->sv.s, NGHTTP2_FLAG_NONE, a, NGHTTP2_REFUSED_STREAM), 0);
	assert_int_equal(
	    nghttp2_submit_rst_stream(t->sv.s, NGHTTP2_FLAG_NONE, b, NGHTTP2_INTERNAL_ERROR), 0);
	pump(t);
	take(t, a, &a, -EAGAIN);
	take(t, b, &b, -ECONNRESET);
	/* Headers, then a reset before the body ends. */
	a = submit(t, &a);
	pump(t);
	{
		nghttp2_nv nv[2] = {
		    {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
		    {(uint8_t *)"content-type", (uint8_t *)"application/dns-message", 12, 23,
		     NGHTTP2_NV_FLAG_NONE},
		};

		assert_int_equal(
		    nghttp2_submit_headers(t->sv.s, NGHTTP2_FLAG_NONE, a, NULL, nv, 2, NULL), 0);
		pump(t);
		assert_false(dns_h2_take(t->h, &(struct dns_h2_done){0}));
		assert_int_equal(
		    nghttp2_submit_rst_stream(t->sv.s, NGHTTP2_FLAG_NONE, a, NGHTTP2_NO_ERROR), 0);
		pump(t);
	}
	take(t, a, &a, -ECONNRESET);
	t_free(t);
}

static void test_max_streams(void **state)
{
	struct t *t = t_new(2);
	int32_t a, b;
	int x;

	(void)state;
	pump(t); /* the server's SETTINGS */
	assert_int_equal(dns_h2_room(t->h), 2);
	a = submit(t, &a);
	assert_int_equal(dns_h2_room(t->h), 1);
	b = submit(t, &b);
	assert_int_equal(dns_h2_room(t->h), 0);
	assert_int_equal(dns_h2_submit(t->h, "a", "/", query, QLEN, &x), -ENOSPC);
	pump(t);
	respond(t, b, "200", "application/dns-message", answer, ALEN);
	assert_int_equal(dns_h2_room(t->h), 1);
	take(t, b, &b, 0);
	respond(t, a, "200", "application/dns-message", answer, ALEN);
	take(t, a, &a, 0);
	assert_int_equal(dns_h2_room(t->h), 2);
	t_free(t);
}

/* Streams submitted before the server's SETTINGS lowered the limit wait in
 * nghttp2; one cancelled there never goes out and never comes back. */
static void test_pending_cancel(void **state)
{
	struct t *t = t_new(1);
	struct dns_h2_done d;
	int a, b, c;
	int32_t ia, ib, ic;

	(void)state;
	ia = submit(t, &a);
	ib = submit(t, &b);
	ic = submit(t, &c);
	assert_int_equal(to_client(t), 0); /* SETTINGS (1 stream) before anything is sent */
	assert_int_equal(dns_h2_room(t->h), 0);
	to_server(t);
	assert_non_null(req_of(&t->sv, ia));
	assert_null(req_of(&t->sv, ib));
	dns_h2_cancel(t->h, ib);
	assert_int_equal(dns_h2_streams(t->h), 2);
	pump(t);
	respond(t, ia, "200", "application/dns-message", answer, ALEN);
	take(t, ia, &a, 0);
	pump(t);
	assert_null(req_of(&t->sv, ib));
	assert_non_null(req_of(&t->sv, ic));
	respond(t, ic, "200", "application/dns-message", answer, ALEN);
	take(t, ic, &c, 0);
	assert_false(dns_h2_take(t->h, &d));
	assert_int_equal(dns_h2_streams(t->h), 0);
	assert_int_equal(dns_h2_room(t->h), 1);
	t_free(t);
}

static void test_cancel(void **state)
{
	struct t *t = t_new(0);
	struct dns_h2_done d;
	int32_t a, b, c;

	(void)state;
	a = submit(t, &a);
	b = submit(t, &b);
	c = submit(t, &c);
	pump(t);
	dns_h2_cancel(t->h, a);
	dns_h2_cancel(t->h, a); /* twice is fine */
	pump(t);
	assert_int_equal(req_of(&t->sv, a)->closed_with, NGHTTP2_CANCEL);
	/* b ends, and is cancelled before it is taken; c is taken */
	respond(t, b, "200", "application/dns-message", answer, ALEN);
	respond(t, c, "200", "application/dns-message", answer, ALEN);
	dns_h2_cancel(t->h, b);
	take(t, c, &c, 0);
	assert_false(dns_h2_take(t->h, &d));
	assert_int_equal(dns_h2_streams(t->h), 0);
	dns_h2_cancel(t->h, 77); /* unknown: nothing */
	t_free(t);
}

static void test_goaway(void **state)
{
	struct t *t = t_new(0);
	int32_t a, b, c;

	(void)state;
	a = submit(t, &a);
	b = submit(t, &b);
	c = submit(t, &c);
	pump(t);
	assert_int_equal(
	    nghttp2_submit_goaway(t->sv.s, NGHTTP2_FLAG_NONE, a, NGHTTP2_NO_ERROR, NULL, 0), 0);
	pump(t);
	assert_true(dns_h2_draining(t->h));
	assert_int_equal(dns_h2_room(t->h), 0);
	assert_int_equal(dns_h2_submit(t->h, "a", "/", query, QLEN, &a), -ENOSPC);
	/* past the last stream: refused, safe to ask elsewhere */
	take(t, b, &b, -EAGAIN);
	take(t, c, &c, -EAGAIN);
	/* up to it: still answered */
	respond(t, a, "200", "application/dns-message", answer, ALEN);
	take(t, a, &a, 0);
	t_free(t);
}

static void test_garbage(void **state)
{
	struct t *t = t_new(0);
	static const uint8_t junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	int32_t a;

	(void)state;
	a = submit(t, &a);
	to_server(t);
	(void)dns_h2_recv(t->h, junk, sizeof(junk) - 1);
	(void)dns_h2_flush(t->h, t->c2s); /* GOAWAY */
	assert_false(dns_h2_alive(t->h));
	assert_true(dns_h2_draining(t->h));
	assert_int_equal(dns_h2_room(t->h), 0);
	t_free(t); /* the open stream is freed with it */
}

static void test_free_busy(void **state)
{
	struct t *t = t_new(0);
	struct dns_h2_done d;
	int32_t a, b, c;

	(void)state;
	a = submit(t, &a);
	b = submit(t, &b);
	c = submit(t, &c);
	pump(t);
	respond(t, a, "200", "application/dns-message", answer, ALEN);
	respond(t, b, "200", "application/dns-message", answer, ALEN);
	assert_true(dns_h2_take(t->h, &d)); /* a taken, b ended, c open */
	(void)c;
	t_free(t);
	dns_h2_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),	    cmocka_unit_test(test_any_order),
	    cmocka_unit_test(test_refused_answers), cmocka_unit_test(test_body_bound),
	    cmocka_unit_test(test_bodies_bound),    cmocka_unit_test(test_header_bound),
	    cmocka_unit_test(test_resets),	    cmocka_unit_test(test_max_streams),
	    cmocka_unit_test(test_pending_cancel),  cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_goaway),	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_free_busy),
	};

	return cmocka_run_group_tests_name("dns_h2", tests, NULL, NULL);
}
