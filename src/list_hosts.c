#include "config.h"
/* list_hosts.c - the hosts table: name -> IPv4/IPv6 addresses, as hosts and
 * dnsmasq `address=` lists fill it (list_text.c) and DNS answers read it.
 *
 * Owns the table's memory layout and its lookups; does not parse any list
 * format (list_text.c) nor match domains (match.c, whose name check it
 * shares so that both accept the same names).
 *
 * Names in one arena ([len][name]); each name points at one pooled address
 * (H_SINGLE | pool index, the common case) or at a chain of links. Addresses
 * are pooled because block lists map 100k names to the same 0.0.0.0. */
#include "list_text.h"
#include "match_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define H_SINGLE 0x80000000u

struct hname {
	uint32_t off, addr;
};

struct hlink {
	uint32_t next, pool; /* next: link index + 1, 0 ends the chain */
};

struct haddr {
	uint8_t fam, a[16];
};

struct list_hosts {
	char *arena;
	size_t alen, acap;
	struct hname *names;
	size_t nnames, cnames;
	uint32_t *ntab; /* name index + 1 */
	size_t nmask;
	struct hlink *links;
	size_t nlinks, clinks;
	struct haddr *pool;
	size_t npool, cpool;
	uint32_t *ptab; /* pool index + 1 */
	size_t pmask;
};

