/* cfg_modules.c - the list of directive tables, one per module. */
#include "config.h"
#include "cfg.h"
#include "dns_conf.h"
#include "ntp_svc.h"
#include "policy.h"
#include "quic_svc.h"

const struct cfg_module *const cfg_modules[] = {
	&cfg_core_module,
	&cfg_dns_module,
	/* after dns: its checks come first, as before the policy was its own */
	&cfg_policy_module,
	&cfg_ntp_module,
	&cfg_quic_module,
	NULL,
};
