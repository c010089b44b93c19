/* cfg_core.c - the engine's directives: listeners, intercepts, marks,
 * caps, privileges and the generated ruleset's options. Each entry of the
 * table is the single source for the parser, `sluice --help` and the docs
 * test. */
#include "config.h"
#include "cfg.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static const unsigned default_timeout[SVC_COUNT] = {
	[SVC_RELAY] = 60, [SVC_DNS] = 17, [SVC_NTP] = 10, [SVC_QUIC] = 120};

static int p_listen(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct cfg *c = ctx->cfg;

	for (int i = 1; i < argc; i++) {
		struct addr a;

		if (c->n_listen == CFG_MAX_LISTEN)
			return cfg_error(ctx, "too many listen addresses (at most %d)", CFG_MAX_LISTEN);
		if (addr_parse(argv[i], true, 0, &a) < 0 || addr_port(&a) == 0)
			return cfg_error(ctx, "listen: '%s' is not ADDR:PORT ([v6]:PORT for IPv6)", argv[i]);
		for (size_t j = 0; j < c->n_listen; j++)
			if (addr_equal(&c->listen[j], &a))
				return cfg_error(ctx, "listen: %s given twice", argv[i]);
		c->listen[c->n_listen++] = a;
	}
	return 0;
}

static int parse_service(struct cfg_ctx *ctx, const char *name, enum svc_id *out)
{
	for (int s = 0; s < SVC_COUNT; s++) {
		if (strcmp(name, cfg_svc_name((enum svc_id)s)) != 0)
			continue;
		if (!svc_get((enum svc_id)s))
			return cfg_error(ctx, "intercept: service '%s' is not built into this sluice", name);
		*out = (enum svc_id)s;
		return 0;
	}
	return cfg_error(ctx, "intercept: unknown service '%s' (relay, dns, ntp or quic)", name);
}

static int p_intercept(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct cfg *c = ctx->cfg;
	struct cfg_intercept ic = {0};
	uint64_t v;

	if (strcmp(argv[1], "udp") != 0 && strcmp(argv[1], "tcp") != 0)
		return cfg_error(ctx, "intercept: protocol must be udp or tcp, not '%s'", argv[1]);
	ic.tcp = argv[1][0] == 't';
	if (cfg_parse_num(ctx, "intercept port", argv[2], 1, 65535, &v) < 0)
		return -1;
	ic.port = (uint16_t)v;
	if (parse_service(ctx, argv[3], &ic.svc) < 0)
		return -1;
	if (ic.tcp && ic.svc != SVC_DNS)
		return cfg_error(ctx, "intercept: only the dns service takes tcp");
	ic.timeout_s = default_timeout[ic.svc];
	for (int i = 4; i < argc; i++) {
		if (ic.tcp)
			return cfg_error(ctx, "intercept tcp: no options (the idle timeout of DNS "
					      "connections is dns-tcp-idle-timeout)");
		if (strncmp(argv[i], "timeout=", 8) != 0)
			return cfg_error(ctx, "intercept: unknown option '%s' (timeout=SECONDS)", argv[i]);
		if (cfg_parse_num(ctx, "timeout", argv[i] + 8, 1, 86400, &v) < 0)
			return -1;
		ic.timeout_s = (unsigned)v;
	}
	if (ic.tcp ? cfg_intercept_find_tcp(c, ic.port) != NULL : c->port_map[ic.port] != 0)
		return cfg_error(ctx, "intercept: %s port %u is already intercepted", argv[1], ic.port);
	if (c->n_intercept == CFG_MAX_INTERCEPT)
		return cfg_error(ctx, "too many intercepts (at most %d)", CFG_MAX_INTERCEPT);
	c->intercept[c->n_intercept++] = ic;
	if (ic.tcp)
		c->n_tcp_intercept++;
	else
		c->port_map[ic.port] = (uint8_t)c->n_intercept;
	return 0;
}

static int p_u32(struct cfg_ctx *ctx, const char *what, const char *s, uint64_t min, uint32_t *out)
{
	uint64_t v;

	if (cfg_parse_num(ctx, what, s, min, 0xffffffffu, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int p_mark(struct cfg_ctx *ctx, int argc, char **argv)
{
	return p_u32(ctx, "mark", argv[1], 1, &ctx->cfg->mark);
}

static int p_tproxy_mark(struct cfg_ctx *ctx, int argc, char **argv)
{
	return p_u32(ctx, "tproxy-mark", argv[1], 1, &ctx->cfg->tproxy_mark);
}

static int p_route_table(struct cfg_ctx *ctx, int argc, char **argv)
{
	return p_u32(ctx, "route-table", argv[1], 1, &ctx->cfg->route_table);
}

static int p_user(struct cfg_ctx *ctx, int argc, char **argv)
{
	free(ctx->cfg->user);
	ctx->cfg->user = strdup(argv[1]);
	return ctx->cfg->user ? 0 : cfg_error(ctx, "out of memory");
}

static int p_workers(struct cfg_ctx *ctx, int argc, char **argv)
{
	if (strcmp(argv[1], "auto") == 0) {
		ctx->cfg->workers = 0;
		return 0;
	}
	return cfg_parse_unsigned(ctx, "workers", argv[1], 1, 256, &ctx->cfg->workers);
}

static int p_max_sessions(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "max-sessions", argv[1], 1, 10000000, &ctx->cfg->max_sessions);
}

static int p_max_per_client(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "max-sessions-per-client", argv[1], 1, 10000000, &ctx->cfg->max_sessions_per_client);
}

static int p_recv_batch(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "recv-batch", argv[1], 1, 256, &ctx->cfg->recv_batch);
}

