/* quic_svc.h - the QUIC service and its settings: quic-rule lines and the
 * sniffing bound (cfg_quic.c). */
#ifndef QUIC_SVC_H
#define QUIC_SVC_H

#include "cfg.h"

struct policy_matcher;

/** quic-rule actions. */
enum quic_action { QUIC_PASS, QUIC_BLOCK, QUIC_REJECT, QUIC_MARK };

/** `quic-rule MATCHER pass|block|reject|mark N` */
struct quic_rule {
	const char *file;
	unsigned line;
	const struct policy_matcher *m; /* owned by the config's policy (policy.h) */
	enum quic_action action;
	uint32_t mark; /* QUIC_MARK: SO_MARK of the flow's upstream socket */
};

/** The QUIC settings of a config (cfg->svc[SVC_QUIC]). */
struct quic_conf {
	struct quic_rule *rules;
	size_t n_rules;
	unsigned sniff_ms; /* quic-sniff-timeout */
};

/** The QUIC settings of a config (never NULL after cfg_load). */
const struct quic_conf *quic_conf_get(const struct cfg *c);

extern const struct svc svc_quic;
extern const struct cfg_module cfg_quic_module;

#endif
