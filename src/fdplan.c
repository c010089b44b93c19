/* fdplan.c - the descriptor plan (see fdplan.h). The numbers: a fixed
 * reserve for listeners, event loops, the metrics and control sockets and
 * logging; a quarter of the rest for DNS (at least 64); a cache of reply
 * sockets per worker of at most 256; and what remains for sessions at the
 * descriptors one session may hold (a reply socket and one upstream socket
 * each, or what its service says: NTP has one per ntp-redirect server). */
#include "config.h"
#include "fdplan.h"
#include "svc.h"

#include <sys/resource.h>

#define RESERVE_FIXED 64
#define RESERVE_PER_WORKER 16
#define REPLY_CACHE_MAX 256
#define REPLY_CACHE_MIN 8
#define DNS_FDS_MIN 64
#define SESSIONS_MIN 16

unsigned long fdplan_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1ul << 20 : (unsigned long)rl.rlim_cur;
}

/* Descriptors one session holds at most: its connected reply socket and
 * its upstream legs, as its service says. */
static unsigned fds_per_session(const struct cfg *c)
{
	unsigned most = 2;

	for (size_t i = 0; i < c->n_intercept; i++) {
		const struct svc *s = c->intercept[i].tcp ? NULL : svc_get(c->intercept[i].svc);
		unsigned n = s && s->flow_fds ? s->flow_fds(c) : 2;

		most = n > most ? n : most;
	}
	return most;
}

void fdplan_make(const struct cfg *c, unsigned nworkers, size_t nsocks, unsigned long nofile,
		 struct fdplan *out)
{
	unsigned long fixed = RESERVE_FIXED + nworkers * (c->n_listen + nsocks + RESERVE_PER_WORKER);
	unsigned long avail = nofile > fixed ? nofile - fixed : 0, flows;
	unsigned long reply = avail / 16 / (nworkers ? nworkers : 1);

	out->nofile = nofile;
	out->nworkers = nworkers;
	out->reply_cache = (unsigned)(reply > REPLY_CACHE_MAX ? REPLY_CACHE_MAX
				      : reply < REPLY_CACHE_MIN ? REPLY_CACHE_MIN : reply);
	out->dns_fds = avail / 4 > DNS_FDS_MIN ? avail / 4 : DNS_FDS_MIN;
	reply = (unsigned long)out->reply_cache * nworkers;
	flows = avail > reply + out->dns_fds ? (avail - reply - out->dns_fds) / fds_per_session(c) : 0;
	if (flows < SESSIONS_MIN)
		flows = SESSIONS_MIN;
	out->max_sessions = c->max_sessions;
	out->lowered = flows < c->max_sessions;
	if (out->lowered)
		out->max_sessions = (unsigned)flows;
	out->max_per_client = c->max_sessions_per_client < out->max_sessions
				      ? c->max_sessions_per_client
				      : out->max_sessions;
}

unsigned fdplan_share(unsigned total, unsigned nworkers, unsigned id)
{
	unsigned n = nworkers ? nworkers : 1;
	unsigned share = total / n + (id < total % n ? 1 : 0);

	return share ? share : 1;
}