static int p_fail_closed(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &ctx->cfg->fail_closed);
}

static int p_anti_spoof(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &ctx->cfg->anti_spoof);
}

static int p_intercept_local(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &ctx->cfg->intercept_local);
}

static int p_interface(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct cfg *c = ctx->cfg;

	for (int i = 1; i < argc; i++) {
		if (c->n_ifaces == CFG_MAX_IFACES)
			return cfg_error(ctx, "too many interfaces (at most %d)", CFG_MAX_IFACES);
		if (strlen(argv[i]) >= 16 || strpbrk(argv[i], "\"\\{}; "))
			return cfg_error(ctx, "interface: '%s' is not an interface name", argv[i]);
		c->ifaces[c->n_ifaces] = strdup(argv[i]);
		if (!c->ifaces[c->n_ifaces++])
			return cfg_error(ctx, "out of memory");
	}
	return 0;
}

static int p_bypass(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct cfg *c = ctx->cfg;

	for (int i = 1; i < argc; i++) {
		if (c->n_bypass == CFG_MAX_BYPASS)
			return cfg_error(ctx, "too many bypass prefixes (at most %d)", CFG_MAX_BYPASS);
		if (addr_cidr_parse(argv[i], &c->bypass[c->n_bypass]) < 0)
			return cfg_error(ctx, "bypass: '%s' is not an address or prefix", argv[i]);
		c->n_bypass++;
	}
	return 0;
}

static int p_allow(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct cfg *c = ctx->cfg;

	for (int i = 1; i < argc; i++) {
		if (c->n_allow == CFG_MAX_BYPASS)
			return cfg_error(ctx, "too many allow prefixes (at most %d)", CFG_MAX_BYPASS);
		if (addr_cidr_parse(argv[i], &c->allow[c->n_allow]) < 0)
			return cfg_error(ctx, "allow: '%s' is not an address or prefix", argv[i]);
		c->n_allow++;
	}
	return 0;
}

/* PER_SECOND BURST, as dns-rate-limit and relay-rate-limit write it. */
int cfg_parse_rate(struct cfg_ctx *ctx, int argc, char **argv, unsigned *rate, unsigned *burst)
{
	if (cfg_parse_unsigned(ctx, argv[0], argv[1], 1, 10000000, rate) < 0)
		return -1;
	*burst = *rate * 2;
	if (argc == 3 && cfg_parse_unsigned(ctx, "burst", argv[2], 1, 100000000, burst) < 0)
		return -1;
	return 0;
}

static int p_relay_rate(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_rate(ctx, argc, argv, &ctx->cfg->relay_rate, &ctx->cfg->relay_burst);
}

static int p_metrics(struct cfg_ctx *ctx, int argc, char **argv)
{
	if (addr_parse(argv[1], true, 0, &ctx->cfg->metrics) < 0)
		return cfg_error(ctx, "metrics: '%s' is not ADDR:PORT", argv[1]);
	ctx->cfg->has_metrics = true;
	return 0;
}

static int p_control(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct sockaddr_un sun;

	if (argv[1][0] != '/')
		return cfg_error(ctx, "control: '%s' is not an absolute path", argv[1]);
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		return cfg_error(ctx, "control: path longer than %zu bytes", sizeof(sun.sun_path) - 1);
	free(ctx->cfg->control);
	ctx->cfg->control = strdup(argv[1]);
	return ctx->cfg->control ? 0 : cfg_error(ctx, "out of memory");
}

