/* dns_zone.h - local zones (`local-zone FILE`): a zone file read with ldns
 * at config load, held read-only beside the config, and answered
 * authoritatively (AA) for every name at or below its apex. */
#ifndef DNS_ZONE_H
#define DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dns_msg.h"

struct dns_zone;

/** Most records one zone file may hold (the SOA included). */
#define DNS_ZONE_MAX_RRS 100000
/** Most names (owners and the empty non-terminals between them and the apex). */
#define DNS_ZONE_MAX_NAMES 1000000
/** CNAMEs followed inside the zone for one answer. */
#define DNS_ZONE_MAX_CHAIN 8

/** Where and why a zone file was refused. */
struct dns_zone_err {
	unsigned line; /* 0: the file as a whole */
	bool open;     /* the file could not be opened or is not a regular file */
	char msg[256];
};

/**
 * Read a zone file (RFC 1035 master format through ldns: $ORIGIN, $TTL,
 * any record type; no $INCLUDE). The apex is the owner of its SOA, which
 * must be there; every record must be at or below the apex, in the SOA's
 * class; a CNAME may not share its name with other data (RRSIG, NSEC
 * aside). Identical records are kept once. NULL with err filled on any
 * problem (a file it cannot open: line 0 and the reason).
 */
struct dns_zone *dns_zone_load(const char *path, struct dns_zone_err *err);

/** The same from an open, seekable stream (a second pass finds the line of
 * a record-level error). */
struct dns_zone *dns_zone_load_fp(FILE *fp, struct dns_zone_err *err);

/** Free a zone; NULL is fine. */
void dns_zone_free(struct dns_zone *z);

/** The apex in presentation form without the trailing dot ("lan"), into out
 * (DNS_NAME_PRES_MAX bytes). */
void dns_zone_apex_text(const struct dns_zone *z, char *out);

/** Records and names (empty non-terminals included) held. */
size_t dns_zone_records(const struct dns_zone *z);
size_t dns_zone_names(const struct dns_zone *z);

/**
 * The zone of zones[0..n) that q belongs to: its name is the apex or below
 * it (in any class: a LAN name never goes upstream); the longest apex wins.
 * NULL when none.
 */
const struct dns_zone *dns_zone_find(struct dns_zone *const *zones, size_t n,
				     const struct dns_query *q);

/**
 * Answer q (parsed from pkt, in zone z) into out, AA set: the records of
 * the name and type (every type for ANY); a CNAME at the name answers any
 * other type and is followed inside the zone (up to DNS_ZONE_MAX_CHAIN);
 * a name that exists without the type (an empty non-terminal too) is
 * NODATA, a name that does not is NXDOMAIN, both with the zone's SOA in the
 * authority section (TTL min(SOA TTL, MINIMUM), RFC 2308); a missing name
 * is answered from the wildcard of its closest encloser when there is one
 * (RFC 4592). A class other than the zone's (or ANY) is REFUSED. Over
 * q->limit: TC=1 with the question only. Returns the length or -ENOSPC.
 */
int dns_zone_answer(const struct dns_zone *z, const struct dns_query *q, const uint8_t *pkt,
		    uint8_t *out, size_t outlen);

#endif
