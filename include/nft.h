/* nft.h - the nftables (or iptables) ruleset and routing commands a config needs. */
#ifndef NFT_H
#define NFT_H

#include <stdio.h>
#include "cfg.h"

/** Print the `table inet sluice` ruleset (for `nft -f -`), routing commands as comments. */
void nft_print_rules(const struct cfg *c, FILE *out);

/** Which intercepted ports a rule covers. */
enum nft_ports {
	NFT_PORTS_UDP,	 /* every UDP one */
	NFT_PORTS_TCP,	 /* every TCP one */
	NFT_PORTS_DNS,	 /* UDP ones of the dns service (dns-rate-limit) */
	NFT_PORTS_RELAY, /* UDP ones of relay and quic (relay-rate-limit) */
};

/** Does intercept ic belong to the ports p? */
bool nft_port_in(const struct cfg_intercept *ic, enum nft_ports p);

/**
 * dns-rate-limit (dns) or relay-rate-limit per source, as both rulesets
 * write it: the nft set's name stem, the rate a second (0: off), the burst.
 */
struct nft_limit {
	const char *set;
	unsigned rate, burst;
};
struct nft_limit nft_limit_of(const struct cfg *c, bool dns);

/** Destinations never intercepted, per family ("A/N, B/M, ..."). */
extern const char nft_reserved4[];
extern const char nft_reserved6[];

/**
 * The same ruleset as iptables-restore (family AF_INET) or ip6tables-restore
 * (AF_INET6) input: a SLUICE chain in the mangle table (ipt.c).
 */
void ipt_print_rules(const struct cfg *c, int family, FILE *out);

/** Print the ip rule / ip route commands as a shell script (v4 and v6). */
void nft_print_routes(const struct cfg *c, FILE *out);

/** Print the commands that undo both (delete the table, rules and routes). */
void nft_print_cleanup(const struct cfg *c, FILE *out);

#endif
