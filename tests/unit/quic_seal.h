/* quic_seal.h - test-only helpers shared by test_quic.c and fuzz_quic.c:
 * an Initial packet *encryptor* (the mirror of quic_decrypt_initial(), so
 * tests can build any packet they like) and a ClientHello builder. Not part
 * of libsluice: the gateway never encrypts. */
#ifndef QUIC_SEAL_H
#define QUIC_SEAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "quic.h"

/* Append a QUIC varint of the smallest size (or 2 bytes when @two and it fits). */
static inline size_t seal_varint(uint8_t *p, uint64_t v, int two)
{
	if (v < 64 && !two) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 16384) {
		p[0] = (uint8_t)(0x40 | v >> 8);
		p[1] = (uint8_t)v;
		return 2;
	}
	if (v < (1u << 30)) {
		p[0] = (uint8_t)(0x80 | v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
		return 4;
	}
	p[0] = (uint8_t)(0xc0 | v >> 56);
	for (int i = 1; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return 8;
}

/* Build and protect one client Initial into @out (cap bytes) with keys
 * @kp. A payload shorter than the 4 bytes header protection needs is
 * padded with PADDING. Returns the packet length, 0 on failure. */
static inline size_t seal_initial_keys(const struct quic_keys *kp, uint32_t version,
				       const uint8_t *dcid, size_t dcid_len, const uint8_t *scid,
				       size_t scid_len, const uint8_t *token, size_t token_len,
				       uint64_t pn, size_t pn_len, const uint8_t *payload,
				       size_t payload_len, uint8_t *out, size_t cap)
{
	uint8_t nonce[12], mask[16];
	const struct quic_keys k = *kp;
	size_t n = 0, pn_off, pad = 0;
	EVP_CIPHER_CTX *c = NULL;
	int outl = 0, ok = 0;

	if (pn_len < 1 || pn_len > 4)
		return 0;
	if (pn_len + payload_len < 4)
		pad = 4 - pn_len - payload_len;
	if (cap < 1 + 4 + 1 + dcid_len + 1 + scid_len + 8 + token_len + 8 + pn_len + payload_len +
		      pad + 16)
		return 0;
	out[n++] = (uint8_t)(0xc0 | (version == QUIC_VERSION_2 ? 1 : 0) << 4 | (pn_len - 1));
	out[n++] = (uint8_t)(version >> 24);
	out[n++] = (uint8_t)(version >> 16);
	out[n++] = (uint8_t)(version >> 8);
	out[n++] = (uint8_t)version;
	out[n++] = (uint8_t)dcid_len;
	if (dcid_len)
		memcpy(out + n, dcid, dcid_len);
	n += dcid_len;
	out[n++] = (uint8_t)scid_len;
	if (scid_len)
		memcpy(out + n, scid, scid_len);
	n += scid_len;
	n += seal_varint(out + n, token_len, 0);
	if (token_len)
		memcpy(out + n, token, token_len);
	n += token_len;
	n += seal_varint(out + n, pn_len + payload_len + pad + 16, 1);
	pn_off = n;
	for (size_t i = 0; i < pn_len; i++)
		out[n++] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
	if (payload_len)
		memcpy(out + n, payload, payload_len);
	memset(out + n + payload_len, 0, pad);
	memcpy(nonce, k.iv, 12);
	for (int i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	c = EVP_CIPHER_CTX_new();
	if (!c || EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k.key, nonce) <= 0 ||
	    EVP_EncryptUpdate(c, NULL, &outl, out, (int)n) <= 0 ||
	    EVP_EncryptUpdate(c, out + n, &outl, out + n, (int)(payload_len + pad)) <= 0 ||
	    EVP_EncryptFinal_ex(c, out + n + outl, &outl) <= 0 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n + payload_len + pad) <= 0)
		goto done;
	n += payload_len + pad + 16;
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, k.hp, NULL) <= 0 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) <= 0 ||
	    EVP_EncryptUpdate(c, mask, &outl, out + pn_off + 4, 16) <= 0 || outl != 16)
		goto done;
	out[0] ^= mask[0] & 0x0f;
	for (size_t i = 0; i < pn_len; i++)
		out[pn_off + i] ^= mask[1 + i];
	ok = 1;
