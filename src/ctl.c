/* ctl.c - the control socket, served on the main thread's loop (see
 * ctl.h for the protocol). Each connection asks one thing: the answer is
 * written and the connection closed, except `reload`, which waits for the
 * workers to take the new config. Engine verbs live here (stats, reload,
 * top); a service may answer others (the DNS cache's flush and dump). */
#include "config.h"
#include "ctl.h"
#include "engine.h"
#include "log.h"
#include "stats.h"
#include "svc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <unistd.h>

#define CTL_TIMEOUT_S 10

struct ctl_conn {
	struct ctl *c;
	struct bufferevent *bev;
	struct ctl_conn *prev, *next;
	bool waiting;  /* for a reload to finish */
	bool answered; /* the answer is in the output buffer: close once it is written */
};

struct ctl {
	struct engine *e;
	struct evconnlistener *lis;
	char *path;
	struct ctl_conn *conns;
};

static void conn_free(struct ctl_conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		k->c->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	bufferevent_free(k->bev);
	free(k);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *k = arg;

	if (k->answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(k);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *k = arg;

	/* a client that shut its side down still reads the answer to a reload */
	if (k->waiting && (what & BEV_EVENT_EOF)) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_free(k); /* EOF before the answer, an error, or a timeout */
}

/* The answer is in the output buffer: close once it is written. */
static void finish(struct ctl_conn *k)
{
	bufferevent_disable(k->bev, EV_READ);
	k->waiting = false;
	k->answered = true;
	write_cb(k->bev, k);
}

static void verb_stats(struct ctl *c, struct evbuffer *out)
{
	struct evbuffer *m = evbuffer_new();
	char *line;
	size_t n;

	if (!m) {
		evbuffer_add_printf(out, "error out of memory\n");
		return;
	}
	metrics_text(c->e, m);
	evbuffer_add_printf(out, "ok\n");
	/* the /metrics text less its comments and the sluice_ prefix */
	while ((line = evbuffer_readln(m, &n, EVBUFFER_EOL_LF))) {
		if (line[0] != '#')
			evbuffer_add_printf(out, "%s\n",
					    strncmp(line, "sluice_", 7) == 0 ? line + 7 : line);
		free(line);
	}
	evbuffer_free(m);
}

static void top_table(struct stats **st, size_t nst, enum stats_top which, const char *title,
		      size_t n, struct evbuffer *out)
{
	struct topk_item *it = calloc(n, sizeof(*it));
	char buf[64];
	size_t got;

	if (!it)
		return;
	got = stats_top(st, nst, which, it, n);
	evbuffer_add_printf(out, "%s:\n", title);
	for (size_t i = 0; i < got; i++) {
		if (which == STATS_CLIENTS)
			evbuffer_add_printf(out, "  %10llu %s\n", (unsigned long long)it[i].count,
					    stats_client_fmt(&it[i], buf, sizeof(buf)));
		else
			evbuffer_add_printf(out, "  %10llu %.*s%s\n", (unsigned long long)it[i].count,
					    (int)it[i].len, (const char *)it[i].key,
					    it[i].cut ? "..." : "");
	}
	free(it);
}

static void verb_top(struct ctl *c, const char *arg, struct evbuffer *out)
{
	struct stats *st[ENGINE_MAX_WORKERS];
	size_t nst = engine_stats(c->e, st);
	uint64_t n = 10;

	if (arg && sl_parse_dec(arg, 1, STATS_TOP_K, &n) < 0) {
		evbuffer_add_printf(out, "error top: N is a number from 1 to %d\n", STATS_TOP_K);
		return;
	}
	if (!cfg_wants_stats(c->e->cfg)) {
		evbuffer_add_printf(out, "error top: not kept (neither metrics nor control is set)\n");
		return;
	}
	evbuffer_add_printf(out, "ok\n");
	top_table(st, nst, STATS_NAMES, "names", n, out);
	top_table(st, nst, STATS_CLIENTS, "clients", n, out);
	top_table(st, nst, STATS_BLOCKED, "blocked", n, out);
	top_table(st, nst, STATS_SNI, "quic", n, out);
}

static const char help_text[] =
	"ok\n"
	"stats          counters and gauges (as /metrics, without comments)\n"
	"flush [NAME]   empty the DNS cache, or drop every entry for NAME\n"
	"dump           the DNS cache, one entry per line\n"
	"reload         reload the config; answers ok or FILE:LINE: message\n"
	"top [N]        the N most asked names, busiest clients, most blocked names and QUIC "
	"server names (default 10)\n"
	"cache NAME [TYPE]  whether NAME (TYPE, default A) is cached and its TTL left\n";

/* The verb, then its arguments as one string (NULL when none). */
static char *split_verb(char *line, char **arg)
{
	char *verb = line + strspn(line, " \t\r");
	char *end = verb + strcspn(verb, " \t\r");

	*arg = end + strspn(end, " \t\r");
	if (*end)
		*end = '\0';
	(*arg)[strcspn(*arg, "\r")] = '\0';
	if (!**arg)
		*arg = NULL;
	return verb;
}

static void dispatch(struct ctl_conn *k, char *line)
{
	struct evbuffer *out = bufferevent_get_output(k->bev);
	char *arg, *verb = split_verb(line, &arg);
	bool one_word = !arg || !arg[strcspn(arg, " \t")];
	char err[1024];

	if (strcmp(verb, "stats") == 0 && !arg) {
		verb_stats(k->c, out);
	} else if (strcmp(verb, "top") == 0 && one_word) {
		verb_top(k->c, arg, out);
	} else if (strcmp(verb, "help") == 0 && !arg) {
		evbuffer_add(out, help_text, sizeof(help_text) - 1);
	} else if (strcmp(verb, "reload") == 0 && !arg) {
		if (engine_reload(k->c->e, err, sizeof(err)) == 0) {
			k->waiting = true; /* ctl_reload_done answers, however long lists take */
			bufferevent_set_timeouts(k->bev, NULL, NULL);
			return;
		}
		log_err("reload failed, keeping the running config: %s", err);
		evbuffer_add_printf(out, "error %s\n", err);
	} else {
		bool done = false;

		for (int s = 0; s < SVC_COUNT && !done; s++) {
			const struct svc *sv = svc_get((enum svc_id)s);

			done = sv && sv->ctl && sv->ctl(k->c->e, verb, arg, out);
		}
		if (!done)
			evbuffer_add_printf(out, "error unknown command or arguments: '%s%s%s' (try help)\n",
					    verb, arg ? " " : "", arg ? arg : "");
	}
	finish(k);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (k->waiting)
		return;
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > CTL_LINE_MAX) {
			evbuffer_add_printf(bufferevent_get_output(bev), "error request too long\n");
			finish(k);
		}
		return;
	}
	if (n > CTL_LINE_MAX || memchr(line, '\0', n)) {
		evbuffer_add_printf(bufferevent_get_output(bev), "error bad request\n");
		finish(k);
	} else {
		dispatch(k, line);
	}
	free(line);
}

