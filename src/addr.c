/* addr.c - socket address helpers. Owns nothing but the parsing and
 * formatting rules for the "ADDR:PORT" and CIDR forms used in configs. */
#include "config.h"
#include "addr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* "fe80::1%eth0" or "fe80::1%2": the scope of a link-local IPv6 address. */
static int parse_scope(const char *scope, struct addr *out)
{
	uint64_t idx;

	if (!IN6_IS_ADDR_LINKLOCAL(&out->u.in6.sin6_addr) || !*scope)
		return -EINVAL;
	if (sl_parse_dec(scope, 1, UINT32_MAX, &idx) == 0) {
		out->u.in6.sin6_scope_id = (uint32_t)idx;
		return 0;
	}
	idx = if_nametoindex(scope);
	if (!idx)
		return -ENODEV;
	out->u.in6.sin6_scope_id = (uint32_t)idx;
	return 0;
}

static int parse_ip(const char *s, struct addr *out)
{
	char ip[INET6_ADDRSTRLEN];
	const char *pct = strchr(s, '%');

	memset(out, 0, sizeof(*out));
	if (pct) {
		if ((size_t)(pct - s) >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s, (size_t)(pct - s));
		ip[pct - s] = '\0';
		if (inet_pton(AF_INET6, ip, &out->u.in6.sin6_addr) != 1)
			return -EINVAL;
		out->u.in6.sin6_family = AF_INET6;
		out->len = sizeof(struct sockaddr_in6);
		return parse_scope(pct + 1, out);
	}
	if (inet_pton(AF_INET, s, &out->u.in.sin_addr) == 1) {
		out->u.in.sin_family = AF_INET;
		out->len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &out->u.in6.sin6_addr) == 1) {
		out->u.in6.sin6_family = AF_INET6;
		out->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

int addr_parse(const char *s, bool need_port, uint16_t default_port, struct addr *out)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	const char *port = NULL, *colon;
	int rc;
	size_t hl;
	uint64_t p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return -EINVAL;
		hl = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) {
			hl = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if ((rc = parse_ip(host, out)) < 0)
		return rc;
	if (!port) {
		if (need_port)
			return -EINVAL;
		p = default_port;
	} else if (sl_parse_dec(port, 0, 65535, &p) < 0) {
		return -EINVAL;
	}
	addr_set_port(out, (uint16_t)p);
	return 0;
}

const char *addr_fmt_ip(const struct addr *a, char *buf, size_t len)
{
	const void *ip = a->u.sa.sa_family == AF_INET ? (const void *)&a->u.in.sin_addr
						       : (const void *)&a->u.in6.sin6_addr;

	if ((a->u.sa.sa_family != AF_INET && a->u.sa.sa_family != AF_INET6) ||
	    !inet_ntop(a->u.sa.sa_family, ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *addr_fmt(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 1] = "";

	addr_fmt_ip(a, ip, sizeof(ip));
	if (a->u.sa.sa_family == AF_INET6 && a->u.in6.sin6_scope_id) {
		scope[0] = '%';
		if (!if_indextoname(a->u.in6.sin6_scope_id, scope + 1))
			snprintf(scope + 1, sizeof(scope) - 1, "%u", a->u.in6.sin6_scope_id);
	}
	if (a->u.sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s%s]:%u", ip, scope, addr_port(a));
	else
		snprintf(buf, len, "%s:%u", ip, addr_port(a));
	return buf;
}

int addr_from_sa(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(&a->u.in, sa, sizeof(struct sockaddr_in));
		a->len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		memcpy(&a->u.in6, sa, sizeof(struct sockaddr_in6));
		a->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void addr_unmap(struct addr *a)
{
	struct sockaddr_in in;

	if (a->u.sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr))
		return;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = a->u.in6.sin6_port;
	memcpy(&in.sin_addr, &a->u.in6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->u.in = in;
	a->len = sizeof(in);
}

int addr_family(const struct addr *a)
{
	return a->u.sa.sa_family;
}

uint16_t addr_port(const struct addr *a)
{
	return ntohs(a->u.sa.sa_family == AF_INET ? a->u.in.sin_port : a->u.in6.sin6_port);
}

void addr_set_port(struct addr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else
		a->u.in6.sin6_port = htons(port);
}

const uint8_t *addr_ip(const struct addr *a, size_t *len)
{
	if (a->u.sa.sa_family == AF_INET) {
		*len = 4;
		return (const uint8_t *)&a->u.in.sin_addr;
	}
	*len = 16;
	return a->u.in6.sin6_addr.s6_addr;
}

bool addr_ip_equal(const struct addr *a, const struct addr *b)
{
	size_t la, lb;
	const uint8_t *pa, *pb;

	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	pa = addr_ip(a, &la);
	pb = addr_ip(b, &lb);
	return la == lb && memcmp(pa, pb, la) == 0;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return addr_ip_equal(a, b) && addr_port(a) == addr_port(b);
}

bool addr_is_any(const struct addr *a)
{
	static const uint8_t zero[16];
	size_t l;
	const uint8_t *ip = addr_ip(a, &l);

	return memcmp(ip, zero, l) == 0;
}

size_t addr_key(const struct addr *a, bool with_port, uint8_t *out)
{
	size_t l;
	const uint8_t *ip = addr_ip(a, &l);
	uint16_t p = addr_port(a);

	out[0] = (uint8_t)a->u.sa.sa_family;
	memcpy(out + 1, ip, l);
	if (!with_port)
		return 1 + l;
	out[1 + l] = (uint8_t)(p >> 8);
	out[2 + l] = (uint8_t)p;
	return 3 + l;
}

int addr_cidr_parse(const char *s, struct addr_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	struct addr a;
	size_t l;
	uint64_t p;
	const uint8_t *ip;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (parse_ip(buf, &a) < 0)
		return -EINVAL;
	ip = addr_ip(&a, &l);
	if (slash) {
		if (sl_parse_dec(slash, 0, l * 8, &p) < 0)
			return -EINVAL;
	} else {
		p = l * 8;
	}
	memset(c, 0, sizeof(*c));
	c->family = addr_family(&a);
	c->prefix = (unsigned)p;
	memcpy(c->net, ip, l);
	/* Clear host bits so "192.0.2.1/24" means the network. */
	for (size_t i = 0; i < l; i++) {
		unsigned bits = i * 8 >= p ? 0 : (p - i * 8 >= 8 ? 8 : (unsigned)(p - i * 8));
		c->net[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

bool addr_cidr_match(const struct addr_cidr *c, const struct addr *a)
{
	struct addr u = *a;
	size_t l;
	const uint8_t *ip;
	unsigned full, rest;

	addr_unmap(&u);
	if (addr_family(&u) != c->family)
		return false;
	ip = addr_ip(&u, &l);
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(ip, c->net, full) != 0)
		return false;
	return rest == 0 || ((ip[full] ^ c->net[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

const char *addr_cidr_fmt(const struct addr_cidr *c, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->net, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, "%s/%u", ip, c->prefix);
	return buf;
}
