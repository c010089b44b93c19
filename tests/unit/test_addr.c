#include "config.h"
/* test_addr.c - addr.c: the ADDR:PORT and CIDR forms configs use, their
 * formatting, equality, hash keys and prefix matching. Does not test
 * sockets: only the pure helpers. */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include "addr.h"

static struct addr must_parse(const char *s, bool need_port, uint16_t def)
{
	struct addr a;

	memset(&a, 0xa5, sizeof(a));
	if (addr_parse(s, need_port, def, &a) != 0)
		fail_msg("addr_parse(\"%s\") failed", s);
	return a;
}

static void test_parse_v4(void **state)
{
	struct addr a = must_parse("192.0.2.1:53", true, 0);
	size_t l;
	const uint8_t *ip = addr_ip(&a, &l);
	static const uint8_t want[4] = {192, 0, 2, 1};

	(void)state;
	assert_int_equal(addr_family(&a), AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&a), 53);
	assert_int_equal(a.u.in.sin_port, htons(53));
	assert_int_equal(l, 4);
	assert_memory_equal(ip, want, 4);

	a = must_parse("0.0.0.0:65535", true, 0);
	assert_int_equal(addr_port(&a), 65535);
	assert_true(addr_is_any(&a));
	a = must_parse("203.0.113.9:0", true, 0); /* port 0 is the caller's business */
	assert_int_equal(addr_port(&a), 0);
	assert_false(addr_is_any(&a));
}

static void test_parse_v6(void **state)
{
	struct addr a = must_parse("[2001:db8::1]:853", true, 0);
	struct in6_addr want;
	size_t l;
	const uint8_t *ip = addr_ip(&a, &l);

	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", &want);
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_int_equal(addr_port(&a), 853);
	assert_int_equal(l, 16);
	assert_memory_equal(ip, &want, 16);

	a = must_parse("[::]:15000", true, 0);
	assert_true(addr_is_any(&a));
	assert_int_equal(addr_port(&a), 15000);
}

static void test_parse_bare(void **state)
{
	struct addr a;

	(void)state;
	a = must_parse("192.0.2.7", false, 123);
	assert_int_equal(addr_family(&a), AF_INET);
	assert_int_equal(addr_port(&a), 123);
	a = must_parse("2001:db8::7", false, 53);
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_int_equal(addr_port(&a), 53);
	a = must_parse("[2001:db8::7]", false, 443);
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_int_equal(addr_port(&a), 443);
	/* An explicit port wins over the default. */
	a = must_parse("192.0.2.7:5353", false, 53);
	assert_int_equal(addr_port(&a), 5353);

	/* need_port: a bare address is an error. */
	assert_int_equal(addr_parse("192.0.2.7", true, 53, &a), -EINVAL);
	assert_int_equal(addr_parse("2001:db8::7", true, 53, &a), -EINVAL);
	assert_int_equal(addr_parse("[2001:db8::7]", true, 53, &a), -EINVAL);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "1.2.3.4:",
	    ":53",
	    "[::1",
	    "[::1]:",
	    "[::1]x",
	    "[::1]53",
	    "[]:53",
	    "1.2.3.4:65536",
	    "1.2.3.4:99999999999999999999999",
	    "1.2.3.4:0x35",
	    "1.2.3.4:-1",
	    "1.2.3.4:+53",
	    "1.2.3.4:53x",
	    "1.2.3:53",
	    "1.2.3.4.5:53",
	    "256.1.1.1:53",
	    "example.com:53",
	    "[example.com]:53",
	    "[2001:db8::1%lo]:53", /* a scope only on link-local addresses */
	    "[fe80::1%]:53",
	    "[2001:db8::1]:65536",
	    "2001:db8::1:53:", /* no brackets: all colons belong to the address */
	    "[[::1]]:53",
	    "[0123456789012345678901234567890123456789012345678901234567890123]:1",
	};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
		if (addr_parse(bad[i], true, 0, &a) != -EINVAL)
			fail_msg("addr_parse(\"%s\", need_port) accepted it", bad[i]);
		if (addr_parse(bad[i], false, 53, &a) != -EINVAL)
			fail_msg("addr_parse(\"%s\", bare ok) accepted it", bad[i]);
	}
	/* A link-local scope names an interface that exists, or an index. */
	assert_int_equal(addr_parse("[fe80::1%no-such-if0]:53", true, 0, &a), -ENODEV);
	assert_int_equal(addr_parse("[fe80::1%lo]:53", true, 0, &a), 0);
	assert_int_not_equal(a.u.in6.sin6_scope_id, 0);
	assert_int_equal(addr_parse("fe80::1%7", false, 53, &a), 0);
	assert_int_equal(a.u.in6.sin6_scope_id, 7);
	assert_int_equal(addr_port(&a), 53);
	assert_int_equal(addr_parse(NULL, false, 0, &a), -EINVAL);
}

