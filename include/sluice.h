/* sluice.h - small helpers shared by every module. */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/** Largest UDP payload a datagram can carry; receive buffers hold this much. */
#define SL_MAX_DGRAM 65535

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SL_UNUSED __attribute__((unused))
#define SL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/** Monotonic time in milliseconds (CLOCK_MONOTONIC). */
uint64_t sl_now_ms(void);

/* A relay socket's receive buffer (SL_RELAY_RCVBUF): the datagrams of one
 * busy flow that wait while its worker is off the CPU. A 64-byte datagram
 * takes about 768 bytes of it, so the default (208 KiB) held only ~270;
 * at 300,000 a second that is under a millisecond. */
#define SL_RELAY_RCVBUF (1 << 20)

/* Set fd's receive buffer to bytes: past net.core.rmem_max where the
 * process may (CAP_NET_ADMIN, which sluice keeps), else up to it. The
 * memory is only taken while datagrams wait. */
void sl_rcvbuf(int fd, int bytes);

/** Monotonic time in microseconds (CLOCK_MONOTONIC). */
uint64_t sl_now_us(void);

/** Parse an unsigned integer (decimal digits, or 0x hex) in [min, max]; 0 or -EINVAL/-ERANGE. */
int sl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** Parse a decimal number (digits only, no 0x) in [min, max]; 0 or -EINVAL/-ERANGE. */
int sl_parse_dec(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** Lowercase ASCII letters in place. */
void sl_lower(char *s, size_t len);

/** Strip a trailing '\n' / '\r' and surrounding blanks; returns the new start. */
char *sl_trim(char *s);

#endif
