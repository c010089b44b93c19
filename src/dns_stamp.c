#include "config.h"
/* dns_stamp.c - DNS stamps (see dns_stamp.h): decoding the base64url
 * payload with bounds-checked reads, and translating a stamp into the
 * dns_url of the server it describes. It does not resolve names nor talk
 * to servers; a DNSCrypt server's certificates are dns_up_crypt.c's. */
#include "dns_stamp.h"
#include "dns_msg.h"
#include "dns_url.h"
#include "resolve.h"
#include "sluice.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PORT_PLAIN 53
#define PORT_DNSCRYPT 443
#define PORT_DOT 853
#define PORT_DOH 443

/* The payload being read: check what remains, then consume. */
struct rd {
	const uint8_t *b;
	size_t len, pos;
};

static int fail(char *err, size_t errlen, const char *fmt, ...) SL_PRINTF(3, 4);

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int rd_bytes(struct rd *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return -EBADMSG;
	memcpy(out, r->b + r->pos, n);
	r->pos += n;
	return 0;
}

/* A length-prefixed string of printable ASCII into out (DNS_STAMP_STR_MAX). */
static int rd_str(struct rd *r, char *out)
{
	uint8_t n;

	if (rd_bytes(r, &n, 1) < 0 || r->len - r->pos < n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (r->b[r->pos + i] < 0x21 || r->b[r->pos + i] > 0x7e)
			return -EBADMSG;
	memcpy(out, r->b + r->pos, n);
	out[n] = '\0';
	r->pos += n;
	return 0;
}

/* A set of items whose lengths have 0x80 set while more follow. Hashes are
 * 32 bytes (SHA-256) or a single empty item; bootstrap addresses are
 * strings. Kept in st when hashes, skipped otherwise. */
static int rd_set(struct rd *r, struct dns_stamp *st, bool hashes)
{
	uint8_t l;

	do {
		size_t n;

		if (rd_bytes(r, &l, 1) < 0)
			return -EBADMSG;
		n = l & 0x7f;
		if (r->len - r->pos < n)
			return -EBADMSG;
		if (hashes && n != 0 && n != 32)
			return -EBADMSG;
		if (hashes && n == 32) {
			if (st->n_hashes == DNS_STAMP_HASHES)
				return -EBADMSG;
			memcpy(st->hashes[st->n_hashes++], r->b + r->pos, 32);
		}
		r->pos += n;
	} while (l & 0x80);
	return 0;
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case DNS_STAMP_PLAIN:
		return "plain DNS";
	case DNS_STAMP_DNSCRYPT:
		return "DNSCrypt";
	case DNS_STAMP_DOH:
		return "DoH";
	case DNS_STAMP_DOT:
		return "DoT";
	case DNS_STAMP_DOQ:
		return "DoQ";
	case DNS_STAMP_ODOH:
		return "Oblivious DoH";
	case DNS_STAMP_DNSCRYPT_RELAY:
		return "DNSCrypt relay";
	case DNS_STAMP_ODOH_RELAY:
		return "Oblivious DoH relay";
	}
	return "unknown";
}

/* The fields after props, by protocol. */
static int rd_body(struct rd *r, struct dns_stamp *st)
{
	uint8_t n;

	if (rd_str(r, st->addr) < 0)
		return -EBADMSG;
	switch (st->proto) {
	case DNS_STAMP_PLAIN:
		return 0;
	case DNS_STAMP_DNSCRYPT:
		if (rd_bytes(r, &n, 1) < 0 || n != sizeof(st->pk) || rd_bytes(r, st->pk, n) < 0)
			return -EBADMSG;
		return rd_str(r, st->name);
	case DNS_STAMP_DOH:
	case DNS_STAMP_DOT:
	case DNS_STAMP_DOQ:
		if (rd_set(r, st, true) < 0 || rd_str(r, st->name) < 0)
			return -EBADMSG;
		if (st->proto == DNS_STAMP_DOH && rd_str(r, st->path) < 0)
			return -EBADMSG;
		if (r->pos < r->len) /* bootstrap addresses: names go through `bootstrap` */
			return rd_set(r, st, false);
		return 0;
	}
	return -EBADMSG;
}

