#include "config.h"
/* test_dnscrypt.c - dnscrypt.c, the DNSCrypt v2 protocol on buffers:
 * certificates signed here with libsodium (parsed, verified, refused when
 * anything is off, the best one picked out of a TXT answer), the
 * certificate query, ISO/IEC 7816-4 padding, sealing and opening against a
 * resolver written here from the specification (both encryption systems,
 * and every way an answer can be wrong), and when to fetch again. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "dns_msg.h"
#include "dnscrypt.h"

#define NOW 1700000000u

struct provider {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
};

struct resolver {
	uint8_t pk[32], sk[32];
	uint8_t magic[8];
};

static void provider_new(struct provider *p)
{
	crypto_sign_keypair(p->pk, p->sk);
}

static void resolver_new(struct resolver *r)
{
	crypto_box_keypair(r->pk, r->sk);
	memcpy(r->magic, r->pk, 8); /* as dnsdist does */
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A certificate signed by p: 124 bytes plus ext_len bytes of extensions. */
static size_t make_cert(uint8_t *out, const struct provider *p, const struct resolver *r,
			uint16_t es, uint32_t serial, uint32_t start, uint32_t end, size_t ext_len)
{
	memcpy(out, "DNSC", 4);
	out[4] = (uint8_t)(es >> 8);
	out[5] = (uint8_t)es;
	out[6] = out[7] = 0;
	memcpy(out + 72, r->pk, 32);
	memcpy(out + 104, r->magic, 8);
	put32(out + 112, serial);
	put32(out + 116, start);
	put32(out + 120, end);
	memset(out + 124, 0xee, ext_len);
	crypto_sign_detached(out + 8, NULL, out + 72, 52 + ext_len, p->sk);
	return 124 + ext_len;
}

static void test_cert_parse(void **state)
{
	struct provider p, other;
	struct resolver r;
	struct dnscrypt_cert c;
	uint8_t b[600];
	size_t n;

	(void)state;
	provider_new(&p);
	provider_new(&other);
	resolver_new(&r);
	for (uint16_t es = 1; es <= 2; es++) {
		n = make_cert(b, &p, &r, es, 7, NOW - 10, NOW + 3600, 0);
		memset(&c, 0, sizeof(c));
		assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), 0);
		assert_int_equal(c.es, es);
		assert_int_equal(c.serial, 7);
		assert_int_equal(c.ts_start, NOW - 10);
		assert_int_equal(c.ts_end, NOW + 3600);
		assert_memory_equal(c.resolver_pk, r.pk, 32);
		assert_memory_equal(c.client_magic, r.magic, 8);
		/* someone else's key */
		assert_int_equal(dnscrypt_cert_parse(b, n, other.pk, &c), -EPERM);
	}
	/* extensions are signed and allowed */
	n = make_cert(b, &p, &r, 2, 1, NOW, NOW + 1, 40);
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), 0);
	/* a byte more (unsigned) breaks the signature; a byte less too */
	assert_int_equal(dnscrypt_cert_parse(b, n + 1, p.pk, &c), -EPERM);
	assert_int_equal(dnscrypt_cert_parse(b, n - 1, p.pk, &c), -EPERM);

	n = make_cert(b, &p, &r, 2, 1, NOW, NOW + 1, 0);
	assert_int_equal(dnscrypt_cert_parse(b, n - 1, p.pk, &c), -EBADMSG); /* short */
	assert_int_equal(dnscrypt_cert_parse(b, DNSCRYPT_CERT_MAX + 1, p.pk, &c), -EBADMSG);
	b[112] ^= 1; /* the serial changed after signing */
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EPERM);
	b[112] ^= 1;
	b[20] ^= 0x40; /* the signature */
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EPERM);
	b[20] ^= 0x40;
	b[0] = 'X';
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EBADMSG);
	b[0] = 'D';
	b[7] = 1; /* minor version */
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EBADMSG);
	b[7] = 0;
	n = make_cert(b, &p, &r, 3, 1, NOW, NOW + 1, 0);
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EPROTONOSUPPORT);
	n = make_cert(b, &p, &r, 0x0102, 1, NOW, NOW + 1, 0);
	assert_int_equal(dnscrypt_cert_parse(b, n, p.pk, &c), -EPROTONOSUPPORT);
}

