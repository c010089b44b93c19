#include "config.h"
/* fuzz_doh.c - the DoH client's response path (dns_h2.c): what an HTTPS
 * server sends, as HTTP/2 frames, into a session that asked 1 to 4
 * queries. Input: byte 0 is a control byte (bits 0-2: how many chunk sizes
 * follow, less one; bits 3-4: requests, less one; bit 5: cancel the second
 * request after the first chunk; bit 6: after the first chunk, cancel
 * the oldest request not taken yet, whether its stream ended or not), then the chunk sizes (0: all
 * the rest), then the server's bytes, fed chunk by chunk as reads would deliver them; after each
 * chunk the client's output is flushed (and dropped) and every ended stream taken. Checks: only
 * streams asked and not cancelled come out, each once; an accepted answer is a 200 with a body
 * of 1..65,535 bytes; a refused one has no body; the session's count of streams agrees; nothing
 * leaks (ASan). Seeds: fuzz/corpus/doh/ (fuzz/corpus/README.doh). */

#include <errno.h>
#include <event2/buffer.h>
#include <string.h>

#include "dns_h2.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NREQ 4

static const uint8_t query[] = {0,   0, 1,   0,	  0,   1,   0,	 0,   0,   0, 0, 0, 3, 'w', 'w',
				'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};

struct reqs {
	int32_t id[NREQ];
	bool taken[NREQ], cancelled[NREQ];
	unsigned n, live;
};

static void take_all(struct dns_h2 *h, struct reqs *r, bool cancel_first)
{
	struct dns_h2_done d;

	for (;;) {
		if (cancel_first) {
			/* The oldest request not taken: cancelled, it never comes out. */
			for (unsigned i = 0; i < r->n; i++)
				if (!r->taken[i] && !r->cancelled[i]) {
					dns_h2_cancel(h, r->id[i]);
					r->cancelled[i] = true;
					r->live--;
					break;
				}
			cancel_first = false;
		}
		if (!dns_h2_take(h, &d))
			break;
		{
			unsigned i = (unsigned)((const bool *)d.arg - r->taken);

			CHECK(i < r->n && d.arg == &r->taken[i]);
			CHECK(!r->taken[i] && !r->cancelled[i]);
			CHECK(d.stream == r->id[i]);
			r->taken[i] = true;
			r->live--;
		}
		if (d.status == 0) {
			CHECK(d.http_status == 200);
			CHECK(d.body && d.len >= 1 && d.len <= DNS_H2_BODY_MAX);
			volatile uint8_t x = 0;

			for (size_t k = 0; k < d.len; k++) /* every byte readable (ASan) */
				x ^= d.body[k];
			(void)x;
		} else {
			CHECK(!d.body && d.len == 0);
			CHECK(d.status == -EPROTO || d.status == -EMSGSIZE || d.status == -EAGAIN ||
			      d.status == -ECONNRESET || d.status == -ENOMEM);
		}
	}
	CHECK(dns_h2_streams(h) == r->live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *pat, *s;
	size_t npat, slen, added = 0;
	struct dns_h2 *h;
	struct evbuffer *out;
	struct reqs r = {0};
	bool cancel_second, cancel_ended;

	if (size < 1)
		return 0;
	npat = (size_t)(data[0] & 7) + 1;
	if (size < 1 + npat)
		return 0;
	cancel_second = data[0] & 0x20;
	cancel_ended = data[0] & 0x40;
	pat = data + 1;
	s = data + 1 + npat;
	slen = size - 1 - npat;
	h = dns_h2_new();
	out = evbuffer_new();
	if (!h || !out)
		goto done;
	for (unsigned i = 0; i <= ((data[0] >> 3) & 3u); i++) {
		int32_t id = dns_h2_submit(h, "doh.example", "/dns-query", query, sizeof(query),
					   &r.taken[i]);

		CHECK(id == (int32_t)(2 * i + 1));
		r.id[r.n++] = id;
		r.live++;
	}
	CHECK(dns_h2_flush(h, out) == 0);
	evbuffer_drain(out, evbuffer_get_length(out));
	for (size_t i = 0; added < slen; i++) {
		size_t chunk = pat[i % npat] ? pat[i % npat] : slen - added;
		int rc;

		if (chunk > slen - added)
			chunk = slen - added;
		rc = dns_h2_recv(h, s + added, chunk);
		added += chunk;
		(void)dns_h2_flush(h, out);
		evbuffer_drain(out, evbuffer_get_length(out));
		if (i == 0 && cancel_second && r.n > 1 && !r.taken[1]) {
			dns_h2_cancel(h, r.id[1]);
			r.cancelled[1] = true;
			r.live--;
		}
		take_all(h, &r, cancel_ended && i == 0);
		if (rc < 0) {
			CHECK(!dns_h2_alive(h) && dns_h2_room(h) == 0);
			break;
		}
	}
	if (dns_h2_draining(h))
		CHECK(dns_h2_room(h) == 0);
done:
	dns_h2_free(h);
	if (out)
		evbuffer_free(out);
	return 0;
}