/* Ports are decimal: hex, octal and blanks are not ports, whatever strtoull
 * would make of them. */
static void test_parse_port_decimal_only(void **state)
{
	static const char *const bad[] = {"1.2.3.4:0X35", "1.2.3.4: 53", "[::1]:0X35",
					  "1.2.3.4:\t53"};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
		if (addr_parse(bad[i], true, 0, &a) == 0)
			fail_msg("addr_parse(\"%s\") accepted it as port %u", bad[i],
				 addr_port(&a));
	/* A leading zero must not switch to octal: 053 is 53 or an error, never 43. */
	if (addr_parse("1.2.3.4:053", true, 0, &a) == 0 && addr_port(&a) != 53)
		fail_msg("addr_parse(\"1.2.3.4:053\") gave port %u", addr_port(&a));
}

static void test_unmap(void **state)
{
	struct addr a = must_parse("[::ffff:192.0.2.33]:5353", true, 0);
	struct addr v4 = must_parse("192.0.2.33:5353", true, 0);
	struct addr v6 = must_parse("[2001:db8::33]:5353", true, 0);
	struct addr v6copy = v6;
	char buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_false(addr_equal(&a, &v4));
	addr_unmap(&a);
	assert_int_equal(addr_family(&a), AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&a), 5353);
	assert_true(addr_equal(&a, &v4));
	assert_string_equal(addr_fmt(&a, buf, sizeof(buf)), "192.0.2.33:5353");
	/* Plain IPv6 and IPv4 stay as they are. */
	addr_unmap(&v6);
	assert_memory_equal(&v6, &v6copy, sizeof(v6));
	addr_unmap(&a);
	assert_true(addr_equal(&a, &v4));
}

static void test_fmt(void **state)
{
	char buf[ADDR_STRLEN];
	struct addr a;

	(void)state;
	a = must_parse("192.0.2.1:53", true, 0);
	assert_string_equal(addr_fmt(&a, buf, sizeof(buf)), "192.0.2.1:53");
	assert_string_equal(addr_fmt_ip(&a, buf, sizeof(buf)), "192.0.2.1");
	a = must_parse("[2001:DB8:0:0::1]:853", true, 0);
	assert_string_equal(addr_fmt(&a, buf, sizeof(buf)), "[2001:db8::1]:853");
	assert_string_equal(addr_fmt_ip(&a, buf, sizeof(buf)), "2001:db8::1");
	a = must_parse("[::ffff:255.255.255.255]:65535", true, 0);
	assert_string_equal(addr_fmt(&a, buf, sizeof(buf)), "[::ffff:255.255.255.255]:65535");
	/* Round trip. */
	{
		struct addr b;

		addr_fmt(&a, buf, sizeof(buf));
		assert_int_equal(addr_parse(buf, true, 0, &b), 0);
		assert_true(addr_equal(&a, &b));
	}
	/* A short buffer is truncated, not overrun. */
	{
		char small[8];

		memset(small, 'x', sizeof(small));
		a = must_parse("192.0.2.123:5353", true, 0);
		addr_fmt(&a, small, 6);
		assert_int_equal(strlen(small), 5);
		assert_int_equal(small[7], 'x');
	}
}

static void test_equal(void **state)
{
	struct addr a = must_parse("192.0.2.1:53", true, 0);
	struct addr b = must_parse("192.0.2.1:53", true, 0);
	struct addr c = must_parse("192.0.2.1:54", true, 0);
	struct addr d = must_parse("192.0.2.2:53", true, 0);
	struct addr e = must_parse("[::ffff:192.0.2.1]:53", true, 0);
	struct addr f = must_parse("[2001:db8::1]:53", true, 0);
	struct addr g = must_parse("[2001:db8::1]:54", true, 0);

	(void)state;
	assert_true(addr_equal(&a, &b));
	assert_false(addr_equal(&a, &c));
	assert_true(addr_ip_equal(&a, &c));
	assert_false(addr_equal(&a, &d));
	assert_false(addr_ip_equal(&a, &d));
	assert_false(addr_equal(&a, &e)); /* mapped is another family until unmapped */
	assert_false(addr_ip_equal(&a, &e));
	assert_false(addr_equal(&f, &g));
	assert_true(addr_ip_equal(&f, &g));
	assert_false(addr_ip_equal(&a, &f));
}

