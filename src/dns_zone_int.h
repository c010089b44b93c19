/* dns_zone_int.h - the in-memory form of a local zone, shared by its
 * loader (dns_zone.c) and its answers (dns_zone_answer.c). Internal to src/.
 *
 * Names are lowercase uncompressed wire form, kept in one blob with the
 * RDATA. names[] is sorted (name_cmp) for binary search and holds every
 * owner and every empty non-terminal between an owner and the apex (nrr 0);
 * rrs[] is grouped by name in the same order, by type within a name. */
#ifndef DNS_ZONE_INT_H
#define DNS_ZONE_INT_H

#include "dns_zone.h"

struct zone_rr {
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint32_t rdata; /* offset in blob */
};

struct zone_name {
	uint32_t off; /* offset of the wire name in blob */
	uint16_t len; /* its length, terminating zero included */
	bool cname;   /* holds a CNAME */
	uint32_t rr0, nrr;
};

struct dns_zone {
	uint8_t apex[DNS_NAME_WIRE_MAX];
	size_t apex_len;
	uint16_t klass;
	uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM) */
	size_t soa;	  /* the SOA's index in rrs */
	struct zone_name *names;
	size_t n_names;
	struct zone_rr *rrs;
	size_t n_rrs;
	uint8_t *blob;
	size_t blob_len;
};

/** Order of names: by length, then bytes (any total order serves bsearch). */
static inline int zone_name_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al != bl)
		return al < bl ? -1 : 1;
	for (size_t i = 0; i < al; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/** The index of name lw (lowercase wire, len bytes) in z->names, or -1. */
long zone_find(const struct dns_zone *z, const uint8_t *lw, size_t len);

/** True when wire name lw (len bytes) is z's apex or below it. */
bool zone_under(const struct dns_zone *z, const uint8_t *lw, size_t len);

#endif
