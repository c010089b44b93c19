#include "config.h"
/* test_flow.c - the session table: lookup by 4-tuple, idle expiry per
 * timeout class, the global and per-client caps (least recently active
 * first), the on_remove contract (right reason, exactly once) and growth.
 * Each flow gets an id in f->owner so the callback can tell them apart. */

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "flow.h"

#define MAX_IDS 200000

/* What on_remove saw. */
struct rec {
	unsigned *calls;    /* per id */
	enum flow_end *why; /* per id, last reason */
	size_t by_reason[FLOW_END_SHUTDOWN + 1];
	size_t total;
};

static void on_remove(void *ctx, struct flow *f, enum flow_end why)
{
	struct rec *r = ctx;
	uintptr_t id = (uintptr_t)f->owner;

	assert_true(id > 0 && id < MAX_IDS);
	r->calls[id]++;
	r->why[id] = why;
	r->by_reason[why]++;
	r->total++;
}

static int setup(void **state)
{
	struct rec *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->calls = calloc(MAX_IDS, sizeof(*r->calls));
	r->why = calloc(MAX_IDS, sizeof(*r->why));
	if (!r->calls || !r->why)
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rec *r = *state;

	free(r->calls);
	free(r->why);
	free(r);
	return 0;
}

static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static struct addr mkaddr(const char *s)
{
	struct addr a;

	if (addr_parse(s, true, 0, &a) != 0)
		fail_msg("bad test address %s", s);
	return a;
}

static struct addr v4(uint32_t ip, uint16_t port)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.u.in.sin_family = AF_INET;
	a.u.in.sin_addr.s_addr = htonl(ip);
	a.u.in.sin_port = htons(port);
	a.len = sizeof(a.u.in);
	return a;
}

static struct flow *ins(struct flow_table *t, const char *c, const char *d, unsigned tmo,
			uint64_t now, uintptr_t id)
{
	struct addr ca = mkaddr(c), da = mkaddr(d);
	struct flow *f = flow_insert(t, &ca, &da, tmo, now);

	assert_non_null(f);
	f->owner = (void *)id;
	return f;
}

static struct flow *look(struct flow_table *t, const char *c, const char *d)
{
	struct addr ca = mkaddr(c), da = mkaddr(d);

	return flow_lookup(t, &ca, &da);
}

static size_t ccount(struct flow_table *t, const char *c)
{
	struct addr ca = mkaddr(c);

	return flow_client_count(t, &ca);
}

static void test_insert_lookup_v4(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	struct flow *f;

	assert_non_null(t);
	assert_null(look(t, "192.0.2.1:1000", "198.51.100.1:53"));
	f = ins(t, "192.0.2.1:1000", "198.51.100.1:53", 17, 5000, 1);
	assert_ptr_equal(look(t, "192.0.2.1:1000", "198.51.100.1:53"), f);
	{
		struct addr ca = mkaddr("192.0.2.1:1000"), da = mkaddr("198.51.100.1:53");

		assert_true(addr_equal(&f->client, &ca));
		assert_true(addr_equal(&f->origdst, &da));
	}
	assert_int_equal(f->last_ms, 5000);
	assert_int_equal(f->timeout_ms, 17000);
	assert_int_equal(f->reply_fd, -1);
	/* Every part of the 4-tuple counts. */
	assert_null(look(t, "192.0.2.1:1001", "198.51.100.1:53"));
	assert_null(look(t, "192.0.2.2:1000", "198.51.100.1:53"));
	assert_null(look(t, "192.0.2.1:1000", "198.51.100.2:53"));
	assert_null(look(t, "192.0.2.1:1000", "198.51.100.1:54"));
	assert_null(look(t, "198.51.100.1:53", "192.0.2.1:1000")); /* reversed */
	assert_int_equal(flow_count(t), 1);
	flow_table_free(t);
	assert_int_equal(r->calls[1], 1);
	assert_int_equal(r->why[1], FLOW_END_SHUTDOWN);
}

