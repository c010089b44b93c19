/* quic_svc.h - the QUIC service and its quic-rule directives. */
#ifndef QUIC_SVC_H
#define QUIC_SVC_H

#include "cfg.h"

/** quic-rule actions (struct dns_rule.qaction). */
enum quic_action { QUIC_PASS, QUIC_BLOCK, QUIC_REJECT, QUIC_MARK };

extern const struct svc svc_quic;
extern const struct cfg_module cfg_quic_module;

#endif
