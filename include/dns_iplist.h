/* dns_iplist.h - ip-lists in the DNS service: the `ip-list`, `geoip` and
 * `bogus-nxdomain` directives, and the checks the upstream answer path
 * makes with them (accept-ip, bogus-nxdomain). */
#ifndef DNS_IPLIST_H
#define DNS_IPLIST_H

#include "dns_conf.h"
#include "dns_msg.h"

/** Longest ip-list name (pending queries carry names, not pointers). */
#define DNS_IPLIST_NAME_MAX 64

/* Directive parsers (cfg_dns.c's table). */
int dns_iplist_p_list(struct cfg_ctx *ctx, int argc, char **argv);
int dns_iplist_p_geoip(struct cfg_ctx *ctx, int argc, char **argv);
int dns_iplist_p_bogus(struct cfg_ctx *ctx, int argc, char **argv);

/** Once every file is read: load the geoip codes (one pass over geoip.dat)
 * and finish every list's set. 0, or -1 with FILE:LINE in ctx. */
int dns_iplist_resolve(struct cfg_ctx *ctx, struct dns_conf *d);

/** Free what the ip-lists of d hold (sets, names, geoip, bogus). */
void dns_iplist_free_all(struct dns_conf *d);

/** The ip-list called name, or NULL. */
const struct dns_iplist *dns_iplist_find(const struct dns_conf *d, const char *name);

/**
 * accept-ip: is this upstream answer trusted by l? Yes when the first A or
 * AAAA address it gives for the name asked (dns_answer_addrs: the
 * question's name and the CNAMEs it leads to, in order) is in l, and when
 * it gives none (NXDOMAIN, NODATA, a CNAME alone, other types): then there
 * is no address to judge.
 */
bool dns_iplist_trusted(const struct dns_iplist *l, const uint8_t *ans, size_t len);

/** bogus-nxdomain: does this NOERROR answer (inspected into ai) give, for
 * the name asked, an A or AAAA address (of its first 64) in one of d's
 * bogus-nxdomain lists? */
bool dns_iplist_bogus(const struct dns_conf *d, const uint8_t *ans, size_t len,
		      const struct dns_answer_info *ai);

#endif
