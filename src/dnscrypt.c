#include "config.h"
/* dnscrypt.c - the DNSCrypt v2 protocol on buffers (see dnscrypt.h):
 * certificates, padding, sealing queries and opening answers. Every byte
 * of a certificate answer or an encrypted answer is hostile: the answer
 * carrying certificates is walked with the bounds-checked reader (rd.h),
 * fixed layouts are read after a check of their length. It owns no state
 * and does no I/O; which certificate a server uses, and when to fetch
 * again, is dns_up_crypt.c's business. */
#include "dnscrypt.h"
#include "dns_msg.h"
#include "dns_wire.h"
#include "rd.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define TYPE_TXT 16
#define CLASS_IN 1

static const uint8_t cert_magic[4] = {'D', 'N', 'S', 'C'};
static const uint8_t resolver_magic[DNSCRYPT_MAGIC_LEN] = {0x72, 0x36, 0x66, 0x6e,
							   0x76, 0x57, 0x6a, 0x38};

/*
 * A certificate (all integers big-endian):
 *   0  cert-magic "DNSC"          4
 *   4  es-version                 2   1: XSalsa20Poly1305, 2: XChacha20Poly1305
 *   6  protocol-minor-version 0   2
 *   8  signature                 64   Ed25519 over bytes 72..end
 *  72  resolver-pk               32
 * 104  client-magic               8
 * 112  serial                     4
 * 116  ts-start                   4
 * 120  ts-end                     4
 * 124  extensions (signed too)
 */
int dnscrypt_cert_parse(const uint8_t *b, size_t len, const uint8_t *provider_pk,
			struct dnscrypt_cert *c)
{
	uint16_t es;

	if (len < DNSCRYPT_CERT_LEN || len > DNSCRYPT_CERT_MAX || memcmp(b, cert_magic, 4) != 0 ||
	    rd16(b + 6) != 0)
		return -EBADMSG;
	es = rd16(b + 4);
	if (es != DNSCRYPT_ES_XSALSA20 && es != DNSCRYPT_ES_XCHACHA20)
		return -EPROTONOSUPPORT;
	if (crypto_sign_verify_detached(b + 8, b + 72, len - 72, provider_pk) != 0)
		return -EPERM;
	c->es = es;
	memcpy(c->resolver_pk, b + 72, DNSCRYPT_KEY_LEN);
	memcpy(c->client_magic, b + 104, DNSCRYPT_MAGIC_LEN);
	c->serial = rd32(b + 112);
	c->ts_start = rd32(b + 116);
	c->ts_end = rd32(b + 120);
	return 0;
}

bool dnscrypt_cert_current(const struct dnscrypt_cert *c, uint64_t wall_s)
{
	return c->ts_start <= wall_s && wall_s <= c->ts_end;
}

bool dnscrypt_cert_better(const struct dnscrypt_cert *a, const struct dnscrypt_cert *b)
{
	if (a->serial != b->serial)
		return a->serial > b->serial;
	return a->es == DNSCRYPT_ES_XCHACHA20 && b->es != DNSCRYPT_ES_XCHACHA20;
}

/* One TXT record's character-strings joined into out (DNSCRYPT_CERT_MAX
 * bytes). Its length, or -EBADMSG when a string runs past the RDATA or the
 * whole is longer than any certificate. */
static int txt_join(struct rd r, uint8_t *out)
{
	size_t n = 0;

	while (rd_left(&r) > 0) {
		struct rd str = rd_vec(&r, 1);
		size_t sl = rd_left(&str);

		if (!rd_ok(&str) || sl > DNSCRYPT_CERT_MAX - n)
			return -EBADMSG;
		memcpy(out + n, rd_ptr(&str), sl);
		n += sl;
	}
	return (int)n;
}

/* One TXT record's RDATA: tally it, keep it in *best if it is better. */
static void consider(struct rd rdata, const uint8_t *provider_pk, uint64_t wall_s,
		     struct dnscrypt_cert *best, bool *have, struct dnscrypt_tally *why)
{
	uint8_t buf[DNSCRYPT_CERT_MAX];
	struct dnscrypt_cert c;
	int n = txt_join(rdata, buf), rc;

	why->txt++;
	rc = n < 0 ? -EBADMSG : dnscrypt_cert_parse(buf, (size_t)n, provider_pk, &c);
	if (rc == -EBADMSG)
		why->form++;
	else if (rc == -EPROTONOSUPPORT)
		why->es++;
	else if (rc == -EPERM)
		why->sig++;
	else if (!dnscrypt_cert_current(&c, wall_s))
		why->time++;
	else {
		why->valid++;
		if (!*have || dnscrypt_cert_better(&c, best))
			*best = c;
		*have = true;
	}
}

