/* ctl_cli.c - `sluice ctl`: one request to the control socket, the answer
 * printed (body on stdout, an error on stderr). Exit 0 for "ok", 1 for an
 * error answer or no daemon, 2 for a usage error. */
#include "config.h"
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A reload waits for the lists to load: give it time. */
#define CTL_CLIENT_TIMEOUT_MS 120000

static int connect_to(const char *path, bool quiet)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sluice ctl: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (!quiet)
			fprintf(stderr, "sluice ctl: cannot connect to %s: %s (is sluice running with "
				"`control %s`?)\n",
			path, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_request(int fd, int argc, char **argv)
{
	char line[CTL_LINE_MAX + 2];
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (n + l + 2 > sizeof(line)) {
			fprintf(stderr, "sluice ctl: request too long\n");
			return -1;
		}
		if (i)
			line[n++] = ' ';
		memcpy(line + n, argv[i], l);
		n += l;
	}
	line[n++] = '\n';
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "sluice ctl: write: %s\n", strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* Read the whole answer (until the daemon closes); NULL on error. */
static char *read_all(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, CTL_CLIENT_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "sluice ctl: no answer\n");
			break;
		}
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "sluice ctl: read: %s\n", strerror(errno));
			break;
		}
		if (r == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

int ctl_ask(const char *path, int argc, char **argv, char **answer, size_t *len, bool quiet)
{
	int fd = connect_to(path, quiet);

	*answer = NULL;
	if (fd < 0)
		return -1;
	if (send_request(fd, argc, argv) < 0 || !(*answer = read_all(fd, len))) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int ctl_client(const char *path, int argc, char **argv)
{
	char *ans, *body;
	size_t len = 0, first;
	int rc = 1;

	if (argc < 1) {
		fprintf(stderr, "usage: sluice ctl [-s SOCKET] "
				"stats|flush [NAME]|dump|reload|top [N]|cache NAME [TYPE]|help\n");
		return 2;
	}
	if (ctl_ask(path, argc, argv, &ans, &len, false) < 0)
		return 1;
	body = strchr(ans, '\n');
	first = body ? (size_t)(body - ans) : len;
	body = body ? body + 1 : ans + len;
	if (first == 2 && strncmp(ans, "ok", 2) == 0) {
		fwrite(body, 1, len - (size_t)(body - ans), stdout);
		rc = 0;
	} else if (first > 6 && strncmp(ans, "error ", 6) == 0) {
		fprintf(stderr, "sluice ctl: %.*s\n", (int)(first - 6), ans + 6);
		fwrite(body, 1, len - (size_t)(body - ans), stderr);
	} else {
		fprintf(stderr, "sluice ctl: unexpected answer from %s\n", path);
	}
	free(ans);
	return rc;
}