static void test_insert_lookup_v6_mixed(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	struct flow *a, *b, *c, *d;

	assert_non_null(t);
	a = ins(t, "[2001:db8::1]:1000", "[2001:db8:1::53]:53", 17, 0, 1);
	b = ins(t, "192.0.2.1:1000", "198.51.100.1:53", 17, 0, 2);
	/* The same IPv4 addresses, v4-mapped: another flow. */
	c = ins(t, "[::ffff:192.0.2.1]:1000", "[::ffff:198.51.100.1]:53", 17, 0, 3);
	/* Mixed families in one flow are stored as given. */
	d = ins(t, "[::ffff:192.0.2.1]:1000", "198.51.100.1:53", 17, 0, 4);
	assert_ptr_equal(look(t, "[2001:db8::1]:1000", "[2001:db8:1::53]:53"), a);
	assert_ptr_equal(look(t, "192.0.2.1:1000", "198.51.100.1:53"), b);
	assert_ptr_equal(look(t, "[::ffff:192.0.2.1]:1000", "[::ffff:198.51.100.1]:53"), c);
	assert_ptr_equal(look(t, "[::ffff:192.0.2.1]:1000", "198.51.100.1:53"), d);
	assert_null(look(t, "[2001:db8::1]:1000", "[2001:db8:1::54]:53"));
	assert_null(look(t, "[2001:db8::2]:1000", "[2001:db8:1::53]:53"));
	assert_int_equal(flow_count(t), 4);
	assert_int_equal(ccount(t, "192.0.2.1:0"), 1);
	assert_int_equal(ccount(t, "[::ffff:192.0.2.1]:0"), 2);
	assert_int_equal(ccount(t, "[2001:db8::1]:0"), 1);
	flow_remove(t, c, FLOW_END_CLOSED);
	assert_null(look(t, "[::ffff:192.0.2.1]:1000", "[::ffff:198.51.100.1]:53"));
	assert_ptr_equal(look(t, "[::ffff:192.0.2.1]:1000", "198.51.100.1:53"), d);
	assert_int_equal(r->why[3], FLOW_END_CLOSED);
	flow_table_free(t);
	for (int i = 1; i <= 4; i++)
		assert_int_equal(r->calls[i], 1);
	assert_int_equal(r->by_reason[FLOW_END_SHUTDOWN], 3);
	assert_int_equal(r->by_reason[FLOW_END_CLOSED], 1);
}

static void test_touch_and_expiry(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	struct flow *a, *b;

	assert_non_null(t);
	a = ins(t, "192.0.2.1:1", "198.51.100.1:3478", 60, 0, 1);
	b = ins(t, "192.0.2.2:1", "198.51.100.1:3478", 60, 1000, 2);
	assert_int_equal(flow_next_expiry(t, 0), 60000);
	flow_touch(t, a, 5000); /* a is now the most recent */
	assert_int_equal(a->last_ms, 5000);
	assert_int_equal(flow_next_expiry(t, 5000), 56000); /* b: 1000 + 60000 */
	assert_int_equal(flow_expire(t, 60999), 0);
	assert_int_equal(flow_expire(t, 61000), 1); /* idle exactly the timeout */
	assert_int_equal(r->calls[2], 1);
	assert_int_equal(r->why[2], FLOW_END_EXPIRED);
	assert_null(look(t, "192.0.2.2:1", "198.51.100.1:3478"));
	assert_ptr_equal(look(t, "192.0.2.1:1", "198.51.100.1:3478"), a);
	assert_int_equal(r->calls[1], 0);
	assert_int_equal(flow_next_expiry(t, 61000), 4000);
	assert_int_equal(flow_next_expiry(t, 70000), 0); /* overdue */
	assert_int_equal(flow_expire(t, 65000), 1);
	assert_int_equal(r->why[1], FLOW_END_EXPIRED);
	assert_int_equal(flow_count(t), 0);
	assert_int_equal(flow_next_expiry(t, 65000), UINT64_MAX);
	(void)b;
	flow_table_free(t);
	assert_int_equal(r->total, 2);
}

/* Touching the head, the middle and the tail of a list keeps it ordered. */
static void test_touch_positions(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	struct flow *f[4];
	char c[32];

	assert_non_null(t);
	for (int i = 0; i < 4; i++) {
		snprintf(c, sizeof(c), "192.0.2.%d:5", i + 1);
		f[i] = ins(t, c, "198.51.100.1:53", 10, (uint64_t)i, (uintptr_t)i + 1);
	}
	flow_touch(t, f[3], 10); /* tail */
	flow_touch(t, f[1], 11); /* middle */
	flow_touch(t, f[0], 12); /* head */
	/* Order by activity now: f2 (2), f3 (10), f1 (11), f0 (12). */
	assert_int_equal(flow_expire(t, 10002), 1);
	assert_int_equal(r->calls[3], 1);
	assert_int_equal(flow_expire(t, 10010), 1);
	assert_int_equal(r->calls[4], 1);
	assert_int_equal(flow_expire(t, 10011), 1);
	assert_int_equal(r->calls[2], 1);
	assert_int_equal(flow_count(t), 1);
	assert_int_equal(r->calls[1], 0);
	flow_table_free(t);
	assert_int_equal(r->why[1], FLOW_END_SHUTDOWN);
}

