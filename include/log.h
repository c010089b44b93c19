/* log.h - logging to stderr or syslog, with a rate limiter for the packet path. */
#ifndef LOG_H
#define LOG_H

#include <stdatomic.h>
#include <syslog.h>
#include "sluice.h"

/** Choose the sink (stderr or syslog) and the most verbose level shown. Start-up only. */
void log_init(bool use_syslog, int max_level);

/** Close syslog if open. */
void log_fini(void);

/** Log one line at a syslog level (LOG_ERR ... LOG_DEBUG). */
void log_msg(int level, const char *fmt, ...) SL_PRINTF(2, 3);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/** Per-call-site limiter: at most `burst` messages per `interval_ms`. */
struct log_limit {
	uint64_t window_start;
	unsigned count;
	unsigned suppressed;
};

/**
 * True when a message may be logged now. Not thread-safe by design: each
 * worker keeps its own limiters.
 */
bool log_limit_ok(struct log_limit *l, unsigned burst, uint64_t interval_ms);

/** Slots a log_once remembers. */
#define LOG_ONCE_SLOTS 64

/**
 * Messages logged once per process (across workers) for a while, such as
 * the reason a server is refused: keyed by a hash of the text. Thread-safe;
 * zero it before use (the engine owns one per service that needs it).
 */
struct log_once {
	_Atomic uint64_t seen[LOG_ONCE_SLOTS];
	_Atomic uint64_t at_ms[LOG_ONCE_SLOTS];
	_Atomic unsigned next;
};

/** True the first time text is seen within window_ms (NULL o: always true). */
bool log_once_first(struct log_once *o, const char *text, uint64_t window_ms);

#endif
