/* dnscrypt.h - the DNSCrypt v2 protocol on buffers
 * (https://dnscrypt.info/protocol): certificates (parse, verify with the
 * provider's Ed25519 key, pick the best one out of a TXT answer), one
 * certificate's session keys for a client key pair, queries sealed with
 * ISO/IEC 7816-4 padding and answers opened. No sockets and no clock:
 * callers pass the time. The transport is dns_up_crypt.c's.
 *
 * A query:  client-magic(8) client-pk(32) client-nonce(12) box(padded query)
 * An answer: resolver-magic(8) client-nonce(12) resolver-nonce(12) box(padded answer)
 * box: X25519-XSalsa20Poly1305 (es-version 1) or X25519-XChacha20Poly1305
 * (es-version 2), 16-byte MAC first, nonce = the 24 bytes (a query's own
 * are its client nonce and 12 zero bytes). */
#ifndef DNSCRYPT_H
#define DNSCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSCRYPT_KEY_LEN 32  /* X25519 and Ed25519 public keys, shared keys */
#define DNSCRYPT_MAGIC_LEN 8 /* client magic, resolver magic */
#define DNSCRYPT_HALF_NONCE 12
#define DNSCRYPT_MAC_LEN 16
#define DNSCRYPT_CERT_LEN 124 /* a certificate without extensions */
#define DNSCRYPT_CERT_MAX 512 /* longest certificate (with extensions) taken */
#define DNSCRYPT_QUERY_HDR (DNSCRYPT_MAGIC_LEN + DNSCRYPT_KEY_LEN + DNSCRYPT_HALF_NONCE)
#define DNSCRYPT_ANSWER_HDR (DNSCRYPT_MAGIC_LEN + 2 * DNSCRYPT_HALF_NONCE)
#define DNSCRYPT_BLOCK 64    /* padded queries are a multiple of this */
#define DNSCRYPT_UDP_MIN 256 /* least padded query over UDP (the spec's min-query-len) */
/** The most sealing adds to a query (header, MAC, padding). */
#define DNSCRYPT_OVERHEAD (DNSCRYPT_QUERY_HDR + DNSCRYPT_MAC_LEN + DNSCRYPT_UDP_MIN)

/** Encryption systems (es-version). */
enum dnscrypt_es { DNSCRYPT_ES_XSALSA20 = 1, DNSCRYPT_ES_XCHACHA20 = 2 };

/** The signed part of a certificate that a client uses. */
struct dnscrypt_cert {
	uint16_t es;
	uint8_t resolver_pk[DNSCRYPT_KEY_LEN];
	uint8_t client_magic[DNSCRYPT_MAGIC_LEN];
	uint32_t serial;
	uint32_t ts_start, ts_end; /* seconds since the epoch */
};

/** What the certificates of one answer were, for the log when none is usable. */
struct dnscrypt_tally {
	unsigned txt;  /* TXT records in the answer section */
	unsigned form; /* not a certificate: length, magic, minor version */
	unsigned es;   /* an es-version this client does not know */
	unsigned sig;  /* signature not made by the provider's key */
	unsigned time; /* not valid now (ts-start .. ts-end) */
	unsigned valid;
};

/** One certificate's keys for a client key pair: what sealing and opening need. */
struct dnscrypt_session {
	uint16_t es;
	uint32_t serial;
	uint8_t client_magic[DNSCRYPT_MAGIC_LEN];
	uint8_t client_pk[DNSCRYPT_KEY_LEN];
	uint8_t shared[DNSCRYPT_KEY_LEN]; /* crypto_box_beforenm of the system */
};

/**
 * Parse and verify one certificate (b: the TXT record's strings joined):
 * magic "DNSC", es-version 1 or 2, minor version 0, the Ed25519 signature
 * over everything after it by provider_pk. Dates are not checked. 0;
 * -EBADMSG (not a certificate), -EPROTONOSUPPORT (es-version), -EPERM
 * (signature).
 */
int dnscrypt_cert_parse(const uint8_t *b, size_t len, const uint8_t *provider_pk,
			struct dnscrypt_cert *c);

/** True when wall_s lies within the certificate's dates. */
bool dnscrypt_cert_current(const struct dnscrypt_cert *c, uint64_t wall_s);

/** True when a should be used rather than b: a higher serial, or the same with XChacha20. */
bool dnscrypt_cert_better(const struct dnscrypt_cert *a, const struct dnscrypt_cert *b);

