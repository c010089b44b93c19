/* ownsock.c - the registry behind loop detection (see ownsock.h): one bit
 * per local port for each of UDP/TCP over IPv4/IPv6, and the short list of
 * local IPs seen. The kernel never gives two live sockets of one protocol
 * and family the same autobound port, so a bit is enough. Beside it, the
 * ports of relay legs closed lately, with the peer each talked to: two
 * generations of hashed bits, OWN_RECENT_MS each (a false hit costs the
 * caller one more socket, never a wrong answer).
 *
 * A UDP socket that sends with sendto() unbound (dns_up_port.c) has the
 * wildcard as its local address: its datagrams leave from whichever of the
 * host's addresses the route picks. Such a socket marks its family "wild",
 * and a source IP not in the list then counts when it is one of the host's
 * addresses (getifaddrs(), read again at most once a second when asked:
 * only a datagram whose source port is one of sluice's gets that far). */
#include "config.h"
#include "ownsock.h"

#include "sluice.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define OWN_MAX_IPS 32
#define OWN_SLOTS 4 /* udp4, udp6, tcp4, tcp6 */
#define OWN_RECENT_BITS (1u << 18)
#define OWN_MAX_LOCAL 64
#define OWN_LOCAL_MS 1000

struct ownsock {
	_Atomic uint64_t bits[OWN_SLOTS][65536 / 64];
	pthread_mutex_t lock; /* writers of ips, the recent generations' turn */
	struct addr ips[OWN_MAX_IPS];
	_Atomic size_t nips;
	_Atomic bool ips_full; /* more IPs than fit: any IP counts */
	_Atomic bool wild[2];  /* IPv4, IPv6: a socket bound to the wildcard */
	pthread_mutex_t llock; /* the host's addresses (read with getifaddrs() outside it) */
	struct addr local[OWN_MAX_LOCAL];
	size_t nlocal;
	bool local_full;
	uint64_t local_ms; /* when they were read; 0: never */
	_Atomic uint64_t recent[2][OWN_RECENT_BITS / 64];
	_Atomic unsigned recent_cur;	  /* the generation marks go to */
	_Atomic uint64_t recent_start_ms; /* when it began */
};

static int slot_of(int family, int proto)
{
	return (proto == IPPROTO_TCP ? 2 : 0) + (family == AF_INET6 ? 1 : 0);
}

struct ownsock *ownsock_new(void)
{
	struct ownsock *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (pthread_mutex_init(&o->lock, NULL) != 0)
		goto fail;
	if (pthread_mutex_init(&o->llock, NULL) != 0) {
		pthread_mutex_destroy(&o->lock);
		goto fail;
	}
	return o;
fail:
	free(o);
	return NULL;
}

void ownsock_free(struct ownsock *o)
{
	if (!o)
		return;
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->llock);
	free(o);
}

static bool ip_known(const struct ownsock *o, const struct addr *a)
{
	size_t n = atomic_load_explicit(&o->nips, memory_order_acquire);

	if (atomic_load_explicit(&o->ips_full, memory_order_relaxed))
		return true;
	for (size_t i = 0; i < n; i++)
		if (addr_ip_equal(&o->ips[i], a))
			return true;
	return false;
}

static void ip_note(struct ownsock *o, const struct addr *a)
{
	size_t n;

	if (ip_known(o, a))
		return;
	pthread_mutex_lock(&o->lock);
	n = atomic_load_explicit(&o->nips, memory_order_relaxed);
	if (!ip_known(o, a)) {
		if (n == OWN_MAX_IPS) {
			atomic_store(&o->ips_full, true);
		} else {
			o->ips[n] = *a;
			/* the entry is complete before readers can see it */
			atomic_store_explicit(&o->nips, n + 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&o->lock);
}

int ownsock_add(struct ownsock *o, int fd, int proto, struct ownsock_tok *tok)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addr a;
	int s;

	tok->slot = 0;
	if (!o)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (addr_from_sa(&a, (struct sockaddr *)&ss, sl) < 0)
		return -EAFNOSUPPORT;
	addr_unmap(&a);
	if (addr_is_any(&a))
		atomic_store_explicit(&o->wild[addr_family(&a) == AF_INET6], true,
				      memory_order_relaxed);
	else
		ip_note(o, &a);
	s = slot_of(addr_family(&a), proto);
	tok->port = addr_port(&a);
	tok->slot = (uint8_t)(s + 1);
	atomic_fetch_or_explicit(&o->bits[s][tok->port / 64], 1ull << (tok->port % 64),
				 memory_order_relaxed);
	return 0;
}

void ownsock_del(struct ownsock *o, struct ownsock_tok *tok)
{
	if (!o || !tok->slot)
		return;
	atomic_fetch_and_explicit(&o->bits[tok->slot - 1][tok->port / 64],
				  ~(1ull << (tok->port % 64)), memory_order_relaxed);
	tok->slot = 0;
}

struct local_set {
	struct addr a[OWN_MAX_LOCAL];
	size_t n;
	bool full; /* more than fit: any address counts, a loop is worse than a refusal */
};

/* The host's addresses into ls; false when getifaddrs() fails. */
static bool local_read(struct local_set *ls)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return false;
	ls->n = 0;
	ls->full = false;
	for (i = ifa; i; i = i->ifa_next) {
		struct addr a;
		socklen_t sl;

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			sl = sizeof(struct sockaddr_in);
		else if (i->ifa_addr->sa_family == AF_INET6)
			sl = sizeof(struct sockaddr_in6);
		else
			continue;
		if (addr_from_sa(&a, i->ifa_addr, sl) < 0)
			continue;
		if (ls->n == OWN_MAX_LOCAL) {
			ls->full = true;
			break;
		}
		ls->a[ls->n++] = a;
	}
	freeifaddrs(ifa);
	return true;
}

