/* resolve.h - host names in the config (`upstream NAME udp://dns.example`,
 * `ntp-redirect pool.ntp.example`) resolved with c-ares on the main
 * thread's loop: at start (sluice waits a bounded time for the first
 * answers), and again when their TTL runs out. Lookups go to the servers
 * of the `bootstrap` group (by default the first group that lists only
 * addresses), or to /etc/resolv.conf when there is none, from sockets
 * carrying `mark`. A name that fails keeps its last addresses and is asked
 * again 30 s later. Workers read the current addresses (thread-safe). */
#ifndef RESOLVE_H
#define RESOLVE_H

#include "addr.h"

struct event_base;
struct cfg;
struct resolve;

/** Addresses kept per name (the first ones c-ares returns, both families). */
#define RESOLVE_MAX_ADDRS 8

/** A resolver on base (main thread). NULL when out of memory. */
struct resolve *resolve_new(struct event_base *base);
void resolve_free(struct resolve *r);

/**
 * Take the names config c uses and its bootstrap servers; names no longer
 * used are forgotten, new ones looked up now, known ones keep their
 * addresses. Main thread only. 0 or -errno (c-ares could not start).
 */
int resolve_config(struct resolve *r, const struct cfg *c);

/** Run the loop until every name has had a first answer (or failure), at most ms. */
void resolve_wait(struct resolve *r, unsigned ms);

/**
 * The current addresses of host (as written in the config), each with
 * port, into out[0..max); how many (0: not resolved yet, or unknown).
 * Thread-safe.
 */
size_t resolve_get(struct resolve *r, const char *host, uint16_t port, struct addr *out,
		   size_t max);

/** True when s is a host name sluice would resolve (not an address). */
bool resolve_is_name(const char *s);

#endif
