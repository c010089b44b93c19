/* notify.c - tells the service manager what the process is doing: READY=1
 * once the listeners are open and the workers run, RELOADING=1 and READY=1
 * around a SIGHUP reload, STOPPING=1 at exit (sd_notify(3), the protocol
 * written down in systemd's "sd_notify" man page). It owns nothing between
 * calls: each message opens a datagram socket, sends, closes. It does not
 * decide when to send; engine.c does. Without $NOTIFY_SOCKET (not started
 * by systemd, or Type= is not notify) every call is a no-op. */
#include "config.h"
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The address $NOTIFY_SOCKET names, with its length for sendto; 0 when the
 * variable is unset or empty, -EINVAL when it names no usable address. */
static int notify_addr(struct sockaddr_un *sun, socklen_t *len)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !path[0])
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n > sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	if (path[0] == '@')
		sun->sun_path[0] = '\0'; /* abstract: the name is every byte given, no NUL */
	else if (n == sizeof(sun->sun_path))
		return -EINVAL; /* a path needs room for its NUL */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	return 1;
}

int notify_send(const char *msg)
{
	struct sockaddr_un sun;
	socklen_t len = 0;
	int fd, rc;

	rc = notify_addr(&sun, &len);
	if (rc <= 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = 1;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int notify_sendf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return notify_send(buf); /* a longer message is cut, never overrun */
}

int notify_ready(const char *status)
{
	/* STATUS= runs to the end of its line: keep the text to one line. */
	int n = (int)strcspn(status, "\n");

	return notify_sendf("READY=1\nSTATUS=%.*s", n, status);
}

int notify_reloading(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -errno;
	return notify_sendf("RELOADING=1\nMONOTONIC_USEC=%llu",
			    (unsigned long long)ts.tv_sec * 1000000ull +
				(unsigned long long)ts.tv_nsec / 1000ull);
}

int notify_stopping(void)
{
	return notify_send("STOPPING=1\nSTATUS=exiting");
}
