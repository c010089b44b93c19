/* ratelimit.c - per-client token buckets in a fixed table of 4-way sets
 * (see ratelimit.h). Tokens are counted in thousandths so rates below one a
 * millisecond keep their precision. */
#include "config.h"
#include "ratelimit.h"
#include "sluice.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define RL_WAYS 4
#define RL_KEY_LEN 17		   /* family byte + 16 address bytes */
#define RL_MILLI 1000u		   /* tokens are counted in thousandths */
#define RL_MAX_ELAPSED 1000000000u /* ms; caps elapsed * rate below 2^63 */

struct rl_slot {
	uint64_t last_ms;
	uint64_t tokens; /* thousandths of a request */
	uint8_t key[RL_KEY_LEN];
	bool used;
};

struct ratelimit {
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	uint64_t rate;	/* thousandths of a token per ms == tokens per second */
	uint64_t limit; /* burst in thousandths */
	size_t set_mask;
	struct rl_slot *slots;
	bool v6_prefix64;
};

struct ratelimit *ratelimit_new(unsigned rate_per_s, unsigned burst, size_t slots,
				 bool v6_prefix64)
{
	struct ratelimit *rl = NULL;
	size_t n = RL_WAYS;

	if (!rate_per_s || !burst || !slots || slots > (1u << 24) || sodium_init() < 0)
		return NULL;
	while (n < slots)
		n <<= 1;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(n, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	rl->rate = rate_per_s;
	rl->limit = (uint64_t)burst * RL_MILLI;
	rl->set_mask = n / RL_WAYS - 1;
	rl->v6_prefix64 = v6_prefix64;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* Family byte + 16 address bytes; v4-mapped IPv6 becomes IPv4 so a client
 * counts once whether it reached a v4 or a dual-stack socket. */
static bool rl_key(const struct ratelimit *rl, const struct sockaddr *sa, uint8_t key[RL_KEY_LEN])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, RL_KEY_LEN);
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *ip = in6->sin6_addr.s6_addr;

		if (memcmp(ip, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, ip + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, ip, rl->v6_prefix64 ? 8 : 16);
		}
		return true;
	}
	return false;
}

/* The client's slot in its set: its own, else an empty one, else the one
 * seen least recently (reset to a full bucket). */
static struct rl_slot *rl_slot_get(struct ratelimit *rl, const uint8_t key[RL_KEY_LEN],
				   uint64_t now_ms)
{
	uint64_t h;
	struct rl_slot *set, *victim = NULL;

	crypto_shorthash((unsigned char *)&h, key, RL_KEY_LEN, rl->hkey);
	set = rl->slots + (size_t)(h & rl->set_mask) * RL_WAYS;
	for (size_t i = 0; i < RL_WAYS; i++) {
		struct rl_slot *s = &set[i];

		if (s->used && memcmp(s->key, key, RL_KEY_LEN) == 0)
			return s;
		if (!victim || (victim->used && (!s->used || s->last_ms < victim->last_ms)))
			victim = s;
	}
	memcpy(victim->key, key, RL_KEY_LEN);
	victim->used = true;
	victim->tokens = rl->limit;
	victim->last_ms = now_ms;
	return victim;
}

bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *client, uint64_t now_ms)
{
	uint8_t key[RL_KEY_LEN];
	struct rl_slot *s;

	if (!rl || !rl_key(rl, client, key))
		return false;
	s = rl_slot_get(rl, key, now_ms);
	if (now_ms > s->last_ms) {
		uint64_t el = SL_MIN(now_ms - s->last_ms, (uint64_t)RL_MAX_ELAPSED);

		s->tokens = SL_MIN(rl->limit, s->tokens + el * rl->rate);
		s->last_ms = now_ms; /* a clock going back refills nothing */
	}
	if (s->tokens < RL_MILLI)
		return false;
	s->tokens -= RL_MILLI;
	return true;
}
