#include "config.h"
/* quic.c - reads the ClientHello out of a flow's client Initial packets.
 * It owns: long-header parsing, Initial key derivation (RFC 9001 5.2 for
 * v1, RFC 9369 3.3 for v2), header protection removal, AES-128-GCM
 * decryption (OpenSSL 3 EVP, algorithms fetched once per struct
 * quic_crypto, which a worker keeps for all its flows), the
 * Initial frames a client may send (PADDING, PING, ACK, CRYPTO,
 * CONNECTION_CLOSE), and a bounded reassembly of the CRYPTO stream. It does
 * not parse TLS (tls_hello.c), keep flows, or decide what to do with them.
 *
 *   Long Header Packet {
 *     Header Form (1) = 1, Fixed Bit (1), Long Packet Type (2),
 *     Type-Specific Bits (4),                  protected: reserved + pn length
 *     Version (32), DCID Length (8), DCID (0..160), SCID Length (8), SCID (0..160),
 *     [Initial: Token Length (i), Token (..)],
 *     Length (i),                              pn + payload + 16-byte tag
 *     Packet Number (8..32),                   protected
 *     Packet Payload (..),                     AES-128-GCM, AAD = header
 *   }
 */
#include "quic.h"
#include "rd.h"
#include "sluice.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#define TAG_LEN 16
#define SAMPLE_LEN 16
#define SECRET_LEN 32

#define FRAME_PADDING 0x00
#define FRAME_PING 0x01
#define FRAME_ACK 0x02
#define FRAME_ACK_ECN 0x03
#define FRAME_CRYPTO 0x06
#define FRAME_CLOSE 0x1c

/* What differs between versions for Initial packets. */
struct qver {
	uint32_t version;
	uint8_t salt[20];
	const char *key_label, *iv_label, *hp_label;
	/* long packet type bits -> enum quic_pkt_type */
	enum quic_pkt_type types[4];
};