static void test_expiry_classes(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);

	assert_non_null(t);
	/* The longest first, so expiry cannot rely on insertion order. */
	ins(t, "192.0.2.1:1", "198.51.100.1:443", 120, 0, 1);
	ins(t, "192.0.2.1:2", "198.51.100.1:3478", 60, 0, 2);
	ins(t, "192.0.2.1:3", "198.51.100.1:53", 17, 0, 3);
	ins(t, "192.0.2.1:4", "198.51.100.1:123", 10, 0, 4);
	ins(t, "192.0.2.1:5", "198.51.100.1:123", 10, 3000, 5);
	assert_int_equal(flow_next_expiry(t, 0), 10000);
	assert_int_equal(flow_expire(t, 9999), 0);
	assert_int_equal(flow_expire(t, 10000), 1);
	assert_int_equal(r->calls[4], 1);
	assert_int_equal(flow_next_expiry(t, 10000), 3000);
	assert_int_equal(flow_expire(t, 13000), 1);
	assert_int_equal(r->calls[5], 1);
	assert_int_equal(flow_next_expiry(t, 13000), 4000);
	assert_int_equal(flow_expire(t, 59999), 1); /* only the 17 s one */
	assert_int_equal(r->calls[3], 1);
	assert_int_equal(r->calls[2], 0);
	assert_int_equal(flow_next_expiry(t, 59999), 1);
	assert_int_equal(flow_expire(t, 1000000), 2);
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(r->calls[i], 1);
		assert_int_equal(r->why[i], FLOW_END_EXPIRED);
	}
	assert_int_equal(flow_count(t), 0);
	flow_table_free(t);
	assert_int_equal(r->total, 5);
}

/* At the global cap the least recently active flow goes, whatever its
 * timeout class. */
static void test_global_cap(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 3, 100, on_remove, r);
	struct flow *a;

	assert_non_null(t);
	a = ins(t, "192.0.2.1:1", "198.51.100.1:3478", 60, 1, 1);
	ins(t, "192.0.2.2:1", "198.51.100.1:123", 10, 2, 2);
	ins(t, "192.0.2.3:1", "198.51.100.1:443", 120, 3, 3);
	flow_touch(t, a, 4);
	ins(t, "192.0.2.4:1", "198.51.100.1:53", 17, 5, 4);
	assert_int_equal(flow_count(t), 3);
	assert_int_equal(r->total, 1);
	assert_int_equal(r->calls[2], 1);
	assert_int_equal(r->why[2], FLOW_END_EVICTED);
	assert_null(look(t, "192.0.2.2:1", "198.51.100.1:123"));
	assert_int_equal(ccount(t, "192.0.2.2:1"), 0);
	ins(t, "192.0.2.5:1", "198.51.100.1:53", 17, 6, 5);
	assert_int_equal(r->calls[3], 1);
	assert_int_equal(r->why[3], FLOW_END_EVICTED);
	ins(t, "192.0.2.6:1", "198.51.100.1:53", 17, 7, 6);
	assert_int_equal(r->calls[1], 1);
	assert_int_equal(r->why[1], FLOW_END_EVICTED);
	assert_int_equal(flow_count(t), 3);
	assert_int_equal(r->by_reason[FLOW_END_EVICTED], 3);
	flow_table_free(t);
	assert_int_equal(r->by_reason[FLOW_END_SHUTDOWN], 3);
	for (int i = 1; i <= 6; i++)
		assert_int_equal(r->calls[i], 1);
}

/* At the per-client cap that client's least recently active flow goes;
 * other clients keep theirs even when older; the client's port does not
 * make it another client. */
