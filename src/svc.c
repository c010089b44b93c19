/* svc.c - which services this build has. */
#include "config.h"
#include "svc.h"

const struct svc *svc_get(enum svc_id id)
{
	switch (id) {
	case SVC_RELAY:
		return &svc_relay;
	default:
		return NULL;
	}
}
