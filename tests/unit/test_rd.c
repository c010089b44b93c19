#include "config.h"
/* test_rd.c - the bounds-checked reader (rd.h): numbers are big-endian and
 * consume exactly their bytes; a read that does not fit consumes nothing,
 * returns 0 or NULL and sets an error that sticks (every later read fails,
 * nothing is left); the offset stays where the damage was found;
 * sub-readers and length-prefixed fields are bounded by their parent; a
 * NULL buffer is an empty one. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rd.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
				0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static void test_numbers(void **state)
{
	struct rd r = rd_init(bytes, sizeof(bytes));

	(void)state;
	assert_int_equal(rd_u8(&r), 0x01);
	assert_int_equal(rd_u16(&r), 0x0203);
	assert_int_equal(rd_u32(&r), 0x04050607);
	assert_true(rd_u64(&r) == 0x08090a0b0c0d0e0full);
	assert_int_equal(rd_left(&r), 1);
	assert_int_equal(rd_uint(&r, 1), 0x10);
	assert_true(rd_done(&r));
	r = rd_init(bytes, sizeof(bytes));
	assert_int_equal(rd_uint(&r, 3), 0x010203);
	assert_int_equal(rd_uint(&r, 0), 0);
	assert_int_equal(r.off, 3);
	assert_true(rd_ok(&r));
}

/* A read that does not fit: 0, nothing consumed, the error sticks. */
static void test_sticky(void **state)
{
	struct rd r = rd_init(bytes, 3);
	const uint8_t *b;

	(void)state;
	assert_int_equal(rd_u16(&r), 0x0102);
	assert_int_equal(rd_u16(&r), 0);
	assert_false(rd_ok(&r));
	assert_int_equal(r.off, 2); /* where the damage was found */
	assert_int_equal(rd_left(&r), 0);
	assert_false(rd_done(&r));
	/* the byte that is there is not given out any more */
	assert_int_equal(rd_u8(&r), 0);
	assert_null(rd_bytes(&r, 0));
	assert_false(rd_skip(&r, 0));
	assert_false(rd_take(&r, 0, &b));
	assert_int_equal(r.off, 2);

	r = rd_init(bytes, 4);
	assert_false(rd_skip(&r, 5));
	assert_int_equal(r.off, 0);
	assert_false(rd_ok(&r));

	/* a parser's own check */
	r = rd_init(bytes, 4);
	assert_false(rd_fail(&r));
	assert_int_equal(rd_u8(&r), 0);
}

static void test_bytes(void **state)
{
	struct rd r = rd_init(bytes, sizeof(bytes));
	const uint8_t *b;

	(void)state;
	b = rd_bytes(&r, 4);
	assert_ptr_equal(b, bytes);
	assert_ptr_equal(rd_ptr(&r), bytes + 4);
	assert_true(rd_take(&r, 12, &b));
	assert_ptr_equal(b, bytes + 4);
	assert_true(rd_done(&r));
	assert_non_null(rd_bytes(&r, 0)); /* nothing, at the end: fine */
	assert_true(rd_ok(&r));
	assert_null(rd_bytes(&r, 1));
	assert_false(rd_ok(&r));
	/* a huge length does not wrap */
	r = rd_init(bytes, sizeof(bytes));
	rd_u8(&r);
	assert_null(rd_bytes(&r, SIZE_MAX));
	assert_int_equal(r.off, 1);
}

static void test_sub(void **state)
{
	static const uint8_t v[] = {0x00, 0x03, 'a', 'b', 'c', 0x02, 'x', 'y', 0x05, 'z'};
	struct rd r = rd_init(v, sizeof(v)), s;

	(void)state;
	s = rd_vec(&r, 2);
	assert_true(rd_ok(&s));
	assert_int_equal(rd_left(&s), 3);
	assert_memory_equal(rd_ptr(&s), "abc", 3);
	assert_int_equal(r.off, 5);
	/* reading past the sub-reader's end fails there, not in the parent */
	assert_non_null(rd_bytes(&s, 3));
	assert_int_equal(rd_u8(&s), 0);
	assert_false(rd_ok(&s));
	assert_true(rd_ok(&r));
	s = rd_vec(&r, 1);
	assert_true(rd_ok(&s));
	assert_int_equal(rd_u16(&s), ('x' << 8) | 'y');
	/* a length past the end: both fail, the parent's offset stays after the length */
	s = rd_vec(&r, 1);
	assert_false(rd_ok(&s));
	assert_int_equal(rd_left(&s), 0);
	assert_false(rd_ok(&r));
	assert_int_equal(r.off, 9);
	/* after an error, sub-readers fail too */
	s = rd_sub(&r, 0);
	assert_false(rd_ok(&s));

	r = rd_init(v, sizeof(v));
	s = rd_sub(&r, 2);
	assert_int_equal(rd_u16(&s), 3);
	assert_true(rd_done(&s));
	assert_int_equal(r.off, 2);
}

static void test_at_and_null(void **state)
{
	struct rd r = rd_at(bytes, 8, 6);

	(void)state;
	assert_int_equal(rd_u16(&r), 0x0708);
	assert_true(rd_done(&r));
	r = rd_at(bytes, 8, 9);
	assert_false(rd_ok(&r));
	assert_int_equal(rd_left(&r), 0);
	r = rd_init(NULL, 0);
	assert_true(rd_done(&r));
	assert_non_null(rd_ptr(&r));
	assert_int_equal(rd_u8(&r), 0);
	assert_false(rd_ok(&r));
	r = rd_init(NULL, 10); /* no bytes, whatever the length says */
	assert_int_equal(rd_left(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),	cmocka_unit_test(test_sticky),
	    cmocka_unit_test(test_bytes),	cmocka_unit_test(test_sub),
	    cmocka_unit_test(test_at_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
