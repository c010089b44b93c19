#include "config.h"
/* dns_up_crypt.c - DNSCrypt servers for one worker's dns_up: the worker's
 * X25519 key pair (made on first use), and per server the certificate in
 * use with its session keys, the certificate fetch (a TXT query for the
 * provider name over UDP, on a socket of its own like every attempt) and
 * the queries waiting for it. Queries themselves travel as UDP attempts
 * (dns_up.c) and, after TC, over TCP (dns_up_tcp.c); this file seals them
 * and opens their answers. When to fetch again is dnscrypt_due()'s call:
 * hourly, near the certificate's end, and when the server goes silent
 * (a rotated key). The protocol itself is dnscrypt.c's. */
#include "dns_up_int.h"
#include "ctr.h"
#include "log.h"
#include "rng.h"

#include <errno.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DNS_UP_CRYPT_FETCH_MS 1500 /* a certificate fetch gives up after this long */
#define DNS_UP_CRYPT_MAX_CS 64	   /* servers remembered per worker */
#define DNS_UP_CRYPT_READS 8

/* One DNSCrypt server as a worker knows it. */
struct dns_up_cs {
	struct dns_up_cs *next;
	struct dns_up *u;
	struct addr addr;
	uint8_t provider_pk[DNSCRYPT_KEY_LEN];
	char provider[DNS_URL_NAME_MAX];
	uint64_t used_ms;
	/* the certificate in use */
	bool have;
	struct dnscrypt_cert cert;
	struct dnscrypt_session sess;
	struct dnscrypt_sched sched;
	uint64_t down_until; /* after a failed fetch: no other before this unless forced */
	unsigned backoff_ms;
	/* the fetch in flight (fd >= 0) */
	int fd;
	struct event *ev;
	struct ownsock_tok tok;
	uint16_t id;
	bool blocking;		  /* queries wait for it */
	struct dns_up_q *waiters; /* linked through cnext/cpprev */
	uint8_t lname[DNS_NAME_WIRE_MAX];
	size_t lname_len;
};

struct dns_up_crypt_w {
	uint8_t pk[DNSCRYPT_KEY_LEN], sk[DNSCRYPT_KEY_LEN];
	struct dns_up_cs *cs;
	size_t n;
};

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

static void cs_log(struct dns_up_cs *cs, bool err, const char *fmt, ...) SL_PRINTF(3, 4);

/* One line per process (every worker sees the same) and hour. */
static void cs_log(struct dns_up_cs *cs, bool err, const char *fmt, ...)
{
	char who[ADDR_STRLEN], why[300], line[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "dns: dnscrypt %s (%s): %s",
		 addr_fmt(&cs->addr, who, sizeof(who)), cs->provider, why);
	if (!log_once_first(cs->u->env.once, line, 3600 * 1000))
		return;
	if (err)
		log_err("%s", line);
	else
		log_info("%s", line);
}

/* ---- the worker's key pair and servers ---- */

static struct dns_up_crypt_w *crypt_w(struct dns_up *u)
{
	if (!u->crypt) {
		u->crypt = calloc(1, sizeof(*u->crypt));
		if (u->crypt)
			crypto_box_keypair(u->crypt->pk, u->crypt->sk);
	}
	return u->crypt;
}

static bool cs_is(const struct dns_up_cs *cs, const struct dns_up_server *sv)
{
	return sv->crypt && addr_equal(&cs->addr, &sv->addr) &&
	       memcmp(cs->provider_pk, sv->crypt->provider_pk, DNSCRYPT_KEY_LEN) == 0 &&
	       strcmp(cs->provider, sv->crypt->provider) == 0;
}

static struct dns_up_cs *cs_find(struct dns_up *u, const struct dns_up_server *sv)
{
	for (struct dns_up_cs *cs = u->crypt ? u->crypt->cs : NULL; cs; cs = cs->next)
		if (cs_is(cs, sv))
			return cs;
	return NULL;
}

static void fetch_end(struct dns_up_cs *cs)
{
	if (cs->fd < 0)
		return;
	if (cs->ev)
		event_free(cs->ev);
	cs->ev = NULL;
	dns_up_sock_close(cs->u, cs->fd, &cs->tok);
	cs->fd = -1;
}

static void cs_free(struct dns_up_cs *cs)
{
	fetch_end(cs);
	sodium_memzero(&cs->sess, sizeof(cs->sess));
	free(cs);
}

