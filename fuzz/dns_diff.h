/* dns_diff.h - differential check of the dns_msg parsers against ldns, for
 * the DNS fuzz targets. Each function parses the message again with ldns,
 * and traps (__builtin_trap, so libFuzzer reports it) on any difference
 * that is not in the list of expected differences in dns_diff.c. */
#ifndef DNS_DIFF_H
#define DNS_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "dns_msg.h"

/** Trap when x is false, naming the check on stderr first. */
#define DIFF_CHECK(x) dns_diff_check((x), #x, __FILE__, __LINE__)
void dns_diff_check(bool ok, const char *what, const char *file, int line);

/** Check rc = dns_query_parse(pkt, len, q) and q against ldns. */
void dns_diff_query(const uint8_t *pkt, size_t len, int rc, const struct dns_query *q);

/** Check rc = dns_answer_inspect(pkt, len, ai) and ai against ldns. */
void dns_diff_answer(const uint8_t *pkt, size_t len, int rc, const struct dns_answer_info *ai);

/**
 * Check an answer orig (accepted by dns_answer_inspect) against copy, which
 * is orig after dns_rewrite_ttls(copy, len, ai->ttl_off, n, elapsed_s,
 * min_ttl, max_ttl): ldns reads the same RRs from both, each of the first n
 * TTLs (OPT aside) in copy is the one dns_msg.h promises for the TTL in
 * orig, and the others are unchanged.
 */
void dns_diff_rewrite(const uint8_t *orig, const uint8_t *copy, size_t len, size_t n,
		      uint32_t elapsed_s, uint32_t min_ttl, uint32_t max_ttl);

/** Check that ldns reads every RR of an answer (OPT aside) with TTL ttl. */
void dns_diff_all_ttls(const uint8_t *pkt, size_t len, uint32_t ttl);

#endif
