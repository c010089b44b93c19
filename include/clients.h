/* clients.h - process-wide per-client counters: how many DNS queries a
 * client has in flight and how many DNS TCP connections it holds, so caps
 * hold across every worker (the kernel spreads one client's source ports
 * over the workers' SO_REUSEPORT sockets). A client is an IPv4 address, or
 * an IPv6 /64: a host rotating its privacy addresses stays one client.
 * Sharded hash under one mutex per shard, SipHash-keyed (random key), an
 * entry per client that has something counted, freed when all its counts
 * are back to 0. Thread-safe. */
#ifndef CLIENTS_H
#define CLIENTS_H

#include "addr.h"

enum clients_kind { CLIENTS_DNS_INFLIGHT, CLIENTS_DNS_TCP, CLIENTS_FLOWS, CLIENTS_KINDS };

struct clients;

/** A table with room for about max_clients entries; NULL when out of memory. */
struct clients *clients_new(size_t max_clients);
void clients_free(struct clients *c);

/**
 * Count one more of kind for a's client when it holds fewer than cap:
 * true. False (nothing counted) at the cap, or when the table is full.
 */
bool clients_take(struct clients *c, const struct addr *a, enum clients_kind kind, unsigned cap);

/** Give back one of kind taken for a's client. */
void clients_put(struct clients *c, const struct addr *a, enum clients_kind kind);

/** What a's client holds of kind now. */
unsigned clients_count(struct clients *c, const struct addr *a, enum clients_kind kind);

/** Clients with an entry now (for tests and metrics). */
size_t clients_entries(struct clients *c);

#endif