static void test_cert_dates_and_order(void **state)
{
	struct dnscrypt_cert a = {.es = 1, .serial = 5, .ts_start = NOW, .ts_end = NOW + 10};
	struct dnscrypt_cert b = a;

	(void)state;
	assert_false(dnscrypt_cert_current(&a, NOW - 1));
	assert_true(dnscrypt_cert_current(&a, NOW));
	assert_true(dnscrypt_cert_current(&a, NOW + 10));
	assert_false(dnscrypt_cert_current(&a, NOW + 11));
	assert_false(dnscrypt_cert_better(&a, &b));
	b.es = 2;
	assert_true(dnscrypt_cert_better(&b, &a)); /* same serial: XChacha20 */
	assert_false(dnscrypt_cert_better(&a, &b));
	a.serial = 6;
	assert_true(dnscrypt_cert_better(&a, &b)); /* a higher serial wins */
}

/* A TXT answer for 2.dnscrypt-cert.example: n records (owner: a pointer to
 * the question), record i holding cert[i] split into strings of at most
 * split bytes, then one A record. */
static size_t cert_answer(uint8_t *out, uint16_t id, uint8_t *const *cert, const size_t *len,
			  size_t n, size_t split)
{
	static const uint8_t q[] = "\0012\015dnscrypt-cert\007example\0\0\020\0\001";
	size_t o = 12;

	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x84; /* QR AA */
	out[5] = 1;
	out[7] = (uint8_t)(n + 1);
	memcpy(out + o, q, sizeof(q) - 1);
	o += sizeof(q) - 1;
	for (size_t i = 0; i <= n; i++) {
		size_t rdl = 0, at;

		out[o++] = 0xc0;
		out[o++] = 12;
		out[o++] = 0;
		out[o++] = i < n ? 16 : 1;
		out[o++] = 0;
		out[o++] = 1;
		put32(out + o, 7200);
		o += 4;
		at = o;
		o += 2;
		if (i == n) {
			memcpy(out + o, "\300\0\2\1", 4);
			rdl = 4;
		} else {
			for (size_t done = 0; done < len[i];) {
				size_t k = len[i] - done < split ? len[i] - done : split;

				out[o + rdl++] = (uint8_t)k;
				memcpy(out + o + rdl, cert[i] + done, k);
				rdl += k;
				done += k;
			}
		}
		out[at] = (uint8_t)(rdl >> 8);
		out[at + 1] = (uint8_t)rdl;
		o += rdl;
	}
	return o;
}

