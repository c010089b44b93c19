#include "config.h"
/* dns_h2.c - the HTTP/2 client of DNS over HTTPS (RFC 8484) on memory
 * buffers, through libnghttp2 (see dns_h2.h). It owns the nghttp2 session
 * and one record per request: the query it POSTs (RFC 8484 4.1) and the
 * response it collects, bounded (DNS_H2_BODY_MAX, DNS_H2_HDR_MAX), and
 * judged by HTTP alone (status 200, content-type application/dns-message).
 * Streams that end wait on a list for dns_h2_take, so no caller code runs
 * inside nghttp2's callbacks. It knows nothing of sockets, TLS or DNS:
 * dns_up_h2.c moves its bytes and checks the answers. */

#include "dns_h2.h"
#include "sluice.h"

#include <errno.h>
#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DOH_TYPE "application/dns-message"
#define H2_CONN_WINDOW (1 << 20) /* many streams' answers in flight at once */
#define H2_BODY_FIRST 512	 /* first allocation of a body; doubled as it grows */

/* One request and its response. While on the open list it is also the
 * nghttp2 stream's user data, so callbacks find it without a walk. */
struct h2_stream {
	struct h2_stream *next;
	struct h2_stream *prev; /* on the open list */
	void *arg; /* NULL once cancelled: freed when nghttp2 lets go */
	int32_t id;
	int result;	   /* failed: why */
	bool failed;	   /* reset by us (bounds, status, type): result holds why */
	bool ended;	   /* END_STREAM came */
	bool status_block; /* the header block being read began with :status */
	bool ctype_ok;	   /* ... and said content-type: application/dns-message */
	unsigned http_status;
	size_t hdr_bytes;
	uint8_t *body;
	size_t len, cap;
	size_t req_len, req_off;
	uint8_t req[DNS_H2_REQ_MAX];
};

struct dns_h2 {
	nghttp2_session *s;
	struct h2_stream *open;		     /* submitted, not closed */
	struct h2_stream *done, **done_tail; /* ended, waiting for dns_h2_take */
	struct h2_stream *taken;	     /* its body is the caller's until the next take */
	unsigned nopen;			     /* on open, cancelled ones included */
	unsigned nlive;			     /* submitted, not cancelled, not taken */
	size_t bodies;			     /* bytes allocated for bodies (DNS_H2_BODIES_MAX) */
	bool goaway;
	bool broken;
};

static void st_free(struct dns_h2 *h, struct h2_stream *st)
{
	if (st) {
		h->bodies -= st->cap;
		free(st->body);
		free(st);
	}
}

/* A stream on the open list: through nghttp2's stream map once its HEADERS
 * went out (every callback's case); a request not sent yet has no stream
 * there, so the list is walked for it. */
