#include "config.h"
/* test_dns_stamp.c - dns_stamp.c: DNS stamps (sdns://) built here field by
 * field and a published one, decoded and turned into upstream URLs
 * (DNSCrypt, DoT as tls://, DoH as https://, plain as udp://), DoQ and
 * the rest refused with a reason; bad stamps (every cut of a good one,
 * lengths, padding, bytes, trailing data, addresses); and the config: a
 * DNSCrypt group loaded with its provider, never the bootstrap group, a
 * DoH stamp's :authority and path, a DoQ stamp refused at FILE:LINE. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sodium.h>

#include "cfg.h"
#include "dns_conf.h"
#include "dns_stamp.h"
#include "dns_url.h"

/* A payload under construction. */
struct pl {
	uint8_t b[1500];
	size_t n;
};

static void pl_byte(struct pl *p, uint8_t v)
{
	p->b[p->n++] = v;
}

static void pl_bytes(struct pl *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pl_lp(struct pl *p, const char *s)
{
	pl_byte(p, (uint8_t)strlen(s));
	pl_bytes(p, s, strlen(s));
}

static void pl_head(struct pl *p, uint8_t proto, uint64_t props, const char *addr)
{
	p->n = 0;
	pl_byte(p, proto);
	for (int i = 0; i < 8; i++)
		pl_byte(p, (uint8_t)(props >> (8 * i)));
	pl_lp(p, addr);
}

static uint8_t pk_test[32];

static void pl_dnscrypt(struct pl *p, const char *addr, const char *provider)
{
	pl_head(p, 1, 1, addr);
	pl_byte(p, 32);
	pl_bytes(p, pk_test, 32);
	pl_lp(p, provider);
}

/* DoT/DoH: nh hashes (0: the empty set), host, path (DoH). */
static void pl_tls(struct pl *p, uint8_t proto, const char *addr, int nh, const char *host,
		   const char *path)
{
	uint8_t h[32];

	pl_head(p, proto, 0, addr);
	if (nh == 0)
		pl_byte(p, 0);
	for (int i = 0; i < nh; i++) {
		memset(h, i + 1, sizeof(h));
		pl_byte(p, (uint8_t)(32 | (i + 1 < nh ? 0x80 : 0)));
		pl_bytes(p, h, 32);
	}
	pl_lp(p, host);
	if (path)
		pl_lp(p, path);
}

static char *stamp_of(const struct pl *p, size_t n)
{
	static char s[4000];

	strcpy(s, "sdns://");
	sodium_bin2base64(s + 7, sizeof(s) - 7, p->b, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

static void url_ok(const struct pl *p, struct dns_url *u)
{
	char err[300] = "";

	if (dns_url_parse(stamp_of(p, p->n), u, err, sizeof(err)) != 0)
		fail_msg("stamp refused: %s", err);
}

static void url_err(const struct pl *p, const char *want)
{
	struct dns_url u;
	char err[300] = "";

	assert_int_equal(dns_url_parse(stamp_of(p, p->n), &u, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_dnscrypt(void **state)
{
	struct pl p;
	struct dns_url u;
	struct dns_stamp st;
	char a[64];

	(void)state;
	pl_dnscrypt(&p, "203.0.113.3:8443", "2.dnscrypt-cert.example");
	assert_int_equal(dns_stamp_parse(stamp_of(&p, p.n), &st, NULL, 0), 0);
	assert_int_equal(st.proto, DNS_STAMP_DNSCRYPT);
	assert_int_equal(st.props, 1);
	assert_string_equal(st.addr, "203.0.113.3:8443");
	assert_string_equal(st.name, "2.dnscrypt-cert.example");
	assert_memory_equal(st.pk, pk_test, 32);
	url_ok(&p, &u);
	assert_int_equal(u.proto, DNS_PROTO_DNSCRYPT);
	assert_false(u.is_name);
	assert_int_equal(u.port, 8443);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "203.0.113.3:8443");
	assert_string_equal(u.auth, "2.dnscrypt-cert.example");
	assert_memory_equal(u.provider_pk, pk_test, 32);
	assert_string_equal(dns_proto_name(u.proto), "dnscrypt");

	pl_dnscrypt(&p, "203.0.113.3", "2.dnscrypt-cert.example"); /* port 443 */
	url_ok(&p, &u);
	assert_int_equal(u.port, 443);
	pl_dnscrypt(&p, "[2001:db8::3]:8443", "2.dnscrypt-cert.example");
	url_ok(&p, &u);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "[2001:db8::3]:8443");
	pl_dnscrypt(&p, "2001:db8::3", "2.dnscrypt-cert.example"); /* bare IPv6: port 443 */
	url_ok(&p, &u);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "[2001:db8::3]:443");

	/* a name, a port alone, a link-local address without its interface: refused */
	pl_dnscrypt(&p, "dns.example:443", "2.dnscrypt-cert.example");
	url_err(&p, "is not an IP address");
	pl_dnscrypt(&p, ":443", "2.dnscrypt-cert.example");
	url_err(&p, "is not an IP address");
	pl_dnscrypt(&p, "", "2.dnscrypt-cert.example");
	url_err(&p, "is not an IP address");
	pl_dnscrypt(&p, "[fe80::1]:443", "2.dnscrypt-cert.example");
	url_err(&p, "is not an IP address");
	pl_dnscrypt(&p, "203.0.113.3:0", "2.dnscrypt-cert.example");
	url_err(&p, "is not an IP address");
	pl_dnscrypt(&p, "203.0.113.3", "a..b");
	url_err(&p, "provider name 'a..b' is not a DNS name");
	pl_dnscrypt(&p, "203.0.113.3", "");
	url_err(&p, "provider name");
	/* a key that is not 32 bytes */
	pl_head(&p, 1, 0, "203.0.113.3");
	pl_byte(&p, 31);
	pl_bytes(&p, pk_test, 31);
	pl_lp(&p, "2.dnscrypt-cert.example");
	url_err(&p, "a DNSCrypt stamp with a field cut short");
}

/* A stamp published by a DNSCrypt resolver (AdGuard DNS, in the public list). */
static void test_published(void **state)
{
	static const uint8_t pk[32] = {0xd1, 0x2b, 0x47, 0xf2, 0x52, 0xdc, 0xf2, 0xc2,
				       0xbb, 0xf8, 0x99, 0x10, 0x86, 0xea, 0xf7, 0x9c,
				       0xe4, 0x49, 0x5d, 0x8b, 0x16, 0xc8, 0xa0, 0xc4,
				       0x32, 0x2e, 0x52, 0xca, 0x3f, 0x39, 0x08, 0x73};
	struct dns_url u;
	char a[64];

	(void)state;
	assert_int_equal(
	    dns_url_parse("sdns://AQIAAAAAAAAAFDE3Ni4xMDMuMTMwLjEzMDo1NDQzINErR_JS3PLCu_"
			  "iZEIbq95zkSV2LFsigxDIuUso_OQhzIjIuZG5zY3J5cHQuZGVmYXVsdC5u"
			  "czEuYWRndWFyZC5jb20",
			  &u, NULL, 0),
	    0);
	assert_int_equal(u.proto, DNS_PROTO_DNSCRYPT);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "176.103.130.130:5443");
	assert_string_equal(u.auth, "2.dnscrypt.default.ns1.adguard.com");
	assert_memory_equal(u.provider_pk, pk, 32);
}

static void test_dot_plain(void **state)
{
	struct pl p;
	struct dns_url u;
	struct dns_stamp st;
	char a[64];

	(void)state;
	pl_tls(&p, 3, "1.1.1.1", 1, "cloudflare-dns.com", NULL);
	assert_int_equal(dns_stamp_parse(stamp_of(&p, p.n), &st, NULL, 0), 0);
	assert_int_equal(st.n_hashes, 1);
	url_ok(&p, &u);
	assert_int_equal(u.proto, DNS_PROTO_TLS);
	assert_false(u.is_name);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "1.1.1.1:853");
	assert_string_equal(u.auth, "cloudflare-dns.com");
	/* no address: the name is resolved (tls://HOSTNAME) */
	pl_tls(&p, 3, "", 0, "dns.example", NULL);
	url_ok(&p, &u);
	assert_true(u.is_name);
	assert_string_equal(u.host, "dns.example");
	assert_string_equal(u.auth, "dns.example");
	assert_int_equal(u.port, 853);
	pl_tls(&p, 3, ":8853", 2, "dns.example", NULL);
	assert_int_equal(dns_stamp_parse(stamp_of(&p, p.n), &st, NULL, 0), 0);
	assert_int_equal(st.n_hashes, 2);
	url_ok(&p, &u);
	assert_true(u.is_name);
	assert_int_equal(u.port, 8853);
	pl_tls(&p, 3, "", 0, "dns.example:8853", NULL);
	url_ok(&p, &u);
	assert_string_equal(u.auth, "dns.example");
	assert_int_equal(u.port, 8853);
	pl_tls(&p, 3, "[2001:db8::53]:8853", 0, "dns.example:9999", NULL);
	url_ok(&p, &u);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "[2001:db8::53]:8853");
	/* bootstrap addresses after the host name are read and not used */
	pl_tls(&p, 3, "192.0.2.1", 0, "dns.example", NULL);
	pl_byte(&p, 0x80 | 7);
	pl_bytes(&p, "9.9.9.9", 7);
	pl_lp(&p, "1.1.1.1");
	url_ok(&p, &u);
	pl_tls(&p, 3, "192.0.2.1", 0, "not a name", NULL);
	url_err(&p, "field cut short, too long or not printable"); /* spaces */
	pl_tls(&p, 3, "192.0.2.1", 0, "bad..example", NULL);
	url_err(&p, "is not a host name");
	pl_tls(&p, 3, "192.0.2.1", 0, "dns.example:0", NULL);
	url_err(&p, "bad port");
	pl_tls(&p, 3, "dns.example", 0, "dns.example", NULL);
	url_err(&p, "is not an address");

	pl_head(&p, 0, 0, "192.0.2.53");
	url_ok(&p, &u);
	assert_int_equal(u.proto, DNS_PROTO_UDP);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "192.0.2.53:53");
	pl_head(&p, 0, 0, "[2001:db8::53]:5353");
	url_ok(&p, &u);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "[2001:db8::53]:5353");
	pl_head(&p, 0, 0, "");
	url_err(&p, "plain DNS stamp: '' is not an IP address");
}