static void test_certs_pick(void **state)
{
	struct provider p, other;
	struct resolver r[5];
	uint8_t c[5][200], msg[2000];
	uint8_t *cp[5] = {c[0], c[1], c[2], c[3], c[4]};
	size_t len[5], n;
	struct dnscrypt_cert best;
	struct dnscrypt_tally t;

	(void)state;
	provider_new(&p);
	provider_new(&other);
	for (int i = 0; i < 5; i++)
		resolver_new(&r[i]);
	len[0] = make_cert(c[0], &p, &r[0], 1, 1, NOW - 100, NOW + 100, 0);	 /* valid */
	len[1] = make_cert(c[1], &p, &r[1], 1, 9, NOW - 100, NOW - 1, 0);	 /* expired */
	len[2] = make_cert(c[2], &p, &r[2], 1, 2, NOW - 100, NOW + 100, 0);	 /* valid */
	len[3] = make_cert(c[3], &p, &r[3], 2, 2, NOW - 100, NOW + 100, 0);	 /* valid, best */
	len[4] = make_cert(c[4], &other, &r[4], 2, 50, NOW - 100, NOW + 100, 0); /* not ours */
	for (int k = 0; k < 2; k++) { /* one string per record, or several */
		n = cert_answer(msg, 0x1234, cp, len, 5, k ? 60 : 255);
		memset(&best, 0, sizeof(best));
		assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW, &best, &t), 0);
		assert_int_equal(best.serial, 2);
		assert_int_equal(best.es, 2);
		assert_memory_equal(best.resolver_pk, r[3].pk, 32);
		assert_int_equal(t.txt, 5);
		assert_int_equal(t.valid, 3);
		assert_int_equal(t.time, 1);
		assert_int_equal(t.sig, 1);
		/* NULL tally is fine */
		assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW, &best, NULL), 0);
	}
	/* Later, only the expired one's neighbours... at NOW + 101 nothing is current. */
	assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW + 101, &best, &t), -ENOENT);
	assert_int_equal(t.time, 4);
	/* Only a certificate of another provider. */
	n = cert_answer(msg, 1, cp + 4, len + 4, 1, 255);
	assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW, &best, &t), -ENOENT);
	assert_int_equal(t.sig, 1);
	assert_int_equal(t.txt, 1);
	/* No TXT record at all. */
	n = cert_answer(msg, 1, cp, len, 0, 255);
	assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW, &best, &t), -ENOENT);
	assert_int_equal(t.txt, 0);
	/* Every truncation of a good answer fails cleanly. */
	n = cert_answer(msg, 1, cp + 3, len + 3, 1, 255);
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(dnscrypt_certs_pick(msg, k, p.pk, NOW, &best, &t), 0);
	/* A string running past its RDATA. */
	n = cert_answer(msg, 1, cp + 3, len + 3, 1, 255);
	msg[12 + 29 + 12] = 200; /* the first string's length byte of the first TXT RR */
	assert_int_equal(dnscrypt_certs_pick(msg, n, p.pk, NOW, &best, &t), -ENOENT);
	assert_int_equal(t.form, 1);
}

