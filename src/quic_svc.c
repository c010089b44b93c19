/* quic_svc.c - the QUIC service. A new flow's datagrams are held (at most
 * HOLD_DGRAMS / HOLD_BYTES, at most quic-sniff-timeout) while its client
 * Initial packets are decrypted and the ClientHello's SNI is read; then the
 * first matching quic-rule decides: pass (relay to the original
 * destination), block (drop the flow), reject (ICMP port unreachable to the
 * client) or mark N (relay with SO_MARK N). After the decision the flow is
 * a plain relay: connected sockets on both sides. Per worker it keeps the
 * OpenSSL algorithms every sniff of the worker decrypts with
 * (w->svc_state[SVC_QUIC] is the worker's struct quic_crypto). */
#include "config.h"
#include "quic_svc.h"
#include "engine.h"
#include "log.h"
#include "match.h"
#include "policy.h"
#include "quic.h"
#include "tls_hello.h"
#include "relay.h"
#include "reply.h"
#include "svc.h"
#include "worker.h"
#include "stats.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_DGRAMS 16
#define HOLD_BYTES 32768

enum qstate { Q_SNIFF, Q_PASS, Q_BLOCK, Q_REJECT };

struct quic_flow {
	enum qstate state;
	struct quic_sniff *sniff;
	struct event *timer;
	struct relay_leg *leg;
	uint8_t *held;
	size_t held_bytes;
	uint16_t held_len[HOLD_DGRAMS];
	size_t n_held;
};

static const struct quic_conf *qconf(const struct worker *w)
{
	return quic_conf_get(w->cfg);
}

/* The first quic-rule that matches the SNI (len 0: none was read), or NULL. */
static const struct quic_rule *first_rule(const struct quic_conf *qc, const char *sni, size_t len,
					  const struct addr *client)
{
	for (size_t i = 0; i < qc->n_rules; i++)
		if (policy_match(qc->rules[i].m, sni, len, 0, client, NULL))
			return &qc->rules[i];
	return NULL;
}

static void reject(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	if (reply_port_unreachable(w->reply, &f->client, &f->origdst, data, len) == 0)
		ctr_inc(&w->ctr, CTR_QUIC_ICMP_SENT);
}

static void flush_held(struct worker *w, struct flow *f, struct quic_flow *qf)
{
	size_t off = 0;

	for (size_t i = 0; i < qf->n_held; i++) {
		if (qf->state == Q_PASS)
			relay_leg_send(w, qf->leg, qf->held + off, qf->held_len[i]);
		else if (qf->state == Q_REJECT)
			reject(w, f, qf->held + off, qf->held_len[i]);
		else /* held while sniffing, dropped like the flow's later ones */
			ctr_inc(&w->ctr, CTR_QUIC_DROPPED);
		off += qf->held_len[i];
	}
	free(qf->held);
	qf->held = NULL;
	qf->n_held = qf->held_bytes = 0;
}

static void log_decision(struct worker *w, struct flow *f, const char *sni, const char *alpn,
			 const char *what, const struct quic_rule *r)
{
	char c[ADDR_STRLEN], d[ADDR_STRLEN], by[512];

	if (r)
		snprintf(by, sizeof(by), "by rule %s:%u", r->file, r->line);
	else
		snprintf(by, sizeof(by), "(no rule matched)");
	/* an escaped SNI may take 1020 characters: keep the verdict in the line */
	log_debug("quic: %s -> %s sni=%.500s%s alpn=%s: %s %s", addr_fmt(&f->client, c, sizeof(c)),
		  addr_fmt(&f->origdst, d, sizeof(d)), sni ? sni : "(none)",
		  sni && strlen(sni) > 500 ? "..." : "", alpn ? alpn : "-", what, by);
}

/* Apply the first matching quic-rule to the flow (sni NULL: none read). An
 * SNI that is no plain host name comes escaped, like a DNS query name, and
 * the rules match it on its labels all the same. */
/* The server names and verdicts the status page and `sluice ctl top` show. */
static void count_sni(struct worker *w, const char *sni, const char *verdict)
{
	char key[TOPK_KEY_MAX];
	int n;

	if (!cfg_wants_stats(w->cfg))
		return;
	n = snprintf(key, sizeof(key), "%s %s", verdict, sni ? sni : "(none)");
	topk_add(w->stats->top[STATS_SNI], key, (size_t)SL_MIN(n, (int)sizeof(key) - 1));
}

