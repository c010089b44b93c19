/* dns_url.c - parsing upstream server URLs (see dns_url.h). It checks the
 * form only; host names are resolved by resolve.c, TLS set up by
 * dns_up_tls.c, HTTP/2 spoken by dns_h2.c. */
#include "config.h"
#include "dns_url.h"
#include "dns_stamp.h"
#include "resolve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *scheme;
	enum dns_proto proto;
	uint16_t port;
} schemes[] = {
	{"udp://", DNS_PROTO_UDP, 53},
	{"tcp://", DNS_PROTO_TCP, 53},
	{"tls://", DNS_PROTO_TLS, 853},
	{"https://", DNS_PROTO_HTTPS, 443},
};

const char *dns_proto_name(enum dns_proto p)
{
	if (p == DNS_PROTO_DNSCRYPT)
		return "dnscrypt";
	return p == DNS_PROTO_TCP     ? "tcp"
	       : p == DNS_PROTO_TLS   ? "tls"
	       : p == DNS_PROTO_HTTPS ? "https"
				      : "udp";
}

/* An https:// PATH: "/" and RFC 3986 path and query characters (no
 * spaces, no '{' of a URI template: POST needs none). */
static bool path_ok(const char *p, size_t len)
{
	static const char extra[] = "-._~!$&'()*+,;=:@/?%";

	if (len == 0 || p[0] != '/' || len >= DNS_URL_PATH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= '0' && p[i] <= '9') || (p[i] && strchr(extra, p[i]))))
			return false;
	return true;
}

/* HOST[:PORT] or [V6]:PORT into u (the port defaults to u->port). */
static int host_port(const char *s, size_t len, struct dns_url *u)
{
	char buf[DNS_URL_NAME_MAX + 16];
	const char *colon;
	size_t hl;
	uint64_t p;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (addr_parse(buf, false, u->port, &u->addr) == 0) {
		if (addr_port(&u->addr) == 0)
			return -EINVAL;
		u->port = addr_port(&u->addr);
		addr_fmt_ip(&u->addr, u->host, sizeof(u->host));
		return 0;
	}
	colon = strchr(buf, ':');
	if (colon && strchr(colon + 1, ':'))
		return -EINVAL;
	hl = colon ? (size_t)(colon - buf) : strlen(buf);
	if (hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, buf, hl);
	u->host[hl] = '\0';
	if (!resolve_is_name(u->host))
		return -EINVAL;
	if (colon) {
		if (sl_parse_dec(colon + 1, 1, 65535, &p) < 0)
			return -EINVAL;
		u->port = (uint16_t)p;
	}
	u->is_name = true;
	return 0;
}

int dns_url_parse(const char *s, struct dns_url *u, char *err, size_t errlen)
{
	const char *rest = s, *hash, *slash;
	size_t len;

	if (strncmp(s, "sdns://", 7) == 0) /* a stamp says which of the rest it is */
		return dns_stamp_url(s, u, err, errlen);
	memset(u, 0, sizeof(*u));
	u->proto = DNS_PROTO_UDP;
	u->port = 53;
	for (size_t i = 0; i < SL_ARRAY_LEN(schemes); i++)
		if (strncmp(s, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
			rest = s + strlen(schemes[i].scheme);
			u->proto = schemes[i].proto;
			u->port = schemes[i].port;
		}
	if (rest == s && strstr(s, "://")) {
		snprintf(err, err ? errlen : 0, "'%s': unknown scheme (udp://, tcp://, tls://, https://, sdns://)",
			 s);
		return -EINVAL;
	}
	hash = strchr(rest, '#');
	len = hash ? (size_t)(hash - rest) : strlen(rest);
	if (hash && ((u->proto != DNS_PROTO_TLS && u->proto != DNS_PROTO_HTTPS) ||
		     !resolve_is_name(hash + 1) || strlen(hash + 1) >= sizeof(u->auth))) {
		snprintf(err, err ? errlen : 0,
			 "'%s': #AUTH-NAME is a host name, for tls:// and https:// only", s);
		return -EINVAL;
	}
	if (hash)
		snprintf(u->auth, sizeof(u->auth), "%s", hash + 1);
	slash = u->proto == DNS_PROTO_HTTPS ? memchr(rest, '/', len) : NULL;
	if (slash) { /* https://HOST[:PORT]/PATH */
		if (!path_ok(slash, len - (size_t)(slash - rest))) {
			snprintf(err, err ? errlen : 0, "'%s': PATH is '/' and URI path characters "
							"(at most %d)", s, DNS_URL_PATH_MAX - 1);
			return -EINVAL;
		}
		memcpy(u->path, slash, len - (size_t)(slash - rest));
		len = (size_t)(slash - rest);
	} else if (u->proto == DNS_PROTO_HTTPS) {
		snprintf(u->path, sizeof(u->path), "/dns-query"); /* RFC 8484's example */
	}
	if (host_port(rest, len, u) < 0) {
		snprintf(err, err ? errlen : 0, "'%s' is not [SCHEME://]HOST[:PORT] (HOST: an address, "
						"[an IPv6 address], or a host name)", s);
		return -EINVAL;
	}
	if (!u->is_name && addr_family(&u->addr) == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(&u->addr.u.in6.sin6_addr) && !u->addr.u.in6.sin6_scope_id) {
		snprintf(err, err ? errlen : 0, "'%s': a link-local server needs its interface "
						"([fe80::1%%eth0]:53)", s);
		return -EINVAL;
	}
	return 0;
}