/**
 * Walk the answer section of the DNS message msg (every byte bounds-
 * checked) and keep in *best the best certificate among its TXT records
 * that verifies with provider_pk and is current at wall_s. why (may be
 * NULL) counts what was seen. 0 with *best set; -ENOENT when no record
 * gave a usable certificate; -EBADMSG when msg does not parse.
 */
int dnscrypt_certs_pick(const uint8_t *msg, size_t len, const uint8_t *provider_pk, uint64_t wall_s,
			struct dnscrypt_cert *best, struct dnscrypt_tally *why);

/**
 * The query that fetches certificates: TXT IN for the provider's name
 * lname (lowercase wire form, lname_len bytes), ID id, RD clear. Its
 * length, or -ENOSPC.
 */
int dnscrypt_cert_query(const uint8_t *lname, size_t lname_len, uint16_t id, uint8_t *out,
			size_t cap);

/** Keys for certificate c and the client's X25519 pair. 0, or -EINVAL (a weak resolver key). */
int dnscrypt_session_init(struct dnscrypt_session *s, const struct dnscrypt_cert *c,
			  const uint8_t *client_pk, const uint8_t *client_sk);

/**
 * Length of a query of len bytes once padded: one 0x80 byte then zeros
 * up to a multiple of DNSCRYPT_BLOCK, and at least DNSCRYPT_UDP_MIN over UDP.
 */
size_t dnscrypt_padded_len(size_t len, bool udp);

/**
 * Pad buf[0..len) to padded bytes (ISO/IEC 7816-4). buf holds padded
 * bytes; padded > len. 0 or -EINVAL.
 */
int dnscrypt_pad(uint8_t *buf, size_t len, size_t padded);

/** Length of buf[0..len) without its padding, or -EBADMSG when it is not padded. */
int dnscrypt_unpad(const uint8_t *buf, size_t len);

/**
 * Seal the DNS query q[0..qlen) for session s under the client nonce half
 * nonce into out (which must not overlap q). The sealed length, or -ENOSPC.
 */
int dnscrypt_seal(const struct dnscrypt_session *s, const uint8_t *nonce, const uint8_t *q,
		  size_t qlen, bool udp, uint8_t *out, size_t cap);

/** The client nonce half an answer carries, or NULL when it is too short to be one. */
const uint8_t *dnscrypt_answer_nonce(const uint8_t *buf, size_t len);

/**
 * Open the answer buf[0..len) in place to a query sealed with s under
 * nonce: resolver magic, the nonce's client half, the MAC, the padding.
 * The DNS message is then buf[0..return); -EBADMSG when any check fails
 * (buf is then garbage).
 */
int dnscrypt_open(const struct dnscrypt_session *s, const uint8_t *nonce, uint8_t *buf, size_t len);

/* When to fetch a server's certificates again (dns_up_crypt.c asks on
 * each query; times in ms of the monotonic clock, dates in wall seconds). */
#define DNSCRYPT_REFRESH_MS (3600 * 1000) /* the certificates of an hour ago */
#define DNSCRYPT_EXPIRY_MARGIN_S 3600	  /* the one in use ends within the hour */
#define DNSCRYPT_RECHECK_MS (60 * 1000)	  /* least time between such refreshes */
#define DNSCRYPT_STALE_MS 1500		  /* queries sent this long ago got no answer, and no */
#define DNSCRYPT_STALE_RETRY_MS 10000	  /* fetch since they were sent or within this long */

struct dnscrypt_sched {
	bool have;		/* a certificate is in use */
	uint32_t ts_end;	/* its end */
	uint32_t ts_start;	/* its start */
	uint64_t fetched_ms;	/* the last fetch that gave one */
	uint64_t tried_ms;	/* the last fetch started (0: never) */
	uint64_t unanswered_ms; /* the first query sent since the last answer that opened or
				   the last new certificate (0: none) */
};

enum dnscrypt_due {
	DNSCRYPT_USE,	  /* send with the certificate in use */
	DNSCRYPT_REFRESH, /* send with it, and fetch again meanwhile */
	DNSCRYPT_FETCH,	  /* fetch, and send once the fetch is done: none in use, it
			     expired, or the server stopped answering (a rotated key) */
};

/** What to do for the next query to a server in state s. */
enum dnscrypt_due dnscrypt_due(const struct dnscrypt_sched *s, uint64_t now_ms, uint64_t wall_s);

#endif