static void test_cert_query(void **state)
{
	uint8_t lname[DNS_NAME_WIRE_MAX], out[600];
	struct dns_query q;
	size_t wl;
	int n;

	(void)state;
	assert_int_equal(dns_name_from_text("2.DNSCrypt-Cert.example", 23, lname, &wl), 0);
	n = dnscrypt_cert_query(lname, wl, 0xbeef, out, sizeof(out));
	assert_int_equal(n, 12 + (int)wl + 4);
	assert_int_equal(dns_query_parse(out, (size_t)n, &q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.qtype, 16);
	assert_int_equal(q.qclass, 1);
	assert_string_equal(q.name, "2.dnscrypt-cert.example");
	assert_int_equal(q.flags & 0x0100, 0); /* RD clear */
	assert_int_equal(dnscrypt_cert_query(lname, wl, 1, out, (size_t)n - 1), -ENOSPC);
}

static void test_padding(void **state)
{
	uint8_t b[600];

	(void)state;
	assert_int_equal(dnscrypt_padded_len(0, false), 64);
	assert_int_equal(dnscrypt_padded_len(63, false), 64);
	assert_int_equal(dnscrypt_padded_len(64, false), 128); /* the 0x80 needs a byte */
	assert_int_equal(dnscrypt_padded_len(0, true), 256);
	assert_int_equal(dnscrypt_padded_len(29, true), 256);
	assert_int_equal(dnscrypt_padded_len(255, true), 256);
	assert_int_equal(dnscrypt_padded_len(256, true), 320);
	assert_int_equal(dnscrypt_padded_len(500, true), 512);
	for (size_t len = 0; len < 300; len++) {
		size_t p = dnscrypt_padded_len(len, len & 1);

		assert_true(p > len && p % 64 == 0);
		memset(b, 0x5a, sizeof(b));
		assert_int_equal(dnscrypt_pad(b, len, p), 0);
		assert_int_equal(b[len], 0x80);
		for (size_t i = len + 1; i < p; i++)
			assert_int_equal(b[i], 0);
		assert_int_equal(dnscrypt_unpad(b, p), (int)len);
	}
	assert_int_equal(dnscrypt_pad(b, 64, 64), -EINVAL);
	memset(b, 0, 64);
	assert_int_equal(dnscrypt_unpad(b, 64), -EBADMSG); /* zeros only */
	assert_int_equal(dnscrypt_unpad(b, 0), -EBADMSG);
	b[10] = 0x81;
	assert_int_equal(dnscrypt_unpad(b, 64), -EBADMSG); /* not 0x80 */
	b[10] = 0x80;
	b[63] = 1;
	assert_int_equal(dnscrypt_unpad(b, 64), -EBADMSG); /* not zeros after it */
	b[63] = 0;
	assert_int_equal(dnscrypt_unpad(b, 64), 10);
	b[0] = 0x80;
	assert_int_equal(dnscrypt_unpad(b, 1), 0);
}

/* The resolver's side of one exchange, from the specification. */
static int resolver_box(uint16_t es, uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
			const uint8_t *pk, const uint8_t *sk)
{
	return es == 2 ? crypto_box_curve25519xchacha20poly1305_easy(c, m, mlen, n, pk, sk)
		       : crypto_box_easy(c, m, mlen, n, pk, sk);
}

static int resolver_open(uint16_t es, uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
			 const uint8_t *pk, const uint8_t *sk)
{
	return es == 2 ? crypto_box_curve25519xchacha20poly1305_open_easy(m, c, clen, n, pk, sk)
		       : crypto_box_open_easy(m, c, clen, n, pk, sk);
}

/* An answer to the query sealed under cnonce: magic, nonce, box(answer padded to plen). */
static size_t resolver_answer(uint16_t es, const struct resolver *r, const uint8_t *client_pk,
			      const uint8_t *cnonce, const uint8_t *ans, size_t alen, size_t plen,
			      uint8_t *out)
{
	uint8_t plain[2000];

	memcpy(out, "r6fnvWj8", 8);
	memcpy(out + 8, cnonce, 12);
	randombytes_buf(out + 20, 12);
	memcpy(plain, ans, alen);
	assert_int_equal(dnscrypt_pad(plain, alen, plen), 0);
	assert_int_equal(resolver_box(es, out + 32, plain, plen, out + 8, client_pk, r->sk), 0);
	return 32 + 16 + plen;
}

static void round_trip(uint16_t es, bool udp)
{
	struct provider p;
	struct resolver r;
	struct dnscrypt_cert c;
	struct dnscrypt_session s, s_other;
	uint8_t cpk[32], csk[32], cpk2[32], csk2[32], cert[200], nonce[12], q[100], sealed[700],
	    plain[700];
	uint8_t n24[24] = {0}, ans[300], buf[1000], keep[1000];
	size_t clen, alen = sizeof(ans), plen;
	int n;

	provider_new(&p);
	resolver_new(&r);
	crypto_box_keypair(cpk, csk);
	clen = make_cert(cert, &p, &r, es, 3, NOW, NOW + 100, 0);
	assert_int_equal(dnscrypt_cert_parse(cert, clen, p.pk, &c), 0);
	assert_int_equal(dnscrypt_session_init(&s, &c, cpk, csk), 0);
	assert_int_equal(s.serial, 3);
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(q, sizeof(q));

	/* The query: the resolver finds magic, key and nonce, and opens it. */
	n = dnscrypt_seal(&s, nonce, q, sizeof(q), udp, sealed, sizeof(sealed));
	plen = dnscrypt_padded_len(sizeof(q), udp);
	assert_int_equal(n, 8 + 32 + 12 + 16 + (int)plen);
	assert_int_equal(plen, udp ? 256 : 128);
	assert_memory_equal(sealed, r.magic, 8);
	assert_memory_equal(sealed + 8, cpk, 32);
	assert_memory_equal(sealed + 40, nonce, 12);
	memcpy(n24, nonce, 12);
	assert_int_equal(resolver_open(es, plain, sealed + 52, (size_t)n - 52, n24, cpk, r.sk), 0);
	assert_int_equal(dnscrypt_unpad(plain, plen), (int)sizeof(q));
	assert_memory_equal(plain, q, sizeof(q));
	/* no room */
	assert_int_equal(dnscrypt_seal(&s, nonce, q, sizeof(q), udp, sealed, (size_t)n - 1),
			 -ENOSPC);

	/* The answer opens in place to what the resolver sent. */
	randombytes_buf(ans, alen);
	n = (int)resolver_answer(es, &r, cpk, nonce, ans, alen, 320, buf);
	memcpy(keep, buf, (size_t)n);
	assert_ptr_equal(dnscrypt_answer_nonce(buf, (size_t)n), buf + 8);
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n), (int)alen);
	assert_memory_equal(buf, ans, alen);

	/* What must not open. */
	memcpy(buf, keep, (size_t)n);
	buf[0] ^= 1; /* resolver magic */
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n), -EBADMSG);
	memcpy(buf, keep, (size_t)n);
	buf[10] ^= 1; /* the client half of the nonce: another query's */
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n), -EBADMSG);
	memcpy(buf, keep, (size_t)n);
	buf[25] ^= 1; /* the resolver half: the MAC no longer matches */
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n), -EBADMSG);
	memcpy(buf, keep, (size_t)n);
	buf[n - 1] ^= 0x80; /* the ciphertext */
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n), -EBADMSG);
	memcpy(buf, keep, (size_t)n);
	assert_int_equal(dnscrypt_open(&s, nonce, buf, (size_t)n - 1), -EBADMSG); /* cut */
	assert_int_equal(dnscrypt_open(&s, nonce, buf, 48), -EBADMSG);
	assert_null(dnscrypt_answer_nonce(buf, 47));
	/* a session of another client key */
	crypto_box_keypair(cpk2, csk2);
	assert_int_equal(dnscrypt_session_init(&s_other, &c, cpk2, csk2), 0);
	memcpy(buf, keep, (size_t)n);
	assert_int_equal(dnscrypt_open(&s_other, nonce, buf, (size_t)n), -EBADMSG);
	/* the other encryption system with the same keys */
	c.es = es == 1 ? 2 : 1;
	assert_int_equal(dnscrypt_session_init(&s_other, &c, cpk, csk), 0);
	memcpy(buf, keep, (size_t)n);
	assert_int_equal(dnscrypt_open(&s_other, nonce, buf, (size_t)n), -EBADMSG);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(1, true);
	round_trip(1, false);
	round_trip(2, true);
	round_trip(2, false);
}

