/* ownsock.h - the process-wide registry of the local addresses of sluice's
 * own upstream sockets (DNS per-query sockets, TCP connections), so that a
 * query that comes back in from one of them (a routing loop: the mark that
 * keeps sluice's own traffic out of the ruleset is missing) is recognised
 * and refused. Sockets come and go once per upstream query, so adding,
 * removing and looking up are lock-free bit operations on the local port;
 * the few local IP addresses those sockets use are kept beside (under a
 * lock, written rarely) so that a LAN client that happens to use the same
 * source port is never mistaken for sluice. Thread-safe.
 *
 * It also remembers, for OWN_RECENT_MS to twice that, which local port
 * talked to which peer on relay legs that have closed: the peer may still
 * send there (late answers, the rest of a stream), and a new leg the
 * kernel gives that port, toward that peer, would hand it to its own
 * client (another client's datagrams). relay.c takes another port then. */
#ifndef OWNSOCK_H
#define OWNSOCK_H

#include "addr.h"

struct ownsock;

/** Where a socket was registered, to unregister it. */
struct ownsock_tok {
	uint16_t port;
	uint8_t slot; /* 0: none registered; else family/protocol bitmap + 1 */
};

struct ownsock *ownsock_new(void);
void ownsock_free(struct ownsock *o);

/**
 * Register the connected (or bound) socket fd of protocol proto
 * (IPPROTO_UDP or IPPROTO_TCP): one getsockname(). tok receives what
 * ownsock_del() needs. 0 or -errno (tok->slot is then 0).
 */
int ownsock_add(struct ownsock *o, int fd, int proto, struct ownsock_tok *tok);

/** Unregister (before or after closing the socket); a zero tok is fine. */
void ownsock_del(struct ownsock *o, struct ownsock_tok *tok);

/** True when a (IP and port) is the local address of a registered socket of proto. */
bool ownsock_has(struct ownsock *o, const struct addr *a, int proto);

#define OWN_RECENT_MS 10000

/** ownsock_del(), remembering that tok's port talked to peer (closing at now_ms). */
void ownsock_retire(struct ownsock *o, struct ownsock_tok *tok, const struct addr *peer,
		    uint64_t now_ms);

/**
 * True when tok's port (a registered socket) talked to peer on a socket
 * retired in the last OWN_RECENT_MS at least (false positives are rare,
 * false negatives none within that time).
 */
bool ownsock_recent(struct ownsock *o, const struct ownsock_tok *tok, const struct addr *peer,
		    uint64_t now_ms);

#endif