static const struct cfg_directive core_directives[] = {
	{"listen", 1, CFG_MAX_LISTEN, p_listen, "ADDR:PORT...", NULL,
	 "Transparent listener(s) that nft's tproxy hands datagrams to. One per address family; "
	 "a [::] listener beside a 0.0.0.0 one is IPv6-only. A reload moves them."},
	{"intercept", 3, 4, p_intercept, "udp|tcp PORT SERVICE [timeout=SECONDS]", NULL,
	 "Hand datagrams whose original destination port is PORT to SERVICE (relay, dns, ntp, quic); "
	 "`intercept tcp PORT dns` takes DNS over TCP. Idle timeout defaults: relay 60, dns 17, "
	 "ntp 10, quic 120 seconds."},
	{"mark", 1, 1, p_mark, "N", "0xff",
	 "SO_MARK on every socket sluice opens toward upstreams; the ruleset lets it pass untouched."},
	{"tproxy-mark", 1, 1, p_tproxy_mark, "N", "0x1",
	 "Mark the tproxy rule sets; `ip rule fwmark N lookup TABLE` routes it to the local table."},
	{"route-table", 1, 1, p_route_table, "N", "100",
	 "Routing table holding `local default dev lo` for tproxied packets."},
	{"user", 1, 1, p_user, "NAME", NULL,
	 "After opening the listeners, switch to this user keeping only CAP_NET_ADMIN, CAP_NET_RAW "
	 "and CAP_NET_BIND_SERVICE."},
	{"workers", 1, 1, p_workers, "N|auto", "auto",
	 "Worker threads, each with its own event loop and SO_REUSEPORT listeners (auto: one per "
	 "CPU). A reload changes the count."},
	{"max-sessions", 1, 1, p_max_sessions, "N", "65536",
	 "Most sessions held at once (split evenly across workers); the least recently active is evicted."},
	{"max-sessions-per-client", 1, 1, p_max_per_client, "N", "1024",
	 "Most sessions one client (an IPv4 address, an IPv6 /64) may hold across every worker; its "
	 "least recently active is evicted."},
	{"recv-batch", 1, 1, p_recv_batch, "N", "32", "Datagrams read per recvmmsg call."},
	{"fail-closed", 1, 1, p_fail_closed, "yes|no", "no",
	 "In `sluice rules`: drop intercepted datagrams when sluice is not running (default: they pass "
	 "untouched)."},
	{"anti-spoof", 1, 1, p_anti_spoof, "yes|no", "yes",
	 "In `sluice rules`: drop intercepted traffic whose source address would not be routed back "
	 "out of the interface it came in on (fib saddr . iif oif missing), IPv4 and IPv6."},
	{"intercept-local", 1, 1, p_intercept_local, "yes|no", "no",
	 "In `sluice rules`: also intercept the gateway's own traffic (an output chain)."},
	{"interface", 1, CFG_MAX_IFACES, p_interface, "IFNAME...", "all",
	 "In `sluice rules`: intercept only datagrams arriving on these interfaces (the LAN side)."},
	{"bypass", 1, CFG_MAX_ARGS - 1, p_bypass, "PREFIX...", NULL,
	 "In `sluice rules`: never intercept datagrams to these destinations (besides local, "
	 "loopback, link-local and multicast ones, which are always left alone)."},
	{"allow", 1, CFG_MAX_ARGS - 1, p_allow, "PREFIX...", "everyone",
	 "Only these clients may use the gateway's services; datagrams and connections from others "
	 "are dropped and counted (rx_denied)."},
	{"relay-rate-limit", 1, 2, p_relay_rate, "PER_SECOND [BURST]", "off",
	 "Datagrams a client (an IPv4 address, an IPv6 /64) may send through relay and quic flows, "
	 "across every worker; more are dropped and counted (relay_rate_limited), and `sluice rules` "
	 "drops them in the kernel too. BURST: 2x."},
	{"metrics", 1, 1, p_metrics, "ADDR:PORT", NULL,
	 "Serve counters in Prometheus text format over HTTP at ADDR:PORT (/metrics), with upstream "
	 "latency histograms, and a status page at / (counters, queries per second, top names, "
	 "clients and blocked names, upstream latency, QUIC server names; it refreshes itself)."},
	{"control", 1, 1, p_control, "PATH", "off",
	 "A Unix socket (mode 0600) for `sluice ctl`: stats, flush [NAME], dump, reload, top. "
	 "Made before privileges are dropped (its directory too, when missing); a stale socket "
	 "file is replaced."},
	{NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void core_init(struct cfg *c)
{
	c->mark = 0xff;
	c->tproxy_mark = 1;
	c->route_table = 100;
	c->max_sessions = 65536;
	c->max_sessions_per_client = 1024;
	c->recv_batch = 32;
	c->anti_spoof = true;
}

static int core_finish(struct cfg_ctx *ctx)
{
	struct cfg *c = ctx->cfg;

	if (c->n_listen == 0)
		return cfg_error_at(ctx, c->files[0], 0, "no 'listen' address given");
	if (c->n_intercept == 0)
		return cfg_error_at(ctx, c->files[0], 0, "no 'intercept' given: nothing to do");
	if (c->mark == c->tproxy_mark)
		return cfg_error_at(ctx, c->files[0], 0, "'mark' and 'tproxy-mark' must differ");
	for (size_t i = 0; i < c->n_listen; i++)
		if (c->port_map[addr_port(&c->listen[i])] ||
		    cfg_intercept_find_tcp(c, addr_port(&c->listen[i])))
			return cfg_error_at(ctx, c->files[0], 0,
					    "listen port %u is also an intercepted port", addr_port(&c->listen[i]));
	return 0;
}

static void core_free(struct cfg *c)
{
	free(c->user);
	free(c->control);
	for (size_t i = 0; i < c->n_ifaces; i++)
		free(c->ifaces[i]);
}

const struct cfg_module cfg_core_module = {
	"core", core_directives, core_init, core_finish, core_free,
};
