/* priv.h - dropping root: switch user, keep the network capabilities. */
#ifndef PRIV_H
#define PRIV_H

/**
 * Switch to user (its uid, gid and groups) keeping only CAP_NET_ADMIN (for
 * transparent sockets and SO_MARK), CAP_NET_RAW (for raw replies) and
 * CAP_NET_BIND_SERVICE (reply sockets bound to ports below 1024).
 * Must run before any thread starts. Started unprivileged, it switches
 * nothing: as that user already it only trims the capabilities, as anyone
 * else it fails with -EPERM. Returns 0 or -errno (logged).
 */
int priv_drop(const char *user);

/**
 * Started without root (no `user` to switch to): log the uid and which of
 * CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE are effective, with a
 * warning naming the missing ones. Does nothing for root.
 */
void priv_report(void);

#endif