int dns_stamp_parse(const char *s, struct dns_stamp *st, char *err, size_t errlen)
{
	uint8_t bin[DNS_STAMP_TEXT_MAX], props[8];
	const char *b64 = s + 7, *end = NULL;
	size_t b64len, binlen = 0;
	struct rd r;

	memset(st, 0, sizeof(*st));
	if (strncmp(s, "sdns://", 7) != 0)
		return fail(err, errlen, "a DNS stamp starts with sdns://");
	b64len = strlen(b64);
	if (b64len == 0 || b64len >= DNS_STAMP_TEXT_MAX ||
	    sodium_base642bin(bin, sizeof(bin), b64, b64len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != b64 + b64len)
		return fail(err, errlen, "DNS stamp '%.32s...': not base64url (without padding)",
			    s);
	r = (struct rd){bin, binlen, 0};
	if (rd_bytes(&r, &st->proto, 1) < 0)
		return fail(err, errlen, "DNS stamp '%s': empty", s);
	switch (st->proto) {
	case DNS_STAMP_ODOH:
	case DNS_STAMP_DNSCRYPT_RELAY:
	case DNS_STAMP_ODOH_RELAY:
		return 0;
	}
	if (rd_bytes(&r, props, sizeof(props)) < 0)
		return fail(err, errlen, "DNS stamp '%.32s...': cut short", s);
	for (int i = 7; i >= 0; i--) /* little-endian */
		st->props = st->props << 8 | props[i];
	if (st->proto > DNS_STAMP_DOQ)
		return fail(err, errlen, "DNS stamp '%.32s...': unknown protocol 0x%02x", s,
			    st->proto);
	if (rd_body(&r, st) < 0)
		return fail(err, errlen,
			    "DNS stamp '%.32s...': a %s stamp with a field cut short, "
			    "too long or not printable",
			    s, proto_name(st->proto));
	if (r.pos != r.len)
		return fail(err, errlen, "DNS stamp '%.32s...': %zu bytes after the last field", s,
			    r.len - r.pos);
	return 0;
}

/* The stamp's addr into u (address and port, default port dflt); true
 * when it held an address, false when it was empty or ":PORT" only (then
 * just the port). -EINVAL when it is neither. */
static int stamp_addr(const char *a, uint16_t dflt, struct dns_url *u)
{
	uint64_t p;

	u->port = dflt;
	if (a[0] == '\0')
		return 0;
	if (a[0] == ':') {
		if (sl_parse_dec(a + 1, 1, 65535, &p) < 0)
			return -EINVAL;
		u->port = (uint16_t)p;
		return 0;
	}
	if (addr_parse(a, false, dflt, &u->addr) < 0 || addr_port(&u->addr) == 0)
		return -EINVAL;
	if (addr_family(&u->addr) == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&u->addr.u.in6.sin6_addr) &&
	    !u->addr.u.in6.sin6_scope_id)
		return -EINVAL;
	u->port = addr_port(&u->addr);
	addr_fmt_ip(&u->addr, u->host, sizeof(u->host));
	return 1;
}

/* A DoT stamp: tls://ADDR#HOSTNAME, or tls://HOSTNAME when it has no address. */
static int dot_url(const struct dns_stamp *st, struct dns_url *u, char *err, size_t errlen)
{
	char name[DNS_STAMP_STR_MAX];
	char *colon;
	uint64_t p = 0;
	int has;

	snprintf(name, sizeof(name), "%s", st->name);
	colon = strchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (sl_parse_dec(colon + 1, 1, 65535, &p) < 0)
			return fail(err, errlen, "DoT stamp: host name '%s' has a bad port",
				    st->name);
	}
	if (!resolve_is_name(name) || strlen(name) >= sizeof(u->auth))
		return fail(err, errlen, "DoT stamp: '%s' is not a host name", st->name);
	has = stamp_addr(st->addr, p ? (uint16_t)p : PORT_DOT, u);
	if (has < 0)
		return fail(err, errlen,
			    "DoT stamp: '%s' is not an address ([IPv6]:PORT with a port)",
			    st->addr);
	u->proto = DNS_PROTO_TLS;
	/* memcpy, not snprintf: the length is checked above (gcc -Os cannot see it) */
	memcpy(u->auth, name, strlen(name) + 1);
	if (!has) { /* resolved at run time, like tls://HOSTNAME */
		u->is_name = true;
		memcpy(u->host, name, strlen(name) + 1);
	}
	return 0;
}

