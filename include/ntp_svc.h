/* ntp_svc.h - the NTP service and its directives. */
#ifndef NTP_SVC_H
#define NTP_SVC_H

#include "addr.h"
#include "cfg.h"

#define NTP_MAX_SERVERS 8

struct ntp_conf {
	struct addr servers[NTP_MAX_SERVERS]; /* ntp-redirect */
	const char *hosts[NTP_MAX_SERVERS];   /* a host name (servers[i]: port only), or NULL */
	size_t n_servers;
	bool local;          /* ntp-local: answer from the gateway's clock */
	unsigned stratum;    /* ntp-stratum, 0: auto (3) */
	unsigned rate, burst; /* ntp-rate-limit per client */
};

extern const struct cfg_module cfg_ntp_module;
extern const struct svc svc_ntp;

#endif
