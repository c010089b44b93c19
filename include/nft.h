/* nft.h - the nftables (or iptables) ruleset and routing commands a config needs. */
#ifndef NFT_H
#define NFT_H

#include <stdio.h>
#include "cfg.h"

/** Print the `table inet sluice` ruleset (for `nft -f -`), routing commands as comments. */
void nft_print_rules(const struct cfg *c, FILE *out);

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
