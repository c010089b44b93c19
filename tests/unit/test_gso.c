#include "config.h"
/* test_gso.c - gso_send on loopback, IPv4 and IPv6: every datagram arrives
 * once, whole and in order, through runs of one size (longer than one GSO
 * send can take, with a shorter last one), singles, empty datagrams; a
 * receiver that takes GRO packets (UDP_GRO) sees runs arrive as one, which
 * shows they went as GSO sends; and where the kernel refuses GSO (checksums
 * off: SO_NO_CHECK), the same datagrams go one by one and the socket's flag
 * stays off. An ICMP error pending on the socket costs no datagram. Reads
 * split by the segment size the kernel reports.
 *
 * Sizes are 257 and 514 (0x0101, 0x0202): qemu-user passes a control
 * message it does not know as raw bytes, so under emulation of a
 * big-endian CPU only a size that reads the same in both byte orders is
 * the size the host kernel sees. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "gso.h"

#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif

#define MAXD 400

/* The datagrams sent: lens[i] bytes, each byte (i + j) & 0xff. */
struct plan {
	size_t lens[MAXD];
	unsigned n;
	uint8_t *bufs[MAXD];
	struct iovec iov[MAXD];
};

static void plan_add(struct plan *p, size_t len, unsigned times)
{
	while (times-- > 0) {
		unsigned i = p->n++;

		assert_true(i < MAXD);
		p->lens[i] = len;
		p->bufs[i] = malloc(len ? len : 1);
		assert_non_null(p->bufs[i]);
		for (size_t j = 0; j < len; j++)
			p->bufs[i][j] = (uint8_t)(i + j);
		p->iov[i] = (struct iovec){p->bufs[i], len};
	}
}

static void plan_free(struct plan *p)
{
	for (unsigned i = 0; i < p->n; i++)
		free(p->bufs[i]);
}

/* Runs, a run longer than GSO_MAX_SEGS, shorter last segments, singles of
 * other sizes and empty datagrams, all in one call. */
static void plan_mixed(struct plan *p)
{
	plan_add(p, 257, 10);
	plan_add(p, 100, 1); /* the run's shorter last one */
	plan_add(p, 514, 3);
	plan_add(p, 0, 2);
	plan_add(p, 257, 1);
	plan_add(p, 514, 1);
	plan_add(p, 257, GSO_MAX_SEGS * 2 + 5);
	plan_add(p, 1, 1);
	plan_add(p, 514, 2);
}

/* A sender connected to a receiver on loopback (family's), both UDP. */
static void pair(int family, int *tx, int *rx)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int big = 4 << 20;

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	*rx = socket(family, SOCK_DGRAM, 0);
	*tx = socket(family, SOCK_DGRAM, 0);
	assert_true(*rx >= 0 && *tx >= 0);
	/* Room for every datagram of a plan (best effort past rmem_max). */
	setsockopt(*rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	assert_int_equal(bind(*rx, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(getsockname(*rx, (struct sockaddr *)&ss, &sl), 0);
	assert_int_equal(connect(*tx, (struct sockaddr *)&ss, sl), 0);
}

/* Read what arrived; each read must be the next datagram, or (gro) the
 * next run of them back to back. Returns how many reads held more than one. */
static unsigned expect(int rx, const struct plan *p, bool gro)
{
	static uint8_t buf[65536];
	unsigned i = 0, merged = 0;

	while (i < p->n) {
		ssize_t got = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;
		unsigned first = i;

		assert_true(got >= 0);
		do { /* an empty datagram is a read of its own */
			assert_true(i < p->n);
			assert_true(off + p->lens[i] <= (size_t)got);
			assert_memory_equal(buf + off, p->bufs[i], p->lens[i]);
			off += p->lens[i++];
		} while (gro && off < (size_t)got);
		assert_int_equal(off, (size_t)got);
		merged += i - first > 1;
	}
	assert_int_equal(recv(rx, buf, sizeof(buf), MSG_DONTWAIT), -1);
	return merged;
}

static void run(int family, bool gro)
{
	struct plan p = {.n = 0};
	int tx, rx, one = 1;
	bool off = false;

	pair(family, &tx, &rx);
	if (gro)
		assert_int_equal(setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof(one)), 0);
	plan_mixed(&p);
	assert_int_equal(gso_send(tx, p.iov, p.n, &off), p.n);
	assert_false(off);
	/* Runs: 257 x10 + 100, 514 x3, 514 + 257 (a shorter last one), the
	 * other 257 x132 + 1 in three sends (64, 64, 4 + 1), 514 x2. */
	if (gro)
		assert_int_equal(expect(rx, &p, true), 7);
	else
		assert_int_equal(expect(rx, &p, false), 0);
	plan_free(&p);
	close(tx);
	close(rx);
}

static void test_v4(void **s)
{
	(void)s;
	run(AF_INET, false);
}

static void test_v6(void **s)
{
	(void)s;
	run(AF_INET6, false);
}

static void test_v4_gro(void **s)
{
	(void)s;
	run(AF_INET, true);
}

static void test_v6_gro(void **s)
{
	(void)s;
	run(AF_INET6, true);
}

/* SO_NO_CHECK: the kernel refuses GSO sends (EINVAL); every datagram goes
 * all the same, one by one, and the flag says GSO is off for the socket. */
static void test_refused(void **s)
{
	struct plan p = {.n = 0};
	int tx, rx, one = 1;
	bool off = false;

	(void)s;
	pair(AF_INET, &tx, &rx);
	assert_int_equal(setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof(one)), 0);
	plan_mixed(&p);
	assert_int_equal(gso_send(tx, p.iov, p.n, &off), p.n);
	assert_true(off);
	assert_int_equal(expect(rx, &p, true), 0);
	/* off stays off: the next batch goes one by one from the start */
	assert_int_equal(gso_send(tx, p.iov, 3, &off), 3);
	plan_free(&p);
	close(tx);
	close(rx);
}

