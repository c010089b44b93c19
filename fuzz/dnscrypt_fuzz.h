/* dnscrypt_fuzz.h - the fixed keys the DNSCrypt fuzz targets and their seed
 * generator (gen_dnscrypt_seeds.c) share, so seeds carry certificates that
 * verify and answers that open, and the fuzzer starts past the checks. */
#ifndef DNSCRYPT_FUZZ_H
#define DNSCRYPT_FUZZ_H

#include <sodium.h>
#include <string.h>

#include "dnscrypt.h"

#define FUZZ_NOW 1700000000u /* the wall clock the targets check dates against */

struct fuzz_keys {
	uint8_t provider_pk[crypto_sign_PUBLICKEYBYTES], provider_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t client_pk[32], client_sk[32];
	uint8_t resolver_pk[32], resolver_sk[32];
	uint8_t nonce[DNSCRYPT_HALF_NONCE]; /* the client half every query used */
};

static inline void fuzz_keys(struct fuzz_keys *k)
{
	uint8_t seed[32];

	memset(seed, 1, sizeof(seed));
	crypto_sign_seed_keypair(k->provider_pk, k->provider_sk, seed);
	memset(seed, 2, sizeof(seed));
	crypto_box_seed_keypair(k->client_pk, k->client_sk, seed);
	memset(seed, 3, sizeof(seed));
	crypto_box_seed_keypair(k->resolver_pk, k->resolver_sk, seed);
	memset(k->nonce, 0x11, sizeof(k->nonce));
}

/* The certificate the answers are sealed under (es 1 or 2). */
static inline void fuzz_cert(const struct fuzz_keys *k, uint16_t es, struct dnscrypt_cert *c)
{
	memset(c, 0, sizeof(*c));
	c->es = es;
	memcpy(c->resolver_pk, k->resolver_pk, 32);
	memcpy(c->client_magic, k->resolver_pk, 8);
	c->serial = 1;
	c->ts_start = FUZZ_NOW - 3600;
	c->ts_end = FUZZ_NOW + 3600;
}

#endif
