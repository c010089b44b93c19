/* cfg_ntp.c - the NTP directives. Built without the NTP service too
 * (configure --disable-ntp): the directives are then known and refused. */
#include "config.h"
#include "ntp_svc.h"

#include <stdlib.h>
#include <string.h>

#ifdef SL_WITH_NTP
#define NTP_PARSE(f) f
#else
#define NTP_PARSE(f) cfg_not_built
#endif

static struct ntp_conf *nc(struct cfg_ctx *ctx)
{
	return ctx->cfg->svc[SVC_NTP];
}

#ifdef SL_WITH_NTP
static int p_redirect(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct ntp_conf *c = nc(ctx);

	for (int i = 1; i < argc; i++) {
		struct addr *a = &c->servers[c->n_servers];
		uint16_t port;
		int rc;

		if (c->n_servers == NTP_MAX_SERVERS)
			return cfg_error(ctx, "ntp-redirect: at most %d servers", NTP_MAX_SERVERS);
		if (addr_parse(argv[i], false, 123, a) == 0 && addr_port(a) != 0) {
			c->n_servers++;
			continue;
		}
		/* A host name (a pool): resolved at run time, again when its TTL ends. */
		rc = cfg_parse_host(ctx, argv[i], 123, &c->hosts[c->n_servers], &port);
		if (rc < 0)
			return -1;
		if (rc == 0 || strstr(argv[i], "://"))
			return cfg_error(ctx, "ntp-redirect: '%s' is not HOST[:PORT]", argv[i]);
		memset(a, 0, sizeof(*a));
		addr_set_port(a, port);
		c->n_servers++;
	}
	return 0;
}

static int p_local(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &nc(ctx)->local);
}

static int p_stratum(struct cfg_ctx *ctx, int argc, char **argv)
{
	if (strcmp(argv[1], "auto") == 0) {
		nc(ctx)->stratum = 0;
		return 0;
	}
	return cfg_parse_unsigned(ctx, "ntp-stratum", argv[1], 1, 15, &nc(ctx)->stratum);
}

static int p_rate(struct cfg_ctx *ctx, int argc, char **argv)
{
	uint64_t v;

	if (cfg_parse_num(ctx, "ntp-rate-limit", argv[1], 1, 100000, &v) < 0)
		return -1;
	nc(ctx)->rate = (unsigned)v;
	nc(ctx)->burst = (unsigned)v * 2;
	if (argc == 3) {
		if (strncmp(argv[2], "burst=", 6) != 0)
			return cfg_error(ctx, "ntp-rate-limit: unknown option '%s' (burst=N)", argv[2]);
		if (cfg_parse_num(ctx, "burst", argv[2] + 6, 1, 1000000, &v) < 0)
			return -1;
		nc(ctx)->burst = (unsigned)v;
	}
	return 0;
}

#endif /* SL_WITH_NTP */

static const struct cfg_directive ntp_directives[] = {
	{"ntp-redirect", 1, NTP_MAX_SERVERS, NTP_PARSE(p_redirect), "HOST[:PORT]...", NULL,
	 "Send every intercepted NTP client request to these servers at once (from marked "
	 "sockets); the first valid answer returns to the client from the address it asked. "
	 "Requests with a MAC or extension fields (NTS) go unmodified to the server asked."},
	{"ntp-local", 1, 1, NTP_PARSE(p_local), "yes|no", "no",
	 "Answer NTP requests from the gateway's own clock instead; no answer while the kernel "
	 "says the clock is unsynchronised. Requests with a MAC or extension fields (NTS) go "
	 "unmodified to the server asked."},
	{"ntp-stratum", 1, 1, NTP_PARSE(p_stratum), "N|auto", "auto",
	 "Stratum of local answers (auto: 3; the kernel does not say what its source's stratum is)."},
	{"ntp-rate-limit", 1, 2, NTP_PARSE(p_rate), "PER_SECOND [burst=N]", "8 burst=16",
	 "Most NTP requests per second one client address may send; the rest are dropped."},
	{NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void ntp_init(struct cfg *c)
{
	struct ntp_conf *n = calloc(1, sizeof(*n));

	c->svc[SVC_NTP] = n;
	if (n) {
		n->rate = 8;
		n->burst = 16;
	}
}

static int ntp_finish(struct cfg_ctx *ctx)
{
	struct ntp_conf *n = nc(ctx);
	bool used = false;

	if (!n)
		return cfg_error(ctx, "out of memory");
	for (size_t i = 0; i < ctx->cfg->n_intercept; i++)
		used |= ctx->cfg->intercept[i].svc == SVC_NTP;
	if (used && !n->local && n->n_servers == 0)
		return cfg_error(ctx, "intercept ... ntp needs `ntp-redirect SERVER...` or `ntp-local yes`");
	if (n->local && n->n_servers)
		return cfg_error(ctx, "ntp-local and ntp-redirect exclude each other");
	return 0;
}

static void ntp_free(struct cfg *c)
{
	free(c->svc[SVC_NTP]);
	c->svc[SVC_NTP] = NULL;
}

const struct cfg_module cfg_ntp_module = {
	"ntp", ntp_directives, ntp_init, ntp_finish, ntp_free,
};
