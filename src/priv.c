/* priv.c - privileges. Started as root, sluice opens its sockets and then
 * drops to `user`, keeping three capabilities. Started unprivileged with
 * those capabilities (systemd AmbientCapabilities=, setpriv), it never
 * calls setuid: it reports what it has and runs with it. Capabilities are
 * per thread on Linux, so this runs before the workers start and they
 * inherit the reduced set. */
#include "config.h"
#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

static int set_caps(void)
{
	/* NET_ADMIN: transparent sockets and SO_MARK; NET_RAW: raw replies;
	 * NET_BIND_SERVICE: reply sockets bound to a server's port 53/123/443. */
	cap_value_t keep[] = {CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE};
	cap_t c = cap_init();
	int rc = -1;

	if (!c)
		return -ENOMEM;
	if (cap_set_flag(c, CAP_PERMITTED, 3, keep, CAP_SET) == 0 &&
	    cap_set_flag(c, CAP_EFFECTIVE, 3, keep, CAP_SET) == 0 && cap_set_proc(c) == 0)
		rc = 0;
	else
		rc = -errno;
	cap_free(c);
	return rc;
}

/* The network capabilities sluice uses, for messages. */
static const struct {
	cap_value_t cap;
	const char *name, *why;
} net_caps[] = {
    {CAP_NET_ADMIN, "CAP_NET_ADMIN", "transparent sockets, SO_MARK"},
    {CAP_NET_RAW, "CAP_NET_RAW", "raw replies"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE", "ports below 1024"},
};

void priv_report(void)
{
	char have[128] = "", lack[192] = "";
	cap_flag_value_t v;
	cap_t c;

	if (geteuid() == 0)
		return;
	c = cap_get_proc();
	for (size_t i = 0; i < SL_ARRAY_LEN(net_caps); i++) {
		char *dst = have;
		size_t size = sizeof(have);

		if (!c || cap_get_flag(c, net_caps[i].cap, CAP_EFFECTIVE, &v) < 0 || v != CAP_SET) {
			dst = lack;
			size = sizeof(lack);
		}
		snprintf(dst + strlen(dst), size - strlen(dst), "%s%s", dst[0] ? ", " : "",
			 net_caps[i].name);
		if (dst == lack)
			snprintf(dst + strlen(dst), size - strlen(dst), " (%s)", net_caps[i].why);
	}
	if (c)
		cap_free(c);
	log_info("running unprivileged (uid %u) with %s", (unsigned)geteuid(),
		 have[0] ? have : "no network capabilities");
	if (lack[0])
		log_warn("without %s: what needs them fails (AmbientCapabilities= gives them)",
			 lack);
}

int priv_drop(const char *user)
{
	struct passwd *pw = getpwnam(user);
	int rc;

	if (!pw) {
		log_err("user '%s' does not exist", user);
		return -ENOENT;
	}
	if (geteuid() != 0) {
		/* Started unprivileged (a service manager's User=): nothing to switch. */
		if (geteuid() == pw->pw_uid) {
			rc = set_caps();
			if (rc < 0)
				log_warn("cannot trim the capabilities: %s", strerror(-rc));
			log_info("already running as %s (uid %u)", user, (unsigned)pw->pw_uid);
			return 0;
		}
		log_err("cannot switch to user '%s': not started as root (uid %u); without root, "
			"leave `user` out of the config",
			user, (unsigned)geteuid());
		return -EPERM;
	}
	/* Keep the permitted set across setuid, then trim it to what we need. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		rc = -errno;
		log_err("cannot switch to user '%s': %s", user, strerror(errno));
		return rc;
	}
	rc = set_caps();
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (rc < 0) {
		log_err("cannot keep CAP_NET_ADMIN/CAP_NET_RAW/CAP_NET_BIND_SERVICE: %s",
			strerror(-rc));
		return rc;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("privilege drop failed: could regain root");
		return -EPERM;
	}
	log_info("running as %s (uid %u) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE",
		 user, (unsigned)pw->pw_uid);
	return 0;
}
