/* dns_h2.h - the HTTP/2 client half of DNS over HTTPS (RFC 8484) on memory
 * buffers: requests go in with dns_h2_submit, the bytes the server sent go
 * in with dns_h2_recv, the bytes to send come out of dns_h2_flush, and each
 * stream that ended comes out of dns_h2_take with its verdict and body. No
 * sockets, TLS or DNS here: dns_up_h2.c runs it on a TLS connection,
 * fuzz/fuzz_doh.c on hostile bytes. Not thread-safe. */
#ifndef DNS_H2_H
#define DNS_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct dns_h2;

/** Streams one connection carries at once (fewer when the server says so). */
#define DNS_H2_STREAMS 100

/** Largest response body taken (a DNS message); a longer one fails its stream. */
#define DNS_H2_BODY_MAX 65535

/** Bodies one session holds at once; a stream that would need more fails. */
#define DNS_H2_BODIES_MAX (2u << 20)

/** Largest response header list (names, values, 32 bytes a field, RFC 7541 4.1). */
#define DNS_H2_HDR_MAX 16384

/** Largest request body (the DNS query). */
#define DNS_H2_REQ_MAX 1024

/** A stream that ended. */
struct dns_h2_done {
	void *arg; /* as given to dns_h2_submit */
	int32_t stream;
	/* 0: status 200, content-type application/dns-message and a body;
	 * -EPROTO: another status or content type, or no body; -EMSGSIZE: a
	 * body or header list over the bounds; -EAGAIN: the server refused the
	 * stream unprocessed (REFUSED_STREAM, GOAWAY), safe to ask again;
	 * -ECONNRESET: reset, or ended without a whole response */
	int status;
	unsigned http_status; /* 0 when none came */
	const uint8_t *body;  /* status 0: valid until the next dns_h2_take or dns_h2_free */
	size_t len;
};

/** A client session whose connection preface and SETTINGS wait in dns_h2_flush. NULL: no memory. */
struct dns_h2 *dns_h2_new(void);

/** Free h; streams that did not end are dropped silently. NULL is fine. */
void dns_h2_free(struct dns_h2 *h);

/**
 * A POST of msg (len <= DNS_H2_REQ_MAX) to https://authority/path with
 * content-type and accept application/dns-message. Returns the stream ID
 * (> 0), or -ENOSPC when dns_h2_room() is 0, -EINVAL, -ENOMEM.
 */
int32_t dns_h2_submit(struct dns_h2 *h, const char *authority, const char *path, const uint8_t *msg,
		      size_t len, void *arg);

/** Forget a stream (its arg never comes out of dns_h2_take); resets it when still open. */
void dns_h2_cancel(struct dns_h2 *h, int32_t stream);

/** Feed the server's bytes. 0, or -EPROTO when the session cannot go on. */
int dns_h2_recv(struct dns_h2 *h, const uint8_t *data, size_t len);

/** Append what the session has to send to out. 0, or -EIO / -ENOMEM. */
int dns_h2_flush(struct dns_h2 *h, struct evbuffer *out);

/** The next stream that ended, oldest first; false when none. */
bool dns_h2_take(struct dns_h2 *h, struct dns_h2_done *d);

/** Queue a PING (the server must answer it). 0 or -ENOMEM. */
int dns_h2_ping(struct dns_h2 *h);

/** Streams dns_h2_submit may add now: 0 after GOAWAY or an error, else the server's limit less
 * those open. */
unsigned dns_h2_room(const struct dns_h2 *h);

/** Streams submitted that have not come out of dns_h2_take (cancelled ones excepted). */
unsigned dns_h2_streams(const struct dns_h2 *h);

/** True after GOAWAY came, or once the session is over: no new streams, ever. */
bool dns_h2_draining(const struct dns_h2 *h);

/** False once the session is over (GOAWAY sent or received and nothing left to do, or an error). */
bool dns_h2_alive(const struct dns_h2 *h);

#endif
