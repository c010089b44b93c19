/* ctr.c - names and help texts of the counters. */
#include "config.h"
#include "ctr.h"

static const char *const names[] = {
#define CTR_NAME(id, name, help) name,
	CTR_LIST(CTR_NAME)
#undef CTR_NAME
};

static const char *const helps[] = {
#define CTR_HELP(id, name, help) help,
	CTR_LIST(CTR_HELP)
#undef CTR_HELP
};

const char *ctr_name(enum ctr_id id)
{
	return id < CTR_COUNT ? names[id] : "?";
}

const char *ctr_help(enum ctr_id id)
{
	return id < CTR_COUNT ? helps[id] : "?";
}
