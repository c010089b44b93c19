/* reply.h - sending to clients from their original destination.
 *
 * Three ways, in order: a flow's own connected transparent socket (owned by
 * the flow, opened here), an unconnected transparent socket from a small
 * LRU cache keyed by original destination (one-shot replies such as DNS),
 * or a raw socket with hand-built IP and UDP headers when a local service
 * owns that address and port, so sluice never binds over it. */
#ifndef REPLY_H
#define REPLY_H

#include "addr.h"
#include "ctr.h"

struct bindmap;
struct reply;

/**
 * Process-wide count of sluice's own sockets bound to each address:port,
 * shared by the workers (it has its own lock). It tells a foreign owner of
 * an address (a local service) from sluice's own earlier binds.
 */
struct bindmap *bindmap_new(void);
void bindmap_free(struct bindmap *bm);

struct event_base;

/**
 * Per-worker reply state: the unconnected socket cache and raw sockets.
 * With a base, one-shot replies are queued and sent in sendmmsg batches at
 * the end of the loop pass; without one (tests), each goes out at once.
 */
struct reply *reply_new(struct event_base *base, struct bindmap *bm, struct ctr *ctr,
			unsigned cache_size);
void reply_free(struct reply *r);

/**
 * A transparent socket bound to local and connected to peer, non-blocking.
 * Returns the fd, -EADDRINUSE when a local service owns local (use the raw
 * path), or another negative errno.
 */
int reply_open_connected(struct reply *r, const struct addr *local, const struct addr *peer);

/** Close a socket from reply_open_connected. */
void reply_close_connected(struct reply *r, int fd, const struct addr *local);

/** Send (or queue) one datagram from `from` to `to` through the cache, else raw; 0 or -errno. */
int reply_sendto(struct reply *r, const struct addr *from, const struct addr *to,
		 const void *buf, size_t len);

/**
 * Send (or queue, as reply_sendto does) one datagram on fd, a socket of the
 * caller's that stays open until reply_flush(); 0 or -errno.
 */
int reply_send_fd(struct reply *r, int fd, const struct addr *to, const void *buf, size_t len);

/** Send what is queued now (before a socket that replies were queued on closes; NULL: nothing). */
void reply_flush(struct reply *r);

/** Send one datagram with hand-built headers (source from, any address); 0 or -errno. */
int reply_raw(struct reply *r, const struct addr *from, const struct addr *to, const void *buf,
	      size_t len);

/** Close cached sockets idle for idle_ms, and forget old "owned locally" verdicts. */
void reply_sweep(struct reply *r, uint64_t now_ms, uint64_t idle_ms);

/**
 * Tell client that its datagram to dst was refused: an ICMP (ICMPv6) port
 * unreachable from dst quoting the datagram's headers and payload start,
 * so the client's connected socket fails at once. 0 or -errno.
 */
int reply_port_unreachable(struct reply *r, const struct addr *client, const struct addr *dst,
			   const void *payload, size_t len);

/** Build that ICMP error packet into out (for tests); length or -errno. */
ssize_t reply_build_unreach(const struct addr *client, const struct addr *dst, const void *payload,
			    size_t len, uint8_t *out, size_t outlen);

/** Build an IPv4 or IPv6 + UDP packet into out (for the raw path and its tests). */
ssize_t reply_build_udp(const struct addr *from, const struct addr *to, const void *payload,
			size_t len, uint8_t *out, size_t outlen);

#endif
