/* dns_up.h - one DNS upstream group's UDP/TCP transport: the client's raw
 * query goes to the group's servers in order (c-ares 1.18 on the worker's
 * libevent loop), marked with SO_MARK, under one hard timeout per query. */
#ifndef DNS_UP_H
#define DNS_UP_H

#include "addr.h"

struct event_base;

/**
 * One upstream group's runtime, owned by one worker thread (one event_base):
 * one c-ares channel per run of same-transport servers. Not thread-safe,
 * except dns_up_is_own().
 */
struct dns_up;

/** One server of a group: udp://IP[:port] (TC answers retried over TCP) or tcp://IP[:port]. */
struct dns_up_server {
	struct addr addr;
	bool tcp;
};

/** Timeout used when dns_up_new() gets timeout_ms 0. */
#define DNS_UP_DEFAULT_TIMEOUT_MS 2500

/** Largest timeout_ms dns_up_new() accepts. */
#define DNS_UP_MAX_TIMEOUT_MS 60000

/** Most servers in one group. */
#define DNS_UP_MAX_SERVERS 16

/**
 * Most queries one dns_up holds at once (callbacks owed plus queries c-ares
 * still tracks after our timeout); dns_up_send() returns -EAGAIN beyond it.
 * Keeps the 16-bit ID space at most a quarter full.
 */
#define DNS_UP_MAX_INFLIGHT 16384

/**
 * Result of one query. status 0: the answer (any rcode except what c-ares
 * fails over on, see dns_up_send()) is in answer/len, valid only during the
 * call, with the ID dns_up chose: the caller restores the client's ID.
 * -ETIMEDOUT: no answer within timeout_ms; -ECONNREFUSED: every server
 * refused, was unreachable, could not be marked, or answered
 * SERVFAIL/NOTIMP/REFUSED; -EIO: other failures; -ECANCELED: dns_up_free()
 * ran while the query was pending. answer is NULL and len 0 unless status is 0.
 */
typedef void (*dns_up_cb)(void *arg, int status, const uint8_t *answer, size_t len);

/**
 * Parse "udp://IP[:port]", "tcp://IP[:port]" or a bare "IP[:port]" (UDP);
 * IPv6 in brackets when a port follows; port defaults to 53. 0 or -EINVAL.
 */
int dns_up_server_parse(const char *s, struct dns_up_server *out);

/**
 * Create a group's transport on base. servers (1..DNS_UP_MAX_SERVERS) are
 * tried in the given order, never rotated; every socket toward them carries
 * SO_MARK mark (0: no mark). timeout_ms bounds each query (0: default).
 * Does not read /etc/resolv.conf. NULL on failure with a message in err.
 */
struct dns_up *dns_up_new(struct event_base *base, const struct dns_up_server *servers, size_t n,
			  uint32_t mark, unsigned timeout_ms, char *err, size_t errlen);

/**
 * Send a complete DNS query (the client's message, EDNS included, 12..65535
 * bytes). dns_up gives it a fresh random ID (c-ares 1.18 would keep the
 * client's); the rest of the bytes go out unchanged. Servers are tried in
 * order, two rounds, on timeouts, errors and SERVFAIL/NOTIMP/REFUSED answers;
 * a UDP answer with TC set or over 512 bytes is fetched again over TCP.
 * Returns 0 when accepted: cb then runs exactly once, never from inside this
 * call, within timeout_ms (plus loop latency). Returns -EINVAL (bad
 * arguments), -ENOMEM, -EAGAIN (DNS_UP_MAX_INFLIGHT reached) or -ESHUTDOWN
 * (called from a callback during dns_up_free()): cb is then never called.
 */
int dns_up_send(struct dns_up *u, const uint8_t *query, size_t len, dns_up_cb cb, void *arg);

/** Number of accepted queries whose callback has not run yet. */
size_t dns_up_inflight(const struct dns_up *u);

/**
 * Free u: every pending callback runs now with -ECANCELED (from inside this
 * call), then the sockets close. Safe from inside a dns_up_cb of u (the
 * channels are then torn down when c-ares returns). NULL is fine.
 */
void dns_up_free(struct dns_up *u);

/**
 * True when local (IP and port) is the local address of an open upstream
 * socket of any dns_up in the process (any worker, any group): a query from
 * there looped back into sluice. Thread-safe (a small table under a mutex).
 */
bool dns_up_is_own(const struct addr *local);

/**
 * Copy the descriptors of the sockets u has open now (at most max) into fds
 * and return how many are open. For tests and diagnostics; the descriptors
 * stay owned by c-ares.
 */
size_t dns_up_sockets(const struct dns_up *u, int *fds, size_t max);

#endif
