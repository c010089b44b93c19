/* cfg_dns.c - the DNS directives: upstream groups, hosts files, rules and
 * cache limits. The lists and geosite codes rules name are the policy's
 * (cfg_policy.c). */
#include "config.h"
#include "dns_conf.h"
#include "dns_iplist.h"
#include "dns_rule.h"
#include "dns_url.h"
#include "dns_zone.h"
#include "list_text.h"
#include "log.h"
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct dns_conf *dc(struct cfg_ctx *ctx)
{
	return ctx->cfg->svc[SVC_DNS];
}

const struct dns_conf *dns_conf_get(const struct cfg *c)
{
	return c->svc[SVC_DNS];
}

static void *grow(void *arr, size_t n, size_t size)
{
	return realloc(arr, (n + 1) * size);
}

struct dns_group *dns_group_find(const struct dns_conf *d, const char *name)
{
	for (size_t i = 0; i < d->n_groups; i++)
		if (strcmp(d->groups[i].name, name) == 0)
			return &d->groups[i];
	return NULL;
}

/* What an https:// server's requests name: PATH, and as :authority
 * AUTH-NAME (the name the server is known by), else HOST; :PORT unless 443. */
static void https_target(struct dns_up_tls *t, const struct dns_url *u)
{
	const char *host = u->auth[0] ? u->auth : u->host;
	bool v6 = !u->auth[0] && !u->is_name && addr_family(&u->addr) == AF_INET6;
	int hl = (int)strcspn(host, "%"); /* an IPv6 scope is not part of a URI's host */
	char port[8] = "";

	if (u->port != 443)
		snprintf(port, sizeof(port), ":%u", u->port);
	snprintf(t->authority, sizeof(t->authority), "%s%.*s%s%s", v6 ? "[" : "", hl, host,
		 v6 ? "]" : "", port);
	snprintf(t->path, sizeof(t->path), "%s", u->path);
}

/* A DNSCrypt server's provider name and key, from its stamp. */
static int add_crypt(struct cfg_ctx *ctx, struct dns_group *g, const struct dns_url *u)
{
	struct dns_up_crypt *c = calloc(1, sizeof(*c));

	if (!c)
		return cfg_error(ctx, "out of memory");
	memcpy(c->provider_pk, u->provider_pk, sizeof(c->provider_pk));
	snprintf(c->provider, sizeof(c->provider), "%s", u->auth);
	g->crypt[g->n] = c;
	g->servers[g->n].crypt = c;
	return 0;
}

/* One URL of an `upstream` line (dns_url.h): an address, or a host name
 * resolved at run time through the bootstrap group. */
static int add_server(struct cfg_ctx *ctx, struct dns_group *g, const char *s)
{
	struct dns_up_server *sv = &g->servers[g->n];
	struct dns_url u;
	char err[256];

	/* The same parser the transport's users rely on: -t refuses what the daemon would. */
	if (dns_url_parse(s, &u, err, sizeof(err)) < 0)
		return cfg_error(ctx, "upstream: %s", err);
	sv->proto = (uint8_t)u.proto;
	sv->addr = u.addr;
	if (u.is_name) {
		g->hosts[g->n] = cfg_note_host(ctx, u.host);
		if (!g->hosts[g->n])
			return -1;
		memset(&sv->addr, 0, sizeof(sv->addr));
		addr_set_port(&sv->addr, u.port);
		g->has_hosts = true;
	}
	if (u.proto == DNS_PROTO_TLS || u.proto == DNS_PROTO_HTTPS) {
		g->tls[g->n] = calloc(1, sizeof(*g->tls[g->n]));
		if (!g->tls[g->n])
			return cfg_error(ctx, "out of memory");
		/* Verified against #AUTH-NAME, else the host name, else the address. */
		snprintf(g->tls[g->n]->auth, sizeof(g->tls[g->n]->auth), "%s",
			 u.auth[0] ? u.auth : u.is_name ? u.host : "");
		sv->tls = g->tls[g->n];
		if (u.proto == DNS_PROTO_HTTPS)
			https_target(g->tls[g->n], &u);
	}
	if (u.proto == DNS_PROTO_DNSCRYPT && add_crypt(ctx, g, &u) < 0)
		return -1;
	g->n++;
	return 0;
}