static void test_per_client_cap(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 1000, 2, on_remove, r);
	struct flow *x1;

	assert_non_null(t);
	ins(t, "192.0.2.9:7000", "198.51.100.1:53", 17, 0, 10); /* Y, older than X's */
	ins(t, "192.0.2.9:7001", "198.51.100.2:53", 17, 0, 11);
	x1 = ins(t, "192.0.2.1:1000", "198.51.100.1:53", 60, 1, 1);
	ins(t, "192.0.2.1:2000", "198.51.100.2:123", 10, 2, 2);
	assert_int_equal(ccount(t, "192.0.2.1:1000"), 2);
	assert_int_equal(ccount(t, "192.0.2.1:9"), 2); /* port ignored */
	flow_touch(t, x1, 3);
	ins(t, "192.0.2.1:3000", "198.51.100.3:443", 120, 4, 3);
	assert_int_equal(r->total, 1);
	assert_int_equal(r->calls[2], 1);
	assert_int_equal(r->why[2], FLOW_END_EVICTED_CLIENT);
	assert_int_equal(ccount(t, "192.0.2.1:0"), 2);
	assert_int_equal(ccount(t, "192.0.2.9:0"), 2);
	assert_non_null(look(t, "192.0.2.9:7000", "198.51.100.1:53"));
	assert_non_null(look(t, "192.0.2.9:7001", "198.51.100.2:53"));
	assert_ptr_equal(look(t, "192.0.2.1:1000", "198.51.100.1:53"), x1);
	/* Same source port, another destination: still the same client. */
	ins(t, "192.0.2.1:3000", "198.51.100.4:443", 120, 5, 4);
	assert_int_equal(r->calls[1], 1);
	assert_int_equal(r->why[1], FLOW_END_EVICTED_CLIENT);
	assert_int_equal(flow_count(t), 4);
	assert_int_equal(ccount(t, "192.0.2.77:0"), 0);
	/* The v6 and v4-mapped forms of a host are separate clients. */
	ins(t, "[::ffff:192.0.2.1]:1", "198.51.100.1:53", 17, 6, 5);
	assert_int_equal(ccount(t, "192.0.2.1:0"), 2);
	assert_int_equal(r->total, 2);
	flow_table_free(t);
	assert_int_equal(r->by_reason[FLOW_END_EVICTED_CLIENT], 2);
	assert_int_equal(r->by_reason[FLOW_END_SHUTDOWN], 5);
}

static void test_per_client_one(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 1000, 1, on_remove, r);
	char c[32];

	assert_non_null(t);
	ins(t, "[2001:db8::9]:1", "[2001:db8::53]:53", 17, 0, 100);
	for (int i = 1; i <= 50; i++) {
		snprintf(c, sizeof(c), "[2001:db8::1]:%d", 1000 + i);
		ins(t, c, "[2001:db8::53]:53", 17, (uint64_t)i, (uintptr_t)i);
		assert_int_equal(ccount(t, "[2001:db8::1]:1"), 1);
		assert_int_equal(flow_count(t), 2);
		assert_non_null(look(t, c, "[2001:db8::53]:53"));
		if (i > 1) {
			assert_int_equal(r->calls[i - 1], 1);
			assert_int_equal(r->why[i - 1], FLOW_END_EVICTED_CLIENT);
		}
	}
	assert_int_equal(r->calls[100], 0);
	flow_table_free(t);
	assert_int_equal(r->by_reason[FLOW_END_EVICTED_CLIENT], 49);
	assert_int_equal(r->by_reason[FLOW_END_SHUTDOWN], 2);
}

/* Lower caps take effect at the next insert, evicting as many as needed. */
/* A flow a callback is running on (busy) is never evicted: the cap gives
 * way until it is released, and the next idle flow goes instead. */
static void test_busy_not_evicted(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 2, 1, on_remove, r);
	struct flow *a, *b;

	assert_non_null(t);
	a = ins(t, "192.0.2.1:1000", "203.0.113.2:53", 17, 0, 1);
	a->busy = 1;
	/* Per-client cap 1: the client's only flow is busy, so both stay. */
	b = ins(t, "192.0.2.1:1001", "203.0.113.2:53", 17, 1, 2);
	assert_int_equal(r->calls[1], 0);
	assert_int_equal(ccount(t, "192.0.2.1:1"), 2);
	/* Global cap 2: the stalest idle flow (b) goes, not the busy one. */
	ins(t, "192.0.2.9:1000", "203.0.113.2:53", 17, 2, 3);
	assert_int_equal(r->calls[1], 0);
	assert_int_equal(r->calls[2], 1);
	assert_int_equal(r->why[2], FLOW_END_EVICTED);
	assert_non_null(look(t, "192.0.2.1:1000", "203.0.113.2:53"));
	(void)b;
	/* Released, it is the stalest again and goes first. */
	a->busy = 0;
	ins(t, "192.0.2.10:1000", "203.0.113.2:53", 17, 3, 4);
	assert_int_equal(r->calls[1], 1);
	flow_table_free(t);
}

