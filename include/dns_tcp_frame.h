/* dns_tcp_frame.h - DNS over TCP framing (RFC 1035 4.2.2, RFC 7766 8):
 * each message is preceded by its length as two bytes. One reader for
 * client connections and fuzzing. */
#ifndef DNS_TCP_FRAME_H
#define DNS_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/** Largest message a frame can carry. */
#define DNS_TCP_FRAME_MAX 65535

/**
 * Take the next whole message out of in into buf (cap bytes, at least
 * DNS_TCP_FRAME_MAX). Returns its length (1..65535); 0 while the frame is
 * incomplete (nothing is taken); -EBADMSG for a zero-length frame (a
 * protocol error: the connection should close); -ENOSPC when cap is short.
 */
int dns_tcp_frame_take(struct evbuffer *in, uint8_t *buf, size_t cap);

#endif