/* A DoH stamp: https://ADDR/PATH#HOSTNAME, or https://HOSTNAME/PATH when it
 * has no address, read by dns_url_parse() as if written out, so the path
 * is checked as any other is. */
static int doh_url(const struct dns_stamp *st, struct dns_url *u, char *err, size_t errlen)
{
	char name[DNS_STAMP_STR_MAX], url[DNS_URL_NAME_MAX + 2 * DNS_STAMP_STR_MAX + 32];
	char *colon;
	uint64_t p = 0;
	bool v6;
	int has;

	snprintf(name, sizeof(name), "%s", st->name);
	colon = strchr(name, ':');
	if (colon) {
		*colon = '\0';
		if (sl_parse_dec(colon + 1, 1, 65535, &p) < 0)
			return fail(err, errlen, "DoH stamp: host name '%s' has a bad port",
				    st->name);
	}
	if (!resolve_is_name(name))
		return fail(err, errlen, "DoH stamp: '%s' is not a host name", st->name);
	has = stamp_addr(st->addr, p ? (uint16_t)p : PORT_DOH, u);
	if (has < 0)
		return fail(err, errlen,
			    "DoH stamp: '%s' is not an address ([IPv6]:PORT with a port)",
			    st->addr);
	v6 = has && addr_family(&u->addr) == AF_INET6;
	if (has)
		snprintf(url, sizeof(url), "https://%s%s%s:%u%s#%s", v6 ? "[" : "", u->host,
			 v6 ? "]" : "", u->port, st->path, name);
	else
		snprintf(url, sizeof(url), "https://%s:%u%s", name, u->port, st->path);
	if (dns_url_parse(url, u, NULL, 0) < 0)
		return fail(err, errlen,
			    "DoH stamp: https://%s%s is not a server sluice can ask (PATH: '/' "
			    "and URI path characters)",
			    st->name, st->path);
	return 0;
}

static int dnscrypt_url(const struct dns_stamp *st, struct dns_url *u, char *err, size_t errlen)
{
	uint8_t lw[DNS_NAME_WIRE_MAX];
	size_t wl;

	if (stamp_addr(st->addr, PORT_DNSCRYPT, u) <= 0)
		return fail(err, errlen,
			    "DNSCrypt stamp: '%s' is not an IP address (with an optional "
			    "port; IPv6 in brackets)",
			    st->addr);
	if (dns_name_from_text(st->name, strlen(st->name), lw, &wl) < 0 || wl <= 1 ||
	    strlen(st->name) >= sizeof(u->auth))
		return fail(err, errlen, "DNSCrypt stamp: provider name '%s' is not a DNS name",
			    st->name);
	u->proto = DNS_PROTO_DNSCRYPT;
	memcpy(u->auth, st->name, strlen(st->name) + 1); /* length checked above */
	memcpy(u->provider_pk, st->pk, sizeof(u->provider_pk));
	return 0;
}

int dns_stamp_url(const char *s, struct dns_url *u, char *err, size_t errlen)
{
	struct dns_stamp st;

	memset(u, 0, sizeof(*u));
	if (dns_stamp_parse(s, &st, err, errlen) < 0)
		return -EINVAL;
	switch (st.proto) {
	case DNS_STAMP_PLAIN:
		if (stamp_addr(st.addr, PORT_PLAIN, u) <= 0)
			return fail(err, errlen, "plain DNS stamp: '%s' is not an IP address",
				    st.addr);
		u->proto = DNS_PROTO_UDP;
		return 0;
	case DNS_STAMP_DNSCRYPT:
		return dnscrypt_url(&st, u, err, errlen);
	case DNS_STAMP_DOT:
		return dot_url(&st, u, err, errlen);
	case DNS_STAMP_DOH:
		return doh_url(&st, u, err, errlen);
	}
	return fail(err, errlen, "%s stamps (sdns:// protocol 0x%02x) are not supported",
		    proto_name(st.proto), st.proto);
}