/* Is a one of the host's addresses? The list is read again when older than
 * OWN_LOCAL_MS, outside the lock (a netlink dump): other workers asking
 * meanwhile use the list before it. */
static bool ip_local(struct ownsock *o, const struct addr *a)
{
	uint64_t now = sl_now_ms();
	struct local_set fresh;
	bool stale, got, yes;

	pthread_mutex_lock(&o->llock);
	stale = !o->local_ms || now - o->local_ms >= OWN_LOCAL_MS;
	if (stale)
		o->local_ms = now; /* this thread reads it */
	pthread_mutex_unlock(&o->llock);
	got = stale && local_read(&fresh); /* on failure what was known is kept */
	pthread_mutex_lock(&o->llock);
	if (got) {
		memcpy(o->local, fresh.a, fresh.n * sizeof(fresh.a[0]));
		o->nlocal = fresh.n;
		o->local_full = fresh.full;
	}
	yes = o->local_full;
	for (size_t i = 0; i < o->nlocal && !yes; i++)
		yes = addr_ip_equal(&o->local[i], a);
	pthread_mutex_unlock(&o->llock);
	return yes;
}

bool ownsock_has(struct ownsock *o, const struct addr *a, int proto)
{
	uint16_t port;
	int s;

	if (!o || !a)
		return false;
	port = addr_port(a);
	s = slot_of(addr_family(a), proto);
	if (!(atomic_load_explicit(&o->bits[s][port / 64], memory_order_relaxed) &
	      (1ull << (port % 64))))
		return false;
	if (ip_known(o, a))
		return true;
	return atomic_load_explicit(&o->wild[addr_family(a) == AF_INET6], memory_order_relaxed) &&
	       ip_local(o, a);
}

/* ---- ports of closed legs ---- */

static uint32_t recent_bit(const struct ownsock_tok *tok, const struct addr *peer)
{
	uint8_t k[3 + 20];
	size_t kl = 3;
	uint32_t h = 2166136261u;

	k[0] = tok->slot;
	k[1] = (uint8_t)(tok->port >> 8);
	k[2] = (uint8_t)tok->port;
	kl += addr_key(peer, true, k + 3);
	for (size_t i = 0; i < kl; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % OWN_RECENT_BITS;
}

/* Start a new generation when the current one is OWN_RECENT_MS old, clearing
 * the one before it (both, after a long quiet spell). */
static void recent_turn(struct ownsock *o, uint64_t now_ms)
{
	uint64_t start = atomic_load_explicit(&o->recent_start_ms, memory_order_acquire);
	unsigned cur;

	if (now_ms < start + OWN_RECENT_MS)
		return;
	pthread_mutex_lock(&o->lock);
	start = atomic_load_explicit(&o->recent_start_ms, memory_order_relaxed);
	if (now_ms >= start + OWN_RECENT_MS) {
		cur = atomic_load_explicit(&o->recent_cur, memory_order_relaxed) ^ 1;
		for (int g = 0; g < 2; g++) {
			if (g != (int)cur && now_ms < start + 2 * OWN_RECENT_MS)
				continue; /* the ending generation stays for one more turn */
			for (size_t i = 0; i < OWN_RECENT_BITS / 64; i++)
				atomic_store_explicit(&o->recent[g][i], 0, memory_order_relaxed);
		}
		atomic_store_explicit(&o->recent_cur, cur, memory_order_relaxed);
		atomic_store_explicit(&o->recent_start_ms, now_ms, memory_order_release);
	}
	pthread_mutex_unlock(&o->lock);
}

void ownsock_retire(struct ownsock *o, struct ownsock_tok *tok, const struct addr *peer,
		    uint64_t now_ms)
{
	uint32_t b;
	unsigned g;

	if (!o || !tok->slot)
		return;
	recent_turn(o, now_ms);
	b = recent_bit(tok, peer);
	g = atomic_load_explicit(&o->recent_cur, memory_order_relaxed);
	atomic_fetch_or_explicit(&o->recent[g][b / 64], 1ull << (b % 64), memory_order_relaxed);
	ownsock_del(o, tok);
}

bool ownsock_recent(struct ownsock *o, const struct ownsock_tok *tok, const struct addr *peer,
		    uint64_t now_ms)
{
	uint32_t b;

	if (!o || !tok->slot)
		return false;
	recent_turn(o, now_ms);
	b = recent_bit(tok, peer);
	for (int g = 0; g < 2; g++)
		if (atomic_load_explicit(&o->recent[g][b / 64], memory_order_relaxed) &
		    (1ull << (b % 64)))
			return true;
	return false;
}
