/* clients.c - per-client counters shared by every worker (see clients.h). */
#include "config.h"
#include "clients.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define KEY_LEN 9 /* family byte, then 4 (IPv4) or 8 (IPv6 /64) address bytes */

struct centry {
	struct centry *next;
	uint8_t key[KEY_LEN];
	unsigned n[CLIENTS_KINDS];
};

struct cshard {
	pthread_mutex_t lock;
	struct centry **b;
	size_t mask, count, max;
} __attribute__((aligned(64)));

struct clients {
	struct cshard s[SHARDS];
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

static void key_of(const struct addr *a, uint8_t *k)
{
	size_t len;
	const uint8_t *ip = addr_ip(a, &len);

	memset(k, 0, KEY_LEN);
	k[0] = (uint8_t)len;
	memcpy(k + 1, ip, len == 4 ? 4 : 8);
}

struct clients *clients_new(size_t max_clients)
{
	struct clients *c = calloc(1, sizeof(*c));
	size_t per = max_clients / SHARDS + 1, nb = 64;

	if (!c)
		return NULL;
	while (nb < per && nb < (1u << 20))
		nb <<= 1;
	randombytes_buf(c->hkey, sizeof(c->hkey));
	for (size_t i = 0; i < SHARDS; i++) {
		c->s[i].b = calloc(nb, sizeof(*c->s[i].b));
		c->s[i].mask = nb - 1;
		c->s[i].max = per;
		if (!c->s[i].b || pthread_mutex_init(&c->s[i].lock, NULL) != 0) {
			free(c->s[i].b);
			c->s[i].b = NULL;
			clients_free(c);
			return NULL;
		}
	}
	return c;
}

void clients_free(struct clients *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SHARDS && c->s[i].b; i++) {
		for (size_t j = 0; j <= c->s[i].mask; j++)
			while (c->s[i].b[j]) {
				struct centry *e = c->s[i].b[j];

				c->s[i].b[j] = e->next;
				free(e);
			}
		free(c->s[i].b);
		pthread_mutex_destroy(&c->s[i].lock);
	}
	free(c);
}

/* Lock k's shard; *pp gets k's link in its bucket (the entry, or where it goes). */
static struct cshard *shard_lock(struct clients *c, const uint8_t *k, struct centry ***pp)
{
	struct cshard *sh;
	struct centry **p;
	uint64_t h;

	crypto_shorthash((uint8_t *)&h, k, KEY_LEN, c->hkey);
	sh = &c->s[h % SHARDS];
	pthread_mutex_lock(&sh->lock);
	p = &sh->b[(h / SHARDS) & sh->mask];
	while (*p && memcmp((*p)->key, k, KEY_LEN) != 0)
		p = &(*p)->next;
	*pp = p;
	return sh;
}

bool clients_take(struct clients *c, const struct addr *a, enum clients_kind kind, unsigned cap)
{
	uint8_t k[KEY_LEN];
	struct centry **pp, *e;
	struct cshard *sh;
	bool ok = false;

	key_of(a, k);
	sh = shard_lock(c, k, &pp);
	e = *pp;
	if (!e && sh->count < sh->max && (e = calloc(1, sizeof(*e)))) {
		memcpy(e->key, k, KEY_LEN);
		*pp = e;
		sh->count++;
	}
	if (e && e->n[kind] < cap) {
		e->n[kind]++;
		ok = true;
	}
	pthread_mutex_unlock(&sh->lock);
	return ok;
}

void clients_put(struct clients *c, const struct addr *a, enum clients_kind kind)
{
	uint8_t k[KEY_LEN];
	struct centry **pp, *e;
	struct cshard *sh;
	bool empty = true;

	key_of(a, k);
	sh = shard_lock(c, k, &pp);
	e = *pp;
	if (e && e->n[kind])
		e->n[kind]--;
	for (int i = 0; e && i < CLIENTS_KINDS; i++)
		empty = empty && e->n[i] == 0;
	if (e && empty) {
		*pp = e->next;
		free(e);
		sh->count--;
	}
	pthread_mutex_unlock(&sh->lock);
}

unsigned clients_count(struct clients *c, const struct addr *a, enum clients_kind kind)
{
	uint8_t k[KEY_LEN];
	struct centry **pp;
	struct cshard *sh;
	unsigned n;

	key_of(a, k);
	sh = shard_lock(c, k, &pp);
	n = *pp ? (*pp)->n[kind] : 0;
	pthread_mutex_unlock(&sh->lock);
	return n;
}

size_t clients_entries(struct clients *c)
{
	size_t n = 0;

	for (size_t i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->s[i].lock);
		n += c->s[i].count;
		pthread_mutex_unlock(&c->s[i].lock);
	}
	return n;
}
