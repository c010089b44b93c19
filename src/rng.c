/* rng.c - per-thread random stream: ChaCha20 blocks under a key drawn once
 * from the kernel, a fresh nonce per block (see rng.h). */
#include "config.h"
#include "rng.h"

#include <sodium.h>
#include <string.h>

static void refill(struct rng *r)
{
	uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};

	memcpy(nonce, &r->nonce, sizeof(r->nonce));
	r->nonce++;
	crypto_stream_chacha20_ietf(r->buf, sizeof(r->buf), nonce, r->key);
	r->pos = 0;
}

void rng_init(struct rng *r)
{
	randombytes_buf(r->key, sizeof(r->key));
	r->nonce = 0;
	refill(r);
}

void rng_bytes(struct rng *r, void *out, size_t n)
{
	uint8_t *o = out;

	while (n) {
		size_t k;

		if (r->pos == sizeof(r->buf))
			refill(r);
		k = sizeof(r->buf) - r->pos;
		k = k < n ? k : n;
		memcpy(o, r->buf + r->pos, k);
		/* what was handed out is not kept */
		sodium_memzero(r->buf + r->pos, k);
		r->pos += k;
		o += k;
		n -= k;
	}
}

uint16_t rng_u16(struct rng *r)
{
	uint16_t v;

	rng_bytes(r, &v, sizeof(v));
	return v;
}

void rng_fini(struct rng *r)
{
	sodium_memzero(r, sizeof(*r));
}
