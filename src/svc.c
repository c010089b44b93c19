/* svc.c - which services this build has. */
#include "config.h"
#include "svc.h"
#include "ntp_svc.h"
#include "dns_svc.h"
#include "quic_svc.h"

const struct svc *svc_get(enum svc_id id)
{
	switch (id) {
	case SVC_RELAY:
		return &svc_relay;
	case SVC_NTP:
		return &svc_ntp;
	case SVC_DNS:
		return &svc_dns;
	case SVC_QUIC:
		return &svc_quic;
	default:
		return NULL;
	}
}
