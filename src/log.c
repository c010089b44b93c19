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