static void test_key(void **state)
{
	uint8_t k[32];
	struct addr a = must_parse("192.0.2.1:53", true, 0);
	struct addr b = must_parse("[2001:db8::1]:853", true, 0);
	struct addr c = must_parse("192.0.2.1:54", true, 0);
	uint8_t k2[32];
	static const uint8_t want4[] = {AF_INET, 192, 0, 2, 1, 0, 53};

	(void)state;
	memset(k, 0xee, sizeof(k));
	assert_int_equal(addr_key(&a, true, k), 7);
	assert_memory_equal(k, want4, 7);
	assert_int_equal(k[7], 0xee);
	assert_int_equal(addr_key(&a, false, k), 5);
	assert_int_equal(addr_key(&b, true, k), 19);
	assert_int_equal(k[0], AF_INET6);
	assert_int_equal(k[17], 853 >> 8);
	assert_int_equal(k[18], 853 & 0xff);
	assert_int_equal(addr_key(&b, false, k), 17);
	/* Port in the key only when asked. */
	addr_key(&a, true, k);
	addr_key(&c, true, k2);
	assert_memory_not_equal(k, k2, 7);
	addr_key(&a, false, k);
	addr_key(&c, false, k2);
	assert_memory_equal(k, k2, 5);
}

static void test_from_sa(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(99)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(98)};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct addr a;

	(void)state;
	in.sin_addr.s_addr = htonl(0xc0000201);
	assert_int_equal(addr_from_sa(&a, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(addr_family(&a), AF_INET);
	assert_int_equal(addr_port(&a), 99);
	assert_int_equal(addr_from_sa(&a, (struct sockaddr *)&in6, sizeof(in6)), 0);
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_int_equal(addr_port(&a), 98);
	assert_int_equal(addr_from_sa(&a, (struct sockaddr *)&in, sizeof(in) - 1), -EAFNOSUPPORT);
	assert_int_equal(addr_from_sa(&a, (struct sockaddr *)&in6, sizeof(in6) - 1), -EAFNOSUPPORT);
	assert_int_equal(addr_from_sa(&a, (struct sockaddr *)&un, sizeof(un)), -EAFNOSUPPORT);
}

static struct addr_cidr must_cidr(const char *s)
{
	struct addr_cidr c;

	if (addr_cidr_parse(s, &c) != 0)
		fail_msg("addr_cidr_parse(\"%s\") failed", s);
	return c;
}

static void test_cidr_parse(void **state)
{
	char buf[ADDR_STRLEN];
	struct addr_cidr c;

	(void)state;
	c = must_cidr("192.0.2.77/24");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 24);
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "192.0.2.0/24");
	c = must_cidr("198.51.100.255/25");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "198.51.100.128/25");
	c = must_cidr("203.0.113.255/31");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "203.0.113.254/31");
	c = must_cidr("10.1.2.3/0");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "0.0.0.0/0");
	c = must_cidr("10.1.2.3/32");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "10.1.2.3/32");
	c = must_cidr("10.1.2.3");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "10.1.2.3/32");
	c = must_cidr("2001:db8:ffff::1/33");
	assert_int_equal(c.family, AF_INET6);
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "2001:db8:8000::/33");
	c = must_cidr("2001:db8::1");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "2001:db8::1/128");
	c = must_cidr("2001:db8::1/128");
	assert_int_equal(c.prefix, 128);
	c = must_cidr("ffff:ffff::/0");
	assert_string_equal(addr_cidr_fmt(&c, buf, sizeof(buf)), "::/0");
	/* Bytes past the address are zero. */
	c = must_cidr("255.255.255.255/32");
	for (size_t i = 4; i < sizeof(c.net); i++)
		assert_int_equal(c.net[i], 0);
}

