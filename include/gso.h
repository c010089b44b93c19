/* gso.h - send a batch of datagrams on a connected UDP socket, runs of
 * equal-size ones as one UDP GSO send. */
#ifndef SLUICE_GSO_H
#define SLUICE_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* At most this many datagrams in one GSO send (the kernel's limit,
 * UDP_MAX_SEGMENTS, has been 64 since it came in). */
#define GSO_MAX_SEGS 64

/**
 * Send iov[0..n) on the connected UDP socket fd, in order, each iovec one
 * datagram. A run of datagrams of one size (the last of a run may be
 * shorter) goes down the stack as one packet that is split into the same
 * datagrams on its way out (UDP_SEGMENT): one route lookup, one pass
 * through netfilter, for the whole run. *off (per socket, start false)
 * turns that off for good once the kernel refuses it for this socket (an
 * egress device without checksum offload, a datagram above the path MTU);
 * the datagrams refused are then sent one by one, none is lost to it.
 * Returns how many datagrams went. A send that fails with an ICMP error
 * about an earlier datagram goes again; one that fails twice is skipped
 * and the rest go; a full socket buffer stops the batch.
 */
unsigned gso_send(int fd, const struct iovec *iov, unsigned n, bool *off);

/** Let the kernel hand fd a run of one flow's datagrams as one read (UDP
 * GRO: a NIC's GRO, or a GSO packet from a local sender); best effort. */
void gso_rx_enable(int fd);

/* The datagrams of one read: one, or the run GRO coalesced. */
struct gso_rx {
	uint8_t *p;
	size_t left, seg;
	bool more;
};

/** Start on a read of len bytes into buf, m its header (control data). */
void gso_rx_start(struct gso_rx *r, const struct msghdr *m, void *buf, size_t len);

/** The read's next datagram into *out; false when there is none left. */
bool gso_rx_next(struct gso_rx *r, struct iovec *out);

/** How many datagrams the read holds (1 unless GRO coalesced a run), before the first gso_rx_next. */
size_t gso_rx_count(const struct gso_rx *r);

#endif
