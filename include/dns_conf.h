/* dns_conf.h - the DNS service's settings: upstream groups, hosts, rules
 * (their matchers are the policy's: policy.h) and cache limits. Built by
 * the `dns` config module, read-only afterwards, freed with the config. */
#ifndef DNS_CONF_H
#define DNS_CONF_H

#include <netinet/in.h>
#include "addr.h"
#include "cfg.h"
#include "dns_types.h"
#include "dns_up.h"
#include "nftset.h"

struct list_hosts;
struct dns_zone;
struct policy_matcher;
struct iplist;
struct iplist_builder;

#define DNS_MAX_SERVERS 8
#define DNS_MAX_ADDRS 8
#define DNS_MAX_LISTEN 16

/** `upstream NAME URL...` */
/** How a group picks its servers (`upstream NAME policy=...`). */
enum dns_policy { DNS_POLICY_ORDER, DNS_POLICY_PARALLEL, DNS_POLICY_FASTEST };

/** What a group does with EDNS Client Subnet (`upstream NAME ecs=...`). */
enum dns_ecs_mode { DNS_ECS_PASS, DNS_ECS_STRIP, DNS_ECS_SET };

/** Bytes of an ECS option: code, length, family, source and scope prefix, an IPv6 address. */
#define DNS_ECS_OPT_MAX (4 + 4 + 16)

struct dns_group {
	char *name;
	enum dns_policy policy;
	enum dns_ecs_mode ecs_mode;
	uint8_t ecs_opt[DNS_ECS_OPT_MAX]; /* DNS_ECS_SET: the whole option */
	size_t ecs_len;
	bool leak_check; /* a domestic group: foreign names sent here are counted */
	struct dns_up_server servers[DNS_MAX_SERVERS];
	/* a host name to resolve at run time (servers[i] then holds its port
	 * and transport only), or NULL */
	const char *hosts[DNS_MAX_SERVERS];
	struct dns_up_tls *tls[DNS_MAX_SERVERS]; /* owned, for tls:// and https:// servers */
	struct dns_up_crypt *crypt[DNS_MAX_SERVERS]; /* owned, for DNSCrypt servers */
	size_t n;
	bool has_hosts;
	const char *file;
	unsigned line;
	unsigned index; /* position in dns_conf.groups: workers key their channels by it */
};

/** `ip-list NAME SOURCE...` (dns_iplist.c) */
struct dns_iplist {
	char *name;
	struct iplist *set;	    /* once the config is read (NULL before) */
	struct iplist_builder *b;   /* while it is read: geoip codes come last */
	char **codes;		    /* geoip:CODE sources, loaded in one pass at the end */
	size_t n_codes;
	const char *file; /* where the ip-list directive is */
	unsigned line;
};

enum dns_atype { DNS_A_FORWARD, DNS_A_PASSTHROUGH, DNS_A_BLOCK, DNS_A_ADDRESS, DNS_A_HOSTS };
enum dns_block { DNS_BLOCK_NXDOMAIN, DNS_BLOCK_REFUSED, DNS_BLOCK_ZERO, DNS_BLOCK_DROP };

/** Addresses for the `address` action. */
struct dns_addrs {
	struct in_addr v4[DNS_MAX_ADDRS];
	struct in6_addr v6[DNS_MAX_ADDRS];
	size_t n4, n6;
};

/** `dns-rule MATCHER ACTION [ARGS] [OPTIONS]` */
struct dns_rule {
	const char *file;
	unsigned line;
	const struct policy_matcher *m; /* owned by the config's policy (policy.h) */
	enum dns_atype atype;
	struct dns_group *group;
	enum dns_block block;
	struct dns_addrs addrs;
	/* options after the action (dns_ruleopt.c) */
	bool no_aaaa;  /* AAAA answered NODATA, ipv6hint removed from HTTPS/SVCB */
	bool no_ech;   /* ech removed from HTTPS/SVCB answers */
	int ttl;       /* ttl=N for address/hosts answers; -1: block-ttl */
	uint8_t nftset[NFTSET_MAX_PER_RULE]; /* nftset SETS: indices into dns_conf.nftsets */
	uint8_t n_nftset;
	/* accept-ip LIST else GROUP: the group's answer only when its first
	 * address is in LIST, else GROUP's (both owned by dns_conf) */
	const struct dns_iplist *accept_ip;
	const struct dns_group *accept_else;
};

struct dns_conf {
	struct dns_group *groups;
	size_t n_groups;
	struct dns_rule *rules;
	size_t n_rules;
	char **hosts_files;
	size_t n_hosts_files;
	struct list_hosts *hosts; /* merged hosts files, may be NULL */
	unsigned timeout_ms;
	unsigned cache_size;
	unsigned min_ttl, max_ttl;
	unsigned block_ttl;
	bool serve_stale;
	bool prefetch;
	bool x20;		/* dns-0x20 */
	unsigned rate, burst;	/* dns-rate-limit per client (0: off) */
	unsigned max_udp;	/* max-udp-size */
	unsigned inflight_per_client; /* dns-inflight-per-client */
	unsigned tcp_max;	/* dns-tcp-max-connections */
	unsigned tcp_per_client; /* dns-tcp-connections-per-client */
	unsigned tcp_idle_s;	/* dns-tcp-idle-timeout */
	char *bootstrap;	/* bootstrap GROUP, as written */
	const struct policy_matcher *foreign; /* foreign MATCHER, or NULL */
	char *tls_ca;		/* tls-ca FILE */
	char *query_log;	/* query-log FILE, "syslog", or NULL */
	struct ssl_ctx_st *tls_ctx; /* for every tls:// server of this config */
	struct addr listen[DNS_MAX_LISTEN]; /* dns-listen */
	char listen_if[DNS_MAX_LISTEN][16];  /* a link-local one's interface, looked up at start */
	size_t n_listen;
	struct nftset_spec *nftsets; /* every set the rules name, once each */
	size_t n_nftsets;
	unsigned nftset_min_timeout; /* nftset-min-timeout */
	struct dns_zone **zones; /* local-zone, answered before the rules */
	struct dns_zone_at {
		const char *file; /* where its local-zone line is */
		unsigned line;
	} *zone_at;		  /* one per zone */
	size_t n_zones;
	char *cache_file;	/* cache-file FILE */
	char *geoip;		     /* geoip FILE */
	struct dns_iplist *iplists;  /* ip-list */
	size_t n_iplists;
	size_t *bogus;		     /* bogus-nxdomain: indexes into iplists */
	size_t n_bogus;
};

/** The DNS settings of a config (never NULL after cfg_load). */
const struct dns_conf *dns_conf_get(const struct cfg *c);

/** The `dns` config module (cfg_dns.c). */
extern const struct cfg_module cfg_dns_module;

#endif