static void test_set_caps(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	char c[32];

	assert_non_null(t);
	for (int i = 1; i <= 5; i++) {
		snprintf(c, sizeof(c), "192.0.2.%d:1", i);
		ins(t, c, "198.51.100.1:53", 17, (uint64_t)i, (uintptr_t)i);
	}
	flow_table_set_caps(t, 2, 100);
	assert_int_equal(flow_count(t), 5);
	ins(t, "192.0.2.6:1", "198.51.100.1:53", 17, 6, 6);
	assert_int_equal(flow_count(t), 2);
	for (int i = 1; i <= 4; i++)
		assert_int_equal(r->why[i], FLOW_END_EVICTED);
	assert_int_equal(r->calls[5], 0);
	flow_table_free(t);
	assert_int_equal(r->total, 6);
}

/* Removal, expiry, eviction and shutdown: each flow's callback runs once. */
static void test_remove_once(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 20, 5, on_remove, r);
	struct addr ca, da;
	uintptr_t id = 1;
	size_t inserted = 0;

	assert_non_null(t);
	unsigned seed = 1;

	/* 30 distinct 4-tuples over 5 clients, visited in a pseudo-random order. */
	for (uint64_t now = 0; now < 60000; now += 100) {
		struct flow *f;
		unsigned k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % 30;
		ca = v4(0xc0000200 + k % 5, (uint16_t)(k / 5 % 3));
		da = v4(0xc6336400, (uint16_t)(1 + k / 15));
		f = flow_lookup(t, &ca, &da);
		if (f) {
			flow_touch(t, f, now);
			if (id % 7 == 0)
				flow_remove(t, f, FLOW_END_CLOSED);
		} else {
			f = flow_insert(t, &ca, &da, (unsigned)(1 + id % 4), now);
			assert_non_null(f);
			f->owner = (void *)id;
			inserted++;
		}
		assert_true(flow_count(t) <= 20);
		assert_true(flow_client_count(t, &ca) <= 5);
		id++;
		flow_expire(t, now);
	}
	flow_table_free(t);
	assert_int_equal(r->total, inserted);
	assert_true(r->by_reason[FLOW_END_EXPIRED] > 0);
	assert_true(r->by_reason[FLOW_END_CLOSED] > 0);
	assert_true(r->by_reason[FLOW_END_EVICTED_CLIENT] > 0);
	assert_true(r->by_reason[FLOW_END_EVICTED] > 0);
	assert_true(r->by_reason[FLOW_END_SHUTDOWN] > 0);
	for (uintptr_t i = 1; i < id; i++)
		assert_true(r->calls[i] <= 1);
}

/* Sixteen timeout classes fit; a seventeenth is refused cleanly. */
static void test_tclass_limit(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 100, 100, on_remove, r);
	struct addr ca = mkaddr("192.0.2.1:1"), cb = mkaddr("192.0.2.200:1"),
		    da = mkaddr("198.51.100.1:53");

	assert_non_null(t);
	for (unsigned i = 1; i <= FLOW_MAX_TCLASS; i++) {
		struct flow *f;

		addr_set_port(&ca, (uint16_t)i);
		f = flow_insert(t, &ca, &da, i, 0);
		assert_non_null(f);
		f->owner = (void *)(uintptr_t)i;
	}
	addr_set_port(&ca, 999);
	assert_null(flow_insert(t, &ca, &da, FLOW_MAX_TCLASS + 1, 0));
	assert_null(flow_insert(t, &cb, &da, FLOW_MAX_TCLASS + 1, 0));
	assert_int_equal(flow_count(t), FLOW_MAX_TCLASS);
	assert_int_equal(flow_client_count(t, &ca), FLOW_MAX_TCLASS);
	assert_int_equal(flow_client_count(t, &cb), 0);
	{
		struct flow *f = flow_insert(t, &cb, &da, 3, 0); /* an existing class */

		assert_non_null(f);
		f->owner = (void *)(uintptr_t)100;
	}
	flow_table_free(t);
	assert_int_equal(r->total, FLOW_MAX_TCLASS + 1);
}