static uint64_t fnv(const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static const char *hname_str(const struct list_hosts *h, uint32_t i, size_t *len)
{
	*len = (unsigned char)h->arena[h->names[i].off];
	return h->arena + h->names[i].off + 1;
}

static int64_t hname_find(const struct list_hosts *h, const char *n, size_t len)
{
	if (!h->ntab)
		return -1;
	for (size_t i = fnv(n, len) & h->nmask;; i = (i + 1) & h->nmask) {
		size_t l;
		const char *s;

		if (!h->ntab[i])
			return -1;
		s = hname_str(h, h->ntab[i] - 1, &l);
		if (l == len && memcmp(s, n, len) == 0)
			return h->ntab[i] - 1;
	}
}

/* Make room for one more key in a table of indices (load <= 1/2). */
static int htab_reserve(const struct list_hosts *h, uint32_t **tab, size_t *mask, size_t count,
			bool names)
{
	size_t n = *tab ? (*mask + 1) * 2 : 64;
	uint32_t *t;

	if (*tab && (count + 1) * 2 <= *mask + 1)
		return 0;
	if (!(t = calloc(n, sizeof(*t))))
		return -ENOMEM;
	for (size_t k = 0; k < count; k++) {
		size_t l, i;
		const char *s = names ? hname_str(h, (uint32_t)k, &l) : (const char *)&h->pool[k];

		i = fnv(s, names ? l : sizeof(struct haddr)) & (n - 1);
		while (t[i])
			i = (i + 1) & (n - 1);
		t[i] = (uint32_t)k + 1;
	}
	free(*tab);
	*tab = t;
	*mask = n - 1;
	return 0;
}

static int64_t pool_get(struct list_hosts *h, const struct haddr *a)
{
	size_t i;

	if (htab_reserve(h, &h->ptab, &h->pmask, h->npool, false) < 0 ||
	    match_grow((void **)&h->pool, &h->cpool, h->npool + 1, sizeof(*h->pool)) < 0)
		return -ENOMEM;
	for (i = fnv(a, sizeof(*a)) & h->pmask; h->ptab[i]; i = (i + 1) & h->pmask)
		if (memcmp(&h->pool[h->ptab[i] - 1], a, sizeof(*a)) == 0)
			return h->ptab[i] - 1;
	if (h->npool >= H_SINGLE - 1)
		return -ENOMEM;
	h->pool[h->npool] = *a;
	h->ptab[i] = (uint32_t)++h->npool;
	return (int64_t)h->npool - 1;
}

static int hlink_new(struct list_hosts *h, uint32_t pool, uint32_t *idx)
{
	if (h->nlinks >= H_SINGLE - 1 ||
	    match_grow((void **)&h->links, &h->clinks, h->nlinks + 1, sizeof(*h->links)) < 0)
		return -ENOMEM;
	h->links[h->nlinks] = (struct hlink){.next = 0, .pool = pool};
	*idx = (uint32_t)h->nlinks++;
	return 0;
}

/* Append pool entry p to name i unless it is there already. */
static int hname_addr(struct list_hosts *h, struct hname *nm, uint32_t p)
{
	uint32_t li, first;

	if (nm->addr & H_SINGLE) {
		if ((nm->addr & ~H_SINGLE) == p)
			return 0;
		if (hlink_new(h, nm->addr & ~H_SINGLE, &first) < 0)
			return -ENOMEM;
		nm->addr = first;
	}
	for (li = nm->addr;; li = h->links[li].next - 1) {
		if (h->links[li].pool == p)
			return 0;
		if (!h->links[li].next)
			break;
	}
	if (hlink_new(h, p, &first) < 0)
		return -ENOMEM;
	h->links[li].next = first + 1;
	return 0;
}

static int hname_new(struct list_hosts *h, const char *n, size_t len, uint32_t p)
{
	size_t i;

	if (h->alen + 1 + len > UINT32_MAX || h->nnames >= UINT32_MAX - 1 ||
	    htab_reserve(h, &h->ntab, &h->nmask, h->nnames, true) < 0 ||
	    match_grow((void **)&h->arena, &h->acap, h->alen + 1 + len, 1) < 0 ||
	    match_grow((void **)&h->names, &h->cnames, h->nnames + 1, sizeof(*h->names)) < 0)
		return -ENOMEM;
	h->names[h->nnames] = (struct hname){.off = (uint32_t)h->alen, .addr = H_SINGLE | p};
	h->arena[h->alen] = (char)len;
	memcpy(h->arena + h->alen + 1, n, len);
	h->alen += 1 + len;
	for (i = fnv(n, len) & h->nmask; h->ntab[i]; i = (i + 1) & h->nmask)
		;
	h->ntab[i] = (uint32_t)++h->nnames;
	return 0;
}

struct list_hosts *list_hosts_new(void)
{
	return calloc(1, sizeof(struct list_hosts));
}

void list_hosts_free(struct list_hosts *h)
{
	if (!h)
		return;
	free(h->arena);
	free(h->names);
	free(h->ntab);
	free(h->links);
	free(h->pool);
	free(h->ptab);
	free(h);
}

int list_hosts_add(struct list_hosts *h, const char *name, size_t len, int family, const void *addr)
{
	char n[MATCH_NAME_MAX];
	struct haddr a = {0};
	int64_t p, i;
	size_t nl;

	if (!h || !addr || (family != AF_INET && family != AF_INET6) ||
	    match_name_norm(name, len, n, &nl) < 0)
		return -EINVAL;
	a.fam = family == AF_INET ? 4 : 6;
	memcpy(a.a, addr, family == AF_INET ? 4 : 16);
	p = pool_get(h, &a);
	if (p < 0)
		return (int)p;
	i = hname_find(h, n, nl);
	if (i < 0)
		return hname_new(h, n, nl, (uint32_t)p);
	return hname_addr(h, &h->names[i], (uint32_t)p);
}

int list_hosts_lookup(const struct list_hosts *h, const char *name, size_t len, int family,
		      void *out, size_t max)
{
	char n[MATCH_NAME_MAX];
	uint8_t fam = family == AF_INET ? 4 : 6;
	size_t nl, alen = fam == 4 ? 4 : 16;
	int64_t i;
	int count = 0;
	uint32_t li, p;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (!h || match_name_norm(name, len, n, &nl) < 0 || (i = hname_find(h, n, nl)) < 0)
		return -ENOENT;
	for (li = h->names[i].addr;; li = h->links[li].next - 1) {
		p = li & H_SINGLE ? li & ~H_SINGLE : h->links[li].pool;
		if (h->pool[p].fam == fam) {
			if (out && (size_t)count < max)
				memcpy((char *)out + (size_t)count * alen, h->pool[p].a, alen);
			count++;
		}
		if ((li & H_SINGLE) || !h->links[li].next)
			break;
	}
	return count;
}

size_t list_hosts_names(const struct list_hosts *h)
{
	return h ? h->nnames : 0;
}

size_t list_hosts_bytes(const struct list_hosts *h)
{
	if (!h)
		return 0;
	return sizeof(*h) + h->acap + h->cnames * sizeof(*h->names) +
	       (h->ntab ? (h->nmask + 1) * 4 : 0) + h->clinks * sizeof(*h->links) +
	       h->cpool * sizeof(*h->pool) + (h->ptab ? (h->pmask + 1) * 4 : 0);
}