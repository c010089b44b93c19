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

/** Read batches from fd until it would block (bounded), dispatching each datagram. */
void listen_read(struct worker *w, int fd);

/**
 * Find the original destination in a received message's cmsgs, checking
 * level, type and length. Returns 0, or -ENOENT when there is none.
 */
int listen_origdst(const struct msghdr *m, struct addr *out);

#endif