/* An answer that decrypts but is not padded: refused. */
static void test_open_bad_padding(void **state)
{
	struct resolver r;
	struct dnscrypt_cert c = {.es = 2, .ts_start = NOW, .ts_end = NOW + 1};
	struct dnscrypt_session s;
	uint8_t cpk[32], csk[32], nonce[12] = {1, 2, 3}, n24[24] = {0}, plain[64], buf[200];

	(void)state;
	resolver_new(&r);
	memcpy(c.resolver_pk, r.pk, 32);
	crypto_box_keypair(cpk, csk);
	assert_int_equal(dnscrypt_session_init(&s, &c, cpk, csk), 0);
	memset(plain, 0x11, sizeof(plain));
	memcpy(buf, "r6fnvWj8", 8);
	memcpy(n24, nonce, 12);
	memcpy(buf + 8, n24, 24);
	assert_int_equal(resolver_box(2, buf + 32, plain, sizeof(plain), buf + 8, cpk, r.sk), 0);
	assert_int_equal(dnscrypt_open(&s, nonce, buf, 32 + 16 + sizeof(plain)), -EBADMSG);
}

static void test_session_weak_key(void **state)
{
	struct dnscrypt_cert c = {.es = 1};
	struct dnscrypt_session s;
	uint8_t cpk[32], csk[32];

	(void)state;
	crypto_box_keypair(cpk, csk);
	memset(c.resolver_pk, 0, 32); /* a low-order point: the shared secret is zero */
	assert_int_equal(dnscrypt_session_init(&s, &c, cpk, csk), -EINVAL);
	c.es = 2;
	assert_int_equal(dnscrypt_session_init(&s, &c, cpk, csk), -EINVAL);
}

