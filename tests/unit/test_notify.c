#include "config.h"
/* test_notify.c - notify.c, the sd_notify protocol: nothing happens without
 * $NOTIFY_SOCKET; a path socket and an abstract ('@') one each receive the
 * exact datagram; RELOADING=1 carries CLOCK_MONOTONIC in microseconds;
 * STATUS= stays one line; bad addresses are refused with -EINVAL and a
 * socket nobody listens on with an error, never a crash or a signal. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "notify.h"

struct rx {
	char dir[64];
	char path[96];
	int fd;
};

/* A datagram socket bound to path (abstract when path starts with '@'). */
static int rx_open(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(n < sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
					  (name[0] == '@' ? 0 : 1))),
			 0);
	return fd;
}

/* The next datagram on fd as a string (empty when none is waiting). */
static void rx_read(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
}

static int setup(void **state)
{
	struct rx *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	snprintf(r->dir, sizeof(r->dir), "/tmp/sluice-test-notify-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->path, sizeof(r->path), "%s/notify", r->dir);
	r->fd = -1;
	unsetenv("NOTIFY_SOCKET");
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct rx *r = *state;

	if (r->fd >= 0)
		close(r->fd);
	unlink(r->path);
	rmdir(r->dir);
	free(r);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

static void test_unset(void **state)
{
	(void)state;
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_ready("x"), 0);
	assert_int_equal(notify_reloading(), 0);
	assert_int_equal(notify_stopping(), 0);
}

static void test_path(void **state)
{
	struct rx *r = *state;
	char buf[1024];

	r->fd = rx_open(r->path);
	setenv("NOTIFY_SOCKET", r->path, 1);
	assert_int_equal(notify_send("READY=1"), 1);
	rx_read(r->fd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1");
	/* A second line in the status text is cut, so it cannot forge a variable. */
	assert_int_equal(notify_ready("running\nSTOPPING=1"), 1);
	rx_read(r->fd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=running");
	assert_int_equal(notify_stopping(), 1);
	rx_read(r->fd, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1\nSTATUS=exiting");
	assert_int_equal(notify_sendf("STATUS=%d flows", 42), 1);
	rx_read(r->fd, buf, sizeof(buf));
	assert_string_equal(buf, "STATUS=42 flows");
	/* The variable stays set for the next state change. */
	assert_non_null(getenv("NOTIFY_SOCKET"));
}

static void test_abstract(void **state)
{
	struct rx *r = *state;
	char name[64], buf[1024];
	struct timespec a, b;
	unsigned long long usec, lo, hi;

	snprintf(name, sizeof(name), "@sluice-test-notify-%ld", (long)getpid());
	r->fd = rx_open(name);
	setenv("NOTIFY_SOCKET", name, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(notify_reloading(), 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	rx_read(r->fd, buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	assert_non_null(strstr(buf, "RELOADING=1\nMONOTONIC_USEC="));
	lo = (unsigned long long)a.tv_sec * 1000000ull + (unsigned long long)a.tv_nsec / 1000ull;
	hi = (unsigned long long)b.tv_sec * 1000000ull + (unsigned long long)b.tv_nsec / 1000ull;
	assert_true(usec >= lo && usec <= hi);
	assert_int_equal(notify_ready("reloaded"), 1);
	rx_read(r->fd, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=reloaded");
}

static void test_bad(void **state)
{
	struct rx *r = *state;
	char longp[200];

	(void)r;
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "/", 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	/* sun_path is 108 bytes: a 108-byte path leaves no room for its NUL,
	 * a 108-byte abstract name fits exactly. */
	longp[108] = '\0';
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	longp[0] = '@';
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(notify_send("READY=1"), -ECONNREFUSED);
	/* Nobody listens: an error, not a crash (and no SIGPIPE). */
	setenv("NOTIFY_SOCKET", r->path, 1);
	assert_true(notify_send("READY=1") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abstract, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
