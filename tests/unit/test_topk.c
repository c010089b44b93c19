/* test_topk.c - Space-Saving top-k (src/topk.c): exact counts while the
 * keys fit, the algorithm's guarantees on a skewed stream that does not
 * (every key seen more than N/k times held; counts never too low, count -
 * err never too high), the same after the table churns, merge and clear. */
#include "config.h"
#include "topk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t hkey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static const struct topk_item *held(const struct topk_item *it, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (it[i].len == strlen(key) && memcmp(it[i].key, key, it[i].len) == 0)
			return &it[i];
	return NULL;
}

static void add(struct topk *t, const char *key)
{
	topk_add(t, key, strlen(key));
}

static void test_exact(void **state)
{
	struct topk *t = topk_new(8, hkey);
	struct topk_item it[8];
	char k[16];
	size_t n;

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j <= i; j++) {
			snprintf(k, sizeof(k), "key%d", i);
			add(t, k);
		}
	n = topk_snapshot(t, it, 8);
	assert_int_equal(n, 8);
	n = topk_merge(it, n);
	for (int i = 0; i < 8; i++) {
		snprintf(k, sizeof(k), "key%d", 7 - i);
		assert_int_equal(it[i].len, strlen(k));
		assert_memory_equal(it[i].key, k, it[i].len);
		assert_int_equal(it[i].count, 8 - i);
		assert_int_equal(it[i].err, 0);
	}
	topk_clear(t);
	assert_int_equal(topk_snapshot(t, it, 8), 0);
	add(t, "again");
	assert_int_equal(topk_snapshot(t, it, 8), 1);
	assert_int_equal(it[0].count, 1);
	topk_free(t);
}

/* A skewed stream over many more keys than k, in rounds: heavy keys hN
 * (true count known) among a churn of rare ones (each seen once or twice). */
static void test_guarantees(void **state)
{
	enum { K = 64, HEAVY = 10, ROUNDS = 400 };
	struct topk *t = topk_new(K, hkey);
	struct topk_item it[K];
	unsigned long truth[HEAVY] = {0}, total = 0;
	uint32_t x = 12345;
	char k[32];
	size_t n;

	(void)state;
	assert_non_null(t);
	for (int r = 0; r < ROUNDS; r++) {
		for (int h = 0; h < HEAVY; h++) /* key h appears h + 1 times a round */
			for (int j = 0; j <= h; j++) {
				snprintf(k, sizeof(k), "heavy%d", h);
				add(t, k);
				truth[h]++;
				total++;
			}
		for (int j = 0; j < 40; j++) { /* rare keys */
			x = x * 1103515245u + 12345u;
			snprintf(k, sizeof(k), "rare%u", (x >> 8) % 100000);
			add(t, k);
			total++;
		}
	}
	n = topk_snapshot(t, it, K);
	assert_int_equal(n, K);
	for (int h = 0; h < HEAVY; h++) {
		const struct topk_item *p;

		snprintf(k, sizeof(k), "heavy%d", h);
		p = held(it, n, k);
		if (truth[h] > total / K) /* Space-Saving holds every such key */
			assert_non_null(p);
		if (!p)
			continue;
		assert_true(p->count >= truth[h]);
		assert_true(p->count - p->err <= truth[h]);
	}
	/* the counts add up to the stream: each add raised exactly one */
	{
		unsigned long sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += it[i].count;
		assert_int_equal(sum, total);
	}
	/* the most frequent key comes first after a merge */
	n = topk_merge(it, n);
	assert_int_equal(it[0].len, strlen("heavy9"));
	assert_memory_equal(it[0].key, "heavy9", it[0].len);
	topk_free(t);
}

/* Two snapshots merged: the same key's counts and errors summed. */
static void test_merge(void **state)
{
	struct topk *a = topk_new(4, hkey), *b = topk_new(4, hkey);
	struct topk_item it[8];
	size_t n;

	(void)state;
	add(a, "x");
	add(a, "x");
	add(a, "y");
	add(b, "x");
	add(b, "z");
	add(b, "z");
	add(b, "z");
	n = topk_snapshot(a, it, 4);
	n += topk_snapshot(b, it + n, 4);
	n = topk_merge(it, n);
	assert_int_equal(n, 3);
	assert_memory_equal(it[0].key, "x", 1);
	assert_int_equal(it[0].count, 3);
	assert_memory_equal(it[1].key, "z", 1);
	assert_int_equal(it[1].count, 3);
	assert_memory_equal(it[2].key, "y", 1);
	topk_free(a);
	topk_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_guarantees),
	    cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
