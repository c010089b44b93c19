/* nftset_nl.c - the netlink socket behind nftset: one per worker, opened
 * at first use (after privileges are dropped: CAP_NET_ADMIN, which sluice
 * keeps, is what nf_tables asks for). nf_tables runs a request or a whole
 * transaction inside the sendmsg that carries it, so its ACKs and errors
 * are queued by the time the send returns and are read without waiting;
 * nothing here blocks the worker's loop. NETLINK_CAP_ACK keeps errors
 * from echoing the whole request. One descriptor per worker, within
 * fdplan.c's per-worker reserve. */
#include "config.h"
#include "nftset.h"
#include "sluice.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct nl {
	struct nftset_io io;
	struct mnl_socket *sock;
};

/* Read every queued reply into reply[0..cap); the rest (no room) is dropped. */
static int drain(int fd, uint8_t *reply, size_t cap)
{
	uint8_t sink[512];
	size_t off = 0;

	for (int i = 0; i < 1024; i++) { /* bounded: the queue holds a few replies per request */
		bool room = cap - off >= 2048; /* our replies are ACKs, errors and one set: small */
		ssize_t n = recv(fd, room ? reply + off : sink, room ? cap - off : sizeof(sink),
				 MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) /* EAGAIN: all read; ENOBUFS: some lost (counted as unanswered) */
			break;
		if (room &&
		    (size_t)n <= cap - off) /* kernel datagrams are whole, aligned messages */
			off += (size_t)n;
	}
	return (int)off;
}

static int nl_xfer(void *ctx, const struct iovec *msgs, unsigned n, uint8_t *reply, size_t cap)
{
	struct nl *nl = ctx;
	int fd = mnl_socket_get_fd(nl->sock);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct mmsghdr mm[64];
	unsigned sent = 0;

	if (n > SL_ARRAY_LEN(mm))
		return -E2BIG;
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &kernel,
						     .msg_namelen = sizeof(kernel),
						     .msg_iov = (struct iovec *)&msgs[i],
						     .msg_iovlen = 1}};
	while (sent < n) {
		int k = sendmmsg(fd, mm + sent, n - sent, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		sent += (unsigned)k;
	}
	if (sent == 0)
		return -errno;
	return drain(fd, reply, cap);
}

static void nl_close(void *ctx)
{
	struct nl *nl = ctx;

	mnl_socket_close(nl->sock);
	free(nl);
}

struct nftset_io *nftset_nl_open(void)
{
	struct nl *nl = calloc(1, sizeof(*nl));
	int one = 1, err;

	if (!nl)
		return NULL;
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->sock)
		goto fail;
	/* Failing this only makes error replies longer. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->io = (struct nftset_io){nl_xfer, nl_close, nl};
	return &nl->io;
fail:
	err = errno;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
	errno = err;
	return NULL;
}
