/* nft.h - the nftables ruleset and routing commands a config needs. */
#ifndef NFT_H
#define NFT_H

#include <stdio.h>
#include "cfg.h"

/** Print the `table inet sluice` ruleset (for `nft -f -`), routing commands as comments. */
void nft_print_rules(const struct cfg *c, FILE *out);

/** Print the ip rule / ip route commands as a shell script (v4 and v6). */
void nft_print_routes(const struct cfg *c, FILE *out);

/** Print the commands that undo both (delete the table, rules and routes). */
void nft_print_cleanup(const struct cfg *c, FILE *out);

#endif