/* What a group's servers own (also of a group whose line failed half-way). */
static void group_servers_free(struct dns_group *g)
{
	for (size_t j = 0; j < g->n; j++) {
		free(g->tls[j]);
		free(g->crypt[j]);
		g->tls[j] = NULL;
		g->crypt[j] = NULL;
	}
}

static int p_upstream(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);
	struct dns_group *g;

	if (dns_group_find(d, argv[1]))
		return cfg_error(ctx, "upstream: group '%s' is defined twice", argv[1]);
	if (argc - 2 > DNS_MAX_SERVERS + 3)
		return cfg_error(ctx, "upstream: at most %d servers a group", DNS_MAX_SERVERS);
	/* Rules point into groups[]: every group must exist before the first rule. */
	if (policy_get(ctx->cfg)->n_rules)
		return cfg_error(ctx, "upstream: define groups before the first rule");
	g = grow(d->groups, d->n_groups, sizeof(*g));
	if (!g)
		return cfg_error(ctx, "out of memory");
	d->groups = g;
	g = &d->groups[d->n_groups];
	memset(g, 0, sizeof(*g));
	g->file = ctx->file;
	g->line = ctx->line;
	g->index = (unsigned)d->n_groups;
	if (strlen(argv[1]) > 64)
		return cfg_error(ctx, "upstream: group names are at most 64 characters");
	for (int i = 2, rc; i < argc; i++) {
		/* options first, then the servers */
		rc = g->n ? 0 : dns_group_opt_parse(ctx, g, argv[i]);
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		if (g->n == DNS_MAX_SERVERS) {
			group_servers_free(g);
			return cfg_error(ctx, "upstream: at most %d servers a group", DNS_MAX_SERVERS);
		}
		if (add_server(ctx, g, argv[i]) < 0) {
			group_servers_free(g);
			return -1;
		}
	}
	if (g->n == 0)
		return cfg_error(ctx, "upstream: group '%s' has no server", argv[1]);
	g->name = strdup(argv[1]);
	if (!g->name) {
		group_servers_free(g);
		return cfg_error(ctx, "out of memory");
	}
	d->n_groups++;
	return 0;
}

static int set_path(struct cfg_ctx *ctx, char **dst, const char *arg)
{
	free(*dst);
	*dst = cfg_path(ctx, arg);
	return *dst ? 0 : cfg_error(ctx, "out of memory");
}

static int p_query_log(struct cfg_ctx *ctx, int argc, char **argv)
{
	if (strcmp(argv[1], "syslog") == 0) {
		free(dc(ctx)->query_log);
		dc(ctx)->query_log = strdup("syslog");
		return dc(ctx)->query_log ? 0 : cfg_error(ctx, "out of memory");
	}
	return set_path(ctx, &dc(ctx)->query_log, argv[1]);
}

static int p_hosts(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);
	char **f = grow(d->hosts_files, d->n_hosts_files, sizeof(*f));
	int rc;

	if (!f)
		return cfg_error(ctx, "out of memory");
	d->hosts_files = f;
	f[d->n_hosts_files] = cfg_path(ctx, argv[1]);
	if (!f[d->n_hosts_files])
		return cfg_error(ctx, "out of memory");
	d->n_hosts_files++;
	rc = dns_hosts_load(d, f[d->n_hosts_files - 1], policy_list_warn);
	if (rc < 0)
		return cfg_error(ctx, "hosts: cannot read %s: %s", argv[1], strerror(-rc));
	return 0;
}

static int p_rule(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);
	struct dns_rule *r = grow(d->rules, d->n_rules, sizeof(*r));

	if (!r)
		return cfg_error(ctx, "out of memory");
	d->rules = r;
	r = &d->rules[d->n_rules++];
	memset(r, 0, sizeof(*r));
	r->file = ctx->file;
	r->line = ctx->line;
	r->m = policy_matcher_parse(ctx, argv[1], POLICY_RULE | POLICY_RANK(0));
	if (!r->m)
		return -1;
	return dns_action_parse(ctx, d, argc - 2, argv + 2, r);
}

