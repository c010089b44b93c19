#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
static void t_none(void **state) { (void)state; }
int main(void) { const struct CMUnitTest t[] = {cmocka_unit_test(t_none)}; return cmocka_run_group_tests(t, NULL, NULL); }
