/* clockstep.c - an LD_PRELOAD shim for the lab: the wall clock of the one
 * process it is loaded into (CLOCK_REALTIME and its coarse and TAI kin,
 * gettimeofday, time) runs ahead or behind by the signed number of seconds
 * written at the start of the file named by $CLOCKSTEP_FILE, read again at
 * every call through a shared mapping. A test steps that process's clock
 * by rewriting the file in place (never truncating it: the mapping must
 * stay readable), without touching the machine's clock. CLOCK_MONOTONIC,
 * CLOCK_BOOTTIME and the CPU clocks are left alone. Built by t_clock.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const volatile char *step_map;

__attribute__((constructor)) static void step_init(void)
{
	const char *path = getenv("CLOCKSTEP_FILE");
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	void *m;

	if (fd < 0)
		return;
	m = mmap(NULL, 32, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m != MAP_FAILED)
		step_map = m;
}

static long long step_s(void)
{
	char buf[32];

	if (!step_map)
		return 0;
	for (size_t i = 0; i < sizeof(buf) - 1; i++)
		buf[i] = step_map[i];
	buf[sizeof(buf) - 1] = '\0';
	return strtoll(buf, NULL, 10);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int rc;

	if (!real)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	rc = real(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI))
		ts->tv_sec += (time_t)step_s();
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	if (tz)
		memset(tz, 0, sizeof(struct timezone));
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
