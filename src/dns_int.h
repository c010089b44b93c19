/* dns_int.h - what the DNS service's files share: the per-worker state
 * (dns.c), where a query came from and how its answer goes back, the
 * table of queries waiting for upstreams (dns_pend.c) and DNS over TCP
 * (dns_tcp.c). Internal to src/. */
#ifndef DNS_INT_H
#define DNS_INT_H

#include <pthread.h>

#include "addr.h"
#include "dns_conf.h"
#include "dns_msg.h"
#include "dns_up.h"
#include "log.h"
#include "rng.h"

struct worker;
struct engine;
struct event;
struct dns_cache;
struct clients;
struct dns_pend_tab;
struct dns_tcp;
struct dns_tconn;
struct ratelimit;
struct qlog;
struct stats;
struct nftset;

/** How a query reached sluice, so its answer goes back the same way. */
enum dns_via {
	DNS_VIA_TPROXY, /* intercepted UDP: answer from the original destination */
	DNS_VIA_SOCK,	/* a dns-listen UDP socket: answer through it */
	DNS_VIA_TCP,	/* a TCP connection (intercepted or dns-listen) */
};

struct dns_src {
	enum dns_via via;
	struct addr client;
	struct addr local; /* the address the client asked */
	int fd;		   /* DNS_VIA_SOCK */
	bool to_gateway;   /* sent to the gateway's own address (dns-listen) */
	struct dns_tconn *conn; /* DNS_VIA_TCP: holds a reference while it is stored */
};

/** Process-wide DNS state, in engine->svc_shared[SVC_DNS]. */
struct dns_shared {
	struct dns_cache *cache; /* made even with cache-size 0 (then unused) */
	unsigned cache_size;	 /* the capacity it has (cache-size), worker 0 sets it */
	struct clients *clients;
	struct dns_up_budget budget;
	atomic_uint tcp_conns; /* DNS over TCP connections, every worker */
	struct log_once once;  /* upstream failures, logged once for all workers */
	pthread_mutex_t rl_lock; /* guards rl (dns-rate-limit), swapped on reload */
	struct ratelimit *rl;
	unsigned rate, burst;	 /* what rl was made with */
	struct log_once nft_once; /* nftset problems, logged once for all workers */
};

/** One worker's DNS state, in w->svc_state[SVC_DNS]. */
struct dns_worker {
	struct worker *w;
	struct dns_shared *sh;
	int cache_rd; /* its reader slot in the cache (lock-free hits), or -1 */
	struct dns_up *up;
	struct dns_pend_tab *pend;
	struct dns_tcp *tcp;
	struct rng rng;
	struct nftset *nft;	/* answer addresses into nftables sets */
	struct event *nft_ev;	/* flushes what no waiting client flushed, end of loop pass */
	struct dns_lsock {
		struct dns_worker *dw;
		struct event *ev;
		struct addr local;
	} lsock[DNS_MAX_LISTEN]; /* dns-listen UDP sockets */
	size_t n_lsock;
	struct qlog *qlog; /* query-log */
	struct stats *stats; /* the worker's, or NULL when nothing reads them */
	uint8_t out[SL_MAX_DGRAM + 2]; /* answers are built here (TCP: after 2 bytes) */
	uint8_t ans[SL_MAX_DGRAM];     /* an upstream answer, OPT removed */
};

/** Longest "FILE:LINE" of a rule, and group name, a query log line keeps. */
#define DNS_NOTE_RULE_MAX 96
#define DNS_NOTE_GROUP_MAX 48

/**
 * What one query's log line needs besides the query and its answer,
 * gathered as it is handled (dns_note.c). Copied into a waiting query, so
 * it holds no config pointers.
 */
struct dns_note {
	uint64_t t0_us;	    /* arrival; 0: not logged */
	const char *action; /* a string literal: "block", "forward", ... */
	char rule[DNS_NOTE_RULE_MAX];	/* "FILE:LINE" of the deciding rule, "" for none */
	char group[DNS_NOTE_GROUP_MAX]; /* the upstream group, "" for none */
};

/** How an answer relates to the cache, for the log. */
enum dns_note_cache { DNS_NOTE_NOCACHE, DNS_NOTE_HIT, DNS_NOTE_STALE, DNS_NOTE_MISS };

/* dns_note.c */
/** Start a note for a query arriving now (t0 stays 0 when the log is off). */
void dns_note_start(const struct dns_worker *dw, struct dns_note *n);
/** Record the rule that decided (NULL: the default) and the action taken. */
void dns_note_rule(struct dns_note *n, const char *file, unsigned line, const char *action);
/** Record the group a query goes to. */
void dns_note_group(struct dns_note *n, const char *group);
/**
 * Write the query's log line: q's name and type, the answer in dw->out of
 * alen bytes (alen <= 0: none sent), the server that answered (or NULL).
 */
void dns_note_done(struct dns_worker *dw, const struct dns_src *src, const struct dns_note *n,
		   const struct dns_query *q, int alen, enum dns_note_cache cache,
		   const struct dns_up_server *by);