static struct h2_stream *find_open(struct dns_h2 *h, int32_t id)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(h->s, id);

	if (st)
		return st;
	for (st = h->open; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static struct h2_stream *unlink_open(struct dns_h2 *h, int32_t id)
{
	struct h2_stream *st = find_open(h, id);

	if (!st)
		return NULL;
	if (st->prev)
		st->prev->next = st->next;
	else
		h->open = st->next;
	if (st->next)
		st->next->prev = st->prev;
	st->next = st->prev = NULL;
	h->nopen--;
	/* off the list, off the map: it may be freed while nghttp2 keeps the stream */
	nghttp2_session_set_stream_user_data(h->s, id, NULL);
	return st;
}

/* st left the session: to the done list, or freed when nobody waits for it. */
static void st_ended(struct dns_h2 *h, struct h2_stream *st)
{
	if (!st->arg) {
		st_free(h, st);
		return;
	}
	*h->done_tail = st;
	h->done_tail = &st->next;
}

/* A response sluice will not take: reset the stream, keep why. */
static void st_fail(struct dns_h2 *h, struct h2_stream *st, int err)
{
	if (st->failed)
		return;
	st->failed = true;
	st->result = err;
	h->bodies -= st->cap;
	free(st->body);
	st->body = NULL;
	st->len = st->cap = 0;
	nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
}

/* A stream still worth reading: ours, open, not failed nor cancelled. */
static struct h2_stream *live(struct dns_h2 *h, int32_t id)
{
	struct h2_stream *st = find_open(h, id);

	return st && st->arg && !st->failed ? st : NULL;
}

/* "application/dns-message", any case, parameters allowed. */
static bool ctype_is_dns(const uint8_t *v, size_t len)
{
	size_t n = strlen(DOH_TYPE);

	if (len < n || strncasecmp((const char *)v, DOH_TYPE, n) != 0)
		return false;
	while (n < len && (v[n] == ' ' || v[n] == '\t'))
		n++;
	return n == len || v[n] == ';';
}

/* ---- nghttp2 callbacks ---- */

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	size_t n = SL_MIN(length, st->req_len - st->req_off);

	memcpy(buf, st->req + st->req_off, n);
	st->req_off += n;
	if (st->req_off == st->req_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2_stream *st = live(ud, f->hd.stream_id);

	if (st && f->hd.type == NGHTTP2_HEADERS)
		st->status_block = false;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2_stream *st = live(ud, f->hd.stream_id);

	if (!st || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	st->hdr_bytes += namelen + valuelen + 32;
	if (st->hdr_bytes > DNS_H2_HDR_MAX) {
		st_fail(ud, st, -EMSGSIZE);
		return 0;
	}
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		/* nghttp2 checked it is three digits */
		st->http_status = valuelen == 3
				      ? (unsigned)((value[0] - '0') * 100 + (value[1] - '0') * 10 +
						   (value[2] - '0'))
				      : 0;
		st->status_block = true;
		st->ctype_ok = false;
	} else if (namelen == 12 && memcmp(name, "content-type", 12) == 0 && st->status_block) {
		st->ctype_ok = ctype_is_dns(value, valuelen);
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *ud)
{
	struct h2_stream *st = live(ud, id);
	size_t need;

	if (!st)
		return 0;
	if (st->http_status != 200 || !st->ctype_ok) {
		st_fail(ud, st, -EPROTO);
		return 0;
	}
	if (len > DNS_H2_BODY_MAX - st->len) {
		st_fail(ud, st, -EMSGSIZE);
		return 0;
	}
	need = st->len + len;
	if (need > st->cap) {
		size_t cap = st->cap ? st->cap : H2_BODY_FIRST;
		struct dns_h2 *h = ud;
		uint8_t *b;

		while (cap < need)
			cap *= 2;
		cap = SL_MIN(cap, (size_t)DNS_H2_BODY_MAX);
		if (cap - st->cap > DNS_H2_BODIES_MAX - h->bodies) {
			st_fail(h, st, -EMSGSIZE);
			return 0;
		}
		b = realloc(st->body, cap);
		if (!b) {
			st_fail(h, st, -ENOMEM);
			return 0;
		}
		h->bodies += cap - st->cap;
		st->body = b;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, len);
	st->len = need;
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct dns_h2 *h = ud;
	struct h2_stream *st;

	if (f->hd.type == NGHTTP2_GOAWAY) {
		h->goaway = true; /* nghttp2 refuses the streams past its last ID */
		return 0;
	}
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	st = live(h, f->hd.stream_id);
	if (!st)
		return 0;
	/* A final status that is not a DNS answer: no need to read its body. */
	if (f->hd.type == NGHTTP2_HEADERS && st->status_block && st->http_status >= 200 &&
	    (st->http_status != 200 || !st->ctype_ok)) {
		st_fail(h, st, -EPROTO);
		return 0;
	}
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
		st->ended = true;
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct dns_h2 *h = ud;
	struct h2_stream *st = unlink_open(h, id);

	if (!st)
		return 0;
	if (!st->failed) {
		if (code == NGHTTP2_REFUSED_STREAM)
			st->result = -EAGAIN; /* RFC 9113 8.7: not processed */
		else if (code != NGHTTP2_NO_ERROR || !st->ended)
			st->result = -ECONNRESET;
		else if (st->http_status != 200 || !st->ctype_ok || st->len == 0)
			st->result = -EPROTO;
		else
			st->result = 0;
	}
	st_ended(h, st);
	return 0;
}

/* A request that never went out (GOAWAY came first, or the stream IDs ran out). */
static int on_not_send(nghttp2_session *s, const nghttp2_frame *f, int err, void *ud)
{
	struct dns_h2 *h = ud;
	struct h2_stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || !(st = unlink_open(h, f->hd.stream_id)))
		return 0;
	if (!st->failed)
		st->result = -EAGAIN;
	st_ended(h, st);
	return 0;
}

/* ---- the session ---- */

struct dns_h2 *dns_h2_new(void)
{
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, DNS_H2_BODY_MAX},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, DNS_H2_HDR_MAX},
	};
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	struct dns_h2 *h = calloc(1, sizeof(*h));

	if (!h || nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0)
		goto fail;
	h->done_tail = &h->done;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_not_send);
	/* Until the server's SETTINGS say otherwise. */
	nghttp2_option_set_peer_max_concurrent_streams(opt, DNS_H2_STREAMS);
	nghttp2_option_set_max_reserved_remote_streams(opt, 0);
	if (nghttp2_session_client_new2(&h->s, cb, h, opt) != 0) {
		h->s = NULL;
		goto fail;
	}
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, SL_ARRAY_LEN(iv)) != 0 ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0)
		goto fail;
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	return h;
fail:
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	dns_h2_free(h);
	return NULL;
}

static void free_list(struct dns_h2 *h, struct h2_stream *st)
{
	while (st) {
		struct h2_stream *next = st->next;

		st_free(h, st);
		st = next;
	}
}

