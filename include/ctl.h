/* ctl.h - the control socket (`control PATH`) and `sluice ctl`.
 *
 * Protocol: the client connects to the Unix stream socket, sends one line
 * "VERB [ARG]\n" and reads until the daemon closes. The first line of the
 * reply is "ok" or "error MESSAGE"; what follows is the body. Verbs: stats,
 * flush [NAME], dump, reload, top [N], help. The socket is mode 0600 and
 * the daemon also checks the peer's credentials (root or its own user). */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct evbuffer;
struct ctl;

/** Longest request line. */
#define CTL_LINE_MAX 512

/** Where `sluice ctl` connects when neither -s nor the config says. */
#define CTL_DEFAULT_PATH "/run/sluice/sluice.sock"

/**
 * Create the socket at path (replacing a stale one, never a live one) and
 * serve it on e's loop. NULL with the reason logged.
 */
struct ctl *ctl_start(struct engine *e, const char *path);

/** Stop serving, close waiting clients, remove the socket file if it can. NULL is fine. */
void ctl_stop(struct ctl *c);

/** The path it serves. */
const char *ctl_path(const struct ctl *c);

/** A reload ended: answer the clients waiting for it (err NULL: it worked). */
void ctl_reload_done(struct ctl *c, const char *err);

/**
 * Send argv (joined by spaces) to the socket at path and read the whole
 * answer into *answer (malloc'd, NUL-terminated, *len bytes). -1 when
 * there is no daemon or the exchange failed (said on stderr unless quiet).
 */
int ctl_ask(const char *path, int argc, char **argv, char **answer, size_t *len, bool quiet);
/** Accept again if an accept error (no descriptor left) paused the socket; NULL is fine. */
void ctl_resume(struct ctl *c);

/** The client: send argv (joined by spaces) to the socket at path, print the reply. Exit code. */
int ctl_client(const char *path, int argc, char **argv);

#endif