/* Root, or the user sluice runs as: the socket's mode says so too. */
static bool peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* An accept that fails (no descriptor left, above all) would fail again at
 * once, libevent retrying in a loop and logging each try: stop accepting
 * until the engine's next tick (ctl_resume). */
static void accept_error_cb(struct evconnlistener *lis, void *arg)
{
	(void)arg;
	evconnlistener_disable(lis);
}

void ctl_resume(struct ctl *c)
{
	if (c)
		evconnlistener_enable(c->lis);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct ctl *c = arg;
	struct ctl_conn *k;
	struct timeval tv = {CTL_TIMEOUT_S, 0};

	if (!peer_ok(fd) || !(k = calloc(1, sizeof(*k)))) {
		close(fd);
		return;
	}
	k->c = c;
	k->bev = bufferevent_socket_new(c->e->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!k->bev) {
		close(fd);
		free(k);
		return;
	}
	k->next = c->conns;
	if (c->conns)
		c->conns->prev = k;
	c->conns = k;
	bufferevent_setcb(k->bev, read_cb, write_cb, event_cb, k);
	bufferevent_set_timeouts(k->bev, &tv, &tv);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

void ctl_reload_done(struct ctl *c, const char *err)
{
	if (!c)
		return;
	for (struct ctl_conn *k = c->conns, *next; k; k = next) {
		next = k->next;
		if (!k->waiting)
			continue;
		if (err)
			evbuffer_add_printf(bufferevent_get_output(k->bev), "error %s\n", err);
		else
			evbuffer_add_printf(bufferevent_get_output(k->bev),
					    "ok\nconfiguration reloaded from %s\n", c->e->cfg_path);
		finish(k);
	}
}

/* A socket file at path: a live daemon's (refuse), or stale (remove). */
static int clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control: %s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		log_err("control: %s is in use (another sluice is running?)", path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* The socket's directory, made when missing (one level: /run/sluice). */
static int make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((rc = make_dir(path)) < 0)
		return rc;
	if ((rc = clear_stale(path, &sun)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* 0600 from the start: no window where others may connect */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

struct ctl *ctl_start(struct engine *e, const char *path)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int fd = -1;

	if (!c || !(c->path = strdup(path)))
		goto fail;
	c->e = e;
	fd = open_socket(path);
	if (fd < 0) {
		if (fd != -EEXIST && fd != -EADDRINUSE)
			log_err("control: cannot create %s: %s%s", path, strerror(-fd),
				fd == -EACCES ? " (the directory must be writable by the user sluice "
						"runs as, or set before privileges are dropped: restart)"
					      : "");
		goto fail;
	}
	c->lis = evconnlistener_new(e->base, accept_cb, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!c->lis) {
		close(fd);
		unlink(path);
		goto fail;
	}
	evconnlistener_set_error_cb(c->lis, accept_error_cb);
	return c;
fail:
	if (c)
		free(c->path);
	free(c);
	return NULL;
}

/* Write what is left of an answer now, without the loop (the output's
 * start is the bufferevent's to drain: peek at it). Best effort. */
static void last_write(struct ctl_conn *k)
{
	struct evbuffer_iovec v[8];
	int n = evbuffer_peek(bufferevent_get_output(k->bev), -1, NULL, v, 8);
	struct iovec io[8];

	for (int i = 0; i < n && i < 8; i++)
		io[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
	if (n > 0 && writev(bufferevent_getfd(k->bev), io, SL_MIN(n, 8)) < 0)
		log_debug("control: an answer was lost: %s", strerror(errno));
}

void ctl_stop(struct ctl *c)
{
	if (!c)
		return;
	while (c->conns) {
		struct ctl_conn *k = c->conns;

		/* an answer not yet sent (the reload that moved this socket): a
		 * last try, it is short */
		if (k->answered)
			last_write(k);
		conn_free(k);
	}
	evconnlistener_free(c->lis);
	/* after the privilege drop this may fail: the next start replaces it */
	unlink(c->path);
	free(c->path);
	free(c);
}

const char *ctl_path(const struct ctl *c)
{
	return c->path;
}