done:
	EVP_CIPHER_CTX_free(c);
	return ok ? n : 0;
}

/* seal_initial_keys() with the keys of @dcid, as a client's first Initial.
 * It fetches the algorithms for each packet: test code, not the hot path. */
static inline size_t seal_initial(uint32_t version, const uint8_t *dcid, size_t dcid_len,
				  const uint8_t *scid, size_t scid_len, const uint8_t *token,
				  size_t token_len, uint64_t pn, size_t pn_len,
				  const uint8_t *payload, size_t payload_len, uint8_t *out,
				  size_t cap)
{
	struct quic_crypto *c = quic_crypto_new();
	struct quic_keys k;
	int rc = c ? quic_initial_keys(c, version, dcid, dcid_len, false, &k) : -1;

	quic_crypto_free(c);
	if (rc < 0)
		return 0;
	return seal_initial_keys(&k, version, dcid, dcid_len, scid, scid_len, token, token_len, pn,
				 pn_len, payload, payload_len, out, cap);
}

/* A CRYPTO frame header + data. (Not inlined: GCC's range analysis of
 * the callers' offsets gives false -Warray-bounds errors.) */
static __attribute__((noinline, unused)) size_t seal_crypto_frame(uint8_t *p, uint64_t off,
								  const uint8_t *data, size_t len)
{
	size_t n = 0;

	p[n++] = 0x06;
	n += seal_varint(p + n, off, 0);
	n += seal_varint(p + n, len, 0);
	memcpy(p + n, data, len);
	return n + len;
}

/* A 2-byte big-endian length, clipped to what is left after it. */
static inline size_t seal_take_len(const uint8_t **p, size_t *left)
{
	size_t n;

	if (*left < 2)
		return 0;
	n = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	*left -= 2;
	return n < *left ? n : *left;
}

/* Feed a fuzz_quic input (its format is in fuzz/fuzz_quic.c) into @s:
 * raw datagrams, or plaintext packets sealed here as Initials of one
 * DCID. Returns the last result; *ndgrams gets the datagrams fed,
 * *sealed which kind the input was. */
static inline enum quic_sniff_result seal_fuzz_feed(struct quic_sniff *s, const uint8_t *data,
						    size_t size, size_t *ndgrams, bool *sealed)
{
	static const uint8_t dcid[8] = {0xf0, 0x0d, 0xca, 0xfe, 1, 2, 3, 4};
	enum quic_sniff_result r = QUIC_SNIFF_MORE;
	const uint8_t *p = data + 1;
	uint8_t pkt[4200];
	size_t left = size - 1, count;

	*ndgrams = 0;
	*sealed = size > 0 && data[0] & 0x80;
	if (size < 1)
		return r;
	if (!*sealed) {
		count = data[0] % 3 + 1;
		for (size_t i = 0; i < count; i++) {
			size_t n = i + 1 < count ? seal_take_len(&p, &left) : left;

			r = quic_sniff_feed(s, p, n);
			++*ndgrams;
			p += n;
			left -= n;
		}
		return r;
	}
	count = (data[0] >> 1) % 3 + 1;
	for (size_t i = 0; i < count && left >= 1; i++) {
		uint32_t version = data[0] & 1 ? QUIC_VERSION_2 : QUIC_VERSION_1;
		uint8_t b = p[0];
		size_t n, len;

		p++;
		left--;
		n = seal_take_len(&p, &left);
		if (n > 4000)
			n = 4000;
		len = seal_initial(version, dcid, sizeof(dcid), NULL, 0, NULL, 0, b >> 2,
				   (b & 3) + 1u, p, n, pkt, sizeof(pkt));
		p += n;
		left -= n;
		if (len) {
			r = quic_sniff_feed(s, pkt, len);
			++*ndgrams;
		}
	}
	return r;
}