/* Forget the least recently used server with no fetch or waiter. */
static void cs_evict(struct dns_up_crypt_w *w)
{
	struct dns_up_cs **victim = NULL;

	for (struct dns_up_cs **pp = &w->cs; *pp; pp = &(*pp)->next)
		if ((*pp)->fd < 0 && !(*pp)->waiters &&
		    (!victim || (*pp)->used_ms < (*victim)->used_ms))
			victim = pp;
	if (victim) {
		struct dns_up_cs *cs = *victim;

		*victim = cs->next;
		cs_free(cs);
		w->n--;
	}
}

static struct dns_up_cs *cs_get(struct dns_up *u, const struct dns_up_server *sv)
{
	struct dns_up_crypt_w *w = crypt_w(u);
	struct dns_up_cs *cs = cs_find(u, sv);

	if (cs || !w || !sv->crypt)
		return cs;
	if (w->n >= DNS_UP_CRYPT_MAX_CS)
		cs_evict(w);
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->u = u;
	cs->fd = -1;
	cs->addr = sv->addr;
	memcpy(cs->provider_pk, sv->crypt->provider_pk, DNSCRYPT_KEY_LEN);
	snprintf(cs->provider, sizeof(cs->provider), "%s", sv->crypt->provider);
	if (dns_name_from_text(cs->provider, strlen(cs->provider), cs->lname, &cs->lname_len) < 0) {
		free(cs); /* the config checked it: not reached */
		return NULL;
	}
	cs->next = w->cs;
	w->cs = cs;
	w->n++;
	return cs;
}

void dns_up_crypt_free_all(struct dns_up *u)
{
	struct dns_up_crypt_w *w = u->crypt;

	if (!w)
		return;
	while (w->cs) {
		struct dns_up_cs *cs = w->cs;

		w->cs = cs->next;
		cs_free(cs);
	}
	sodium_memzero(w->sk, sizeof(w->sk));
	free(w);
	u->crypt = NULL;
}

/* ---- waiting for a certificate ---- */

static void wait_link(struct dns_up_q *q, struct dns_up_q **head)
{
	q->cnext = *head;
	if (*head)
		(*head)->cpprev = &q->cnext;
	q->cpprev = head;
	*head = q;
}

void dns_up_crypt_detach(struct dns_up_q *q)
{
	if (!q->cwait)
		return;
	*q->cpprev = q->cnext;
	if (q->cnext)
		q->cnext->cpprev = q->cpprev;
	q->cnext = NULL;
	q->cpprev = NULL;
	q->cwait = NULL;
}

/* The fetch is over: each waiting query is sent now, or moves on. */
static void release_waiters(struct dns_up_cs *cs, bool ok)
{
	struct dns_up_q *list = cs->waiters, *q;

	/* A local list the queries can still leave (a callback may cancel one). */
	cs->waiters = NULL;
	if (list)
		list->cpprev = &list;
	while ((q = list)) {
		uint8_t srv = q->cwait_srv;
		bool edns = q->cwait_edns;

		dns_up_crypt_detach(q);
		if (!ok || dns_up_udp_start(q, srv, edns) < 0)
			dns_up_advance(q, -ECONNREFUSED);
	}
}

/* ---- the certificate fetch ---- */

static const char *es_name(uint16_t es)
{
	return es == DNSCRYPT_ES_XCHACHA20 ? "X25519-XChacha20Poly1305" : "X25519-XSalsa20Poly1305";
}

static void fetch_failed(struct dns_up_cs *cs, const char *why)
{
	struct dns_up *u = cs->u;

	dns_up_count(u, CTR_DNS_DNSCRYPT_CERT_FAILED);
	cs->backoff_ms =
	    cs->backoff_ms ? SL_MIN(cs->backoff_ms * 2, DNS_UP_BACKOFF_MAX_MS) : DNS_UP_BACKOFF_MS;
	cs->down_until = sl_now_ms() + cs->backoff_ms;
	if (cs->have && dnscrypt_cert_current(&cs->cert, wall_s()))
		cs_log(cs, false, "certificate refresh failed (%s); serial %u is still in use", why,
		       cs->cert.serial);
	else
		cs_log(cs, true, "no usable certificate: %s", why);
	fetch_end(cs);
	cs->blocking = false;
	release_waiters(cs, cs->have && dnscrypt_cert_current(&cs->cert, wall_s()));
}

