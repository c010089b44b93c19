/* dns_up_int.h - what dns_up.c (queries, UDP attempts), dns_up_tcp.c
 * (pooled TCP and TLS connections), dns_up_h2.c (HTTP/2 connections) and
 * dns_up_crypt.c (DNSCrypt) share. Internal to src/. */
#ifndef DNS_UP_INT_H
#define DNS_UP_INT_H

#include "dns_up.h"
#include "dnscrypt.h"
#include "ownsock.h"

struct event;
struct bufferevent;
struct dns_up_conn;
struct dns_up_h2c;
struct ssl_st;
struct ssl_session_st;
struct dns_up_cs;
struct dns_up_crypt_w;
struct dns_up_port;

/* Largest query an attempt sends: ours (dns_build_upstream, ECS up to 512
 * bytes) and, to a DNSCrypt server, what sealing adds. */
#define DNS_UP_MSG_MAX (DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4 + 11 + 512 + DNSCRYPT_OVERHEAD)

/* What a DNSCrypt attempt needs to open its answer: the keys of the
 * certificate it was sealed with (it may rotate meanwhile) and its nonce half. */
struct dns_up_ck {
	struct dnscrypt_session s;
	uint8_t nonce[DNSCRYPT_HALF_NONCE];
};

/* What a worker remembers of one stream server (TCP, TLS or HTTPS) between
 * connections: its TLS session (resumption), and when it failed (backoff). */
struct dns_up_srv {
	struct dns_up_srv *next;
	struct addr addr;
	uint8_t proto;
	struct ssl_ctx_st *ctx; /* a reference, so the pointer is never reused meanwhile */
	char auth[DNS_URL_NAME_MAX];
	struct ssl_session_st *sess;
	uint64_t down_until; /* no new connection before this (ms) unless nothing else is left */
	unsigned backoff_ms;
	unsigned conns;	     /* connections using it */
	uint64_t used_ms;
	char last_error[256]; /* logged once */
};

/* One UDP attempt: a port of its own (dns_up_port.c). */
struct dns_up_try {
	struct dns_up_q *q;
	struct dns_up_port *port;
	int fd; /* the port's socket; -1: none */
	uint16_t id;
	uint8_t srv; /* index into q->sv */
	bool edns;
	uint8_t qwire[DNS_NAME_WIRE_MAX]; /* the name as sent (0x20 case) */
	struct dns_up_ck ck;		  /* DNSCrypt servers */
};

struct dns_up_q {
	struct dns_up_q *prev, *next;
	struct dns_up *u;
	dns_up_cb cb;
	void *arg;
	const struct dns_query *cq;
	const uint8_t *pkt;
	struct dns_up_server sv[DNS_UP_MAX_SERVERS];
	uint8_t n;
	bool force;	  /* every server is backing off: try them anyway */
	uint8_t attempt;  /* next of the 2n attempts */
	uint8_t round;	  /* of the current attempt */
	uint8_t cur;	  /* udp[cur] is the current UDP attempt */
	bool x20;
	bool deferred;	  /* status is waiting for delivery through tmr */
	bool tcp_retried; /* re-sent once after a connection closed under it */
	uint16_t noedns;  /* servers that answered FORMERR to EDNS (bit per index) */
	bool noecs;	  /* REFUSED with ECS: no ECS from now on */
	bool ecs_strip;
	uint8_t ecs_len;
	uint8_t ecs[DNS_UP_ECS_MAX]; /* the ECS option to send instead of the client's */
	uint8_t ans_srv;  /* the server of the latest attempt (the one that answered) */
	uint64_t started_us[DNS_UP_MAX_SERVERS];
	int status;
	int fail;	  /* what to report if no answer comes */
	uint64_t deadline;
	unsigned try_ms;
	struct event *tmr;
	struct dns_up_try udp[2];
	/* TCP attempt (tcp_srv, tcp_edns, tcp_qwire, tcp_retried serve HTTPS too) */
	struct dns_up_conn *conn;
	uint16_t tcp_id;
	uint8_t tcp_srv;
	bool tcp_edns;
	uint32_t tcp_heard; /* its connection's reads when it was sent */
	uint8_t tcp_qwire[DNS_NAME_WIRE_MAX];
	struct dns_up_ck tcp_ck;
	/* waiting for a DNSCrypt server's certificate (dns_up_crypt.c) */
	struct dns_up_cs *cwait;
	struct dns_up_q *cnext, **cpprev;
	uint8_t cwait_srv;
	bool cwait_edns;
	/* HTTPS attempt: a stream on an HTTP/2 connection */
	struct dns_up_h2c *h2;
	int32_t h2_stream;
	bool h2_orphan; /* its connection is gone: to be sent again or moved on */
};

struct dns_up {
	struct dns_up_env env;
	struct dns_up_q *queries;
	size_t inflight;
	struct dns_up_q *spare; /* released records kept for reuse */
	size_t nspare;
	size_t nsocks;
	struct dns_up_conn *conns;
	struct dns_up_srv *srvs;
	struct dns_up_h2c *h2conns;
	size_t nsrvs;
	struct dns_up_crypt_w *crypt; /* DNSCrypt state, made on first use */
	struct dns_up_port *idle[2];  /* UDP sockets between attempts (IPv4, IPv6) */
	size_t nidle;
	struct event *sweep;	      /* closes the ones idle too long */
	bool mark_logged;
	/* the answer being delivered (dns_up_answered_by) */
	bool done_ok;
	struct dns_up_server done_sv;
	uint64_t done_rtt_us;
	uint8_t rbuf[65536]; /* one datagram or frame at a time */
};