/*
 * The answer's header, its questions (skipped), then ANCOUNT RRs:
 *   NAME  TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA
 * Only TXT IN records are read; the rest of the message is not.
 */
int dnscrypt_certs_pick(const uint8_t *msg, size_t len, const uint8_t *provider_pk, uint64_t wall_s,
			struct dnscrypt_cert *best, struct dnscrypt_tally *why)
{
	struct dnscrypt_tally local;
	struct rd m = rd_init(msg, len);
	const uint8_t *h;
	unsigned qd, an;
	bool have = false;
	size_t wl;

	if (!why)
		why = &local;
	memset(why, 0, sizeof(*why));
	if (!rd_take(&m, DNS_HDR_LEN, &h))
		return -EBADMSG;
	qd = rd16(h + 4);
	an = rd16(h + 6);
	for (unsigned i = 0; i < qd; i++)
		if (dns_wire_name_take(&m, NULL, &wl, NULL, NULL) < 0 || !rd_skip(&m, 4))
			return -EBADMSG;
	for (unsigned i = 0; i < an; i++) {
		const uint8_t *f;
		struct rd rdata;

		if (dns_wire_name_take(&m, NULL, &wl, NULL, NULL) < 0 || !rd_take(&m, 10, &f))
			return -EBADMSG;
		rdata = rd_sub(&m, rd16(f + 8));
		if (!rd_ok(&rdata))
			return -EBADMSG;
		if (rd16(f) == TYPE_TXT && rd16(f + 2) == CLASS_IN)
			consider(rdata, provider_pk, wall_s, best, &have, why);
	}
	return have ? 0 : -ENOENT;
}

int dnscrypt_cert_query(const uint8_t *lname, size_t lname_len, uint16_t id, uint8_t *out,
			size_t cap)
{
	if (lname_len < 1 || lname_len > DNS_NAME_WIRE_MAX || cap < DNS_HDR_LEN + lname_len + 4)
		return -ENOSPC;
	memset(out, 0, DNS_HDR_LEN);
	wr16(out, id);
	wr16(out + 4, 1); /* QDCOUNT */
	memcpy(out + DNS_HDR_LEN, lname, lname_len);
	wr16(out + DNS_HDR_LEN + lname_len, TYPE_TXT);
	wr16(out + DNS_HDR_LEN + lname_len + 2, CLASS_IN);
	return (int)(DNS_HDR_LEN + lname_len + 4);
}

int dnscrypt_session_init(struct dnscrypt_session *s, const struct dnscrypt_cert *c,
			  const uint8_t *client_pk, const uint8_t *client_sk)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (c->es == DNSCRYPT_ES_XCHACHA20)
		rc = crypto_box_curve25519xchacha20poly1305_beforenm(s->shared, c->resolver_pk,
								     client_sk);
	else
		rc = crypto_box_beforenm(s->shared, c->resolver_pk, client_sk);
	if (rc != 0) /* a low-order resolver key: every shared key would be known */
		return -EINVAL;
	s->es = c->es;
	s->serial = c->serial;
	memcpy(s->client_magic, c->client_magic, DNSCRYPT_MAGIC_LEN);
	memcpy(s->client_pk, client_pk, DNSCRYPT_KEY_LEN);
	return 0;
}

size_t dnscrypt_padded_len(size_t len, bool udp)
{
	size_t p = (len / DNSCRYPT_BLOCK + 1) * DNSCRYPT_BLOCK; /* room for the 0x80 at least */

	return udp && p < DNSCRYPT_UDP_MIN ? DNSCRYPT_UDP_MIN : p;
}

int dnscrypt_pad(uint8_t *buf, size_t len, size_t padded)
{
	if (padded <= len)
		return -EINVAL;
	buf[len] = 0x80;
	memset(buf + len + 1, 0, padded - len - 1);
	return 0;
}

int dnscrypt_unpad(const uint8_t *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == 0)
		len--;
	if (len == 0 || buf[len - 1] != 0x80)
		return -EBADMSG;
	return (int)(len - 1);
}