static int p_timeout(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "value", argv[1], 100, 60000, &dc(ctx)->timeout_ms);
}

static int p_cache_size(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "value", argv[1], 0, 10000000, &dc(ctx)->cache_size);
}

static int p_min_ttl(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "value", argv[1], 0, 604800, &dc(ctx)->min_ttl);
}

static int p_max_ttl(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "value", argv[1], 1, 604800, &dc(ctx)->max_ttl);
}

static int p_block_ttl(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "value", argv[1], 0, 604800, &dc(ctx)->block_ttl);
}

static int p_serve_stale(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &dc(ctx)->serve_stale);
}

static int p_prefetch(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &dc(ctx)->prefetch);
}

static int p_foreign(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);

	if (d->foreign)
		return cfg_error(ctx, "foreign: given twice");
	d->foreign = policy_matcher_parse(ctx, argv[1], POLICY_RANK(2));
	if (!d->foreign)
		return -1;
	if (d->foreign->type != POLICY_M_SET && d->foreign->type != POLICY_M_LIST)
		return cfg_error(ctx, "foreign: needs a name matcher (geosite:, list:, domain:, ...)");
	return 0;
}

static int p_tls_ca(struct cfg_ctx *ctx, int argc, char **argv)
{
	return set_path(ctx, &dc(ctx)->tls_ca, argv[1]);
}

/* One TLS context for the config's tls:// and https:// servers (made once they are all read). */
static int setup_tls(struct cfg_ctx *ctx, struct dns_conf *d)
{
	char err[256];
	bool any = false;

	for (size_t i = 0; i < d->n_groups; i++)
		for (size_t j = 0; j < d->groups[i].n; j++)
			any |= d->groups[i].tls[j] != NULL;
	if (!any)
		return 0;
	d->tls_ctx = dns_up_tls_ctx_new(d->tls_ca, err, sizeof(err));
	if (!d->tls_ctx)
		return cfg_error_at(ctx, ctx->cfg->files[0], 0, "%s", err);
	for (size_t i = 0; i < d->n_groups; i++)
		for (size_t j = 0; j < d->groups[i].n; j++)
			if (d->groups[i].tls[j])
				d->groups[i].tls[j]->ctx = d->tls_ctx;
	return 0;
}

static int p_bootstrap(struct cfg_ctx *ctx, int argc, char **argv)
{
	free(dc(ctx)->bootstrap);
	dc(ctx)->bootstrap = strdup(argv[1]);
	return dc(ctx)->bootstrap ? 0 : cfg_error(ctx, "out of memory");
}

/* A group c-ares can ask: addresses only, over UDP or TCP. */
static bool plain_group(const struct dns_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->hosts[i] ||
		    (g->servers[i].proto != DNS_PROTO_UDP && g->servers[i].proto != DNS_PROTO_TCP))
			return false;
	return true;
}

/* The group whose servers resolve the config's host names: `bootstrap`, or
 * the first plain group. */
static int pick_bootstrap(struct cfg_ctx *ctx, struct dns_conf *d)
{
	const struct dns_group *g = NULL;
	struct cfg *c = ctx->cfg;

	if (d->bootstrap) {
		g = dns_group_find(d, d->bootstrap);
		if (!g)
			return cfg_error(ctx, "bootstrap: no upstream group named '%s'", d->bootstrap);
		if (!plain_group(g))
			return cfg_error_at(ctx, g->file, g->line,
					    "bootstrap group '%s' must list server addresses over udp:// "
					    "or tcp://, not names, tls:// or https://",
					    g->name);
	}
	for (size_t i = 0; !g && i < d->n_groups; i++)
		if (plain_group(&d->groups[i]))
			g = &d->groups[i];
	for (size_t i = 0; g && i < g->n && c->n_bootstrap < CFG_MAX_BOOTSTRAP; i++)
		c->bootstrap[c->n_bootstrap++] = g->servers[i].addr;
	return 0;
}

