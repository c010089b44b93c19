/* qlog.c - the per-worker query log writer (see qlog.h). */
#include "config.h"
#include "qlog.h"
#include "ctr.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define QLOG_FLUSH_MS 1000

struct qlog {
	struct event *timer;
	const atomic_uint *gen;
	unsigned my_gen;
	char *path; /* NULL: off or syslog */
	bool use_syslog;
	int fd;
	bool failed; /* the last open or write failed (logged once) */
	uint64_t tried_ms; /* the last open, for retries */
	struct ctr *ctr;
	time_t sec; /* the second stamp[] holds */
	char stamp[24], zone[8];
	size_t stamp_len, zone_len, len;
	uint64_t synced_us;  /* when the wall clock was last read (monotonic) */
	int64_t wall_off_ms; /* wall clock minus monotonic then */
	char buf[QLOG_BUF];
};

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	qlog_flush(arg);
}

struct qlog *qlog_new(struct event_base *base, const atomic_uint *gen, struct ctr *ctr)
{
	struct qlog *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->fd = -1;
	l->gen = gen;
	l->ctr = ctr;
	l->my_gen = atomic_load(gen);
	l->sec = -1;
	l->timer = evtimer_new(base, timer_cb, l);
	if (!l->timer) {
		free(l);
		return NULL;
	}
	return l;
}

static void close_file(struct qlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static bool open_file(struct qlog *l)
{
	close_file(l);
	l->tried_ms = sl_now_ms();
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (l->fd < 0) {
		if (!l->failed)
			log_err("query-log: cannot open %s: %s (queries are not logged until it can "
				"be; the file must be writable by the user sluice runs as)",
				l->path, strerror(errno));
		l->failed = true;
		return false;
	}
	if (l->failed)
		log_notice("query-log: writing to %s again", l->path);
	l->failed = false;
	return true;
}

void qlog_free(struct qlog *l)
{
	if (!l)
		return;
	qlog_flush(l);
	close_file(l);
	if (l->timer)
		event_free(l->timer);
	free(l->path);
	free(l);
}

bool qlog_set(struct qlog *l, const char *target)
{
	bool sys = target && strcmp(target, "syslog") == 0;
	const char *path = sys ? NULL : target;

	if (sys == l->use_syslog && (path ? l->path && strcmp(path, l->path) == 0 : !l->path))
		return true; /* unchanged */
	qlog_flush(l);
	close_file(l);
	free(l->path);
	l->path = NULL;
	l->use_syslog = sys;
	l->failed = false;
	if (!path)
		return true;
	if (!(l->path = strdup(path)))
		return false;
	return open_file(l);
}

bool qlog_on(const struct qlog *l)
{
	return l->use_syslog || l->path;
}

void qlog_flush(struct qlog *l)
{
	unsigned g = atomic_load_explicit(l->gen, memory_order_acquire);
	size_t off = 0;

	if (l->path && (g != l->my_gen || l->fd < 0)) {
		l->my_gen = g; /* SIGUSR2, or retrying a file that failed */
		open_file(l);
	}
	while (off < l->len && l->fd >= 0) {
		ssize_t n = write(l->fd, l->buf + off, l->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!l->failed)
				log_err("query-log: cannot write %s: %s", l->path,
					n < 0 ? strerror(errno) : "short write");
			l->failed = true;
			break;
		}
		off += (size_t)n;
	}
	for (size_t i = off; i < l->len; i++) /* the lines lost */
		if (l->buf[i] == '\n')
			ctr_inc(l->ctr, CTR_DNS_QLOG_DROPPED);
	l->len = 0;
}

/* A file that could not be opened is tried again once a second, and
 * after SIGUSR2. */
static bool retry_open(struct qlog *l)
{
	uint64_t now = sl_now_ms();
	unsigned g = atomic_load_explicit(l->gen, memory_order_acquire);

	if (now - l->tried_ms < QLOG_FLUSH_MS && g == l->my_gen)
		return false;
	l->tried_ms = now;
	l->my_gen = g;
	return open_file(l);
}

void qlog_line(struct qlog *l, const char *line, size_t len)
{
	if (l->use_syslog) {
		syslog(LOG_DAEMON | LOG_INFO, "%.*s", (int)len, line);
		ctr_inc(l->ctr, CTR_DNS_QLOG_LINES);
		return;
	}
	if (!l->path)
		return;
	if (l->fd < 0 && !retry_open(l)) {
		ctr_inc(l->ctr, CTR_DNS_QLOG_DROPPED);
		return;
	}
	if (len > QLOG_LINE_MAX)
		len = QLOG_LINE_MAX;
	if (l->len + len + 1 > sizeof(l->buf))
		qlog_flush(l);
	if (l->len == 0 && !evtimer_pending(l->timer, NULL)) {
		struct timeval tv = {QLOG_FLUSH_MS / 1000, (QLOG_FLUSH_MS % 1000) * 1000};

		evtimer_add(l->timer, &tv);
	}
	memcpy(l->buf + l->len, line, len);
	l->len += len;
	l->buf[l->len++] = '\n';
	ctr_inc(l->ctr, CTR_DNS_QLOG_LINES);
}

/* The wall clock is read once a second: between reads it is the monotonic
 * time plus their last difference (a line is stamped to the millisecond;
 * a clock step shows within a second). */
size_t qlog_time(struct qlog *l, uint64_t mono_us, char *buf)
{
	uint64_t wall_ms;
	time_t sec;
	unsigned ms;

	if (mono_us - l->synced_us >= 1000000 || !l->synced_us) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		l->wall_off_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
				 (int64_t)(mono_us / 1000);
		l->synced_us = mono_us;
	}
	wall_ms = (uint64_t)((int64_t)(mono_us / 1000) + l->wall_off_ms);
	sec = (time_t)(wall_ms / 1000);
	ms = (unsigned)(wall_ms % 1000);
	if (sec != l->sec) {
		struct tm tm;

		localtime_r(&sec, &tm);
		l->stamp_len = strftime(l->stamp, sizeof(l->stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		/* the zone offset goes after the milliseconds */
		l->zone_len = strftime(l->zone, sizeof(l->zone), "%z", &tm);
		l->sec = sec;
	}
	memcpy(buf, l->stamp, l->stamp_len);
	buf[l->stamp_len] = '.';
	buf[l->stamp_len + 1] = (char)('0' + ms / 100);
	buf[l->stamp_len + 2] = (char)('0' + ms / 10 % 10);
	buf[l->stamp_len + 3] = (char)('0' + ms % 10);
	memcpy(buf + l->stamp_len + 4, l->zone, l->zone_len + 1);
	return l->stamp_len + 4 + l->zone_len;
}