static void test_due(void **state)
{
	const uint64_t T = 5000000; /* monotonic ms */
	struct dnscrypt_sched s = {.have = true,
				   .ts_start = NOW - 100,
				   .ts_end = NOW + 86400,
				   .fetched_ms = T,
				   .tried_ms = T};

	(void)state;
	assert_int_equal(dnscrypt_due(&s, T + 1000, NOW), DNSCRYPT_USE);
	/* dates */
	assert_int_equal(dnscrypt_due(&s, T + 1000, NOW + 86401), DNSCRYPT_FETCH);
	assert_int_equal(dnscrypt_due(&s, T + 1000, NOW - 101), DNSCRYPT_FETCH);
	s.have = false;
	assert_int_equal(dnscrypt_due(&s, T + 1000, NOW), DNSCRYPT_FETCH);
	s.have = true;
	/* hourly */
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_REFRESH_MS - 1, NOW), DNSCRYPT_USE);
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_REFRESH_MS, NOW), DNSCRYPT_REFRESH);
	s.tried_ms = T + DNSCRYPT_REFRESH_MS; /* that refresh failed: not again at once */
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_REFRESH_MS + 1000, NOW), DNSCRYPT_USE);
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_REFRESH_MS + DNSCRYPT_RECHECK_MS, NOW),
			 DNSCRYPT_REFRESH);
	/* within an hour of its end */
	s.tried_ms = s.fetched_ms = T;
	s.ts_end = NOW + DNSCRYPT_EXPIRY_MARGIN_S;
	assert_int_equal(dnscrypt_due(&s, T + 1000, NOW), DNSCRYPT_USE); /* fetched just now */
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_RECHECK_MS, NOW), DNSCRYPT_USE);
	assert_int_equal(dnscrypt_due(&s, T + DNSCRYPT_RECHECK_MS, NOW + 1), DNSCRYPT_REFRESH);
	s.ts_end = NOW + 86400;
	/* a silent server */
	s.unanswered_ms = T + 100;
	assert_int_equal(dnscrypt_due(&s, T + 100 + DNSCRYPT_STALE_MS - 1, NOW), DNSCRYPT_USE);
	assert_int_equal(dnscrypt_due(&s, T + 100 + DNSCRYPT_STALE_MS, NOW), DNSCRYPT_FETCH);
	s.tried_ms = T + 2000; /* fetched since it went silent: the same certificate came */
	assert_int_equal(dnscrypt_due(&s, T + 3000, NOW), DNSCRYPT_USE);
	assert_int_equal(dnscrypt_due(&s, T + 2000 + DNSCRYPT_STALE_RETRY_MS, NOW), DNSCRYPT_FETCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cert_parse),
	    cmocka_unit_test(test_cert_dates_and_order),
	    cmocka_unit_test(test_certs_pick),
	    cmocka_unit_test(test_cert_query),
	    cmocka_unit_test(test_padding),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_open_bad_padding),
	    cmocka_unit_test(test_session_weak_key),
	    cmocka_unit_test(test_due),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
