/* relay.h - the plain relay service and the marked upstream sockets it
 * and the long-flow services (quic, ntp) share. */
#ifndef RELAY_H
#define RELAY_H

#include <sys/uio.h>
#include "addr.h"

struct worker;
struct flow;

/** A UDP socket marked with SO_MARK mark, connected to dst, non-blocking; fd or -errno. */
int relay_upstream_open(const struct addr *dst, uint32_t mark);

/**
 * Per-flow relay state: an upstream socket connected to the original
 * destination (or another server) whose answers go back to the client.
 */
struct relay_leg;

/** Open a leg toward dst with mark, delivering answers to the flow's client. */
struct relay_leg *relay_leg_open(struct worker *w, struct flow *f, const struct addr *dst,
				 uint32_t mark);

/**
 * Called for each answer a leg receives before it goes to the client;
 * return false to drop it. The flow is held while it runs.
 */
typedef bool (*relay_filter_fn)(struct worker *w, struct flow *f, void *arg, const uint8_t *data,
				size_t len);

/** Put a filter on a leg (NTP checks answers, QUIC counts them). */
void relay_leg_set_filter(struct relay_leg *l, relay_filter_fn fn, void *arg);

/** Send one client datagram up the leg; 0 or -errno (counted). */
int relay_leg_send(struct worker *w, struct relay_leg *l, const uint8_t *data, size_t len);

/** Send several client datagrams up the leg with sendmmsg, in order; counted. */
void relay_leg_send_many(struct worker *w, struct relay_leg *l, const struct iovec *iov,
			 unsigned n);

/** Close a leg; NULL is fine. */
void relay_leg_close(struct relay_leg *l);

#endif
