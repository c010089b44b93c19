/* iplist.h - sets of IPv4 and IPv6 addresses given as prefixes (the
 * `ip-list` directive): built once from CIDR lists or geoip.dat, then
 * read by every worker. A set answers one question, "is this address in
 * it?", so overlapping, nested and adjacent prefixes are merged into
 * disjoint ranges and longest-prefix matching is never needed. */
#ifndef IPLIST_H
#define IPLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iplist_builder;
struct iplist;

/** A new empty builder; NULL when out of memory. */
struct iplist_builder *iplist_builder_new(void);

/** Free a builder that was not finished (NULL is fine). */
void iplist_builder_free(struct iplist_builder *b);

/**
 * Add the prefix addr/plen: family AF_INET (addr: 4 bytes) or AF_INET6
 * (16 bytes), network byte order; bits past plen are ignored. Returns 0,
 * -EINVAL (family, or plen over 32 / 128), -ENOMEM.
 */
int iplist_builder_add(struct iplist_builder *b, int family, const void *addr, unsigned plen);

/** Add every address of src (of both families). 0 or -ENOMEM. */
int iplist_builder_add_set(struct iplist_builder *b, const struct iplist *src);

/**
 * Add every address NOT in src, of both families (a family src has
 * nothing of adds all of it): geoip.dat's reverse_match. 0 or -ENOMEM.
 */
int iplist_builder_add_inverse(struct iplist_builder *b, const struct iplist *src);

/** Prefixes added so far (before merging). */
size_t iplist_builder_count(const struct iplist_builder *b);

/**
 * Sort and merge into a set, in one allocation. Consumes b (also when it
 * fails). NULL when out of memory.
 */
struct iplist *iplist_builder_finish(struct iplist_builder *b);

/** Free a set (NULL is fine). */
void iplist_free(struct iplist *l);

/** Is addr (family AF_INET: 4 bytes, AF_INET6: 16, network order) in l?
 * False for another family and for a NULL l. Read-only: safe from any
 * number of threads. */
bool iplist_has(const struct iplist *l, int family, const void *addr);

/** iplist_has() for an IPv4 address in host byte order. */
bool iplist_has4(const struct iplist *l, uint32_t addr);

/** What a set holds. */
struct iplist_stats {
	size_t prefixes;	 /**< prefixes added to its builder */
	size_t ranges4, ranges6; /**< disjoint ranges after merging */
	size_t bytes;		 /**< memory the set holds */
};

void iplist_stats(const struct iplist *l, struct iplist_stats *st);

#endif