/* True while the server answers queries sealed for the certificate in use. */
static bool cs_answering(const struct dns_up_cs *cs, uint64_t now)
{
	return !cs->sched.unanswered_ms || now - cs->sched.unanswered_ms < DNSCRYPT_STALE_MS;
}

static void fetch_ok(struct dns_up_cs *cs, const struct dnscrypt_cert *c)
{
	struct dns_up *u = cs->u;
	struct dns_up_crypt_w *w = u->crypt;
	bool changed = !cs->have || memcmp(c, &cs->cert, sizeof(*c)) != 0;
	char until[40];
	time_t end = (time_t)c->ts_end;
	struct tm tm;

	/* An older certificate (a replayed answer, or a server that still
	 * lists it) does not replace a newer one the server still answers to. */
	if (changed && cs->have && dnscrypt_cert_current(&cs->cert, wall_s()) &&
	    dnscrypt_cert_better(&cs->cert, c) && cs_answering(cs, sl_now_ms()))
		changed = false;
	if (changed) {
		struct dnscrypt_session s;

		if (dnscrypt_session_init(&s, c, w->pk, w->sk) < 0) {
			fetch_failed(cs, "the certificate's resolver key is unusable (low order)");
			return;
		}
		cs->sess = s;
		cs->cert = *c;
		cs->have = true;
		dns_up_count(u, CTR_DNS_DNSCRYPT_CERT_NEW);
		gmtime_r(&end, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
		cs_log(cs, false, "certificate serial %u (%s), valid until %s", c->serial,
		       es_name(c->es), until);
		cs->sched.unanswered_ms = 0; /* silence under the old one says nothing of it */
	}
	cs->sched.fetched_ms = sl_now_ms();
	cs->backoff_ms = 0;
	cs->down_until = 0;
	fetch_end(cs);
	cs->blocking = false;
	release_waiters(cs, true);
}

/* Why no certificate of an answer was taken, in words. */
static void tally_text(const struct dnscrypt_tally *t, char *out, size_t len)
{
	if (t->txt == 0) {
		snprintf(out, len, "the answer holds no TXT record");
		return;
	}
	snprintf(out, len,
		 "%u TXT records: %u not signed by the stamp's provider key, %u outside "
		 "their validity dates (is the clock right?), %u of an unknown es-version, %u "
		 "not certificates",
		 t->txt, t->sig, t->time, t->es, t->form);
}

/* One datagram on the fetch socket; false when the fetch is over. */
static bool fetch_msg(struct dns_up_cs *cs, size_t len)
{
	struct dns_up *u = cs->u;
	const uint8_t *m = u->rbuf;
	struct dns_answer_info ai;
	struct dnscrypt_tally t;
	struct dnscrypt_cert c;
	char why[300];

	if (len < DNS_HDR_LEN || (uint16_t)(m[0] << 8 | m[1]) != cs->id ||
	    dns_answer_inspect(m, len, &ai) < 0 ||
	    !dns_answer_question_is(m, len, &ai, cs->lname, cs->lname_len, 16 /* TXT */, 1,
				    false)) {
		dns_up_count(u, CTR_DNS_UPSTREAM_IGNORED);
		return true;
	}
	if (ai.rcode != DNS_RCODE_NOERROR) {
		snprintf(why, sizeof(why), "the certificate query was answered with rcode %u",
			 ai.rcode);
		fetch_failed(cs, why);
	} else if (dnscrypt_certs_pick(m, len, cs->provider_pk, wall_s(), &c, &t) == 0) {
		fetch_ok(cs, &c);
	} else {
		tally_text(&t, why, sizeof(why));
		fetch_failed(cs, why);
	}
	return false;
}

static void fetch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_up_cs *cs = arg;

	if (what & EV_TIMEOUT) {
		fetch_failed(cs, "no answer to the certificate query");
		return;
	}
	for (int i = 0; i < DNS_UP_CRYPT_READS; i++) {
		ssize_t n = recv(fd, cs->u->rbuf, sizeof(cs->u->rbuf), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fetch_failed(cs, "the certificate query was refused (ICMP)");
			return;
		}
		if (!fetch_msg(cs, (size_t)n))
			return;
	}
}

