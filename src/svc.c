/* svc.c - which services this build has (configure --disable-ntp and
 * --disable-quic leave theirs out). */
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
#ifdef SL_WITH_NTP
	case SVC_NTP:
		return &svc_ntp;
#endif
	case SVC_DNS:
		return &svc_dns;
#ifdef SL_WITH_QUIC
	case SVC_QUIC:
		return &svc_quic;
#endif
	default:
		return NULL;
	}
}
