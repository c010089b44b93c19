/* cfg_modules.c - the list of directive tables, one per module. */
#include "config.h"
#include "cfg.h"

const struct cfg_module *const cfg_modules[] = {
	&cfg_core_module,
	NULL,
};