/* What to do with a message that came back. */
enum dns_up_verdict {
	UPV_IGNORE,   /* not ours: wrong ID, question or malformed; keep waiting */
	UPV_ANSWER,   /* deliver it */
	UPV_TC,	      /* truncated over UDP: ask the same server over TCP */
	UPV_NOEDNS,   /* FORMERR to our EDNS: ask the same server without it */
	UPV_FAILOVER, /* SERVFAIL, NOTIMP, REFUSED: try the next server */
	UPV_NOECS,    /* REFUSED to a query with ECS: the same server again without it */
};

/* dns_up.c, for dns_up_tcp.c */
enum dns_up_verdict dns_up_judge(struct dns_up_q *q, const uint8_t *m, size_t len, uint16_t id,
				 const uint8_t *qwire, bool edns, bool tcp,
				 struct dns_answer_info *ai);
void dns_up_finish(struct dns_up_q *q, int status, const uint8_t *ans, size_t len,
		   const struct dns_answer_info *ai);
void dns_up_advance(struct dns_up_q *q, int fail);
int dns_up_build(struct dns_up_q *q, uint8_t srv, uint16_t id, bool edns, uint8_t *qwire,
		 uint8_t *out, size_t outlen);
int dns_up_sock(struct dns_up *u, const struct addr *a, int type, int proto,
		struct ownsock_tok *tok);
void dns_up_sock_close(struct dns_up *u, int fd, struct ownsock_tok *tok);
int dns_up_sock_new(struct dns_up *u, int family, int type, int proto);
void dns_up_sock_free(struct dns_up *u, int fd);
void dns_up_count(struct dns_up *u, int ctr_id);

/* dns_up_tls.c */
struct ssl_st *dns_up_tls_ssl_new(const struct dns_up_server *sv, struct dns_up_srv *st);
void dns_up_tls_failed(struct dns_up *u, struct dns_up_srv *st, struct ssl_st *ssl,
		       unsigned long err);
void dns_up_tls_refused(struct dns_up *u, struct dns_up_srv *st, const char *why);

/* dns_up.c: a UDP attempt (DNSCrypt ones are sealed with dns_up_crypt_seal). */
int dns_up_udp_start(struct dns_up_q *q, uint8_t srv, bool edns);

/* dns_up_crypt.c: DNSCrypt. start: an attempt, now or once the server's
 * certificate is in (-EAGAIN: its fetch failed lately, see q->force).
 * seal: the query out[0..len) for server srv, keys and nonce into ck; the
 * sealed length (in out, cap bytes) or -ECONNREFUSED without a certificate.
 * open: an answer to it, in place; false (counted) when it is not one. */
int dns_up_crypt_start(struct dns_up_q *q, uint8_t srv, bool edns);
int dns_up_crypt_seal(struct dns_up_q *q, uint8_t srv, struct dns_up_ck *ck, uint8_t *out,
		      size_t len, size_t cap, bool tcp);
bool dns_up_crypt_open(struct dns_up_q *q, uint8_t srv, const struct dns_up_ck *ck, uint8_t *buf,
		       size_t *len);
bool dns_up_crypt_ready(struct dns_up *u, const struct dns_up_server *sv);
void dns_up_crypt_detach(struct dns_up_q *q);
void dns_up_crypt_free_all(struct dns_up *u);

/* dns_up_port.c: the socket of a UDP attempt asking server a (its
 * descriptor, or -errno); cb(arg) runs when it is readable. send: the
 * attempt's query, from a new random port. recv: the next datagram from a
 * (its length), -EAGAIN (none left), -ENOMSG (one from elsewhere, dropped:
 * forged) or an ICMP error about a datagram to a (-ECONNREFUSED...).
 * close: the port is let go at once, the socket kept for another attempt. */
typedef void (*dns_up_port_cb)(void *arg);
int dns_up_port_open(struct dns_up *u, const struct addr *a, dns_up_port_cb cb, void *arg,
		     struct dns_up_port **out);
int dns_up_port_send(struct dns_up *u, struct dns_up_port *p, const void *msg, size_t len);
ssize_t dns_up_port_recv(struct dns_up_port *p, uint8_t *buf, size_t cap);
void dns_up_port_close(struct dns_up *u, struct dns_up_port *p);
void dns_up_port_free_all(struct dns_up *u);

/* dns_up_tcp.c: TCP and TLS. -EAGAIN: the server is backing off (see q->force). */
int dns_up_tcp_start(struct dns_up_q *q, uint8_t srv, bool edns);
void dns_up_tcp_detach(struct dns_up_q *q);
/* q's attempt on its connection ran out of time (before it is detached). */
void dns_up_tcp_timed_out(struct dns_up_q *q);
void dns_up_tcp_free_all(struct dns_up *u);
/* ... and the per-server state, for dns_up_h2.c */
struct dns_up_srv *dns_up_srv_get(struct dns_up *u, const struct dns_up_server *sv);
void dns_up_srv_failed(struct dns_up_srv *st);

/* dns_up_h2.c: HTTPS. -EAGAIN: the server is backing off. */
int dns_up_h2_start(struct dns_up_q *q, uint8_t srv, bool edns);
void dns_up_h2_detach(struct dns_up_q *q);
void dns_up_h2_free_all(struct dns_up *u);

#endif
