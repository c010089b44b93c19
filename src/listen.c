/* listen.c - transparent listeners. A datagram is dispatched only when it
 * arrived whole (no MSG_TRUNC, no MSG_CTRUNC) and carried its original
 * destination; everything else is dropped and counted. */
#include "config.h"
#include "listen.h"
#include "worker.h"

#include <errno.h>
#include <linux/in6.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
#endif

/* A few batches a wake-up, so one busy listener cannot starve the loop. */
#define MAX_BATCHES_PER_WAKE 8

static int opt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

int listen_open(const struct addr *a, bool v6only)
{
	int fd = socket(addr_family(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0 || opt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20) < 0)
		goto fail;
	if (addr_family(a) == AF_INET6) {
		if (opt(fd, SOL_IPV6, IPV6_V6ONLY, v6only) < 0 ||
		    opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) < 0 ||
		    opt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) < 0)
			goto fail;
		/* A dual-stack socket gets IPv4 datagrams too: it needs the IPv4
		 * options as well, or their original destination is missing. */
		if (!v6only && (opt(fd, SOL_IP, IP_TRANSPARENT, 1) < 0 ||
				opt(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) < 0))
			goto fail;
	} else if (opt(fd, SOL_IP, IP_TRANSPARENT, 1) < 0 ||
		   opt(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) < 0) {
		goto fail;
	}
	if (bind(fd, &a->u.sa, a->len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int listen_open_sock(const struct svc_sock *s, bool v6only)
{
	int fam = addr_family(&s->addr);
	int fd = socket(fam, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	/* One socket per worker; SO_REUSEPORT only joins sockets of this user,
	 * and without SO_REUSEADDR on UDP an owner of the address keeps it. */
	if (opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0 ||
	    (s->type == SOCK_STREAM && opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0))
		goto fail;
	if (fam == AF_INET6 && opt(fd, SOL_IPV6, IPV6_V6ONLY, s->transparent ? v6only : 1) < 0)
		goto fail;
	if (s->transparent) {
		if (fam == AF_INET6 && opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) < 0)
			goto fail;
		if ((fam == AF_INET || !v6only) && opt(fd, SOL_IP, IP_TRANSPARENT, 1) < 0)
			goto fail;
	}
	if (bind(fd, &s->addr.u.sa, s->addr.len) < 0)
		goto fail;
	if (s->type == SOCK_STREAM && listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int listen_origdst(const struct msghdr *m, struct addr *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in)))
			return addr_from_sa(out, (const struct sockaddr *)CMSG_DATA(c),
					    sizeof(struct sockaddr_in));
		if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))) {
			int rc = addr_from_sa(out, (const struct sockaddr *)CMSG_DATA(c),
					      sizeof(struct sockaddr_in6));
			addr_unmap(out);
			return rc;
		}
	}
	return -ENOENT;
}

static void prepare(struct worker *w, unsigned i)
{
	struct msghdr *m = &w->msgs[i].msg_hdr;

	w->iov[i].iov_base = w->bufs + (size_t)i * SL_MAX_DGRAM;
	w->iov[i].iov_len = SL_MAX_DGRAM;
	m->msg_name = &w->names[i];
	m->msg_namelen = sizeof(w->names[i]);
	m->msg_iov = &w->iov[i];
	m->msg_iovlen = 1;
	m->msg_control = w->cbufs + (size_t)i * 128;
	m->msg_controllen = 128;
	m->msg_flags = 0;
}

static void handle(struct worker *w, struct mmsghdr *mm)
{
	struct msghdr *m = &mm->msg_hdr;
	struct addr client, dst;

	ctr_inc(&w->ctr, CTR_RX_DGRAMS);
	ctr_add(&w->ctr, CTR_RX_BYTES, mm->msg_len);
	if (m->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		ctr_inc(&w->ctr, CTR_RX_TRUNCATED);
		return;
	}
	if (addr_from_sa(&client, m->msg_name, m->msg_namelen) < 0 ||
	    listen_origdst(m, &dst) < 0) {
		ctr_inc(&w->ctr, CTR_RX_NO_ORIGDST);
		return;
	}
	addr_unmap(&client);
	worker_dispatch(w, &client, &dst, m->msg_iov->iov_base, mm->msg_len);
}

int listen_recv_batch(struct worker *w, int fd)
{
	int n;

	for (unsigned i = 0; i < w->batch; i++)
		prepare(w, i);
	n = recvmmsg(fd, w->msgs, w->batch, MSG_DONTWAIT, NULL);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		ctr_inc(&w->ctr, CTR_RX_ERRORS);
	return n < 0 ? 0 : n;
}

void listen_read(struct worker *w, int fd)
{
	for (int round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
		int n = listen_recv_batch(w, fd);

		if (n == 0)
			return;
		ctr_inc(&w->ctr, CTR_RX_BATCHES);
		for (int i = 0; i < n; i++)
			handle(w, &w->msgs[i]);
		if ((unsigned)n < w->batch)
			return;
	}
}
