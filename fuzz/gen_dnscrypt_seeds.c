/* gen_dnscrypt_seeds.c - writes the synthetic seeds of fuzz_dnscrypt_cert,
 * fuzz_dnscrypt_resp and fuzz_stamp (fuzz/corpus/NAME/), with the fixed
 * keys of dnscrypt_fuzz.h so certificates verify and answers open. Not
 * built by make; from the source tree:
 *   cc -Iinclude -Ibuild fuzz/gen_dnscrypt_seeds.c -lsodium -o /tmp/gen-seeds && /tmp/gen-seeds
 * fuzz/corpus */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscrypt_fuzz.h"

static const char *dir;
static struct fuzz_keys k;

static void put(const char *target, const char *name, const void *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

/* A certificate for the fixed resolver key, signed by sk. */
static size_t cert(uint8_t *out, const uint8_t *sk, uint16_t es, uint32_t serial, uint32_t start,
		   uint32_t end, size_t ext)
{
	memcpy(out, "DNSC", 4);
	out[4] = (uint8_t)(es >> 8), out[5] = (uint8_t)es, out[6] = out[7] = 0;
	memcpy(out + 72, k.resolver_pk, 32);
	memcpy(out + 104, k.resolver_pk, 8);
	be32(out + 112, serial);
	be32(out + 116, start);
	be32(out + 120, end);
	memset(out + 124, 0x42, ext);
	crypto_sign_detached(out + 8, NULL, out + 72, 52 + ext, sk);
	return 124 + ext;
}

/* The TXT answer for 2.dnscrypt-cert.example, as dnsdist writes it: one
 * record per certificate (one string, or strings of split bytes). */
static size_t answer(uint8_t *out, uint8_t rcode, uint8_t *const *c, const size_t *len, size_t n,
		     size_t split)
{
	static const uint8_t q[] = "\0012\015dnscrypt-cert\007example\0\0\020\0\001";
	size_t o = 12;

	memset(out, 0, 12);
	out[0] = 0x12, out[1] = 0x34, out[2] = 0x84, out[3] = rcode, out[5] = 1,
	out[7] = (uint8_t)n;
	memcpy(out + o, q, sizeof(q) - 1);
	o += sizeof(q) - 1;
	for (size_t i = 0; i < n; i++) {
		size_t at, rdl = 0;

		memcpy(out + o, "\300\014\0\020\0\001\0\0\034\040", 10);
		o += 10;
		at = o;
		o += 2;
		for (size_t d = 0; d < len[i];) {
			size_t m = len[i] - d < split ? len[i] - d : split;

			out[o + rdl++] = (uint8_t)m;
			memcpy(out + o + rdl, c[i] + d, m);
			rdl += m, d += m;
		}
		out[at] = (uint8_t)(rdl >> 8), out[at + 1] = (uint8_t)rdl;
		o += rdl;
	}
	return o;
}

static void certs(void)
{
	uint8_t c[4][200], msg[1500], other_pk[32], other_sk[64];
	uint8_t *cp[4] = {c[0], c[1], c[2], c[3]};
	size_t len[4], n;

	crypto_sign_keypair(other_pk, other_sk);
	len[0] = cert(c[0], k.provider_sk, 2, 1, FUZZ_NOW - 60, FUZZ_NOW + 86400, 0);
	put("dnscrypt_cert", "bare_cert", c[0], len[0]);
	n = answer(msg, 0, cp, len, 1, 255);
	put("dnscrypt_cert", "dnsdist_one", msg, n);
	len[1] = cert(c[1], k.provider_sk, 1, 2, FUZZ_NOW - 60, FUZZ_NOW + 86400, 0);
	len[2] = cert(c[2], k.provider_sk, 2, 9, FUZZ_NOW - 7200, FUZZ_NOW - 3600, 0);
	len[3] = cert(c[3], other_sk, 2, 50, FUZZ_NOW - 60, FUZZ_NOW + 86400, 0);
	n = answer(msg, 0, cp, len, 4, 255);
	put("dnscrypt_cert", "rotation_expired_foreign", msg, n);
	n = answer(msg, 0, cp, len, 2, 50);
	put("dnscrypt_cert", "split_strings", msg, n);
	n = answer(msg, 0, cp + 3, len + 3, 1, 255);
	put("dnscrypt_cert", "wrong_key", msg, n);
	len[0] = cert(c[0], k.provider_sk, 2, 3, FUZZ_NOW - 60, FUZZ_NOW + 86400, 24);
	n = answer(msg, 0, cp, len, 1, 255);
	put("dnscrypt_cert", "extensions", msg, n);
	len[0] = cert(c[0], k.provider_sk, 3, 4, FUZZ_NOW - 60, FUZZ_NOW + 86400, 0);
	n = answer(msg, 0, cp, len, 1, 255);
	put("dnscrypt_cert", "es3", msg, n);
	n = answer(msg, 2, cp, len, 0, 255);
	put("dnscrypt_cert", "servfail", msg, n);
}

/* A sealed answer: byte 0 the es selector, magic, nonce, box(dns + padding). */
static size_t sealed(uint8_t *out, uint16_t es, const uint8_t *dns, size_t dlen, size_t plen)
{
	uint8_t plain[2000];
	uint8_t *p = out + 1;

	out[0] = (uint8_t)(es - 1);
	memcpy(p, "r6fnvWj8", 8);
	memcpy(p + 8, k.nonce, 12);
	memset(p + 20, 0x77, 12);
	memcpy(plain, dns, dlen);
	plain[dlen] = 0x80;
	memset(plain + dlen + 1, 0, plen - dlen - 1);
	if ((es == 2
		 ? crypto_box_curve25519xchacha20poly1305_easy(p + 32, plain, plen, p + 8,
							       k.client_pk, k.resolver_sk)
		 : crypto_box_easy(p + 32, plain, plen, p + 8, k.client_pk, k.resolver_sk)) != 0)
		exit(1);
	return 1 + 32 + 16 + plen;
}

static void resps(void)
{
	static const uint8_t a[] = "\xbe\xef\x81\x80\0\1\0\1\0\0\0\1"
				   "\7example\3com\0\0\1\0\1"
				   "\300\014\0\1\0\1\0\0\1\54\0\4\300\0\2\1"
				   "\0\0\51\4\320\0\0\0\0\0\0";
	static const uint8_t tc[] = "\xbe\xef\x83\x80\0\1\0\0\0\0\0\0\7example\3com\0\0\1\0\1";
	uint8_t out[2000];
	size_t n;

	n = sealed(out, 1, a, sizeof(a) - 1, 64);
	put("dnscrypt_resp", "xsalsa_a", out, n);
	n = sealed(out, 2, a, sizeof(a) - 1, 320);
	put("dnscrypt_resp", "xchacha_a_padded", out, n);
	n = sealed(out, 2, tc, sizeof(tc) - 1, 64);
	put("dnscrypt_resp", "xchacha_tc", out, n);
	n = sealed(out, 2, a, sizeof(a) - 1, 64);
	out[n - 1] ^= 1;
	put("dnscrypt_resp", "bad_mac", out, n);
	n = sealed(out, 2, a, sizeof(a) - 1, 64);
	out[1 + 8] ^= 1;
	put("dnscrypt_resp", "other_nonce", out, n);
	n = sealed(out, 1, a, sizeof(a) - 1, 64);
	out[0] = 1; /* sealed with es 1, opened with es 2 */
	put("dnscrypt_resp", "wrong_es", out, n);
	put("dnscrypt_resp", "short", out, 40);
}

static void lp(uint8_t *b, size_t *n, const char *s)
{
	b[(*n)++] = (uint8_t)strlen(s);
	memcpy(b + *n, s, strlen(s));
	*n += strlen(s);
}

static size_t head(uint8_t *b, uint8_t proto, const char *addr)
{
	size_t n = 0;

	b[n++] = proto;
	memcpy(b + n, "\7\0\0\0\0\0\0\0", 8);
	n += 8;
	lp(b, &n, addr);
	return n;
}

static void stamps(void)
{
	static const char adguard[] =
	    "sdns://AQIAAAAAAAAAFDE3Ni4xMDMuMTMwLjEzMDo1NDQzINErR_JS3PLCu_"
	    "iZEIbq95zkSV2LFsigxDIuUso_OQhzIjIuZG5zY3J5cHQuZGVmYXVsdC5u"
	    "czEuYWRndWFyZC5jb20";
	uint8_t b[600];
	size_t n;

	n = head(b, 1, "203.0.113.3:8443");
	b[n++] = 32;
	memcpy(b + n, k.provider_pk, 32);
	n += 32;
	lp(b, &n, "2.dnscrypt-cert.example");
	put("stamp", "dnscrypt_v4", b, n);
	n = head(b, 1, "[2001:db8:113::3]:8443");
	b[n++] = 32;
	memcpy(b + n, k.provider_pk, 32);
	n += 32;
	lp(b, &n, "2.dnscrypt-cert.example");
	put("stamp", "dnscrypt_v6", b, n);
	n = head(b, 3, "");
	b[n++] = 0x80 | 32;
	memset(b + n, 0xab, 32);
	n += 32;
	b[n++] = 32;
	memset(b + n, 0xcd, 32);
	n += 32;
	lp(b, &n, "dns.example:8853");
	b[n++] = 0x80 | 7;
	memcpy(b + n, "9.9.9.9", 7);
	n += 7;
	lp(b, &n, "[2001:db8::9]");
	put("stamp", "dot_name_hashes_bootstrap", b, n);
	n = head(b, 3, "192.0.2.1");
	b[n++] = 0;
	lp(b, &n, "dot.example");
	put("stamp", "dot_addr", b, n);
	n = head(b, 2, "1.1.1.1");
	b[n++] = 0;
	lp(b, &n, "cloudflare-dns.com");
	lp(b, &n, "/dns-query");
	put("stamp", "doh", b, n);
	n = head(b, 0, "[2001:db8::53]:5353");
	put("stamp", "plain_v6", b, n);
	n = head(b, 0x81, "192.0.2.1");
	put("stamp", "relay", b, n);
	put("stamp", "text_adguard", adguard, sizeof(adguard) - 1);
	put("stamp", "text_tls_url", "tls://[2001:db8::1]:853#dot.example", 35);
}

int main(int argc, char **argv)
{
	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 1;
	}
	dir = argv[1];
	fuzz_keys(&k);
	certs();
	resps();
	stamps();
	return 0;
}
