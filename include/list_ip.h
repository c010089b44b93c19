/* list_ip.h - the address list formats behind `ip-list`: CIDR text (one
 * prefix a line, chnroute style) and v2ray's geoip.dat, feeding iplist
 * builders (iplist.h). Bad entries are reported and skipped, never fatal. */
#ifndef LIST_IP_H
#define LIST_IP_H

#include <stddef.h>
#include <stdint.h>

#include "iplist.h"
#include "list_text.h"

/** What a CIDR text parse saw; every parse adds to it (zero it first). */
struct list_cidr_stats {
	size_t lines;	 /**< lines read */
	size_t entries;	 /**< prefixes added */
	size_t bad;	 /**< malformed lines, each reported through warn */
	size_t comments; /**< blank and comment lines */
};

/**
 * Parse CIDR text: one IPv4 or IPv6 prefix a line ("1.0.1.0/24",
 * "2400:da00::/32"), or a bare address (/32, /128); `#` starts a comment
 * anywhere; blank lines, CRLF and a UTF-8 BOM are fine. Bits past the
 * prefix length are ignored (1.2.3.4/24 is 1.2.3.0/24). Anything else on
 * a line (a second word, a zone, a netmask, a stray NUL) makes it bad: it
 * is reported as name:LINE through warn and skipped. st may be NULL.
 * Returns 0, or -ENOMEM.
 */
int list_cidr_parse_buf(const char *name, const char *buf, size_t len, struct iplist_builder *b,
			struct list_cidr_stats *st, list_warn_fn warn, void *ctx);

/** list_cidr_parse_buf() on the file at path; -errno when it cannot be read. */
int list_cidr_load(const char *path, struct iplist_builder *b, struct list_cidr_stats *st,
		   list_warn_fn warn, void *ctx);

/** One code wanted from geoip.dat: its CIDRs go to b. */
struct geoip_want {
	const char *code; /**< country_code, compared case-insensitively ("cn" finds "CN") */
	struct iplist_builder *b;
};

/** What a geoip.dat decode saw (the whole file). */
struct geoip_stats {
	size_t codes;	 /**< GeoIP entries */
	size_t cidrs;	 /**< CIDR entries (of every code) */
	size_t added;	 /**< CIDRs added to the builders */
	size_t reversed; /**< wanted entries with reverse_match set (added inverted) */
	size_t bad;	 /**< wanted CIDRs rejected (address not 4 or 16 bytes, prefix too long) */
};

/**
 * Decode a geoip.dat (protobuf GeoIPList, v2ray/Xray):
 *
 *   GeoIPList { repeated GeoIP entry = 1; }
 *   GeoIP     { string country_code = 1; repeated CIDR cidr = 2; bool reverse_match = 3; }
 *   CIDR      { bytes ip = 1; uint32 prefix = 2; }
 *
 * and add every wanted code's CIDRs to its builder. An entry with
 * reverse_match stands for every address outside its CIDRs (both
 * families), as in Xray; that is what is added. A code present twice adds
 * both. Returns 0; -ENOENT (a wanted code is not in the file, named in a
 * warning), -EBADMSG (malformed, where in a warning), -ENOMEM, -EINVAL.
 * st may be NULL.
 */
int geoip_dat_parse_buf(const char *name, const uint8_t *buf, size_t len,
			const struct geoip_want *want, size_t nwant, struct geoip_stats *st,
			list_warn_fn warn, void *ctx);

/** geoip_dat_parse_buf() on the file at path (read whole, freed before return). */
int geoip_dat_load(const char *path, const struct geoip_want *want, size_t nwant,
		   struct geoip_stats *st, list_warn_fn warn, void *ctx);

#endif