static int p_rate(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_rate(ctx, argc, argv, &dc(ctx)->rate, &dc(ctx)->burst);
}

static int p_0x20(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_bool(ctx, argv[1], &dc(ctx)->x20);
}

static int p_max_udp(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "max-udp-size", argv[1], 512, 65535, &dc(ctx)->max_udp);
}

static int p_inflight(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "dns-inflight-per-client", argv[1], 1, 1000000,
				  &dc(ctx)->inflight_per_client);
}

static int p_tcp_max(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "dns-tcp-max-connections", argv[1], 1, 1000000,
				  &dc(ctx)->tcp_max);
}

static int p_tcp_per_client(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "dns-tcp-connections-per-client", argv[1], 1, 1000000,
				  &dc(ctx)->tcp_per_client);
}

static int p_nftset_min(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "nftset-min-timeout", argv[1], 1, 604800,
				  &dc(ctx)->nftset_min_timeout);
}

static int p_tcp_idle(struct cfg_ctx *ctx, int argc, char **argv)
{
	return cfg_parse_unsigned(ctx, "dns-tcp-idle-timeout", argv[1], 1, 3600,
				  &dc(ctx)->tcp_idle_s);
}

/* ADDR[:PORT], [ADDR%IFACE]:PORT. The interface of a link-local address is
 * looked up when the sockets open, not now: at boot br-lan may come up
 * after `sluice -t` or `sluice rules` run. */
static int listen_addr(const char *s, struct addr *a, char *ifname)
{
	char buf[128];
	const char *pct = strchr(s, '%'), *end;
	size_t il;

	ifname[0] = '\0';
	if (!pct)
		return addr_parse(s, false, 53, a);
	end = strchr(pct, ']');
	il = end ? (size_t)(end - pct - 1) : strlen(pct + 1);
	if (il == 0 || il >= 16 || strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(ifname, pct + 1, il);
	ifname[il] = '\0';
	/* parse with the scope left out; the index comes at start */
	snprintf(buf, sizeof(buf), "%.*s%s", (int)(pct - s), s, end ? end : "");
	if (addr_parse(buf, false, 53, a) < 0 || addr_family(a) != AF_INET6 ||
	    !IN6_IS_ADDR_LINKLOCAL(&a->u.in6.sin6_addr))
		return -EINVAL;
	a->u.in6.sin6_scope_id = UINT32_MAX; /* "has one": set at start */
	return 0;
}

static int p_dns_listen(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);

	for (int i = 1; i < argc; i++) {
		struct addr a;
		int rc;

		if (d->n_listen == DNS_MAX_LISTEN)
			return cfg_error(ctx, "too many dns-listen addresses (at most %d)", DNS_MAX_LISTEN);
		rc = listen_addr(argv[i], &a, d->listen_if[d->n_listen]);
		if (rc < 0 || addr_port(&a) == 0)
			return cfg_error(ctx, "dns-listen: '%s' is not ADDR[:PORT] ([ADDR%%IFACE]:PORT for "
					      "a link-local IPv6 address)", argv[i]);
		if (addr_is_any(&a))
			return cfg_error(ctx, "dns-listen: give the gateway's own addresses, not %s (an "
					      "answer must leave from the address that was asked)", argv[i]);
		if (addr_family(&a) == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a.u.in6.sin6_addr) &&
		    !a.u.in6.sin6_scope_id)
			return cfg_error(ctx, "dns-listen: '%s': a link-local address needs its "
					      "interface, as in [fe80::1%%br-lan]:53", argv[i]);
		for (size_t j = 0; j < d->n_listen; j++)
			if (addr_equal(&d->listen[j], &a))
				return cfg_error(ctx, "dns-listen: %s given twice", argv[i]);
		d->listen[d->n_listen++] = a;
	}
	return 0;
}

/* A zone file's own errors are reported at its FILE:LINE (FILE: for the
 * file as a whole); one it cannot open, at the directive's line. */