/* DoH stamps: the https:// server they describe (dns_url.h). */
static void test_doh(void **state)
{
	struct pl p;
	struct dns_stamp st;
	struct dns_url u;
	char a[64];

	(void)state;
	pl_tls(&p, 2, "1.1.1.1", 1, "cloudflare-dns.com", "/dns-query");
	assert_int_equal(dns_stamp_parse(stamp_of(&p, p.n), &st, NULL, 0), 0);
	assert_string_equal(st.path, "/dns-query");
	assert_string_equal(st.name, "cloudflare-dns.com");
	url_ok(&p, &u);
	assert_int_equal(u.proto, DNS_PROTO_HTTPS);
	assert_false(u.is_name);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "1.1.1.1:443");
	assert_string_equal(u.auth, "cloudflare-dns.com");
	assert_string_equal(u.path, "/dns-query");
	/* the port: the address's, else the host name's, else 443 */
	pl_tls(&p, 2, "[2001:db8::53]:8443", 0, "doh.example:9443", "/q?x=1");
	url_ok(&p, &u);
	assert_string_equal(addr_fmt(&u.addr, a, sizeof(a)), "[2001:db8::53]:8443");
	assert_string_equal(u.path, "/q?x=1");
	pl_tls(&p, 2, "192.0.2.1", 0, "doh.example:9443", "/");
	url_ok(&p, &u);
	assert_int_equal(u.port, 9443);
	/* no address: the host name, resolved at run time */
	pl_tls(&p, 2, "", 0, "doh.example", "/dns-query");
	url_ok(&p, &u);
	assert_true(u.is_name);
	assert_string_equal(u.host, "doh.example");
	assert_int_equal(u.port, 443);
	assert_string_equal(u.auth, "");
	pl_tls(&p, 2, ":8443", 0, "doh.example", "/dns-query");
	url_ok(&p, &u);
	assert_true(u.is_name);
	assert_int_equal(u.port, 8443);
	/* refused: paths, names, addresses, ports */
	pl_tls(&p, 2, "192.0.2.1", 0, "doh.example", "dns-query");
	url_err(&p, "DoH stamp: https://doh.example" "dns-query is not a server sluice can ask");
	pl_tls(&p, 2, "192.0.2.1", 0, "doh.example", "/dns-query{?dns}");
	url_err(&p, "PATH: '/' and URI path characters");
	pl_tls(&p, 2, "192.0.2.1", 0, "bad..example", "/dns-query");
	url_err(&p, "DoH stamp: 'bad..example' is not a host name");
	pl_tls(&p, 2, "192.0.2.1", 0, "doh.example:0", "/dns-query");
	url_err(&p, "bad port");
	pl_tls(&p, 2, "doh.example", 0, "doh.example", "/dns-query");
	url_err(&p, "is not an address");
}

