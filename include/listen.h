/* listen.h - transparent listeners: open them, read them in recvmmsg
 * batches, and turn each datagram plus its cmsgs into (client, original
 * destination, payload) for the worker. */
#ifndef LISTEN_H
#define LISTEN_H

#include "addr.h"

struct worker;
struct msghdr;

/**
 * Open a transparent UDP listener bound to a with SO_REUSEPORT (one per
 * worker), receiving the original destination of each datagram. v6only
 * applies to IPv6 addresses. Returns the fd or -errno.
 */
int listen_open(const struct addr *a, bool v6only);

struct svc_sock;

/**
 * Open a service socket (see struct svc_sock): a UDP socket, or a listening
 * TCP socket, bound to s->addr with SO_REUSEPORT (one per worker);
 * transparent ones take intercepted traffic (v6only as for listen_open),
 * the others are IPv6-only for IPv6 addresses. Returns the fd or -errno.
 */
int listen_open_sock(const struct svc_sock *s, bool v6only);

/**
 * One recvmmsg of up to w->batch datagrams from fd into the worker's batch
 * buffers (w->msgs[i], payload at msg_iov->iov_base, msg_len bytes). Returns
 * how many (0 when none or on error, counted). The buffers are reused by the
 * next call: callers finish with them first.
 */
int listen_recv_batch(struct worker *w, int fd);

/** Read batches from fd until it would block (bounded), dispatching each datagram. */
void listen_read(struct worker *w, int fd);

/**
 * Find the original destination in a received message's cmsgs, checking
 * level, type and length. Returns 0, or -ENOENT when there is none.
 */
int listen_origdst(const struct msghdr *m, struct addr *out);

#endif