static int fetch_start(struct dns_up_cs *cs)
{
	struct dns_up *u = cs->u;
	uint8_t msg[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4];
	int n, fd, rc = -ENOMEM, ms = DNS_UP_CRYPT_FETCH_MS;

	fd = dns_up_sock(u, &cs->addr, SOCK_DGRAM, IPPROTO_UDP, &cs->tok);
	if (fd < 0)
		return fd;
	cs->fd = fd;
	cs->id = rng_u16(u->env.rng);
	n = dnscrypt_cert_query(cs->lname, cs->lname_len, cs->id, msg, sizeof(msg));
	cs->ev = event_new(u->env.base, fd, EV_READ | EV_PERSIST, fetch_cb, cs);
	if (n < 0 || !cs->ev ||
	    event_add(cs->ev, &(struct timeval){ms / 1000, (ms % 1000) * 1000}) < 0)
		goto fail;
	if (send(fd, msg, (size_t)n, 0) < 0) {
		rc = -errno;
		goto fail;
	}
	cs->sched.tried_ms = sl_now_ms();
	dns_up_count(u, CTR_DNS_DNSCRYPT_CERT_FETCHES);
	return 0;
fail:
	fetch_end(cs);
	return rc;
}

/* ---- queries ---- */

int dns_up_crypt_start(struct dns_up_q *q, uint8_t srv, bool edns)
{
	struct dns_up_cs *cs = cs_get(q->u, &q->sv[srv]);
	uint64_t now = sl_now_ms();
	enum dnscrypt_due due;
	int rc;

	if (!cs)
		return -ENOMEM;
	cs->used_ms = now;
	cs->sched.have = cs->have;
	cs->sched.ts_start = cs->cert.ts_start;
	cs->sched.ts_end = cs->cert.ts_end;
	due = dnscrypt_due(&cs->sched, now, wall_s());
	if (cs->fd >= 0 && cs->blocking)
		due = DNSCRYPT_FETCH; /* the certificate in use is in doubt: wait with the others */
	if (due == DNSCRYPT_REFRESH && cs->fd < 0)
		fetch_start(cs); /* in the background: this query goes now */
	if (due != DNSCRYPT_FETCH)
		return dns_up_udp_start(q, srv, edns);
	if (cs->fd < 0) {
		if (cs->down_until > now && !q->force)
			return -EAGAIN;
		if ((rc = fetch_start(cs)) < 0)
			return rc;
	}
	cs->blocking = true;
	q->cwait = cs;
	q->cwait_srv = srv;
	q->cwait_edns = edns;
	wait_link(q, &cs->waiters);
	return 0;
}

bool dns_up_crypt_ready(struct dns_up *u, const struct dns_up_server *sv)
{
	struct dns_up_cs *cs = cs_find(u, sv);

	return cs && cs->have && dnscrypt_cert_current(&cs->cert, wall_s());
}

int dns_up_crypt_seal(struct dns_up_q *q, uint8_t srv, struct dns_up_ck *ck, uint8_t *out,
		      size_t len, size_t cap, bool tcp)
{
	struct dns_up_cs *cs = cs_find(q->u, &q->sv[srv]);
	uint8_t plain[DNS_UP_MSG_MAX];
	int n;

	if (!cs || !cs->have || len > sizeof(plain))
		return -ECONNREFUSED;
	memcpy(plain, out, len);
	ck->s = cs->sess;
	rng_bytes(q->u->env.rng, ck->nonce, sizeof(ck->nonce));
	n = dnscrypt_seal(&ck->s, ck->nonce, plain, len, !tcp, out, cap);
	if (n < 0)
		return n;
	if (!cs->sched.unanswered_ms)
		cs->sched.unanswered_ms = sl_now_ms();
	dns_up_count(q->u, CTR_DNS_UPSTREAM_DNSCRYPT);
	return n;
}

bool dns_up_crypt_open(struct dns_up_q *q, uint8_t srv, const struct dns_up_ck *ck, uint8_t *buf,
		       size_t *len)
{
	struct dns_up_cs *cs;
	int n = dnscrypt_open(&ck->s, ck->nonce, buf, *len);

	if (n < 0) {
		dns_up_count(q->u, CTR_DNS_DNSCRYPT_BAD);
		return false;
	}
	*len = (size_t)n;
	cs = cs_find(q->u, &q->sv[srv]);
	if (cs && ck->s.serial == cs->sess.serial)
		cs->sched.unanswered_ms = 0; /* the server still takes this certificate */
	return true;
}
