/* dns_up.h - the DNS transport to upstream servers, one per worker thread,
 * on the worker's libevent loop. Built against off-path spoofing (the
 * DNSpooq class of attacks on forwarders):
 *  - every UDP attempt leaves from a port of its own (the kernel picks it
 *    at random when the query is sent), with a fresh random ID; only
 *    datagrams from the server's address and port count (and ICMP errors
 *    about datagrams sent to it); the port is let go when the attempt
 *    ends (the socket is kept for a later attempt, on a new random port);
 *  - an answer counts only when its ID and question are the ones asked
 *    (byte for byte, 0x20 case included, when dns-0x20 is on); anything
 *    else is ignored and counted, and the attempt keeps waiting;
 *  - the query is sluice's own (dns_build_upstream): EDNS with a 1232-byte
 *    buffer, so large answers come in one UDP fetch; TCP only after TC.
 * TCP connections (tcp:// servers and TC retries) are kept per server and
 * carry many queries at once (RFC 7766 pipelining, answers in any order).
 * DNS over TLS (tls://) uses the same pooled connections; DNS over HTTPS
 * (https://) keeps HTTP/2 connections per server whose streams carry one
 * query each (dns_up_h2.c, dns_h2.c).
 * DNSCrypt servers (dns_up_crypt.c) are asked like UDP ones, each query
 * encrypted, with the certificate fetched (and refetched) per worker.
 * Every socket carries SO_MARK and is registered in the process's ownsock
 * registry (loop detection). Not thread-safe: one per worker. */
#ifndef DNS_UP_H
#define DNS_UP_H

#include <stdatomic.h>

#include "addr.h"
#include "dns_msg.h"
#include "dns_url.h"

struct event_base;
struct ctr;
struct ownsock;
struct rng;
struct log_once;

/** What a DNS over TLS or HTTPS server needs besides its address; owned by the config. */
struct dns_up_tls {
	struct ssl_ctx_st *ctx;	       /* verification: the system store plus tls-ca */
	char auth[DNS_URL_NAME_MAX];   /* the name its certificate must carry, sent as SNI;
					  "" to verify the address itself */
	/* https:// only: what each request names (RFC 8484 4.1) */
	char path[DNS_URL_PATH_MAX];	     /* :path */
	char authority[DNS_URL_NAME_MAX + 8]; /* :authority: AUTH-NAME, else HOST; [:PORT] */
};

/** What a DNSCrypt server needs besides its address (from its stamp); owned by the config. */
struct dns_up_crypt {
	uint8_t provider_pk[32];	   /* Ed25519: signs the server's certificates */
	char provider[DNS_URL_NAME_MAX];   /* asked for them (TXT), e.g. 2.dnscrypt-cert.example */
};

/** One server: UDP (TC answers retried over TCP), TCP, TLS or HTTPS (tls is set), DNSCrypt (crypt is set). */
struct dns_up_server {
	struct addr addr;
	uint8_t proto; /* enum dns_proto */
	const struct dns_up_tls *tls;
	const struct dns_up_crypt *crypt; /* DNSCrypt servers (from a stamp) */
};

/** Timeout used when a query is sent with timeout_ms 0. */
#define DNS_UP_DEFAULT_TIMEOUT_MS 2500

/** Largest timeout_ms accepted. */
#define DNS_UP_MAX_TIMEOUT_MS 60000

/** Most servers one query tries. */
#define DNS_UP_MAX_SERVERS 16

/** Queries one TCP connection carries at once; more open another connection. */
#define DNS_UP_TCP_PIPELINE 64

/** A TLS server that cannot be reached is left alone this long at first, doubling up to the max. */
#define DNS_UP_BACKOFF_MS 500
#define DNS_UP_BACKOFF_MAX_MS 30000

/**
 * A TLS client context that verifies certificates against the system store
 * and the PEM file ca_file (may be NULL), TLS 1.2 at least, for every
 * worker. NULL with a reason in err.
 */
struct ssl_ctx_st *dns_up_tls_ctx_new(const char *ca_file, char *err, size_t errlen);

/** Drop the config's reference (connections keep their own). NULL is fine. */
void dns_up_tls_ctx_free(struct ssl_ctx_st *ctx);

/** TCP connections to one server per worker. */
#define DNS_UP_TCP_CONNS 4

/** An idle TCP (or HTTPS) connection to an upstream is closed after this long. */
#define DNS_UP_TCP_IDLE_MS 10000

/** Descriptors DNS may hold across the process (shared by every worker's dns_up). */
struct dns_up_budget {
	atomic_size_t used;
	size_t max;
};

