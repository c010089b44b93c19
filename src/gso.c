/* gso.c - batches of datagrams out of a connected UDP socket. A relay
 * forwards a busy flow's datagrams in runs of one size (QUIC's full-size
 * packets, a game's ticks); each such run goes down the stack once, as one
 * UDP GSO packet (UDP_SEGMENT, Linux 4.18) that the kernel cuts back into
 * the same datagrams at the device, or at the receiving socket when the
 * peer is local. One sendmmsg carries every run of a batch. The other way,
 * a NIC's GRO hands a socket that asks for it (UDP_GRO) such a run as one
 * read, which is split again here before anything looks at it. */
#include "config.h"
#include "gso.h"
#include "sluice.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

/* Messages in one sendmmsg. */
#define GSO_BATCH 64
/* A GSO send's payload, with its IPv6 and UDP headers, stays inside one
 * 64 KiB packet. */
#define GSO_MAX_BYTES (65535 - 48)

union gso_cmsg {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* How many of iov[0..n) go as one GSO send: a run of one size, of which
 * only the last may be shorter (a segment cannot be empty). */
static unsigned run_len(const struct iovec *iov, unsigned n)
{
	size_t seg = iov[0].iov_len, total = seg;
	unsigned k = 1;

	if (seg == 0)
		return 1;
	while (k < n && k < GSO_MAX_SEGS && iov[k].iov_len > 0 && iov[k].iov_len <= seg &&
	       total + iov[k].iov_len <= GSO_MAX_BYTES) {
		total += iov[k].iov_len;
		if (iov[k++].iov_len < seg)
			break;
	}
	return k;
}

/* m sends iov[0..r) as one message: a GSO send of segments of iov[0]'s
 * size when r > 1. */
static void msg_fill(struct mmsghdr *m, union gso_cmsg *cm, const struct iovec *iov, unsigned r)
{
	struct cmsghdr *c;
	uint16_t seg = (uint16_t)iov[0].iov_len;

	m->msg_hdr = (struct msghdr){.msg_iov = (struct iovec *)iov, .msg_iovlen = r};
	if (r == 1)
		return;
	m->msg_hdr.msg_control = cm->buf;
	m->msg_hdr.msg_controllen = sizeof(cm->buf);
	c = CMSG_FIRSTHDR(&m->msg_hdr);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

/* The kernel refuses GSO on this socket rather than the datagrams: no
 * checksum offload on the way out (EIO), a segment above the path MTU or
 * checksums turned off (EINVAL), a run too long (EMSGSIZE). */
static bool gso_refused(int err)
{
	return err == EIO || err == EINVAL || err == EMSGSIZE;
}

/* The socket cannot take more now: the rest would fail the same way. */
static bool gso_full(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

unsigned gso_send(int fd, const struct iovec *iov, unsigned n, bool *off)
{
	struct mmsghdr mm[GSO_BATCH];
	union gso_cmsg cm[GSO_BATCH];
	unsigned segs[GSO_BATCH], done = 0, ok = 0;
	bool again = false;

	while (done < n) {
		unsigned k = 0, at = done;
		int sent;

		for (; k < GSO_BATCH && at < n; k++) {
			segs[k] = *off ? 1 : run_len(iov + at, n - at);
			msg_fill(&mm[k], &cm[k], iov + at, segs[k]);
			at += segs[k];
		}
		sent = sendmmsg(fd, mm, k, MSG_DONTWAIT);
		if (sent > 0) {
			for (int i = 0; i < sent; i++) {
				done += segs[i];
				ok += segs[i];
			}
			again = false;
			continue;
		}
		if (segs[0] > 1 && gso_refused(errno)) {
			*off = true; /* and the same datagrams go again, one by one */
			continue;
		}
		if (gso_full(errno))
			break;
		/* An ICMP error about an earlier datagram is reported once, in place
		 * of this send: so it goes once more. What fails twice (a datagram
		 * too big, no route) is skipped, and the rest still go. */
		if (!again) {
			again = true;
			continue;
		}
		again = false;
		done += segs[0];
	}
	return ok;
}

void gso_rx_enable(int fd)
{
	int one = 1;

	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
}

void gso_rx_start(struct gso_rx *r, const struct msghdr *m, void *buf, size_t len)
{
	*r = (struct gso_rx){.p = buf, .left = len, .seg = len, .more = true};
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		int seg;

		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(seg)))
			continue;
		memcpy(&seg, CMSG_DATA(c), sizeof(seg));
		if (seg > 0 && (size_t)seg < len)
			r->seg = (size_t)seg;
	}
}

bool gso_rx_next(struct gso_rx *r, struct iovec *out)
{
	size_t l = SL_MIN(r->seg, r->left);

	if (!r->more)
		return false;
	*out = (struct iovec){r->p, l};
	r->p += l;
	r->left -= l;
	r->more = r->left > 0; /* an empty datagram is one read of its own */
	return true;
}

size_t gso_rx_count(const struct gso_rx *r)
{
	return r->seg ? (r->left + r->seg - 1) / r->seg : 1;
}