static void test_cidr_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "/24",
	    "192.0.2.0/",
	    "192.0.2.0/33",
	    "192.0.2.0/-1",
	    "192.0.2.0/+8",
	    "192.0.2.0/0x10",
	    "192.0.2.0/24x",
	    "192.0.2.0/24/1",
	    "2001:db8::/129",
	    "[2001:db8::]/32",
	    "example.com/24",
	    "192.0.2/24",
	    "192.0.2.0:53/24",
	    "0123456789012345678901234567890123456789012345678901234567890123456789/1",
	};
	struct addr_cidr c;

	(void)state;
	for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
		if (addr_cidr_parse(bad[i], &c) != -EINVAL)
			fail_msg("addr_cidr_parse(\"%s\") accepted it", bad[i]);
	assert_int_equal(addr_cidr_parse(NULL, &c), -EINVAL);
}

/* Prefix lengths are decimal too (see test_parse_port_decimal_only). */
static void test_cidr_prefix_decimal_only(void **state)
{
	struct addr_cidr c;

	(void)state;
	if (addr_cidr_parse("192.0.2.0/0X10", &c) == 0)
		fail_msg("\"192.0.2.0/0X10\" accepted as /%u", c.prefix);
	if (addr_cidr_parse("192.0.2.0/ 24", &c) == 0)
		fail_msg("\"192.0.2.0/ 24\" accepted as /%u", c.prefix);
	if (addr_cidr_parse("10.0.0.0/010", &c) == 0 && c.prefix != 10)
		fail_msg("\"10.0.0.0/010\" gave /%u", c.prefix);
}

static bool in(const char *cidr, const char *ip)
{
	struct addr_cidr c = must_cidr(cidr);
	struct addr a = must_parse(ip, false, 1);

	return addr_cidr_match(&c, &a);
}

static void test_cidr_match(void **state)
{
	(void)state;
	assert_true(in("192.0.2.0/24", "192.0.2.0"));
	assert_true(in("192.0.2.0/24", "192.0.2.255"));
	assert_false(in("192.0.2.0/24", "192.0.3.0"));
	assert_false(in("192.0.2.0/24", "192.0.1.255"));
	assert_true(in("192.0.2.128/25", "192.0.2.200"));
	assert_false(in("192.0.2.128/25", "192.0.2.100"));
	assert_true(in("192.0.2.77/24", "192.0.2.1")); /* host bits of the prefix ignored */
	assert_true(in("10.0.0.0/7", "11.255.255.255"));
	assert_false(in("10.0.0.0/7", "12.0.0.0"));
	assert_true(in("0.0.0.0/0", "255.255.255.255"));
	assert_true(in("0.0.0.0/0", "0.0.0.0"));
	assert_false(in("0.0.0.0/0", "::1"));
	assert_true(in("192.0.2.9/32", "192.0.2.9"));
	assert_false(in("192.0.2.9/32", "192.0.2.8"));
	assert_true(in("192.0.2.9", "192.0.2.9"));
	/* v4-mapped addresses match IPv4 prefixes. */
	assert_true(in("192.0.2.0/24", "::ffff:192.0.2.44"));
	assert_false(in("192.0.2.0/24", "::ffff:192.0.3.44"));
	assert_true(in("0.0.0.0/0", "::ffff:1.2.3.4"));
	/* IPv6. */
	assert_true(in("2001:db8::/32", "2001:db8:1::1"));
	assert_false(in("2001:db8::/32", "2001:db9::"));
	assert_true(in("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(in("::/0", "2001:db8::1"));
	assert_false(in("::/0", "192.0.2.1"));
	assert_true(in("2001:db8::1/128", "2001:db8::1"));
	assert_false(in("2001:db8::1/128", "2001:db8::2"));
	assert_true(in("2001:db8::ff/127", "2001:db8::fe"));
	assert_false(in("2001:db8::ff/127", "2001:db8::fd"));
	/* Other families never match. */
	assert_false(in("192.0.2.0/24", "2001:db8::1"));
	assert_false(in("2001:db8::/32", "192.0.2.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_v4),
	    cmocka_unit_test(test_parse_v6),
	    cmocka_unit_test(test_parse_bare),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_port_decimal_only),
	    cmocka_unit_test(test_unmap),
	    cmocka_unit_test(test_fmt),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_from_sa),
	    cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_bad),
	    cmocka_unit_test(test_cidr_prefix_decimal_only),
	    cmocka_unit_test(test_cidr_match),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
