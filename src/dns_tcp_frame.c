/* dns_tcp_frame.c - the two-byte length prefix of DNS over TCP (see
 * dns_tcp_frame.h). Nothing is consumed until a whole frame is there. */
#include "config.h"
#include "dns_tcp_frame.h"

#include <errno.h>
#include <event2/buffer.h>

int dns_tcp_frame_take(struct evbuffer *in, uint8_t *buf, size_t cap)
{
	uint8_t hdr[2];
	size_t len;

	if (evbuffer_copyout(in, hdr, 2) != 2)
		return 0;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len == 0)
		return -EBADMSG;
	if (len > cap)
		return -ENOSPC;
	if (evbuffer_get_length(in) < 2 + len)
		return 0;
	if (evbuffer_drain(in, 2) < 0 || evbuffer_remove(in, buf, len) != (int)len)
		return -EBADMSG;
	return (int)len;
}