/* Byte appender for the ClientHello builder. */
struct seal_buf {
	uint8_t *p;
	size_t n;
};

static inline void sb_u8(struct seal_buf *b, unsigned v)
{
	b->p[b->n++] = (uint8_t)v;
}

static inline void sb_u16(struct seal_buf *b, unsigned v)
{
	sb_u8(b, v >> 8);
	sb_u8(b, v);
}

static inline void sb_mem(struct seal_buf *b, const void *d, size_t n)
{
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static inline void sb_fill(struct seal_buf *b, int c, size_t n)
{
	memset(b->p + b->n, c, n);
	b->n += n;
}

/* Patch a big-endian length of @w bytes at @at to cover up to the end. */
static inline void sb_patch(struct seal_buf *b, size_t at, size_t w)
{
	size_t v = b->n - at - w;

	for (size_t i = 0; i < w; i++)
		b->p[at + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
}

/* A TLS 1.3 ClientHello as a QUIC client sends it: SNI (when @sni), ALPN
 * (when @nalpn), and a key_share of @kem_len bytes (1216 for
 * X25519MLKEM768, 0 for X25519 alone). @out holds 8 KiB. Returns its size. */
static inline size_t seal_client_hello(uint8_t *out, const char *sni, const char *const *alpn,
				       size_t nalpn, size_t kem_len)
{
	struct seal_buf b = {out, 0};
	size_t ext, at, at2;

	sb_u8(&b, 1);
	sb_fill(&b, 0, 3);
	sb_u16(&b, 0x0303);
	sb_fill(&b, 0x5a, 32);
	sb_u8(&b, 0); /* session id */
	sb_u16(&b, 6);
	sb_u16(&b, 0x1301);
	sb_u16(&b, 0x1302);
	sb_u16(&b, 0x1303);
	sb_u8(&b, 1);
	sb_u8(&b, 0);
	ext = b.n;
	sb_u16(&b, 0);
	if (sni) {
		sb_u16(&b, 0);
		at = b.n;
		sb_u16(&b, 0);
		at2 = b.n;
		sb_u16(&b, 0);
		sb_u8(&b, 0);
		sb_u16(&b, (unsigned)strlen(sni));
		sb_mem(&b, sni, strlen(sni));
		sb_patch(&b, at2, 2);
		sb_patch(&b, at, 2);
	}
	if (nalpn) {
		sb_u16(&b, 16);
		at = b.n;
		sb_u16(&b, 0);
		at2 = b.n;
		sb_u16(&b, 0);
		for (size_t i = 0; i < nalpn; i++) {
			sb_u8(&b, (unsigned)strlen(alpn[i]));
			sb_mem(&b, alpn[i], strlen(alpn[i]));
		}
		sb_patch(&b, at2, 2);
		sb_patch(&b, at, 2);
	}
	sb_u16(&b, 0x002b); /* supported_versions: TLS 1.3 */
	sb_u16(&b, 3);
	sb_u8(&b, 2);
	sb_u16(&b, 0x0304);
	sb_u16(&b, 0x0033); /* key_share */
	at = b.n;
	sb_u16(&b, 0);
	at2 = b.n;
	sb_u16(&b, 0);
	if (kem_len) {
		sb_u16(&b, 0x11ec);
		sb_u16(&b, (unsigned)kem_len);
		sb_fill(&b, 0x42, kem_len);
	}
	sb_u16(&b, 0x001d);
	sb_u16(&b, 32);
	sb_fill(&b, 0x24, 32);
	sb_patch(&b, at2, 2);
	sb_patch(&b, at, 2);
	sb_u16(&b, 0x0039); /* quic_transport_parameters: initial_max_data */
	sb_u16(&b, 6);
	sb_u8(&b, 0x04);
	sb_u8(&b, 4);
	sb_u8(&b, 0x80);
	sb_u8(&b, 0x10);
	sb_u8(&b, 0);
	sb_u8(&b, 0);
	sb_patch(&b, ext, 2);
	sb_patch(&b, 1, 3);
	return b.n;
}

#endif
