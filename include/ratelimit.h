/* ratelimit.h - per-client token buckets (NTP requests, DNS queries, relayed
 * datagrams). Single-threaded: an owner shared by workers puts it under a
 * lock. */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit;

/**
 * A rate limiter allowing each client rate_per_s requests a second on
 * average and burst at once. slots (rounded up to a power of two, at least 4)
 * bounds the memory: clients hash (SipHash, random key) into sets of 4 slots,
 * and a new client takes an empty slot of its set or the one seen least
 * recently. A client starts with a full bucket. A client is an IPv4 address,
 * and an IPv6 address, or its /64 when v6_prefix64 (a host rotating privacy
 * addresses stays one client). Returns NULL when an argument is 0, slots >
 * 2^24, or out of memory.
 */
struct ratelimit *ratelimit_new(unsigned rate_per_s, unsigned burst, size_t slots,
				 bool v6_prefix64);

/**
 * Take one token from client's bucket at monotonic time now_ms. Keyed by the
 * IP only (port ignored; IPv4-mapped IPv6 counts as IPv4). False when the
 * bucket is empty, or client is NULL or neither AF_INET nor AF_INET6.
 */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *client, uint64_t now_ms);

/** Free a rate limiter; NULL is fine. */
void ratelimit_free(struct ratelimit *rl);

#endif