static void decide(struct worker *w, struct flow *f, struct quic_flow *qf, const char *sni,
		   const char *alpn)
{
	_Static_assert(TLS_HELLO_SNI_TEXT_MAX <= MATCH_LOOKUP_MAX, "an escaped SNI fits a lookup");
	size_t len = sni ? strlen(sni) : 0;
	const struct quic_rule *r = first_rule(qconf(w), sni ? sni : "", len, &f->client);
	enum quic_action act = r ? r->action : QUIC_PASS;
	uint32_t mark = act == QUIC_MARK ? r->mark : w->cfg->mark;
	static const char *const names[] = {"pass", "block", "reject", "mark"};

	ctr_inc(&w->ctr, sni ? CTR_QUIC_SNI : CTR_QUIC_NOSNI);
	ctr_inc(&w->ctr, CTR_QUIC_PASSED + act);
	log_decision(w, f, sni, alpn, names[act], r);
	count_sni(w, sni, names[act]);
	if (qf->timer)
		event_del(qf->timer);
	quic_sniff_free(qf->sniff);
	qf->sniff = NULL;
	if (act == QUIC_BLOCK) {
		qf->state = Q_BLOCK;
	} else if (act == QUIC_REJECT) {
		qf->state = Q_REJECT;
	} else {
		qf->leg = relay_leg_open(w, f, &f->origdst, mark);
		qf->state = qf->leg ? Q_PASS : Q_BLOCK;
	}
	flush_held(w, f, qf);
}

static void sniff_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flow *f = arg;
	struct worker *w = f->owner;

	worker_flow_hold(f);
	ctr_inc(&w->ctr, CTR_QUIC_SNIFF_TIMEOUT);
	decide(w, f, f->svc_data, NULL, NULL);
	worker_flow_release(w, f);
}

static int quic_flow_open(struct worker *w, struct flow *f)
{
	struct quic_flow *qf = calloc(1, sizeof(*qf));
	unsigned ms = qconf(w)->sniff_ms;

	if (!qf)
		return -1;
	f->svc_data = qf;
	ctr_inc(&w->ctr, CTR_QUIC_FLOWS);
	if (!w->svc_state[SVC_QUIC]) /* the worker's first QUIC flow */
		w->svc_state[SVC_QUIC] = quic_crypto_new();
	qf->sniff = w->svc_state[SVC_QUIC] ? quic_sniff_new(w->svc_state[SVC_QUIC]) : NULL;
	qf->timer = event_new(w->base, -1, 0, sniff_timeout_cb, f);
	if (!qf->sniff || !qf->timer ||
	    event_add(qf->timer, &(struct timeval){ms / 1000, (ms % 1000) * 1000}) < 0)
		return -1;
	return 0;
}

static bool hold(struct quic_flow *qf, const uint8_t *data, size_t len)
{
	uint8_t *n;

	if (qf->n_held == HOLD_DGRAMS || qf->held_bytes + len > HOLD_BYTES)
		return false;
	n = realloc(qf->held, qf->held_bytes + len);
	if (!n)
		return false;
	memcpy(n + qf->held_bytes, data, len);
	qf->held = n;
	qf->held_bytes += len;
	qf->held_len[qf->n_held++] = (uint16_t)len;
	return true;
}

/* A datagram of a decided flow. */
static void after_decision(struct worker *w, struct flow *f, struct quic_flow *qf,
			   const uint8_t *data, size_t len)
{
	if (qf->state == Q_PASS)
		relay_leg_send(w, qf->leg, data, len);
	else if (qf->state == Q_REJECT)
		reject(w, f, data, len);
	else
		ctr_inc(&w->ctr, CTR_QUIC_DROPPED);
}

/* Encrypted ClientHello: the SNI read is the outer, public name only, so
 * rules cannot see the real one. Counted, and each outer name logged once
 * in ten minutes (a DNS rule with no-ech keeps clients from getting ECH keys). */