static const struct qver qversions[] = {
    {QUIC_VERSION_1,
     {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
      0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
     "quic key",
     "quic iv",
     "quic hp",
     {QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE, QUIC_PKT_RETRY}},
    {QUIC_VERSION_2,
     {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
      0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
     "quicv2 key",
     "quicv2 iv",
     "quicv2 hp",
     {QUIC_PKT_RETRY, QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE}},
};

static const struct qver *find_version(uint32_t version)
{
	for (size_t i = 0; i < SL_ARRAY_LEN(qversions); i++)
		if (qversions[i].version == version)
			return &qversions[i];
	return NULL;
}

/* ---- QUIC fields on the bounds-checked reader (rd.h) ------------------- */

/* RFC 9000 16: the two top bits give the length, 1, 2, 4 or 8 bytes. */
static uint64_t take_varint(struct rd *r)
{
	uint8_t b0 = rd_u8(r);
	unsigned n = 1u << (b0 >> 6);

	return (uint64_t)(b0 & 0x3f) << (8 * (n - 1)) | rd_uint(r, n - 1);
}

/* n bytes, n read as a varint; NULL (and the error set) when fewer remain.
 * n is compared before the cast: on a 32-bit size_t a 62-bit length would
 * otherwise wrap to a small one. */
static const uint8_t *take_varbytes(struct rd *r, uint64_t n)
{
	if (n > rd_left(r)) {
		rd_fail(r);
		return NULL;
	}
	return rd_bytes(r, (size_t)n);
}

static bool take_cid(struct rd *r, uint8_t *cid, uint8_t *cid_len)
{
	const uint8_t *b;

	*cid_len = rd_u8(r);
	if (*cid_len > QUIC_MAX_CID_LEN)
		return rd_fail(r);
	b = rd_bytes(r, *cid_len);
	if (b)
		memcpy(cid, b, *cid_len);
	return b != NULL;
}

/* ---- header ------------------------------------------------------------- */

int quic_parse_header(const uint8_t *pkt, size_t len, struct quic_hdr *h)
{
	struct rd r = rd_init(pkt, len);
	const struct qver *v;
	uint64_t n;
	uint8_t b0;

	memset(h, 0, sizeof(*h));
	b0 = rd_u8(&r);
	if (!rd_ok(&r))
		return -EINVAL;
	if (!(b0 & 0x80)) {
		h->type = QUIC_PKT_SHORT;
		h->pkt_len = len;
		return 0;
	}
	h->version = rd_u32(&r);
	if (!rd_ok(&r))
		return -EINVAL;
	v = find_version(h->version);
	if (!v)
		return -EPROTONOSUPPORT;
	if (!take_cid(&r, h->dcid, &h->dcid_len) || !take_cid(&r, h->scid, &h->scid_len))
		return -EINVAL;
	h->type = v->types[(b0 >> 4) & 3];
	if (h->type == QUIC_PKT_RETRY) {
		h->pkt_len = len;
		return 0;
	}
	if (h->type == QUIC_PKT_INITIAL) {
		n = take_varint(&r);
		if (!take_varbytes(&r, n))
			return -EINVAL;
		h->token_len = (size_t)n;
	}
	n = take_varint(&r);
	if (!rd_ok(&r) || n > rd_left(&r))
		return -EINVAL;
	h->pn_off = r.off;
	h->pkt_len = h->pn_off + (size_t)n;
	return 0;
}

/* ---- OpenSSL ------------------------------------------------------------ */

/* Algorithms fetched once per handle and reused: an implicit fetch costs a
 * lookup in OpenSSL's method store each time, and so does OpenSSL 3.0's
 * HKDF (EVP_KDF) on every call, for HMAC and SHA-256. So HKDF is done here
 * with one HMAC-SHA256 context, and each cipher has a context that keeps
 * its cipher: a packet sets only keys and IVs. The fetched algorithms
 * could be shared between threads, the contexts cannot, so a handle
 * belongs to one thread (a worker) and serves all its flows. */
struct quic_crypto {
	EVP_CIPHER *gcm;
	EVP_CIPHER *ecb;
	EVP_MAC *hmac;
	EVP_CIPHER_CTX *gcm_ctx;
	EVP_CIPHER_CTX *ecb_ctx;
	EVP_MAC_CTX *mac; /* HMAC with SHA-256 */
	unsigned fetches;
};

void quic_crypto_free(struct quic_crypto *c)
{
	if (!c)
		return;
	EVP_MAC_CTX_free(c->mac);
	EVP_CIPHER_CTX_free(c->ecb_ctx);
	EVP_CIPHER_CTX_free(c->gcm_ctx);
	EVP_MAC_free(c->hmac);
	EVP_CIPHER_free(c->ecb);
	EVP_CIPHER_free(c->gcm);
	free(c);
}

struct quic_crypto *quic_crypto_new(void)
{
	struct quic_crypto *c = calloc(1, sizeof(*c));
	OSSL_PARAM p[2];

	if (!c)
		return NULL;
	c->gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	c->ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->fetches++;
	if (!c->gcm || !c->ecb || !c->hmac)
		goto fail;
	c->gcm_ctx = EVP_CIPHER_CTX_new();
	c->ecb_ctx = EVP_CIPHER_CTX_new();
	c->mac = EVP_MAC_CTX_new(c->hmac);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!c->gcm_ctx || !c->ecb_ctx || !c->mac || EVP_MAC_CTX_set_params(c->mac, p) <= 0 ||
	    EVP_DecryptInit_ex(c->gcm_ctx, c->gcm, NULL, NULL, NULL) <= 0 ||
	    EVP_EncryptInit_ex(c->ecb_ctx, c->ecb, NULL, NULL, NULL) <= 0 ||
	    EVP_CIPHER_CTX_set_padding(c->ecb_ctx, 0) <= 0)
		goto fail;
	return c;
fail:
	quic_crypto_free(c);
	return NULL;
}

unsigned quic_crypto_fetches(const struct quic_crypto *c)
{
	return c->fetches;
}

/* HMAC-SHA256 of @msg under @key: HKDF-Extract is one (key = salt, msg =
 * IKM), and so is HKDF-Expand of at most 32 bytes (key = PRK, msg = info
 * and the counter 1), RFC 5869 2.2-2.3. */
static int hmac_sha256(struct quic_crypto *c, const uint8_t *key, size_t key_len,
		       const uint8_t *msg, size_t msg_len, uint8_t *out)
{
	size_t n = 0;

	if (EVP_MAC_init(c->mac, key, key_len, NULL) <= 0 ||
	    EVP_MAC_update(c->mac, msg, msg_len) <= 0 ||
	    EVP_MAC_final(c->mac, out, &n, SECRET_LEN) <= 0 || n != SECRET_LEN)
		return -EIO;
	return 0;
}

/* RFC 8446 7.1 HKDF-Expand-Label with an empty context, @out_len <= 32. */
static int expand_label(struct quic_crypto *c, const uint8_t *secret, const char *label,
			uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + 1], t[SECRET_LEN];
	size_t llen = strlen(label), n = 0;
	int rc;

	if (llen > 32 || out_len > SECRET_LEN)
		return -EINVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0;
	info[n++] = 1; /* HKDF-Expand's T(1): one block is enough */
	rc = hmac_sha256(c, secret, SECRET_LEN, info, n, t);
	if (rc == 0)
		memcpy(out, t, out_len);
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

static int derive_keys(struct quic_crypto *c, uint32_t version, const uint8_t *dcid,
		       size_t dcid_len, bool is_server, struct quic_keys *k)
{
	/* The IKM may be empty (a server-chosen CID after a Retry); OpenSSL
	 * takes that, but not as a NULL pointer. */
	static const uint8_t none[1];
	uint8_t initial[SECRET_LEN], secret[SECRET_LEN];
	const struct qver *v = find_version(version);
	int rc;

	if (!v)
		return -EPROTONOSUPPORT;
	if (dcid_len > QUIC_MAX_CID_LEN)
		return -EINVAL;
	rc = hmac_sha256(c, v->salt, sizeof(v->salt), dcid_len ? dcid : none, dcid_len, initial);
	if (rc == 0)
		rc = expand_label(c, initial, is_server ? "server in" : "client in", secret,
				  sizeof(secret));
	if (rc == 0)
		rc = expand_label(c, secret, v->key_label, k->key, sizeof(k->key));
	if (rc == 0)
		rc = expand_label(c, secret, v->iv_label, k->iv, sizeof(k->iv));
	if (rc == 0)
		rc = expand_label(c, secret, v->hp_label, k->hp, sizeof(k->hp));
	OPENSSL_cleanse(initial, sizeof(initial));
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int quic_initial_keys(struct quic_crypto *c, uint32_t version, const uint8_t *dcid, size_t dcid_len,
		      bool is_server, struct quic_keys *out)
{
	return derive_keys(c, version, dcid, dcid_len, is_server, out);
}

/* ---- packet protection ------------------------------------------------- */

/* RFC 9000 A.3: the packet number closest to the next expected one. */
static uint64_t decode_pn(uint64_t largest, uint64_t truncated, unsigned bits)
{
	uint64_t expected = largest + 1, win = (uint64_t)1 << bits, hwin = win / 2;
	uint64_t candidate = (expected & ~(win - 1)) | truncated;

	if (candidate + hwin <= expected && candidate < ((uint64_t)1 << 62) - win)
		return candidate + win;
	if (candidate > expected + hwin && candidate >= win)
		return candidate - win;
	return candidate;
}

static int hp_mask(struct quic_crypto *c, const uint8_t *hp, const uint8_t *sample, uint8_t *mask)
{
	int n = 0, m = 0;

	if (EVP_EncryptInit_ex(c->ecb_ctx, NULL, NULL, hp, NULL) <= 0 ||
	    EVP_EncryptUpdate(c->ecb_ctx, mask, &n, sample, SAMPLE_LEN) <= 0 ||
	    EVP_EncryptFinal_ex(c->ecb_ctx, mask + n, &m) <= 0 || n + m != SAMPLE_LEN)
		return -EIO;
	return 0;
}

static int gcm_open(struct quic_crypto *c, const struct quic_keys *k, const uint8_t *nonce,
		    const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
	int n = 0;

	if (EVP_DecryptInit_ex(c->gcm_ctx, NULL, NULL, k->key, nonce) <= 0 ||
	    EVP_DecryptUpdate(c->gcm_ctx, NULL, &n, aad, (int)aad_len) <= 0 ||
	    EVP_DecryptUpdate(c->gcm_ctx, data, &n, data, (int)len) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c->gcm_ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, data + len) <= 0)
		return -EIO;
	return EVP_DecryptFinal_ex(c->gcm_ctx, data + n, &n) > 0 ? 0 : -EBADMSG;
}

/* The sample starts 4 bytes past the packet number's start whatever its
 * length, so a protected packet holds at least 4 + 16 bytes there. */
static bool protectable(const struct quic_hdr *h)
{
	return h->type != QUIC_PKT_SHORT && h->type != QUIC_PKT_RETRY && h->pkt_len >= h->pn_off &&
	       h->pkt_len - h->pn_off >= 4 + SAMPLE_LEN;
}

static int decrypt_initial(struct quic_crypto *c, uint8_t *pkt, const struct quic_hdr *h,
			   const struct quic_keys *k, uint64_t largest, uint64_t *pn,
			   size_t *payload_off, size_t *payload_len)
{
	uint8_t mask[SAMPLE_LEN], nonce[12];
	uint64_t truncated = 0, full;
	size_t pn_len, rest;
	int rc;

	if (!protectable(h))
		return -EINVAL;
	rest = h->pkt_len - h->pn_off;
	rc = hp_mask(c, k->hp, pkt + h->pn_off + 4, mask);
	if (rc < 0)
		return rc;
	pkt[0] ^= mask[0] & 0x0f;
	pn_len = (size_t)(pkt[0] & 3) + 1;
	for (size_t i = 0; i < pn_len; i++) {
		pkt[h->pn_off + i] ^= mask[1 + i];
		truncated = truncated << 8 | pkt[h->pn_off + i];
	}
	full = decode_pn(largest, truncated, (unsigned)pn_len * 8);
	memcpy(nonce, k->iv, sizeof(nonce));
	for (size_t i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(full >> (8 * i));
	*payload_off = h->pn_off + pn_len;
	*payload_len = rest - pn_len - TAG_LEN;
	rc = gcm_open(c, k, nonce, pkt, *payload_off, pkt + *payload_off, *payload_len);
	if (rc == 0)
		*pn = full;
	return rc;
}

int quic_decrypt_initial(struct quic_crypto *c, uint8_t *pkt, const struct quic_hdr *h,
			 const struct quic_keys *keys, uint64_t largest_pn, uint64_t *pn,
			 size_t *payload_off, size_t *payload_len)
{
	return decrypt_initial(c, pkt, h, keys, largest_pn, pn, payload_off, payload_len);
}

/* ---- sniffing ------------------------------------------------------------ */

struct range {
	uint32_t start, end;
};

/* Client Initial keys of one version + DCID, derived once. */
struct keyset {
	uint32_t version;
	uint8_t dcid_len;
	uint8_t dcid[QUIC_MAX_CID_LEN];
	bool opened; /* has decrypted a packet */
	struct quic_keys k;
};

struct quic_sniff {
	struct quic_crypto *c; /* the worker's, not owned */
	enum quic_sniff_result state;
	uint32_t version;
	unsigned npkts, ndgrams;
	unsigned nderived, nattempts, nfailed; /* for tests and counters */
	uint64_t largest_pn;
	struct keyset keys[QUIC_SNIFF_MAX_KEYS]; /* in derivation order; see sniff_open() */
	unsigned nkeys;
	/* the CRYPTO stream: bytes in buf, filled spans in rng (sorted, disjoint) */
	uint8_t *buf;
	size_t cap;
	struct range rng[QUIC_SNIFF_MAX_RANGES];
	size_t nrng;
	struct tls_hello hello;
};

struct quic_sniff *quic_sniff_new(struct quic_crypto *c)
{
	struct quic_sniff *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->state = QUIC_SNIFF_MORE;
	return s;
}

void quic_sniff_free(struct quic_sniff *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->keys, sizeof(s->keys));
	free(s->buf);
	free(s);
}

/* Mark [start, end) filled, merging with the spans it touches. */
static int range_add(struct quic_sniff *s, uint32_t start, uint32_t end)
{
	size_t i = 0, j;

	while (i < s->nrng && s->rng[i].end < start)
		i++;
	for (j = i; j < s->nrng && s->rng[j].start <= end; j++) {
		start = SL_MIN(start, s->rng[j].start);
		end = SL_MAX(end, s->rng[j].end);
	}
	if (j == i) {
		if (s->nrng == QUIC_SNIFF_MAX_RANGES)
			return -ENOSPC;
		memmove(&s->rng[i + 1], &s->rng[i], (s->nrng - i) * sizeof(s->rng[0]));
		s->nrng++;
	} else {
		memmove(&s->rng[i + 1], &s->rng[j], (s->nrng - j) * sizeof(s->rng[0]));
		s->nrng -= j - i - 1;
	}
	s->rng[i] = (struct range){start, end};
	return 0;
}

/* Copy the bytes of [off, off + n) that no earlier frame supplied: like the
 * servers, the first copy of an offset wins. */
static void crypto_copy(struct quic_sniff *s, size_t off, const uint8_t *data, size_t n)
{
	size_t pos = off, end = off + n;

	for (size_t i = 0; i < s->nrng && pos < end; i++) {
		if (s->rng[i].end <= pos)
			continue;
		if (s->rng[i].start >= end)
			break;
		if (s->rng[i].start > pos)
			memcpy(s->buf + pos, data + (pos - off), s->rng[i].start - pos);
		pos = SL_MAX(pos, (size_t)s->rng[i].end);
	}
	if (pos < end)
		memcpy(s->buf + pos, data + (pos - off), end - pos);
}

static int crypto_add(struct quic_sniff *s, uint64_t off, const uint8_t *data, uint64_t n)
{
	if (off > QUIC_SNIFF_MAX_BYTES || n > QUIC_SNIFF_MAX_BYTES - off)
		return -EMSGSIZE;
	if (n == 0)
		return 0;
	if (off + n > s->cap) {
		/* grow in steps so a two-packet hello reallocates at most twice */
		size_t cap =
		    SL_MIN(((size_t)(off + n) + 2047) & ~(size_t)2047, QUIC_SNIFF_MAX_BYTES);
		uint8_t *buf = realloc(s->buf, cap);

		if (!buf)
			return -ENOMEM;
		s->buf = buf;
		s->cap = cap;
	}
	crypto_copy(s, (size_t)off, data, (size_t)n);
	return range_add(s, (uint32_t)off, (uint32_t)(off + n));
}

static bool skip_varints(struct rd *r, unsigned n)
{
	while (n--)
		take_varint(r);
	return rd_ok(r);
}

static int parse_ack(struct rd *r, bool ecn)
{
	uint64_t count;

	/* Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range */
	skip_varints(r, 2);
	count = take_varint(r);
	if (!skip_varints(r, 1))
		return -EINVAL;
	/* each range takes two bytes at least, so the loop ends with the packet */
	for (uint64_t i = 0; i < count; i++)
		if (!skip_varints(r, 2))
			return -EINVAL;
	if (ecn && !skip_varints(r, 3))
		return -EINVAL;
	return 0;
}

static int parse_frames(struct quic_sniff *s, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	const uint8_t *data;
	uint64_t type, off, n;
	int rc = 0;

	while (rd_left(&r) > 0 && rc == 0) {
		type = take_varint(&r);
		if (!rd_ok(&r))
			return -EINVAL;
		switch (type) {
		case FRAME_PADDING:
		case FRAME_PING:
			break;
		case FRAME_ACK:
		case FRAME_ACK_ECN:
			rc = parse_ack(&r, type == FRAME_ACK_ECN);
			break;
		case FRAME_CRYPTO:
			off = take_varint(&r);
			n = take_varint(&r);
			data = take_varbytes(&r, n);
			if (!data)
				return -EINVAL;
			rc = crypto_add(s, off, data, n);
			break;
		case FRAME_CLOSE:
			/* Error Code, Frame Type, Reason Phrase Length, Reason */
			skip_varints(&r, 2);
			if (!take_varbytes(&r, take_varint(&r)))
				return -EINVAL;
			break;
		default:
			/* RFC 9000 12.4: nothing else is allowed in an Initial packet */
			return -EINVAL;
		}
	}
	return rc;
}

/* Forget the CRYPTO stream: the client started over in another version. */
static void sniff_restart(struct quic_sniff *s)
{
	s->nrng = 0;
	s->largest_pn = 0;
	memset(&s->hello, 0, sizeof(s->hello));
}

static struct keyset *keys_find(struct quic_sniff *s, const struct quic_hdr *h)
{
	for (unsigned i = 0; i < s->nkeys; i++)
		if (s->keys[i].version == h->version && s->keys[i].dcid_len == h->dcid_len &&
		    memcmp(s->keys[i].dcid, h->dcid, h->dcid_len) == 0)
			return &s->keys[i];
	return NULL;
}

/* Keys of the packet's own version + DCID, derived now; NULL when the
 * flow's QUIC_SNIFF_MAX_KEYS are spent. */
static struct keyset *keys_derive(struct quic_sniff *s, const struct quic_hdr *h, int *rc)
{
	struct keyset *ks;

	*rc = 0;
	if (s->nkeys == QUIC_SNIFF_MAX_KEYS)
		return NULL;
	ks = &s->keys[s->nkeys];
	*rc = derive_keys(s->c, h->version, h->dcid, h->dcid_len, false, &ks->k);
	if (*rc < 0)
		return NULL;
	s->nderived++;
	s->nkeys++;
	ks->version = h->version;
	ks->dcid_len = h->dcid_len;
	memcpy(ks->dcid, h->dcid, h->dcid_len);
	ks->opened = false;
	return ks;
}

/* Decrypt a copy of @pkt with @ks; 0 (copy holds the plaintext) or <0. */
static int try_open(struct quic_sniff *s, struct keyset *ks, const uint8_t *pkt,
		    const struct quic_hdr *h, uint8_t *copy, uint64_t *pn, size_t *off, size_t *len)
{
	int rc;

	s->nattempts++;
	memcpy(copy, pkt, h->pkt_len);
	rc = decrypt_initial(s->c, copy, h, &ks->k, s->largest_pn, pn, off, len);
	if (rc == 0)
		ks->opened = true;
	return rc;
}

/*
 * Which keys open a client Initial, and what one that opens with none costs.
 *
 * Initial keys come from a version and a DCID (RFC 9001 5.2): the DCID of
 * the client's first Initial gives the keys it keeps, even once its
 * packets carry the server's CID, until a Retry (the Retry's CID) or a
 * Version Negotiation (a new version, maybe a new DCID) starts it over. So
 * a packet is tried with
 *   1. the keys of its own version + DCID, when derived before;
 *   2. the other keys of its version that opened a packet before;
 *   3. keys derived from its DCID, when it has none yet and the flow has
 *      derived fewer than QUIC_SNIFF_MAX_KEYS sets. They are kept whether
 *      or not the packet opens (they are right for that DCID whatever the
 *      packet), so no DCID is derived twice.
 * A packet none of these open (or too short to be protected) fails, and
 * quic_sniff_feed() skips the rest of its datagram: what a client
 * coalesces with its Initials is Initials under the same keys (a hello in
 * several packets, a retransmission, an ACK to the server's CID) or not an
 * Initial at all (0-RTT, Handshake, 1-RTT), so a datagram with a bad
 * Initial is forged or corrupt and the client sends the good parts again.
 * A datagram of forged Initials thus costs at most one key derivation and
 * QUIC_SNIFF_MAX_KEYS AEAD checks, a flow at most QUIC_SNIFF_MAX_KEYS
 * derivations. A failure does not end a flow once a packet opened (whoever
 * spoofs the client's address could stop its sniff); before that the
 * datagram makes the flow NOT_QUIC, as it always did.
 *
 * 0 (copy holds the plaintext), -EBADMSG, -EINVAL, or -EIO from OpenSSL.
 */
static int sniff_open(struct quic_sniff *s, const uint8_t *pkt, const struct quic_hdr *h,
		      uint8_t *copy, uint64_t *pn, size_t *off, size_t *len)
{
	struct keyset *own = keys_find(s, h);
	int rc = -EBADMSG;

	if (!protectable(h))
		return -EINVAL;
	if (own && try_open(s, own, pkt, h, copy, pn, off, len) == 0)
		return 0;
	for (unsigned i = 0; i < s->nkeys; i++) {
		struct keyset *ks = &s->keys[i];

		if (ks != own && ks->opened && ks->version == h->version &&
		    try_open(s, ks, pkt, h, copy, pn, off, len) == 0)
			return 0;
	}
	if (!own && (own = keys_derive(s, h, &rc)) != NULL)
		return try_open(s, own, pkt, h, copy, pn, off, len);
	return rc < 0 ? rc : -EBADMSG; /* OpenSSL failed, or the keys are spent */
}

/* 1: decrypted and taken, 0: not decryptable (failed), <0: give up. */
static int sniff_initial(struct quic_sniff *s, const uint8_t *pkt, const struct quic_hdr *h)
{
	size_t off, len;
	uint8_t *copy;
	uint64_t pn;
	int rc;

	copy = malloc(h->pkt_len ? h->pkt_len : 1);
	if (!copy)
		return -ENOMEM;
	rc = sniff_open(s, pkt, h, copy, &pn, &off, &len);
	if (rc == -EBADMSG || rc == -EINVAL) {
		s->nfailed++;
		rc = 0;
		goto done;
	}
	if (rc < 0)
		goto done;
	if (++s->npkts > QUIC_SNIFF_MAX_PACKETS) {
		rc = -E2BIG;
		goto done;
	}
	if (s->version != h->version) {
		sniff_restart(s);
		s->version = h->version;
	}
	s->largest_pn = SL_MAX(s->largest_pn, pn);
	rc = parse_frames(s, copy + off, len);
	rc = rc < 0 ? rc : 1;
done:
	free(copy);
	return rc;
}

/* Has the contiguous start of the CRYPTO stream become a whole ClientHello? */
static enum quic_sniff_result sniff_check(struct quic_sniff *s)
{
	int rc;

	if (s->nrng == 0 || s->rng[0].start != 0)
		return QUIC_SNIFF_MORE;
	if (s->hello.need > s->rng[0].end)
		return QUIC_SNIFF_MORE; /* nothing new to parse yet */
	rc = tls_hello_parse(s->buf, s->rng[0].end, &s->hello);
	if (rc == 0)
		return QUIC_SNIFF_DONE;
	if (rc == -EAGAIN && s->hello.need <= QUIC_SNIFF_MAX_BYTES)
		return QUIC_SNIFF_MORE;
	return QUIC_SNIFF_GIVEUP;
}

enum quic_sniff_result quic_sniff_feed(struct quic_sniff *s, const uint8_t *dgram, size_t len)
{
	bool known = false, undecryptable = false;
	enum quic_sniff_result res = QUIC_SNIFF_MORE;
	struct quic_hdr h;
	size_t off = 0;
	unsigned npkt = 0;
	int rc;

	if (s->state != QUIC_SNIFF_MORE)
		return s->state;
	if (++s->ndgrams > QUIC_SNIFF_MAX_DGRAMS)
		return s->state = QUIC_SNIFF_GIVEUP;
	/* Each Initial costs AEAD passes, maybe a key derivation: a datagram
	 * of many tiny packets must not buy that many, nor one that fails. */
	while (off < len && res == QUIC_SNIFF_MORE && npkt++ < QUIC_SNIFF_MAX_COALESCED) {
		/* a client never sends Retry; a short header runs to the end */
		if (quic_parse_header(dgram + off, len - off, &h) < 0 || h.type == QUIC_PKT_SHORT ||
		    h.type == QUIC_PKT_RETRY)
			break;
		known = true;
		if (h.type == QUIC_PKT_INITIAL) {
			rc = sniff_initial(s, dgram + off, &h);
			if (rc == 0) {
				undecryptable = true;
				break; /* the rest is not looked at: see sniff_open() */
			}
			res = rc < 0 ? QUIC_SNIFF_GIVEUP : sniff_check(s);
		}
		off += h.pkt_len;
	}
	/* Until one Initial decrypted, a datagram that holds none (or only a
	 * forged one) says this flow is not QUIC we can read. */
	if (res == QUIC_SNIFF_MORE && s->npkts == 0 && (!known || undecryptable))
		res = QUIC_SNIFF_NOT_QUIC;
	s->state = res;
	return res;
}

const char *quic_sniff_sni(const struct quic_sniff *s)
{
	if (s->state != QUIC_SNIFF_DONE || !s->hello.has_sni || !s->hello.sni[0])
		return NULL;
	return s->hello.sni;
}

size_t quic_sniff_alpn(const struct quic_sniff *s, const char **out, size_t max)
{
	size_t n = 0;

	if (s->state != QUIC_SNIFF_DONE)
		return 0;
	for (; n < max && n < s->hello.alpn_count; n++)
		out[n] = s->hello.alpn[n];
	return n;
}

const struct tls_hello *quic_sniff_hello(const struct quic_sniff *s)
{
	return s->state == QUIC_SNIFF_DONE ? &s->hello : NULL;
}

uint32_t quic_sniff_version(const struct quic_sniff *s)
{
	return s->version;
}

unsigned quic_sniff_packets(const struct quic_sniff *s)
{
	return s->npkts;
}

unsigned quic_sniff_derivations(const struct quic_sniff *s)
{
	return s->nderived;
}

unsigned quic_sniff_attempts(const struct quic_sniff *s)
{
	return s->nattempts;
}

unsigned quic_sniff_failures(const struct quic_sniff *s)
{
	return s->nfailed;
}