/** What a dns_up works with; every pointer outlives it. */
struct dns_up_env {
	struct event_base *base;
	struct ctr *ctr;	       /* the worker's counters (may be NULL in tests) */
	struct ownsock *own;	       /* loop-detection registry (may be NULL) */
	struct rng *rng;	       /* IDs and 0x20 patterns */
	struct dns_up_budget *budget;  /* may be NULL: no limit */
	struct log_once *once;	       /* server failures logged once per process (may be NULL) */
	uint32_t mark;		       /* SO_MARK on every socket (0: none) */
};

/** How one query is sent. */
struct dns_up_opts {
	unsigned timeout_ms; /* the whole query, every server and retry (0: default) */
	bool x20;	     /* random 0x20 case, echoed exactly */
	/* EDNS Client Subnet: ecs (a whole option, copied) replaces the
	 * client's; ecs_strip sends none; neither passes the client's on. A
	 * REFUSED answer to a query with ECS is asked again without it (RFC
	 * 7871 7.1.3). */
	const uint8_t *ecs;
	size_t ecs_len; /* at most DNS_UP_ECS_MAX */
	bool ecs_strip;
};

/** Longest ECS option a group may set. */
#define DNS_UP_ECS_MAX 24

struct dns_up;
struct dns_up_q;

/**
 * Result of one query. status 0: answer/len is the server's answer
 * (validated and inspected into ai; any rcode but SERVFAIL, NOTIMP and
 * REFUSED, on which the next server is tried), valid only during the call.
 * Otherwise answer is NULL: -ETIMEDOUT (no answer in time), -ECONNREFUSED
 * (every server refused, was unreachable or answered SERVFAIL/NOTIMP/
 * REFUSED), -EMFILE (no descriptor left in the budget), -EIO (other
 * failures), -ECANCELED (dns_up_free() ran first).
 */
typedef void (*dns_up_cb)(void *arg, int status, const uint8_t *answer, size_t len,
			  const struct dns_answer_info *ai);

/**
 * Parse "udp://IP[:port]", "tcp://IP[:port]" or a bare "IP[:port]" (UDP);
 * IPv6 in brackets when a port follows ("[fe80::1%eth0]:53" for a
 * link-local server: the scope is required); port defaults to 53. Names,
 * tls:// and https:// need the config (dns_url.h). On error returns -EINVAL with a
 * reason in err.
 */
int dns_up_server_parse(const char *s, struct dns_up_server *out, char *err, size_t errlen);

/** A transport on env->base. NULL when out of memory. */
struct dns_up *dns_up_new(const struct dns_up_env *env);

/**
 * Ask servers[0..n) (1..DNS_UP_MAX_SERVERS; copied) about q, parsed from
 * pkt; both must stay valid until cb runs or dns_up_cancel() (the query is
 * rebuilt from them for each attempt). Servers are tried in order, two
 * rounds, each attempt given a share of the timeout that doubles in the
 * second round; an attempt that gets no answer keeps listening while the
 * next one is asked; an unreachable server (ICMP) is skipped at once; a
 * FORMERR to the EDNS query is retried once without EDNS. Returns 0 with
 * *h set (may be NULL): cb then runs exactly once, never from inside this
 * call. Returns -EINVAL or -ENOMEM: cb is never called.
 */
int dns_up_send(struct dns_up *u, const struct dns_up_server *servers, size_t n,
		const struct dns_up_opts *opts, const struct dns_query *q, const uint8_t *pkt,
		dns_up_cb cb, void *arg, struct dns_up_q **h);

/**
 * During a dns_up_cb with status 0: the server that answered and how long
 * its attempt took (microseconds). False outside a callback or after a failure.
 */
bool dns_up_answered_by(const struct dns_up *u, struct dns_up_server *sv, uint64_t *rtt_us);

/** Drop a query whose callback has not run: it never will. */
void dns_up_cancel(struct dns_up_q *h);

/** Queries whose callback has not run yet. */
size_t dns_up_inflight(const struct dns_up *u);

/** Sockets u uses now (UDP attempts, TCP connections, certificate fetches). */
size_t dns_up_sockets(const struct dns_up *u);

/** UDP sockets kept open between attempts, with no port (closed after a while unused). */
size_t dns_up_idle_sockets(const struct dns_up *u);

/**
 * Free u: every pending callback runs now with -ECANCELED (from inside this
 * call; it must not use u), then every socket closes. NULL is fine.
 */
void dns_up_free(struct dns_up *u);

#endif