static void note_ech(struct worker *w, struct flow *f, struct quic_flow *qf)
{
	const struct tls_hello *h = quic_sniff_hello(qf->sniff);
	char c[ADDR_STRLEN], line[TLS_HELLO_SNI_TEXT_MAX + ADDR_STRLEN + 200];

	if (!h->has_ech)
		return;
	ctr_inc(&w->ctr, CTR_QUIC_ECH);
	snprintf(line, sizeof(line), "quic: Encrypted ClientHello from %s, outer name %s: rules see "
				     "only that name (no-ech on its DNS rule prevents this)",
		 addr_fmt(&f->client, c, sizeof(c)), h->sni[0] ? h->sni : "(none)");
	if (log_once_first(w->eng ? &w->eng->once : NULL, h->sni, 600 * 1000))
		log_info("%s", line);
}

static void sniff_input(struct worker *w, struct flow *f, struct quic_flow *qf,
			const uint8_t *data, size_t len)
{
	unsigned derived = quic_sniff_derivations(qf->sniff), bad = quic_sniff_failures(qf->sniff);
	enum quic_sniff_result res = quic_sniff_feed(qf->sniff, data, len);
	const char *alpn[4] = {NULL};
	bool held = hold(qf, data, len);

	ctr_add(&w->ctr, CTR_QUIC_KEY_DERIVATIONS, quic_sniff_derivations(qf->sniff) - derived);
	ctr_add(&w->ctr, CTR_QUIC_BAD_INITIALS, quic_sniff_failures(qf->sniff) - bad);

	if (res == QUIC_SNIFF_DONE) {
		note_ech(w, f, qf);
		quic_sniff_alpn(qf->sniff, alpn, 4);
		decide(w, f, qf, quic_sniff_sni(qf->sniff), alpn[0]);
	} else if (res != QUIC_SNIFF_MORE || !held) {
		ctr_inc(&w->ctr, res == QUIC_SNIFF_NOT_QUIC ? CTR_QUIC_NOT_QUIC : CTR_QUIC_GIVEUP);
		decide(w, f, qf, NULL, NULL);
	}
	if (!held) /* the bound was hit: this datagram goes out after the decision */
		after_decision(w, f, qf, data, len);
}

static void quic_input(struct worker *w, struct flow *f, const uint8_t *data, size_t len)
{
	struct quic_flow *qf = f->svc_data;

	if (qf->state == Q_SNIFF)
		sniff_input(w, f, qf, data, len);
	else
		after_decision(w, f, qf, data, len);
}

/* A batch of the client's datagrams: once the flow passes, the rest of
 * the batch goes up in one send. */
static void quic_input_many(struct worker *w, struct flow *f, const struct iovec *iov,
			    unsigned n)
{
	struct quic_flow *qf = f->svc_data;
	unsigned i = 0;

	for (; i < n && !f->dead && qf->state != Q_PASS; i++)
		quic_input(w, f, iov[i].iov_base, iov[i].iov_len);
	if (i < n && !f->dead)
		relay_leg_send_many(w, qf->leg, iov + i, n - i);
}

static void quic_flow_close(struct worker *w, struct flow *f)
{
	struct quic_flow *qf = f->svc_data;

	if (!qf)
		return;
	if (qf->timer)
		event_free(qf->timer);
	quic_sniff_free(qf->sniff);
	relay_leg_close(qf->leg);
	free(qf->held);
	free(qf);
	f->svc_data = NULL;
}

/* The algorithms are fetched once per worker thread rather than per flow (a
 * fetch is a locked lookup in OpenSSL's method store), at the worker's first
 * QUIC flow: a gateway that does not intercept QUIC never wakes OpenSSL's
 * providers (about 3 MB of libcrypto resident). Runs after the worker's flows (and their sniffs) are gone. */
static void quic_worker_fini(struct worker *w)
{
	quic_crypto_free(w->svc_state[SVC_QUIC]);
	w->svc_state[SVC_QUIC] = NULL;
}

const struct svc svc_quic = {
	.id = SVC_QUIC,
	.connected_reply = true,
	.worker_fini = quic_worker_fini,
	.flow_open = quic_flow_open,
	.input = quic_input,
	.input_many = quic_input_many,
	.flow_close = quic_flow_close,
};
