/* dns_svc.h - the DNS service. */
#ifndef DNS_SVC_H
#define DNS_SVC_H

struct svc;

extern const struct svc svc_dns;

#endif
