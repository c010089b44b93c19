/* fuzz_check.h - what the fuzz targets share: CHECK(x) stops the run with
 * a trap (a crash libFuzzer keeps the input of, and that replay.c reports)
 * when an invariant of the code under test does not hold. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#endif
