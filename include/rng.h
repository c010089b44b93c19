/* rng.h - a per-thread cryptographic random stream (ChaCha20 keyed from
 * the kernel once, through libsodium), for values drawn on the packet path:
 * DNS IDs and 0x20 case patterns. One getrandom() per thread instead of one
 * per query. Not thread-safe: each worker owns one. */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>
#include <stdint.h>

#define RNG_BLOCK 512

struct rng {
	uint8_t key[32];
	uint64_t nonce;
	size_t pos;
	uint8_t buf[RNG_BLOCK];
};

/** Key r from the kernel's generator (libsodium must be initialised). */
void rng_init(struct rng *r);

/** Fill out with n random bytes. */
void rng_bytes(struct rng *r, void *out, size_t n);

/** A random 16-bit value. */
uint16_t rng_u16(struct rng *r);

/** Wipe the key. */
void rng_fini(struct rng *r);

#endif