void dns_h2_free(struct dns_h2 *h)
{
	if (!h)
		return;
	nghttp2_session_del(h->s); /* first: it may still point at the records */
	free_list(h, h->open);
	free_list(h, h->done);
	st_free(h, h->taken);
	free(h);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

int32_t dns_h2_submit(struct dns_h2 *h, const char *authority, const char *path, const uint8_t *msg,
		      size_t len, void *arg)
{
	char clen[8];
	struct h2_stream *st;
	int32_t id;

	if (!arg || len == 0 || len > DNS_H2_REQ_MAX)
		return -EINVAL;
	if (dns_h2_room(h) == 0)
		return -ENOSPC;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	memcpy(st->req, msg, len);
	st->req_len = len;
	st->arg = arg;
	snprintf(clen, sizeof(clen), "%zu", len);
	{
		const nghttp2_nv nv[] = {
		    NV(":method", "POST"),	  NV(":scheme", "https"),
		    NV(":authority", authority),  NV(":path", path),
		    NV("content-type", DOH_TYPE), NV("accept", DOH_TYPE),
		    NV("content-length", clen),
		};
		nghttp2_data_provider dp = {.source.ptr = st, .read_callback = read_body};

		id = nghttp2_submit_request(h->s, NULL, nv, SL_ARRAY_LEN(nv), &dp, st);
	}
	if (id < 0) {
		free(st);
		return id == NGHTTP2_ERR_NOMEM			   ? -ENOMEM
		       : id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE ? -ENOSPC
								   : -EINVAL;
	}
	st->id = id;
	st->next = h->open;
	if (h->open)
		h->open->prev = st;
	h->open = st;
	h->nopen++;
	h->nlive++;
	return id;
}

void dns_h2_cancel(struct dns_h2 *h, int32_t id)
{
	struct h2_stream *st = find_open(h, id);

	if (st) {
		if (!st->arg)
			return;
		st->arg = NULL;
		h->nlive--;
		/* freed when nghttp2 closes the stream (its request body may still be unsent) */
		st_fail(h, st, -ECANCELED);
		return;
	}
	for (struct h2_stream **pp = &h->done; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			st = *pp;
			*pp = st->next;
			if (h->done_tail == &st->next)
				h->done_tail = pp;
			h->nlive--;
			st_free(h, st);
			return;
		}
}

int dns_h2_recv(struct dns_h2 *h, const uint8_t *data, size_t len)
{
	ssize_t n;

	if (h->broken)
		return -EPROTO;
	n = nghttp2_session_mem_recv(h->s, data, len);
	if (n < 0 || (size_t)n != len) {
		h->broken = true;
		return -EPROTO;
	}
	return 0;
}

int dns_h2_flush(struct dns_h2 *h, struct evbuffer *out)
{
	for (;;) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(h->s, &p);

		if (n < 0) {
			h->broken = true;
			return -EIO;
		}
		if (n == 0)
			return 0;
		if (evbuffer_add(out, p, (size_t)n) < 0)
			return -ENOMEM;
	}
}

bool dns_h2_take(struct dns_h2 *h, struct dns_h2_done *d)
{
	struct h2_stream *st = h->done;

	st_free(h, h->taken);
	h->taken = NULL;
	if (!st)
		return false;
	h->done = st->next;
	if (!h->done)
		h->done_tail = &h->done;
	st->next = NULL;
	h->taken = st;
	h->nlive--;
	*d = (struct dns_h2_done){
	    .arg = st->arg,
	    .stream = st->id,
	    .status = st->result,
	    .http_status = st->http_status,
	    .body = st->result == 0 ? st->body : NULL,
	    .len = st->result == 0 ? st->len : 0,
	};
	return true;
}

int dns_h2_ping(struct dns_h2 *h)
{
	return nghttp2_submit_ping(h->s, NGHTTP2_FLAG_NONE, NULL) == 0 ? 0 : -ENOMEM;
}

unsigned dns_h2_room(const struct dns_h2 *h)
{
	uint32_t max;

	if (h->goaway || !dns_h2_alive(h) ||
	    nghttp2_session_get_next_stream_id(h->s) > (uint32_t)INT32_MAX - 2)
		return 0;
	max = nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	max = SL_MIN(max, (uint32_t)DNS_H2_STREAMS);
	return h->nopen >= max ? 0 : max - h->nopen;
}

unsigned dns_h2_streams(const struct dns_h2 *h)
{
	return h->nlive;
}

bool dns_h2_draining(const struct dns_h2 *h)
{
	return h->goaway || !dns_h2_alive(h);
}

bool dns_h2_alive(const struct dns_h2 *h)
{
	return !h->broken && (nghttp2_session_want_read(h->s) || nghttp2_session_want_write(h->s));
}
