/* ownsock.c - the registry behind loop detection (see ownsock.h): one bit
 * per local port for each of UDP/TCP over IPv4/IPv6, and the short list of
 * local IPs seen. The kernel never gives two live sockets of one protocol
 * and family the same autobound port, so a bit is enough. */
#include "config.h"
#include "ownsock.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#define OWN_MAX_IPS 32
#define OWN_SLOTS 4 /* udp4, udp6, tcp4, tcp6 */

struct ownsock {
	_Atomic uint64_t bits[OWN_SLOTS][65536 / 64];
	pthread_mutex_t lock; /* writers of ips */
	struct addr ips[OWN_MAX_IPS];
	_Atomic size_t nips;
	_Atomic bool ips_full; /* more IPs than fit: any IP counts */
};

static int slot_of(int family, int proto)
{
	return (proto == IPPROTO_TCP ? 2 : 0) + (family == AF_INET6 ? 1 : 0);
}

struct ownsock *ownsock_new(void)
{
	struct ownsock *o = calloc(1, sizeof(*o));

	if (o && pthread_mutex_init(&o->lock, NULL) != 0) {
		free(o);
		return NULL;
	}
	return o;
}

void ownsock_free(struct ownsock *o)
{
	if (!o)
		return;
	pthread_mutex_destroy(&o->lock);
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

bool ownsock_has(const struct ownsock *o, const struct addr *a, int proto)
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
	return ip_known(o, a);
}
