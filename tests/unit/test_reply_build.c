#include "config.h"
/* test_reply_build.c - reply_build_udp(), the packet builder of the raw
 * reply path: header fields and lengths for IPv4 and IPv6, and the UDP
 * checksum checked by an independent routine here. Sending is the lab's
 * business, not this test's. */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "reply.h"

#define V4_HDR 20
#define V6_HDR 40
#define UDP_HDR 8

static struct addr mkaddr(const char *s)
{
	struct addr a;

	if (addr_parse(s, true, 0, &a) != 0)
		fail_msg("bad test address %s", s);
	return a;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1071 one's complement sum over the pseudo-header and the UDP segment
 * as it is in the packet (checksum field included), folded, not inverted.
 * A correct checksum makes it 0xffff. Written apart from reply_raw.c on
 * purpose: byte by byte, 64-bit accumulator. */
static uint16_t udp_verify_sum(const uint8_t *pkt, size_t len)
{
	uint64_t sum = 0;
	const uint8_t *src, *dst, *udp;
	size_t alen, ulen;

	if ((pkt[0] >> 4) == 4) {
		src = pkt + 12;
		dst = pkt + 16;
		alen = 4;
		udp = pkt + (pkt[0] & 0x0f) * 4;
	} else {
		src = pkt + 8;
		dst = pkt + 24;
		alen = 16;
		udp = pkt + V6_HDR;
	}
	ulen = (size_t)(pkt + len - udp);
	for (size_t i = 0; i < alen; i += 2)
		sum += get16(src + i) + get16(dst + i);
	sum += 17;	   /* zero byte, protocol */
	sum += ulen >> 16; /* the v6 pseudo-header length is 32 bits */
	sum += ulen & 0xffff;
	for (size_t i = 0; i < ulen; i++)
		sum += (i & 1) ? udp[i] : (uint64_t)udp[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_v4(void **state)
{
	struct addr from = mkaddr("192.0.2.53:53"), to = mkaddr("198.51.100.7:40000");
	static const char payload[] = "hello"; /* odd length on purpose */
	static const uint8_t want_src[4] = {192, 0, 2, 53}, want_dst[4] = {198, 51, 100, 7};
	uint8_t out[256];
	ssize_t n;

	(void)state;
	memset(out, 0xcc, sizeof(out));
	n = reply_build_udp(&from, &to, payload, 5, out, sizeof(out));
	assert_int_equal(n, V4_HDR + UDP_HDR + 5);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(get16(out + 2), V4_HDR + UDP_HDR + 5); /* total length */
	assert_int_equal(out[8], 64);				/* TTL */
	assert_int_equal(out[9], 17);				/* UDP */
	assert_memory_equal(out + 12, want_src, 4);
	assert_memory_equal(out + 16, want_dst, 4);
	assert_int_equal(get16(out + 20), 53);
	assert_int_equal(get16(out + 22), 40000);
	assert_int_equal(get16(out + 24), UDP_HDR + 5);
	assert_int_not_equal(get16(out + 26), 0);
	assert_memory_equal(out + 28, payload, 5);
	assert_int_equal(out[n], 0xcc); /* nothing written past the end */
	assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	/* The verifier itself notices a flipped bit or a wrong address. */
	out[30] ^= 0x10;
	assert_int_not_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	out[30] ^= 0x10;
	out[15] ^= 1;
	assert_int_not_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	out[15] ^= 1;
}

static void test_v6(void **state)
{
	struct addr from = mkaddr("[2001:db8::53]:853"), to = mkaddr("[2001:db8:1::7]:5353");
	uint8_t payload[100], out[256];
	struct in6_addr s, d;
	ssize_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 37 + 11);
	inet_pton(AF_INET6, "2001:db8::53", &s);
	inet_pton(AF_INET6, "2001:db8:1::7", &d);
	memset(out, 0xcc, sizeof(out));
	n = reply_build_udp(&from, &to, payload, sizeof(payload), out, sizeof(out));
	assert_int_equal(n, V6_HDR + UDP_HDR + sizeof(payload));
	assert_int_equal(out[0] >> 4, 6);
	assert_int_equal(get16(out + 4), UDP_HDR + sizeof(payload)); /* payload length */
	assert_int_equal(out[6], 17);				     /* next header */
	assert_int_equal(out[7], 64);				     /* hop limit */
	assert_memory_equal(out + 8, &s, 16);
	assert_memory_equal(out + 24, &d, 16);
	assert_int_equal(get16(out + 40), 853);
	assert_int_equal(get16(out + 42), 5353);
	assert_int_equal(get16(out + 44), UDP_HDR + sizeof(payload));
	assert_int_not_equal(get16(out + 46), 0); /* mandatory in IPv6 */
	assert_memory_equal(out + 48, payload, sizeof(payload));
	assert_int_equal(out[n], 0xcc);
	assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
}

/* Many payloads and lengths, both families: the checksum always verifies. */
static void test_checksum_many(void **state)
{
	struct addr f4 = mkaddr("203.0.113.1:123"), t4 = mkaddr("192.0.2.200:50123");
	struct addr f6 = mkaddr("[2001:db8:ffff::1]:443"), t6 = mkaddr("[2001:db8::ffff]:61000");
	uint8_t payload[1500], out[1600];
	unsigned seed = 12345;

	(void)state;
	for (size_t len = 0; len < 300; len++) {
		ssize_t n;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			payload[i] = (uint8_t)(seed >> 16);
		}
		n = reply_build_udp(&f4, &t4, payload, len, out, sizeof(out));
		assert_int_equal(n, V4_HDR + UDP_HDR + len);
		assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
		n = reply_build_udp(&f6, &t6, payload, len, out, sizeof(out));
		assert_int_equal(n, V6_HDR + UDP_HDR + len);
		assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	}
	/* All-ones payload: sums that carry many times. */
	memset(payload, 0xff, sizeof(payload));
	{
		ssize_t n = reply_build_udp(&f6, &t6, payload, sizeof(payload), out, sizeof(out));

		assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	}
}

static void test_family_mismatch(void **state)
{
	struct addr v4 = mkaddr("192.0.2.1:53"), v6 = mkaddr("[2001:db8::1]:53");
	uint8_t out[128];

	(void)state;
	assert_int_equal(reply_build_udp(&v4, &v6, "x", 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(reply_build_udp(&v6, &v4, "x", 1, out, sizeof(out)), -EINVAL);
}

static void test_too_small(void **state)
{
	struct addr f4 = mkaddr("192.0.2.1:53"), t4 = mkaddr("192.0.2.2:1000");
	struct addr f6 = mkaddr("[2001:db8::1]:53"), t6 = mkaddr("[2001:db8::2]:1000");
	uint8_t out[128];

	(void)state;
	assert_int_equal(reply_build_udp(&f4, &t4, "abcd", 4, out, V4_HDR + UDP_HDR + 3),
			 -EMSGSIZE);
	assert_int_equal(reply_build_udp(&f4, &t4, "abcd", 4, out, V4_HDR + UDP_HDR + 4),
			 V4_HDR + UDP_HDR + 4);
	assert_int_equal(reply_build_udp(&f6, &t6, "abcd", 4, out, V6_HDR + UDP_HDR + 3),
			 -EMSGSIZE);
	assert_int_equal(reply_build_udp(&f6, &t6, "abcd", 4, out, V6_HDR + UDP_HDR + 4),
			 V6_HDR + UDP_HDR + 4);
	assert_int_equal(reply_build_udp(&f4, &t4, "abcd", 4, out, 0), -EMSGSIZE);
}

/* The largest datagrams: an IPv4 packet is at most 65535 bytes in all, a UDP
 * length field at most 65535 in either family. */
static void test_size_limits(void **state)
{
	struct addr f4 = mkaddr("192.0.2.1:53"), t4 = mkaddr("192.0.2.2:1000");
	struct addr f6 = mkaddr("[2001:db8::1]:53"), t6 = mkaddr("[2001:db8::2]:1000");
	size_t cap = 70000;
	uint8_t *payload = calloc(1, cap), *out = malloc(cap);
	ssize_t n;

	(void)state;
	assert_non_null(payload);
	assert_non_null(out);
	n = reply_build_udp(&f4, &t4, payload, 65535 - V4_HDR - UDP_HDR, out, cap);
	assert_int_equal(n, 65535);
	assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	assert_int_equal(reply_build_udp(&f4, &t4, payload, 65535 - V4_HDR - UDP_HDR + 1, out, cap),
			 -EMSGSIZE);
	n = reply_build_udp(&f6, &t6, payload, 65535 - UDP_HDR, out, cap);
	assert_int_equal(n, V6_HDR + 65535);
	assert_int_equal(get16(out + 44), 65535);
	assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	assert_int_equal(reply_build_udp(&f6, &t6, payload, 65535 - UDP_HDR + 1, out, cap),
			 -EINVAL);
	free(payload);
	free(out);
}

/* A computed checksum of 0 goes on the wire as 0xffff (0 means "none"). The
 * payload's last two bytes are chosen so that the sum comes out that way. */
static void test_zero_checksum(void **state)
{
	struct addr f4 = mkaddr("192.0.2.1:53"), t4 = mkaddr("192.0.2.2:1000");
	struct addr f6 = mkaddr("[2001:db8::1]:53"), t6 = mkaddr("[2001:db8::2]:1000");
	const struct addr *from[2] = {&f4, &f6}, *to[2] = {&t4, &t6};
	size_t hdr[2] = {V4_HDR, V6_HDR};

	(void)state;
	for (int k = 0; k < 2; k++) {
		uint8_t payload[6] = {1, 2, 3, 4, 0, 0}, out[128];
		ssize_t n = reply_build_udp(from[k], to[k], payload, 6, out, sizeof(out));
		uint16_t s, fix;

		/* Sum of everything with the checksum field zeroed; the filler
		 * word makes it 0xffff, whose complement is 0. */
		out[hdr[k] + 6] = out[hdr[k] + 7] = 0;
		s = udp_verify_sum(out, (size_t)n);
		fix = (uint16_t)~s;
		payload[4] = (uint8_t)(fix >> 8);
		payload[5] = (uint8_t)fix;
		n = reply_build_udp(from[k], to[k], payload, 6, out, sizeof(out));
		out[hdr[k] + 6] = out[hdr[k] + 7] = 0;
		assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff); /* would be 0 */
		n = reply_build_udp(from[k], to[k], payload, 6, out, sizeof(out));
		assert_int_equal(get16(out + hdr[k] + 6), 0xffff);
		assert_int_equal(udp_verify_sum(out, (size_t)n), 0xffff);
	}
}

/* The caller's buffer may start anywhere: a packet built at an odd address
 * is the same packet (strict-alignment CPUs such as MIPS fault on a
 * misaligned 16- or 32-bit header store). */
static void test_unaligned_out(void **state)
{
	static const char *const pair[][2] = {{"192.0.2.1:53", "198.51.100.7:40000"},
					      {"[2001:db8::1]:53", "[2001:db8::7]:40000"}};
	uint64_t abuf[1600 / 8 + 1], bbuf[1600 / 8 + 1];
	uint8_t *a = (uint8_t *)abuf, *b = (uint8_t *)bbuf + 1;
	const char payload[] = "\x12\x34 a datagram";

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct addr from = mkaddr(pair[k][0]), to = mkaddr(pair[k][1]);
		ssize_t na, nb;

		na = reply_build_udp(&from, &to, payload, sizeof(payload), a, 1600);
		nb = reply_build_udp(&from, &to, payload, sizeof(payload), b, 1600);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, (size_t)na);
		na = reply_build_unreach(&to, &from, payload, sizeof(payload), a, 1600);
		nb = reply_build_unreach(&to, &from, payload, sizeof(payload), b, 1600);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, (size_t)na);
		assert_int_equal(a[0] >> 4, k ? 6 : 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4),
	    cmocka_unit_test(test_v6),
	    cmocka_unit_test(test_checksum_many),
	    cmocka_unit_test(test_family_mismatch),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_zero_checksum),
	    cmocka_unit_test(test_unaligned_out),
	};

	return cmocka_run_group_tests_name("reply_build", tests, NULL, NULL);
}