int dnscrypt_seal(const struct dnscrypt_session *s, const uint8_t *nonce, const uint8_t *q,
		  size_t qlen, bool udp, uint8_t *out, size_t cap)
{
	size_t padded = dnscrypt_padded_len(qlen, udp);
	uint8_t *body = out + DNSCRYPT_QUERY_HDR, *plain = body + DNSCRYPT_MAC_LEN;
	uint8_t n[2 * DNSCRYPT_HALF_NONCE] = {0};
	int rc;

	if (cap < DNSCRYPT_QUERY_HDR + DNSCRYPT_MAC_LEN + padded || padded > INT32_MAX / 2)
		return -ENOSPC;
	memcpy(out, s->client_magic, DNSCRYPT_MAGIC_LEN);
	memcpy(out + DNSCRYPT_MAGIC_LEN, s->client_pk, DNSCRYPT_KEY_LEN);
	memcpy(out + DNSCRYPT_MAGIC_LEN + DNSCRYPT_KEY_LEN, nonce, DNSCRYPT_HALF_NONCE);
	memcpy(n, nonce, DNSCRYPT_HALF_NONCE);
	memcpy(plain, q, qlen);
	dnscrypt_pad(plain, qlen, padded);
	/* in place: libsodium's box functions allow the message and the box to overlap */
	if (s->es == DNSCRYPT_ES_XCHACHA20)
		rc = crypto_box_curve25519xchacha20poly1305_easy_afternm(body, plain, padded, n,
									 s->shared);
	else
		rc = crypto_box_easy_afternm(body, plain, padded, n, s->shared);
	if (rc != 0)
		return -ENOSPC;
	return (int)(DNSCRYPT_QUERY_HDR + DNSCRYPT_MAC_LEN + padded);
}

const uint8_t *dnscrypt_answer_nonce(const uint8_t *buf, size_t len)
{
	if (len < DNSCRYPT_ANSWER_HDR + DNSCRYPT_MAC_LEN)
		return NULL;
	return buf + DNSCRYPT_MAGIC_LEN;
}

int dnscrypt_open(const struct dnscrypt_session *s, const uint8_t *nonce, uint8_t *buf, size_t len)
{
	uint8_t n[2 * DNSCRYPT_HALF_NONCE];
	size_t clen;
	int rc;

	if (len < DNSCRYPT_ANSWER_HDR + DNSCRYPT_MAC_LEN + 1 || len > INT32_MAX ||
	    memcmp(buf, resolver_magic, DNSCRYPT_MAGIC_LEN) != 0 ||
	    memcmp(buf + DNSCRYPT_MAGIC_LEN, nonce, DNSCRYPT_HALF_NONCE) != 0)
		return -EBADMSG;
	/* the nonce is copied out first: the plaintext overwrites it */
	memcpy(n, buf + DNSCRYPT_MAGIC_LEN, sizeof(n));
	clen = len - DNSCRYPT_ANSWER_HDR;
	if (s->es == DNSCRYPT_ES_XCHACHA20)
		rc = crypto_box_curve25519xchacha20poly1305_open_easy_afternm(
		    buf, buf + DNSCRYPT_ANSWER_HDR, clen, n, s->shared);
	else
		rc = crypto_box_open_easy_afternm(buf, buf + DNSCRYPT_ANSWER_HDR, clen, n,
						  s->shared);
	if (rc != 0)
		return -EBADMSG;
	return dnscrypt_unpad(buf, clen - DNSCRYPT_MAC_LEN);
}

enum dnscrypt_due dnscrypt_due(const struct dnscrypt_sched *s, uint64_t now_ms, uint64_t wall_s)
{
	bool tried = s->tried_ms != 0;

	if (!s->have || wall_s < s->ts_start || wall_s > s->ts_end)
		return DNSCRYPT_FETCH;
	/* A server that rotated its key drops queries sealed for the old one
	 * without a word: silence is the only sign. */
	if (s->unanswered_ms && now_ms - s->unanswered_ms >= DNSCRYPT_STALE_MS &&
	    (s->tried_ms < s->unanswered_ms || now_ms - s->tried_ms >= DNSCRYPT_STALE_RETRY_MS))
		return DNSCRYPT_FETCH;
	if ((now_ms - s->fetched_ms >= DNSCRYPT_REFRESH_MS ||
	     (uint64_t)s->ts_end < wall_s + DNSCRYPT_EXPIRY_MARGIN_S) &&
	    (!tried || now_ms - s->tried_ms >= DNSCRYPT_RECHECK_MS))
		return DNSCRYPT_REFRESH;
	return DNSCRYPT_USE;
}
