/* list_geosite.h - geosite.dat (protobuf GeoSiteList) decoder feeding match
 * builders. */
#ifndef LIST_GEOSITE_H
#define LIST_GEOSITE_H

#include <stddef.h>
#include <stdint.h>

#include "list_text.h"
#include "match.h"

/** One list wanted from geosite.dat: geosite:CODE[@ATTR]. */
struct geosite_want {
	const char *code; /**< country_code, compared case-insensitively ("cn" finds "CN") */
	const char *attr; /**< NULL: every entry; else only entries carrying this attribute */
	uint32_t tag;	  /**< tag given to every entry added for this want */
};

/** What a decode saw (whole file, wanted or not). */
struct geosite_stats {
	size_t lists;	   /**< GeoSite entries */
	size_t domains;	   /**< Domain entries (of every list) */
	size_t by_type[4]; /**< Domain entries by type: Plain, Regex, RootDomain, Full */
	size_t attributes; /**< Domain.attribute entries */
	size_t added;	   /**< entries added to the builders */
	size_t bad;	   /**< wanted entries rejected (bad value or type), each warned */
};

/** Read geosite.dat at path (one read into memory, freed before return) and
 * add the entries of every wanted list to builders[i] (caller-created, one
 * per want; several wants may name the same code). Domain types: Plain(0,
 * also when the field is absent) -> MATCH_KEYWORD, Regex(1) -> MATCH_REGEXP,
 * RootDomain(2) -> MATCH_DOMAIN, Full(3) -> MATCH_FULL. Only the wanted lists
 * are decoded in full. Returns 0; -ENOENT (a wanted code is not in the file,
 * named in a warning), -EBADMSG (malformed file), -errno (unreadable), -ENOMEM. */
int geosite_dat_load(const char *path, const struct geosite_want *want, size_t nwant,
		     struct match_builder **builders, list_warn_fn warn, void *ctx);

/** geosite_dat_load() on a buffer; name is used in warnings; st may be NULL. */
int geosite_dat_parse_buf(const char *name, const uint8_t *buf, size_t len,
			  const struct geosite_want *want, size_t nwant,
			  struct match_builder **builders, struct geosite_stats *st,
			  list_warn_fn warn, void *ctx);

#endif