static int p_local_zone(struct cfg_ctx *ctx, int argc, char **argv)
{
	struct dns_conf *d = dc(ctx);
	char apex[DNS_NAME_PRES_MAX], other[DNS_NAME_PRES_MAX];
	struct dns_zone_err err;
	struct dns_zone **v, *z;
	struct dns_zone_at *at;
	char *path = cfg_path(ctx, argv[1]);
	int rc;

	if (!path)
		return cfg_error(ctx, "out of memory");
	z = dns_zone_load(path, &err);
	if (!z) {
		rc = err.open ? cfg_error(ctx, "local-zone %s: %s", path, err.msg)
			      : cfg_error_at(ctx, path, err.line, "%s", err.msg);
		free(path);
		return rc;
	}
	dns_zone_apex_text(z, apex);
	for (size_t i = 0; i < d->n_zones; i++) {
		dns_zone_apex_text(d->zones[i], other);
		if (strcmp(apex, other) == 0) {
			dns_zone_free(z);
			rc = cfg_error(ctx, "local-zone %s: a zone for '%s.' is already loaded", path,
				       apex);
			free(path);
			return rc;
		}
	}
	v = grow(d->zones, d->n_zones, sizeof(*v));
	if (v)
		d->zones = v;
	at = v ? grow(d->zone_at, d->n_zones, sizeof(*at)) : NULL;
	if (!at) {
		dns_zone_free(z);
		free(path);
		return cfg_error(ctx, "out of memory");
	}
	d->zone_at = at;
	d->zone_at[d->n_zones] = (struct dns_zone_at){ctx->file, ctx->line};
	d->zones[d->n_zones++] = z;
	log_info("local-zone %s.: %zu records from %s", apex, dns_zone_records(z), path);
	free(path);
	return 0;
}

static int p_cache_file(struct cfg_ctx *ctx, int argc, char **argv)
{
	return set_path(ctx, &dc(ctx)->cache_file, argv[1]);
}