/* An ICMP error about an earlier datagram (the port was closed then) is
 * reported in place of the next send: the batch goes all the same, the
 * run it would have cost included. */
static void test_icmp_pending(void **s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct plan p = {.n = 0};
	int tx = socket(AF_INET, SOCK_DGRAM, 0), rx = socket(AF_INET, SOCK_DGRAM, 0);
	bool off = false;
	uint8_t b[1] = {0};

	(void)s;
	assert_true(tx >= 0 && rx >= 0);
	assert_int_equal(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&a, &al), 0);
	close(rx); /* the port is closed: the first datagram draws port unreachable */
	assert_int_equal(connect(tx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(tx, b, sizeof(b), 0), 1);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	plan_add(&p, 257, 8);
	assert_int_equal(gso_send(tx, p.iov, p.n, &off), 8);
	assert_false(off);
	expect(rx, &p, false);
	plan_free(&p);
	close(tx);
	close(rx);
}

/* A socket with nowhere to send: nothing goes, and the count says so. */
static void test_unsent(void **s)
{
	struct iovec iov[4];
	uint8_t b[257] = {0};
	bool off = false;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	(void)s;
	assert_true(fd >= 0);
	for (int i = 0; i < 4; i++)
		iov[i] = (struct iovec){b, sizeof(b)};
	assert_int_equal(gso_send(fd, iov, 4, &off), 0);
	assert_int_equal(gso_send(fd, iov, 0, &off), 0);
	close(fd);
}

/* A read split by what its control data says: seg (0: no UDP_GRO message). */
static unsigned split(size_t len, int seg, size_t *lens)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t buf[64];
	struct msghdr m = {.msg_control = cm.b, .msg_controllen = seg ? sizeof(cm.b) : 0};
	struct gso_rx rx;
	struct iovec d;
	unsigned n = 0;
	size_t off = 0;

	if (seg) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);

		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_GRO;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
	gso_rx_start(&rx, &m, buf, len);
	assert_true(gso_rx_count(&rx) >= 1);
	while (gso_rx_next(&rx, &d)) {
		assert_true(n < 64);
		assert_ptr_equal(d.iov_base, buf + off); /* back to back, in order */
		off += d.iov_len;
		lens[n++] = d.iov_len;
	}
	assert_int_equal(off, len);
	return n;
}

/* Runs split at the segment size, the last shorter; a size the kernel
 * would not give (0, negative, not below the read) leaves the read whole. */
static void test_rx_split(void **s)
{
	size_t l[64];

	(void)s;
	assert_int_equal(split(10, 3, l), 4);
	assert_true(l[0] == 3 && l[1] == 3 && l[2] == 3 && l[3] == 1);
	assert_int_equal(split(9, 3, l), 3);
	assert_true(l[2] == 3);
	assert_int_equal(split(10, 0, l), 1);
	assert_int_equal(l[0], 10);
	assert_int_equal(split(10, 10, l), 1);
	assert_int_equal(split(10, 64, l), 1);
	assert_int_equal(split(10, -5, l), 1);
	assert_int_equal(split(0, 0, l), 1); /* an empty datagram is a read too */
	assert_int_equal(l[0], 0);
	assert_int_equal(split(64, 1, l), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),	cmocka_unit_test(test_v6),
		cmocka_unit_test(test_v4_gro),	cmocka_unit_test(test_v6_gro),
		cmocka_unit_test(test_refused), cmocka_unit_test(test_unsent),
		cmocka_unit_test(test_rx_split),	cmocka_unit_test(test_icmp_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
