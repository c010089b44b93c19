/* dns_svcb.h - rewriting the SVCB/HTTPS records of an answer (RFC 9460)
 * for the no-aaaa and no-ech rule options. */
#ifndef DNS_SVCB_H
#define DNS_SVCB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** SvcParamKeys removed on request. */
#define DNS_SVCB_ECH 5
#define DNS_SVCB_IPV6HINT 6

/**
 * Remove the ech (when ech) and ipv6hint (when ipv6hint) parameters from
 * every SVCB and HTTPS record of the DNS message msg[0..len), leaving the
 * other parameters and records as they were. The result (at most cap bytes)
 * replaces msg. Returns the new length, or len when nothing was removed or
 * the message could not be rewritten safely (it is then left as it was).
 */
size_t dns_svcb_strip(uint8_t *msg, size_t len, size_t cap, bool ech, bool ipv6hint);

#endif
