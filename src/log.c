/* log.c - the log sink. Its two settings are written once at start-up,
 * before any thread exists, and only read afterwards. */
#include "config.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool log_syslog;
static int log_level = LOG_INFO;

void log_init(bool use_syslog, int max_level)
{
	log_syslog = use_syslog;
	log_level = max_level;
	if (use_syslog)
		openlog("sluice", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_fini(void)
{
	if (log_syslog)
		closelog();
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(level, "%s", line);
		return;
	}
	fprintf(stderr, "sluice: %s: %s\n", names[level & 7], line);
}

bool log_limit_ok(struct log_limit *l, unsigned burst, uint64_t interval_ms)
{
	uint64_t now = sl_now_ms();

	if (now - l->window_start >= interval_ms) {
		if (l->suppressed)
			log_msg(LOG_NOTICE, "%u similar messages suppressed", l->suppressed);
		l->window_start = now;
		l->count = 0;
		l->suppressed = 0;
	}
	if (l->count < burst) {
		l->count++;
		return true;
	}
	l->suppressed++;
	return false;
}

/* FNV-1a: a message's key (collisions only cost a message). */
static uint64_t text_hash(const char *t)
{
	uint64_t h = 1469598103934665603ull;

	for (; *t; t++)
		h = (h ^ (uint8_t)*t) * 1099511628211ull;
	return h | 1; /* 0 marks a free slot */
}

bool log_once_first(struct log_once *o, const char *text, uint64_t window_ms)
{
	uint64_t h, now = sl_now_ms();
	unsigned i;

	if (!o)
		return true;
	h = text_hash(text);
	for (i = 0; i < LOG_ONCE_SLOTS; i++)
		if (atomic_load(&o->seen[i]) == h && now - atomic_load(&o->at_ms[i]) < window_ms)
			return false;
	/* Two threads may both log a fresh text once: harmless, and no lock. */
	i = atomic_fetch_add(&o->next, 1) % LOG_ONCE_SLOTS;
	atomic_store(&o->at_ms[i], now);
	atomic_store(&o->seen[i], h);
	return true;
}