static void test_growth_100k(void **state)
{
	struct rec *r = *state;
	const unsigned n = 100000;
	struct flow_table *t = flow_table_new(key, 2 * n, 4, on_remove, r);
	struct addr da = mkaddr("198.51.100.1:443"), ca;

	assert_non_null(t);
	for (unsigned i = 0; i < n; i++) {
		struct flow *f;

		/* 33,334 clients with up to 3 flows each. */
		ca = v4(0x0a000000 + i / 3, (uint16_t)(10000 + i % 3));
		f = flow_insert(t, &ca, &da, i % 2 ? 60 : 120, i);
		assert_non_null(f);
		f->owner = (void *)(uintptr_t)(i + 1);
	}
	assert_int_equal(flow_count(t), n);
	assert_int_equal(r->total, 0);
	for (unsigned i = 0; i < n; i++) {
		struct flow *f;

		ca = v4(0x0a000000 + i / 3, (uint16_t)(10000 + i % 3));
		f = flow_lookup(t, &ca, &da);
		if (!f || (uintptr_t)f->owner != i + 1)
			fail_msg("flow %u lost after growth", i);
		if (i % 2 == 0)
			flow_remove(t, f, FLOW_END_CLOSED);
	}
	assert_int_equal(flow_count(t), n / 2);
	ca = v4(0x0a000000, 0);
	assert_int_equal(flow_client_count(t, &ca), 1);
	ca = v4(0x0a000001, 0);
	assert_int_equal(flow_client_count(t, &ca), 2);
	for (unsigned i = 0; i < n; i++) {
		ca = v4(0x0a000000 + i / 3, (uint16_t)(10000 + i % 3));
		if ((flow_lookup(t, &ca, &da) != NULL) != (i % 2 == 1))
			fail_msg("flow %u: wrong presence after removals", i);
	}
	/* The 60 s class expires, the 120 s class stays. */
	assert_int_equal(flow_expire(t, n + 60000), n / 2);
	assert_int_equal(flow_count(t), 0);
	flow_table_free(t);
	assert_int_equal(r->by_reason[FLOW_END_CLOSED], n / 2);
	assert_int_equal(r->by_reason[FLOW_END_EXPIRED], n / 2);
	assert_int_equal(r->total, n);
}

static void test_free_shutdown(void **state)
{
	struct rec *r = *state;
	struct flow_table *t = flow_table_new(key, 1000, 1000, on_remove, r);
	char c[48];

	assert_non_null(t);
	for (int i = 1; i <= 300; i++) {
		snprintf(c, sizeof(c), "[2001:db8::%x]:%d", i % 17, i);
		ins(t, c, "198.51.100.1:53", (unsigned)(1 + i % 5), (uint64_t)i, (uintptr_t)i);
	}
	flow_table_free(t);
	assert_int_equal(r->total, 300);
	assert_int_equal(r->by_reason[FLOW_END_SHUTDOWN], 300);
	for (int i = 1; i <= 300; i++)
		assert_int_equal(r->calls[i], 1);
	flow_table_free(NULL);
}

static void test_no_callback(void **state)
{
	struct flow_table *t = flow_table_new(key, 2, 1, NULL, NULL);
	struct addr a = mkaddr("192.0.2.1:1"), b = mkaddr("192.0.2.2:1"),
		    d = mkaddr("198.51.100.1:53");

	(void)state;
	assert_non_null(t);
	assert_non_null(flow_insert(t, &a, &d, 10, 0));
	addr_set_port(&a, 2);
	assert_non_null(flow_insert(t, &a, &d, 10, 1)); /* evicts a:1 */
	assert_non_null(flow_insert(t, &b, &d, 10, 2));
	assert_int_equal(flow_count(t), 2);
	assert_int_equal(flow_expire(t, 100000), 2);
	assert_non_null(flow_insert(t, &b, &d, 10, 3));
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_insert_lookup_v4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_lookup_v6_mixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_touch_and_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_touch_positions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_classes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_global_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_per_client_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_per_client_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_not_evicted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tclass_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_growth_100k, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_shutdown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_callback, setup, teardown),
	};

	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