static void test_refused(void **state)
{
	struct pl p;

	(void)state;
	pl_tls(&p, 4, "1.1.1.1", 0, "dns.example", NULL);
	url_err(&p, "DoQ stamps (sdns:// protocol 0x04) are not supported");
	pl_head(&p, 0x81, 0, "192.0.2.1");
	url_err(&p, "DNSCrypt relay stamps (sdns:// protocol 0x81) are not supported");
	pl_head(&p, 0x05, 0, "");
	url_err(&p, "Oblivious DoH stamps");
	pl_head(&p, 0x07, 0, "192.0.2.1");
	url_err(&p, "unknown protocol 0x07");
}

static void test_bad(void **state)
{
	struct pl p;
	struct dns_url u;
	char err[300], big[DNS_STAMP_TEXT_MAX + 100];

	(void)state;
	/* every cut of good stamps is refused, with a reason */
	pl_dnscrypt(&p, "203.0.113.3:8443", "2.dnscrypt-cert.example");
	for (size_t n = 0; n < p.n; n++) {
		err[0] = '\0';
		assert_int_equal(dns_url_parse(stamp_of(&p, n), &u, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
	}
	pl_tls(&p, 3, "192.0.2.1", 2, "dns.example", NULL);
	for (size_t n = 0; n < p.n; n++)
		assert_int_equal(dns_url_parse(stamp_of(&p, n), &u, NULL, 0), -EINVAL);
	/* bytes after the last field */
	pl_dnscrypt(&p, "203.0.113.3:8443", "2.dnscrypt-cert.example");
	pl_byte(&p, 0);
	url_err(&p, "1 bytes after the last field");
	/* not base64url: padding, the standard alphabet, spaces, nothing */
	pl_dnscrypt(&p, "203.0.113.3", "2.dnscrypt-cert.example");
	snprintf(big, sizeof(big), "%s==", stamp_of(&p, p.n));
	assert_int_equal(dns_url_parse(big, &u, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not base64url"));
	assert_int_equal(dns_url_parse("sdns://AQ+AAAAA", &u, NULL, 0), -EINVAL);
	assert_int_equal(dns_url_parse("sdns://AQ AAAAA", &u, NULL, 0), -EINVAL);
	assert_int_equal(dns_url_parse("sdns://", &u, err, sizeof(err)), -EINVAL);
	assert_int_equal(dns_url_parse("sdns://A", &u, NULL, 0), -EINVAL);
	/* far too long */
	memset(big, 'A', sizeof(big));
	memcpy(big, "sdns://", 7);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dns_url_parse(big, &u, NULL, 0), -EINVAL);
	/* a non-printable byte in a string */
	pl_dnscrypt(&p, "203.0.113.3", "2.dnscrypt-cert.example");
	p.b[p.n - 3] = 0x01;
	url_err(&p, "not printable");
	/* hashes: not 32 bytes, more than we keep */
	pl_head(&p, 3, 0, "192.0.2.1");
	pl_byte(&p, 31);
	pl_bytes(&p, pk_test, 31);
	pl_lp(&p, "dns.example");
	url_err(&p, "a DoT stamp with a field cut short");
	pl_tls(&p, 3, "192.0.2.1", DNS_STAMP_HASHES + 1, "dns.example", NULL);
	url_err(&p, "a DoT stamp");
	pl_tls(&p, 3, "192.0.2.1", DNS_STAMP_HASHES, "dns.example", NULL);
	url_ok(&p, &u);
	/* no "sdns://" for dns_stamp_parse */
	assert_int_equal(dns_stamp_parse("sdn://x", (struct dns_stamp[1]){0}, err, sizeof(err)),
			 -EINVAL);
}

/* The config: DNSCrypt and DoH groups load; a DoQ stamp is refused at FILE:LINE. */
static struct cfg *load(const char *text, char *path, char *err, size_t errlen)
{
	int fd;

	strcpy(path, "/tmp/test_dns_stamp.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return cfg_load(path, err, errlen);
}

static void test_config(void **state)
{
	struct pl p;
	char text[2000], path[64], err[600], want[700];
	const struct dns_conf *d;
	struct cfg *c;
	char a[64];

	(void)state;
	pl_dnscrypt(&p, "203.0.113.3:8443", "2.dnscrypt-cert.example");
	snprintf(text, sizeof(text),
		 "listen 0.0.0.0:15000\nintercept udp 53 dns\nintercept tcp 53 dns\n"
		 "upstream crypt %s tls://192.0.2.9#dot.example\nupstream plain 192.0.2.53\n"
		 "dns-rule all forward crypt\n",
		 stamp_of(&p, p.n));
	c = load(text, path, err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	assert_int_equal(d->n_groups, 2);
	assert_int_equal(d->groups[0].n, 2);
	assert_int_equal(d->groups[0].servers[0].proto, DNS_PROTO_DNSCRYPT);
	assert_non_null(d->groups[0].servers[0].crypt);
	assert_null(d->groups[0].servers[0].tls);
	assert_string_equal(d->groups[0].servers[0].crypt->provider, "2.dnscrypt-cert.example");
	assert_memory_equal(d->groups[0].servers[0].crypt->provider_pk, pk_test, 32);
	assert_null(d->groups[0].servers[1].crypt);
	/* names resolve through the plain group, never the DNSCrypt one */
	assert_int_equal(c->n_bootstrap, 1);
	assert_string_equal(addr_fmt(&c->bootstrap[0], a, sizeof(a)), "192.0.2.53:53");
	cfg_free(c);

	/* A DoH stamp: its :authority and path. */
	pl_tls(&p, 2, "1.1.1.1", 1, "cloudflare-dns.com", "/dns-query");
	snprintf(text, sizeof(text), "listen 0.0.0.0:15000\nintercept udp 53 dns\nupstream g %s\n",
		 stamp_of(&p, p.n));
	c = load(text, path, err, sizeof(err));
	unlink(path);
	if (!c)
		fail_msg("%s", err);
	d = dns_conf_get(c);
	assert_int_equal(d->groups[0].servers[0].proto, DNS_PROTO_HTTPS);
	assert_non_null(d->groups[0].servers[0].tls);
	assert_string_equal(d->groups[0].servers[0].tls->auth, "cloudflare-dns.com");
	assert_string_equal(d->groups[0].servers[0].tls->authority, "cloudflare-dns.com");
	assert_string_equal(d->groups[0].servers[0].tls->path, "/dns-query");
	cfg_free(c);

	pl_tls(&p, 4, "1.1.1.1", 0, "dns.example", NULL);
	/* a good DNSCrypt server before it on the line: not leaked */
	snprintf(text, sizeof(text), "listen 0.0.0.0:15000\nintercept udp 53 dns\nupstream g %s ",
		 "sdns://AQIAAAAAAAAAFDE3Ni4xMDMuMTMwLjEzMDo1NDQzINErR_JS3PLCu_iZEIbq95zkSV2LFsigxD"
		 "IuUso_OQhzIjIuZG5zY3J5cHQuZGVmYXVsdC5uczEuYWRndWFyZC5jb20");
	strcat(text, stamp_of(&p, p.n));
	strcat(text, "\n");
	c = load(text, path, err, sizeof(err));
	unlink(path);
	assert_null(c);
	snprintf(want, sizeof(want),
		 "%s:3: upstream: DoQ stamps (sdns:// protocol 0x04) are not supported", path);
	assert_string_equal(err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dnscrypt),  cmocka_unit_test(test_published),
	    cmocka_unit_test(test_dot_plain), cmocka_unit_test(test_doh),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_bad),	      cmocka_unit_test(test_config),
	};

	if (sodium_init() < 0)
		return 1;
	for (int i = 0; i < 32; i++)
		pk_test[i] = (uint8_t)(0xa0 + i);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