static const struct cfg_directive dns_directives[] = {
	{"upstream", 2, 4 + DNS_MAX_SERVERS, p_upstream, "NAME [OPTIONS] URL...", NULL,
	 "An upstream group: servers tried in order (failover). Each UDP query leaves from a fresh "
	 "socket (random source port) with a random ID and EDNS (1232 bytes); answers truncated "
	 "over UDP are fetched again over TCP. URL: [udp://|tcp://]HOST[:PORT], "
	 "tls://HOST[:PORT][#AUTH-NAME], https://HOST[:PORT][/PATH][#AUTH-NAME] (DNS over HTTPS, "
	 "HTTP/2); HOST is an address, or a name resolved through the bootstrap group; or a DNS "
	 "stamp sdns://...: DNSCrypt (queries encrypted, the server's certificate fetched and "
	 "checked against the stamp's provider key), DoT (as tls://), DoH (as https://), plain "
	 "DNS. OPTIONS: policy=order|parallel|fastest, ecs=ADDR/LEN|strip, leak-check. Its "
	 "sockets carry `mark`."},
	{"geoip", 1, 1, dns_iplist_p_geoip, "FILE", NULL,
	 "A geoip.dat (v2ray/Xray format) for ip-list geoip:CODE sources; only the codes the "
	 "ip-lists name are kept in memory."},
	{"ip-list", 2, 1 + 16, dns_iplist_p_list, "NAME SOURCE...", NULL,
	 "A set of addresses for accept-ip and bogus-nxdomain. SOURCE: cidr:FILE (one prefix or "
	 "address a line, # comments; bad lines are reported and skipped) or geoip:CODE (a code "
	 "of the geoip file; reverse_match is honoured). Several sources are merged."},
	{"bogus-nxdomain", 1, 16, dns_iplist_p_bogus, "LIST...", NULL,
	 "An upstream answer with an A/AAAA address in one of these ip-lists becomes NXDOMAIN "
	 "(with an SOA, TTL block-ttl), as with dnsmasq's bogus-nxdomain. Several allowed."},
	{"hosts", 1, 1, p_hosts, "FILE", NULL,
	 "A hosts file the `hosts` action answers from (several allowed)."},
	{"dns-rule", 2, CFG_MAX_ARGS - 1, p_rule, "MATCHER ACTION [ARGS] [OPTIONS]", NULL,
	 "First match wins. MATCHER: geosite:CODE[@attr], list:NAME, full:D, domain:D, keyword:K, "
	 "regexp:R, qtype:TYPE, client:CIDR, all. ACTION: forward GROUP, passthrough, "
	 "block nxdomain|refused|zero|drop, address IP..., hosts. OPTIONS: no-aaaa, no-ech, ttl=N, "
	 "nftset FAMILY#TABLE#SET[,...] (answer addresses into nftables sets), "
	 "accept-ip LIST else GROUP."},
	{"upstream-timeout", 1, 1, p_timeout, "MS", "2500",
	 "Time a query may spend on its upstream group before the client gets SERVFAIL."},
	{"cache-size", 1, 1, p_cache_size, "N", "10000",
	 "Answers the DNS cache holds (0: no cache); when full, the oldest not hit since stored or "
	 "last spared is evicted (second chance). A reload resizes it (shrinking evicts at once)."},
	{"min-ttl", 1, 1, p_min_ttl, "SECONDS", "0", "Cached answers are kept at least this long."},
	{"max-ttl", 1, 1, p_max_ttl, "SECONDS", "86400", "Cached answers are kept at most this long."},
	{"block-ttl", 1, 1, p_block_ttl, "SECONDS", "300",
	 "TTL of answers sluice makes itself (block, address, hosts)."},
	{"serve-stale", 1, 1, p_serve_stale, "yes|no", "no",
	 "Answer from an expired cache entry (TTL 30) while refreshing it (RFC 8767)."},
	{"prefetch", 1, 1, p_prefetch, "yes|no", "no",
	 "Refresh a cache entry in the background when a hit finds under 10% of its TTL left."},
	{"foreign", 1, 1, p_foreign, "MATCHER", NULL,
	 "Names that must not reach a domestic resolver (e.g. geosite:geolocation-!cn): a rule "
	 "sending one to a group marked leak-check is counted (dns_leaked_foreign)."},
	{"tls-ca", 1, 1, p_tls_ca, "FILE", NULL,
	 "PEM certificates trusted for tls:// and https:// upstreams besides the system's store "
	 "(a private CA)."},
	{"bootstrap", 1, 1, p_bootstrap, "GROUP", "the first group of addresses",
	 "The upstream group whose servers resolve host names given in `upstream` and "
	 "`ntp-redirect` (at start, and again when their TTL runs out)."},
	{"dns-rate-limit", 1, 2, p_rate, "PER_SECOND [BURST]", "off",
	 "DNS queries a client (an IPv4 address, an IPv6 /64) may send, across every worker; more "
	 "are dropped (UDP) or refused (TCP) and counted (dns_rate_limited), and `sluice rules` drops "
	 "UDP ones in the kernel too. BURST: 2x."},
	{"dns-0x20", 1, 1, p_0x20, "yes|no", "no",
	 "Ask upstreams with a random upper/lower case pattern in the name and take only answers "
	 "that echo it exactly (more bits an off-path spoofer must guess)."},
	{"max-udp-size", 1, 1, p_max_udp, "BYTES", "1232",
	 "Largest DNS answer sent over UDP, whatever buffer size the client advertises; larger "
	 "answers go out truncated (TC=1), so clients retry over TCP (no amplification)."},
	{"dns-inflight-per-client", 1, 1, p_inflight, "N", "256",
	 "DNS queries one client (an IPv4 address, an IPv6 /64) may have waiting for upstreams; "
	 "more are dropped (UDP) or refused (TCP) and counted."},
	{"dns-tcp-max-connections", 1, 1, p_tcp_max, "N", "512",
	 "DNS over TCP connections held at once (intercepted and dns-listen); more are refused."},
	{"dns-tcp-connections-per-client", 1, 1, p_tcp_per_client, "N", "32",
	 "DNS over TCP connections one client may hold at once."},
	{"dns-tcp-idle-timeout", 1, 1, p_tcp_idle, "SECONDS", "10",
	 "A DNS over TCP connection with no query waiting is closed after this long."},
	{"dns-listen", 1, DNS_MAX_LISTEN, p_dns_listen, "ADDR[:PORT]...", NULL,
	 "Also answer DNS (UDP and TCP) sent to the gateway's own address, e.g. the one DHCP hands "
	 "out; a link-local IPv6 address needs its interface ([fe80::1%br-lan]:53). Port 53 by "
	 "default. Needs a restart to change."},
	{"query-log", 1, 1, p_query_log, "FILE|syslog", "off",
	 "One line per DNS query: time, client, name, type, action, the deciding rule (FILE:LINE), "
	 "group, the server that answered, rcode, cache (hit, stale, miss), latency in ms. FILE "
	 "is appended to and opened again on SIGUSR2 (for logrotate); it must be writable by "
	 "`user`. syslog: one message per query (LOG_DAEMON, info), which costs more."},
	{"nftset-min-timeout", 1, 1, p_nftset_min, "SECONDS", "60",
	 "Least timeout an address gets in an nftset (a rule's `nftset` option): the answer's TTL, "
	 "but at least this, so a short TTL does not drop a destination while it is in use."},
	{"local-zone", 1, 1, p_local_zone, "FILE", NULL,
	 "Answer the names of a zone file (RFC 1035 format; the SOA names the apex) "
	 "authoritatively, before any dns-rule: records, CNAMEs inside the zone, wildcards, "
	 "NODATA and NXDOMAIN with the SOA. Several allowed; the longest apex wins."},
	{"cache-file", 1, 1, p_cache_file, "FILE", NULL,
	 "Save the DNS cache to FILE at exit (FILE.tmp, then renamed) and read it back at "
	 "start; entries keep what is left of their TTL. A damaged file is logged and ignored."},
	{NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static void dns_init(struct cfg *c)
{
	struct dns_conf *d = calloc(1, sizeof(*d));

	c->svc[SVC_DNS] = d;
	if (!d)
		return;
	d->timeout_ms = 2500;
	d->cache_size = 10000;
	d->max_ttl = 86400;
	d->block_ttl = 300;
	d->max_udp = 1232;
	d->inflight_per_client = 256;
	d->tcp_max = 512;
	d->tcp_per_client = 32;
	d->tcp_idle_s = 10;
	d->nftset_min_timeout = 60;
}

static int dns_finish(struct cfg_ctx *ctx)
{
	struct dns_conf *d = dc(ctx);

	if (!d)
		return cfg_error(ctx, "out of memory");
	if (d->min_ttl > d->max_ttl)
		return cfg_error(ctx, "min-ttl is larger than max-ttl");
	if (pick_bootstrap(ctx, d) < 0 || setup_tls(ctx, d) < 0 || dns_iplist_resolve(ctx, d) < 0)
		return -1;
	return 0;
}

static void dns_free(struct cfg *c)
{
	struct dns_conf *d = c->svc[SVC_DNS];

	if (!d)
		return;
	dns_iplist_free_all(d);
	for (size_t i = 0; i < d->n_groups; i++) {
		free(d->groups[i].name);
		group_servers_free(&d->groups[i]);
	}
	dns_up_tls_ctx_free(d->tls_ctx);
	free(d->tls_ca);
	free(d->query_log);
	for (size_t i = 0; i < d->n_hosts_files; i++)
		free(d->hosts_files[i]);
	list_hosts_free(d->hosts);
	free(d->hosts_files);
	free(d->rules);
	free(d->groups);
	free(d->bootstrap);
	free(d->nftsets);
	for (size_t i = 0; i < d->n_zones; i++)
		dns_zone_free(d->zones[i]);
	free(d->zones);
	free(d->zone_at);
	free(d->cache_file);
	free(d);
	c->svc[SVC_DNS] = NULL;
}

const struct cfg_module cfg_dns_module = {
	"dns", dns_directives, dns_init, dns_finish, dns_free,
};
