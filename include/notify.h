/* notify.h - the systemd readiness protocol (sd_notify(3)) without
 * libsystemd: one AF_UNIX datagram to $NOTIFY_SOCKET per state change. */
#ifndef NOTIFY_H
#define NOTIFY_H

#include "sluice.h"

/**
 * Send msg (newline-separated VAR=VALUE lines, e.g. "READY=1") to the
 * socket $NOTIFY_SOCKET names: a path ("/run/systemd/notify") or, when it
 * starts with '@', an abstract socket. Returns 1 when sent, 0 when
 * NOTIFY_SOCKET is unset or empty (not run by systemd: nothing to do), or
 * -errno (-EINVAL for a relative or too long address). The variable stays
 * set, so every later state change is reported too.
 */
int notify_send(const char *msg);

/** notify_send of a printf-formatted message (at most 512 bytes). */
int notify_sendf(const char *fmt, ...) SL_PRINTF(1, 2);

/** "READY=1" plus a STATUS= line: start-up or a reload is over. */
int notify_ready(const char *status);

/** "RELOADING=1" with MONOTONIC_USEC= (CLOCK_MONOTONIC, as systemd wants it). */
int notify_reloading(void);

/** "STOPPING=1": the process is shutting down. */
int notify_stopping(void);

#endif
