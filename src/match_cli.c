/* match_cli.c - `sluice match`: explains which DNS rule decides a name.
 * Until the DNS service is built in there is nothing to explain. */
#include "config.h"
#include "cfg.h"

#include <stdio.h>

int sluice_match_main(struct cfg *cfg, int argc, char **argv);

int sluice_match_main(struct cfg *cfg, int argc, char **argv)
{
	(void)cfg;
	(void)argc;
	(void)argv;
	fprintf(stderr, "sluice match: this build has no DNS service\n");
	return 1;
}
