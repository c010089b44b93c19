/* qlog.h - the query log writer (`query-log FILE|syslog`). Each worker has
 * its own: lines gather in a buffer that is written with one write(2) when
 * it fills or a second after its first line, to the file opened O_APPEND
 * (every worker's writes land whole, in the order they are made). After
 * SIGUSR2 the engine bumps a generation number and each worker opens the
 * path again before its next write: logrotate renames the file, signals,
 * and the next lines go to the new one. With `syslog`, one syslog(3)
 * message per line (LOG_DAEMON, LOG_INFO). Not thread-safe: one per worker. */
#ifndef QLOG_H
#define QLOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct qlog;

/** Bytes gathered before a write. */
#define QLOG_BUF 65536

/** Longest line written (longer ones are cut and end in "..."). */
#define QLOG_LINE_MAX 2048

struct ctr;

/**
 * A writer on base that reopens its file when *gen changes; lines it loses
 * (the file cannot be opened or written) count as dns_query_log_dropped
 * in ctr. NULL without memory.
 */
struct qlog *qlog_new(struct event_base *base, const atomic_uint *gen, struct ctr *ctr);

/** Write what is buffered, close, free. NULL is fine. */
void qlog_free(struct qlog *l);

/**
 * Follow the config: target is a file path, "syslog", or NULL (off). A new
 * path is opened now; false (with errno) when it cannot be, and then lines
 * are dropped until a reopen succeeds (logged once per failure).
 */
bool qlog_set(struct qlog *l, const char *target);

/** Is a log configured? (Callers skip formatting when not.) */
bool qlog_on(const struct qlog *l);

/** Add one line (without its newline). */
void qlog_line(struct qlog *l, const char *line, size_t len);

/** Write the buffer now. */
void qlog_flush(struct qlog *l);

/**
 * The wall-clock time at monotonic time mono_us (sl_now_us) as
 * "2026-12-05T10:11:12.345+0100" (local time) into buf (32 bytes); the
 * wall clock is read and the date formatted once per second per writer.
 * Returns the length.
 */
size_t qlog_time(struct qlog *l, uint64_t mono_us, char *buf);

#endif
