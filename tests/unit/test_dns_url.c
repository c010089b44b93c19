#include "config.h"
/* test_dns_url.c - upstream server URLs (dns_url.c): every scheme and its
 * default port, addresses, bracketed IPv6 (with a scope), host names,
 * #AUTH-NAME, https:// paths (the default /dns-query, the characters a
 * path may hold, its length), and the reasons for refusals; then what the
 * config makes of an https:// URL: the :authority and :path its requests
 * carry, and the name its certificate must show. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "dns_conf.h"
#include "dns_rule.h"
#include "dns_url.h"

static struct dns_url parse_ok(const char *s)
{
	struct dns_url u;
	char err[1024] = "";

	if (dns_url_parse(s, &u, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", s, err);
	return u;
}

/* s is refused with a reason containing why. */
static void parse_bad(const char *s, const char *why)
{
	struct dns_url u;
	char err[1024] = "";

	if (dns_url_parse(s, &u, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' accepted", s);
	if (!strstr(err, why))
		fail_msg("'%s': reason '%s' lacks '%s'", s, err, why);
}

static void test_schemes(void **state)
{
	struct dns_url u;

	(void)state;
	u = parse_ok("192.0.2.1");
	assert_int_equal(u.proto, DNS_PROTO_UDP);
	assert_int_equal(u.port, 53);
	assert_false(u.is_name);
	assert_string_equal(u.host, "192.0.2.1");
	assert_string_equal(u.path, "");
	u = parse_ok("tcp://[2001:db8::1]:5353");
	assert_int_equal(u.proto, DNS_PROTO_TCP);
	assert_int_equal(u.port, 5353);
	assert_int_equal(addr_family(&u.addr), AF_INET6);
	u = parse_ok("tls://192.0.2.1#dns.example");
	assert_int_equal(u.proto, DNS_PROTO_TLS);
	assert_int_equal(u.port, 853);
	assert_string_equal(u.auth, "dns.example");
	assert_string_equal(u.path, "");
	assert_string_equal(dns_proto_name(DNS_PROTO_UDP), "udp");
	assert_string_equal(dns_proto_name(DNS_PROTO_TCP), "tcp");
	assert_string_equal(dns_proto_name(DNS_PROTO_TLS), "tls");
	assert_string_equal(dns_proto_name(DNS_PROTO_HTTPS), "https");
	parse_bad("quic://192.0.2.1", "unknown scheme (udp://, tcp://, tls://, https://, sdns://)");
	parse_bad("http://192.0.2.1/dns-query", "unknown scheme");
	parse_bad("HTTPS://192.0.2.1/dns-query", "unknown scheme");
	/* err may be NULL */
	assert_int_equal(dns_url_parse("udp://", &u, NULL, 0), -EINVAL);
}

static void test_https(void **state)
{
	struct dns_url u;

	(void)state;
	u = parse_ok("https://192.0.2.1/dns-query");
	assert_int_equal(u.proto, DNS_PROTO_HTTPS);
	assert_int_equal(u.port, 443);
	assert_int_equal(addr_port(&u.addr), 443);
	assert_false(u.is_name);
	assert_string_equal(u.host, "192.0.2.1");
	assert_string_equal(u.path, "/dns-query");
	assert_string_equal(u.auth, "");

	u = parse_ok("https://[2001:db8::53]:8443/resolve?ct#doh.example");
	assert_int_equal(addr_family(&u.addr), AF_INET6);
	assert_int_equal(u.port, 8443);
	assert_int_equal(addr_port(&u.addr), 8443);
	assert_string_equal(u.host, "2001:db8::53");
	assert_string_equal(u.path, "/resolve?ct");
	assert_string_equal(u.auth, "doh.example");

	u = parse_ok("https://dns.example/");
	assert_true(u.is_name);
	assert_string_equal(u.host, "dns.example");
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/");

	/* No path: RFC 8484's /dns-query. */
	u = parse_ok("https://dns.example:444");
	assert_int_equal(u.port, 444);
	assert_string_equal(u.path, "/dns-query");
	u = parse_ok("https://dns.example#other.example");
	assert_string_equal(u.path, "/dns-query");
	assert_string_equal(u.auth, "other.example");

	/* RFC 3986 path characters, percent escapes included. */
	u = parse_ok("https://dns.example/a-b_c.d~e/f%20g;h=i&j+k,l:m@n!$'()*");
	assert_string_equal(u.path, "/a-b_c.d~e/f%20g;h=i&j+k,l:m@n!$'()*");

	/* A scoped link-local server keeps its scope. */
	u = parse_ok("https://[fe80::1%lo]/dns-query");
	assert_int_not_equal(u.addr.u.in6.sin6_scope_id, 0);
	assert_string_equal(u.path, "/dns-query");
}

static void test_https_bad(void **state)
{
	char s[400];

	(void)state;
	/* A URI template is for GET; POST needs none. */
	parse_bad("https://dns.example/dns-query{?dns}", "PATH is '/' and URI path characters");
	parse_bad("https://dns.example/dns query", "PATH is");
	parse_bad("https://dns.example/dns\"query", "PATH is");
	parse_bad("https://dns.example/dns\\query", "PATH is");
	parse_bad("https://dns.example/\x01", "PATH is");
	parse_bad("https://dns.example/caf\xc3\xa9", "PATH is");
	/* At most DNS_URL_PATH_MAX - 1 bytes. */
	snprintf(s, sizeof(s), "https://dns.example/%0*d", DNS_URL_PATH_MAX - 2, 0);
	assert_int_equal(strlen(s) - strlen("https://dns.example"), DNS_URL_PATH_MAX - 1);
	parse_ok(s);
	snprintf(s, sizeof(s), "https://dns.example/%0*d", DNS_URL_PATH_MAX - 1, 0);
	parse_bad(s, "at most 255");
	/* The host part is checked as for any other scheme. */
	parse_bad("https:///dns-query", "is not [SCHEME://]HOST[:PORT]");
	parse_bad("https://dns.example:0/dns-query", "is not [SCHEME://]HOST[:PORT]");
	parse_bad("https://dns.example:65536/dns-query", "is not");
	parse_bad("https://dns..example/dns-query", "is not");
	parse_bad("https://user@dns.example/dns-query", "is not");
	parse_bad("https://[fe80::1]/dns-query", "a link-local server needs its interface");
	parse_bad("https://192.0.2.1/dns-query#",
		  "#AUTH-NAME is a host name, for tls:// and https://");
	parse_bad("https://192.0.2.1/dns-query#not a name", "#AUTH-NAME is a host name");
	/* A path only for https://, #AUTH-NAME only for tls:// and https://. */
	parse_bad("tls://192.0.2.1/dns-query", "is not [SCHEME://]HOST[:PORT]");
	parse_bad("udp://192.0.2.1/x", "is not");
	parse_bad("tcp://192.0.2.1#dns.example", "for tls:// and https:// only");
}

/* ---- what the config makes of https:// servers ---- */

static struct cfg *load(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/sluice-test-url-XXXXXX";
	int fd = mkstemp(path);
	struct cfg *c;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = cfg_load(path, err, errlen);
	unlink(path);
	return c;
}

static void test_cfg_https(void **state)
{
	char err[512] = "";
	struct cfg *c;
	const struct dns_group *g;

	(void)state;
	c = load(
	    "listen 0.0.0.0:15000\nintercept udp 53 dns\n"
	    "upstream boot udp://192.0.2.53\n"
	    "upstream doh https://192.0.2.1/dns-query https://[2001:db8::1]:8443/q#doh.example "
	    "https://dns.example https://[2001:db8::2]/x https://[fe80::1%lo]:444/\n",
	    err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	g = dns_group_find(dns_conf_get(c), "doh");
	assert_non_null(g);
	assert_int_equal(g->n, 5);
	for (size_t i = 0; i < g->n; i++) {
		assert_int_equal(g->servers[i].proto, DNS_PROTO_HTTPS);
		assert_non_null(g->servers[i].tls);
		assert_ptr_equal(g->servers[i].tls, g->tls[i]);
		assert_non_null(g->tls[i]->ctx);
	}
	/* An address: verified itself, named as the authority. */
	assert_string_equal(g->tls[0]->auth, "");
	assert_string_equal(g->tls[0]->authority, "192.0.2.1");
	assert_string_equal(g->tls[0]->path, "/dns-query");
	/* #AUTH-NAME: the certificate's name, SNI and :authority (with a port not 443). */
	assert_string_equal(g->tls[1]->auth, "doh.example");
	assert_string_equal(g->tls[1]->authority, "doh.example:8443");
	assert_string_equal(g->tls[1]->path, "/q");
	assert_int_equal(addr_port(&g->servers[1].addr), 8443);
	/* A name: resolved later, its port kept; the name is verified. */
	assert_non_null(g->hosts[2]);
	assert_string_equal(g->tls[2]->auth, "dns.example");
	assert_string_equal(g->tls[2]->authority, "dns.example");
	assert_string_equal(g->tls[2]->path, "/dns-query");
	assert_int_equal(addr_port(&g->servers[2].addr), 443);
	/* IPv6 addresses in brackets, a scope left out. */
	assert_string_equal(g->tls[3]->authority, "[2001:db8::2]");
	assert_string_equal(g->tls[4]->authority, "[fe80::1]:444");
	assert_string_equal(g->tls[4]->path, "/");
	cfg_free(c);

	/* The bootstrap group resolves names: plain servers only. */
	c = load("listen 0.0.0.0:15000\nintercept udp 53 dns\n"
		 "upstream doh https://192.0.2.1/dns-query\nbootstrap doh\n",
		 err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "bootstrap group 'doh' must list server addresses over udp:// "
				    "or tcp://, not names, tls:// or https://"));
	c = load("listen 0.0.0.0:15000\nintercept udp 53 dns\n"
		 "upstream doh https://192.0.2.1/dns-query{?dns}\n",
		 err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err,
			       ":3: upstream: 'https://192.0.2.1/dns-query{?dns}': PATH is '/' "
			       "and URI path characters (at most 255)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schemes),
	    cmocka_unit_test(test_https),
	    cmocka_unit_test(test_https_bad),
	    cmocka_unit_test(test_cfg_https),
	};

	return cmocka_run_group_tests_name("dns_url", tests, NULL, NULL);
}