/* dns.c */
const struct dns_conf *dns_wconf(const struct dns_worker *dw);
/** Handle one query from src (every transport ends here). */
void dns_query_in(struct dns_worker *dw, const struct dns_src *src, const uint8_t *pkt,
		  size_t len);
/** Send an answer of n bytes (n <= 0: nothing) in dw->out back the way src came. */
void dns_deliver(struct dns_worker *dw, const struct dns_src *src, int n);
/** The answer limit for src: max-udp-size for UDP, 65535 for TCP. */
void dns_src_limit(const struct dns_worker *dw, const struct dns_src *src, struct dns_query *q);

/* dns_pend.c: queries waiting for an upstream, identical ones merged. */
struct dns_pend_tab *dns_pend_new(struct dns_worker *dw);
/** Cancel every waiting query (no answers) and free the table. */
void dns_pend_free(struct dns_pend_tab *t);
/** Queries held (upstream queries in flight). */
size_t dns_pend_count(const struct dns_pend_tab *t);

/** Rewrites the rule asks of an upstream answer (dns_dest.opts). */
#define DNS_DEST_NO_ECH 0x01
#define DNS_DEST_NO_IPV6HINT 0x02

/** Where a forwarded query goes, and what is done to its answer. */
struct dns_dest {
	const struct dns_up_server *servers;
	size_t n;
	const char *group; /* group name, or NULL for passthrough */
	uint8_t opts;	   /* DNS_DEST_* */
	enum dns_policy policy;
	const uint8_t *ecs; /* an ECS option to send instead of the client's */
	size_t ecs_len;
	bool ecs_strip;	    /* send no ECS */
	uint8_t n_nft;	   /* the rule's nftsets, as nftset_ref()s */
	uint32_t nft[NFTSET_MAX_PER_RULE];
	/* accept-ip: ip-list and else-group names (NULL: none), copied into
	 * the waiting query and looked up again when the answer comes */
	const char *accept, *accept_else;
};

/** Where group g's queries go now: its servers (host names replaced by
 * their current addresses, in exp: DNS_UP_MAX_SERVERS), policy and ECS. */
void dns_group_dest(struct dns_worker *dw, const struct dns_group *g, struct dns_up_server *exp,
		    struct dns_dest *dest);

/**
 * Ask dest about q (parsed from pkt, len bytes) for src; src NULL is a
 * background refresh (no client waits). The answer is cached when
 * cache_ok. Merged with an identical query in flight when there is one.
 * note goes to the query log with the answer.
 */
void dns_pend_forward(struct dns_pend_tab *t, const struct dns_src *src, const struct dns_query *q,
		      const uint8_t *pkt, size_t len, const struct dns_dest *dest, bool cache_ok,
		      const struct dns_note *note);

/* dns_ctl.c: `sluice ctl` flush and dump (svc ctl hook). */
struct evbuffer;
bool dns_ctl(struct engine *e, const char *verb, const char *arg, struct evbuffer *out);

/* dns_metrics.c: the DNS service's Prometheus text (svc metrics hook). */
void dns_metrics(struct engine *e, struct evbuffer *b);

/* dns_nftset.c: the addresses of answers into the rule's nftables sets. */
int dns_nftset_init(struct dns_worker *dw);
void dns_nftset_fini(struct dns_worker *dw);
/** The running config's sets changed (reload). */
void dns_nftset_reconfigure(struct dns_worker *dw);
/** The nftset refs of rule r (NULL: none) into refs; returns how many. */
uint8_t dns_nftset_refs(const struct dns_worker *dw, const struct dns_rule *r, uint32_t *refs);
/**
 * Add the A/AAAA addresses of answer pkt[0..len) to the sets refs[0..n),
 * each with its TTL (clamped to [min_ttl, max_ttl], as the client gets it)
 * but at least nftset-min-timeout. With client_waits the additions are
 * sent now, so they are in the sets before the client has the answer;
 * else at the end of the loop pass.
 */
void dns_nftset_answer(struct dns_worker *dw, const uint32_t *refs, size_t n, const uint8_t *pkt,
		       size_t len, uint32_t min_ttl, uint32_t max_ttl, bool client_waits);

/* dns_tcp.c: DNS over TCP (intercepted, and dns-listen). */
struct dns_tcp *dns_tcp_new(struct dns_worker *dw);
void dns_tcp_free(struct dns_tcp *t);
/** Watch a listening TCP socket (owned by the worker). */
int dns_tcp_listen(struct dns_tcp *t, int fd, bool transparent);
void dns_tconn_ref(struct dns_tconn *c);
void dns_tconn_unref(struct dns_tconn *c);
/** Queue one answer (without its length prefix) on the connection, if it is still open. */
void dns_tconn_answer(struct dns_tconn *c, const uint8_t *msg, size_t len);
/** Open connections of this worker. */
size_t dns_tcp_count(const struct dns_tcp *t);

#endif
