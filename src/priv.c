/* priv.c - privilege drop. Capabilities are per thread on Linux, so this
 * runs before the workers start and they inherit the reduced set. */
#include "config.h"
#include "priv.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
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

int priv_drop(const char *user)
{
	struct passwd *pw = getpwnam(user);
	int rc;

	if (!pw) {
		log_err("user '%s' does not exist", user);
		return -ENOENT;
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
		log_err("cannot keep CAP_NET_ADMIN/CAP_NET_RAW/CAP_NET_BIND_SERVICE: %s", strerror(-rc));
		return rc;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("privilege drop failed: could regain root");
		return -EPERM;
	}
	log_info("running as %s (uid %u) with CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE", user,
		 (unsigned)pw->pw_uid);
	return 0;
}
