/* dns_svc.h - the DNS service. */
#ifndef DNS_SVC_H
#define DNS_SVC_H

struct svc;
struct engine;

extern const struct svc svc_dns;

/** Free the process-wide DNS state (the cache); called once at exit. */
void dns_shared_free(struct engine *e);

#endif
