/* nft.c - writes the ruleset for `sluice rules`. One table, inet sluice,
 * so removing sluice's rules never touches anyone else's. The prerouting
 * chain returns early for sluice's own mark and for destinations that must
 * never be intercepted, drops spoofed sources and clients over their
 * rate limits, then tproxies each intercepted port to the listener of its
 * family. nft's tproxy finds no socket when sluice is not
 * running and lets the datagram pass (fail-open); `fail-closed yes` adds a
 * drop after it. */
#include "config.h"
#include "nft.h"
#include "dns_conf.h"
#include "quic_svc.h"

#include <string.h>

/* Destinations never intercepted: this host, loopback, link-local, multicast. */
const char nft_reserved4[] = "0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, "
			    "240.0.0.0/4";
const char nft_reserved6[] = "::/127, ::ffff:0:0/96, fe80::/10, ff00::/8";

/* Every mark sluice puts on its own sockets: `mark` and each quic-rule
 * mark. Traffic carrying any of them is never intercepted again. */
static void print_own_marks(const struct cfg *c, FILE *out)
{
	const struct quic_conf *q = quic_conf_get(c);

	fprintf(out, "\t\tmeta mark { 0x%x", c->mark);
	for (size_t i = 0; q && i < q->n_rules; i++) {
		const struct quic_rule *r = &q->rules[i];
		bool seen = r->mark == c->mark;

		for (size_t j = 0; j < i && !seen; j++)
			seen = q->rules[j].action == QUIC_MARK && q->rules[j].mark == r->mark;
		if (r->action == QUIC_MARK && !seen)
			fprintf(out, ", 0x%x", r->mark);
	}
	fputs(" } return\n", out);
}

static const struct addr *listener(const struct cfg *c, int family)
{
	/* A dual-stack [::] listener also takes IPv4 when no 0.0.0.0 one exists. */
	for (size_t i = 0; i < c->n_listen; i++)
		if (addr_family(&c->listen[i]) == family)
			return &c->listen[i];
	for (size_t i = 0; family == AF_INET && i < c->n_listen; i++)
		if (addr_is_any(&c->listen[i]))
			return &c->listen[i];
	return NULL;
}

bool nft_port_in(const struct cfg_intercept *ic, enum nft_ports p)
{
	switch (p) {
	case NFT_PORTS_UDP:
		return !ic->tcp;
	case NFT_PORTS_TCP:
		return ic->tcp;
	case NFT_PORTS_DNS:
		return !ic->tcp && ic->svc == SVC_DNS;
	case NFT_PORTS_RELAY:
		return !ic->tcp && (ic->svc == SVC_RELAY || ic->svc == SVC_QUIC);
	}
	return false;
}

static enum nft_ports proto_ports(bool tcp)
{
	return tcp ? NFT_PORTS_TCP : NFT_PORTS_UDP;
}

/* The intercepted ports p, as an nft set; false when there are none. */
static bool has_ports(const struct cfg *c, enum nft_ports p)
{
	for (size_t i = 0; i < c->n_intercept; i++)
		if (nft_port_in(&c->intercept[i], p))
			return true;
	return false;
}

static void print_ports(const struct cfg *c, enum nft_ports p, FILE *out)
{
	bool first = true;

	fprintf(out, "%s dport { ", p == NFT_PORTS_TCP ? "tcp" : "udp");
	for (size_t i = 0; i < c->n_intercept; i++) {
		if (!nft_port_in(&c->intercept[i], p))
			continue;
		fprintf(out, "%s%u", first ? "" : ", ", c->intercept[i].port);
		first = false;
	}
	fputs(" }", out);
}

static void print_bypass(const struct cfg *c, FILE *out, int family)
{
	char buf[ADDR_STRLEN];

	fprintf(out, "\tset bypass%d {\n\t\ttype %s; flags interval; auto-merge\n\t\telements = { %s",
		family == AF_INET ? 4 : 6, family == AF_INET ? "ipv4_addr" : "ipv6_addr",
		family == AF_INET ? nft_reserved4 : nft_reserved6);
	for (size_t i = 0; i < c->n_bypass; i++)
		if (c->bypass[i].family == family)
			fprintf(out, ", %s", addr_cidr_fmt(&c->bypass[i], buf, sizeof(buf)));
	fputs(" }\n\t}\n", out);
}

static void print_iif(const struct cfg *c, FILE *out)
{
	if (!c->n_ifaces)
		return;
	fputs("iifname { ", out);
	for (size_t i = 0; i < c->n_ifaces; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", c->ifaces[i]);
	/* The gateway's own rerouted datagrams come in on lo. */
	fputs(c->intercept_local ? ", \"lo\" } " : " } ", out);
}

/* Intercepted traffic whose source would not be routed back out of the
 * interface it came in on is spoofed (strict reverse-path check, BCP 38):
 * dropped before tproxy, so a forged source cannot make sluice answer (or
 * amplify) toward a victim. The gateway's own rerouted traffic comes in on
 * lo and is left alone. */
static void print_anti_spoof(const struct cfg *c, FILE *out)
{
	for (int tcp = 0; c->anti_spoof && tcp < 2; tcp++) {
		if (!has_ports(c, proto_ports(tcp)))
			continue;
		fputs("\t\t", out);
		print_iif(c, out);
		fputs("iif != \"lo\" ", out);
		print_ports(c, proto_ports(tcp), out);
		fputs(" fib saddr . iif oif missing counter drop\n", out);
	}
}

static void print_tproxy(const struct cfg *c, FILE *out, int family, bool tcp)
{
	const struct addr *l = listener(c, family);
	char ip[ADDR_STRLEN];
	const char *fam = family == AF_INET ? "ip" : "ip6";

	if (!l || !has_ports(c, proto_ports(tcp)))
		return;
	fputs("\t\t", out);
	print_iif(c, out);
	fprintf(out, "meta nfproto %s ", family == AF_INET ? "ipv4" : "ipv6");
	print_ports(c, proto_ports(tcp), out);
	if (addr_is_any(l))
		fprintf(out, " tproxy %s to :%u", fam, addr_port(l));
	else if (family == AF_INET)
		fprintf(out, " tproxy ip to %s:%u", addr_fmt_ip(l, ip, sizeof(ip)), addr_port(l));
	else
		fprintf(out, " tproxy ip6 to [%s]:%u", addr_fmt_ip(l, ip, sizeof(ip)), addr_port(l));
	fprintf(out, " meta mark set 0x%x accept\n", c->tproxy_mark);
}

/* ---- dns-rate-limit and relay-rate-limit, per source in the kernel ----
 *
 * A flood over the limit is dropped here, before it fills sluice's socket
 * buffer, where every other client's datagrams would wait behind it. The
 * source is counted as sluice counts a client: a /32, or a /64 for IPv6.
 * sluice's own limiter stays behind it (TCP, and rulesets from elsewhere).
 * The gateway's own datagrams (in on lo) are not limited. */

struct nft_limit nft_limit_of(const struct cfg *c, bool dns)
{
	const struct dns_conf *d = dns_conf_get(c);

	if (dns)
		return (struct nft_limit){"dns_limit", d ? d->rate : 0, d ? d->burst : 0};
	return (struct nft_limit){"relay_limit", c->relay_rate, c->relay_burst};
}

static void print_limit_sets(const struct cfg *c, FILE *out)
{
	for (int dns = 1; dns >= 0; dns--) {
		struct nft_limit l = nft_limit_of(c, dns);

		for (int v6 = 0; l.rate && v6 < 2; v6++)
			fprintf(out, "\tset %s%d {\n\t\ttype %s; size 65536; flags dynamic,timeout; "
				     "timeout 1m\n\t}\n",
				l.set, v6 ? 6 : 4, v6 ? "ipv6_addr" : "ipv4_addr");
	}
}

static void print_limit_update(const struct nft_limit *l, bool v6, FILE *out)
{
	fprintf(out, "update @%s%d { %s limit rate over %u/second burst %u packets } counter drop\n",
		l->set, v6 ? 6 : 4, v6 ? "ip6 saddr & ffff:ffff:ffff:ffff::" : "ip saddr", l->rate,
		l->burst);
}

/* Intercepted datagrams (after the anti-spoofing check, before tproxy). */
static void print_limits(const struct cfg *c, FILE *out)
{
	for (int dns = 1; dns >= 0; dns--) {
		struct nft_limit l = nft_limit_of(c, dns);
		enum nft_ports p = dns ? NFT_PORTS_DNS : NFT_PORTS_RELAY;

		for (int v6 = 0; l.rate && has_ports(c, p) && v6 < 2; v6++) {
			fputs("\t\t", out);
			print_iif(c, out);
			fprintf(out, "iif != \"lo\" meta nfproto %s ", v6 ? "ipv6" : "ipv4");
			print_ports(c, p, out);
			fputs(" ", out);
			print_limit_update(&l, v6, out);
		}
	}
}

/* Datagrams to dns-listen addresses: the early return for local
 * destinations would skip them, so these come before it. */
static void print_listen_limits(const struct cfg *c, FILE *out)
{
	const struct dns_conf *d = dns_conf_get(c);
	struct nft_limit l = nft_limit_of(c, true);
	char ip[ADDR_STRLEN];

	for (size_t i = 0; d && l.rate && i < d->n_listen; i++) {
		const struct addr *a = &d->listen[i];
		bool v6 = addr_family(a) == AF_INET6;

		/* (never the wildcard: cfg_dns.c refuses it) */
		fprintf(out, "\t\tiif != \"lo\" %s daddr %s udp dport %u ", v6 ? "ip6" : "ip",
			addr_fmt_ip(a, ip, sizeof(ip)), addr_port(a));
		print_limit_update(&l, v6, out);
	}
}

void nft_print_routes(const struct cfg *c, FILE *out)
{
	fprintf(out, "ip rule add fwmark 0x%x lookup %u\n", c->tproxy_mark, c->route_table);
	fprintf(out, "ip route add local 0.0.0.0/0 dev lo table %u\n", c->route_table);
	fprintf(out, "ip -6 rule add fwmark 0x%x lookup %u\n", c->tproxy_mark, c->route_table);
	fprintf(out, "ip -6 route add local ::/0 dev lo table %u\n", c->route_table);
}

void nft_print_cleanup(const struct cfg *c, FILE *out)
{
	fputs("nft delete table inet sluice\n", out);
	fprintf(out, "ip rule del fwmark 0x%x lookup %u\n", c->tproxy_mark, c->route_table);
	fprintf(out, "ip route flush table %u\n", c->route_table);
	fprintf(out, "ip -6 rule del fwmark 0x%x lookup %u\n", c->tproxy_mark, c->route_table);
	fprintf(out, "ip -6 route flush table %u\n", c->route_table);
}

static void print_output_chain(const struct cfg *c, FILE *out)
{
	fputs("\n\t# The gateway's own datagrams: mark them so they are routed to lo and\n"
	      "\t# reach prerouting, where tproxy takes them. sluice's own are left alone.\n"
	      "\tchain output {\n\t\ttype route hook output priority mangle; policy accept;\n",
	      out);
	print_own_marks(c, out);
	fputs("\t\tfib daddr type { local, broadcast, multicast } return\n"
	      "\t\tip daddr @bypass4 return\n\t\tip6 daddr @bypass6 return\n",
	      out);
	for (int tcp = 0; tcp < 2; tcp++) {
		if (!has_ports(c, proto_ports(tcp)))
			continue;
		fputs("\t\t", out);
		print_ports(c, proto_ports(tcp), out);
		fprintf(out, " meta mark set 0x%x\n", c->tproxy_mark);
	}
	fputs("\t}\n", out);
}

void nft_print_rules(const struct cfg *c, FILE *out)
{
	fprintf(out, "# nftables ruleset for sluice %s (generated by `sluice rules`).\n"
		     "# Load with: sluice rules -c FILE | nft -f -\n"
		     "# Routing it needs once (`sluice rules --routes` prints these):\n",
		PACKAGE_VERSION);
	fprintf(out, "#   ip rule add fwmark 0x%x lookup %u\n#   ip route add local 0.0.0.0/0 dev lo "
		     "table %u\n#   ip -6 rule add fwmark 0x%x lookup %u\n#   ip -6 route add local "
		     "::/0 dev lo table %u\n",
		c->tproxy_mark, c->route_table, c->route_table, c->tproxy_mark, c->route_table,
		c->route_table);
	if (c->anti_spoof)
		fputs("# Anti-spoofing: intercepted traffic with a source that would not be routed\n"
		      "# back out of its input interface is dropped (anti-spoof no turns it off).\n",
		      out);
	fprintf(out, "# Mode: %s\n\n", c->fail_closed
					     ? "fail-closed (intercepted ports are dropped while sluice is down)"
					     : "fail-open (intercepted ports pass untouched while sluice is down)");
	fputs("table inet sluice\ndelete table inet sluice\n\ntable inet sluice {\n", out);
	print_bypass(c, out, AF_INET);
	print_bypass(c, out, AF_INET6);
	print_limit_sets(c, out);
	fputs("\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy "
	      "accept;\n",
	      out);
	print_own_marks(c, out);
	fprintf(out, "\t\tmeta l4proto != %s return\n", c->n_tcp_intercept ? "{ udp, tcp }" : "udp");
	print_listen_limits(c, out);
	fputs("\t\tfib daddr type { local, broadcast, multicast } return\n"
	      "\t\tip daddr @bypass4 return\n\t\tip6 daddr @bypass6 return\n",
	      out);
	print_anti_spoof(c, out);
	print_limits(c, out);
	for (int tcp = 0; tcp < 2; tcp++) {
		print_tproxy(c, out, AF_INET, tcp);
		print_tproxy(c, out, AF_INET6, tcp);
	}
	/* Only families sluice listens for: it never takes the others anyway. */
	for (int fam = AF_INET; c->fail_closed && fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		for (int tcp = 0; listener(c, fam) && tcp < 2; tcp++) {
			if (!has_ports(c, proto_ports(tcp)))
				continue;
			fputs("\t\t", out);
			print_iif(c, out);
			fprintf(out, "meta nfproto %s ", fam == AF_INET ? "ipv4" : "ipv6");
			print_ports(c, proto_ports(tcp), out);
			fputs(" counter drop\n", out);
		}
	}
	fputs("\t}\n", out);
	if (c->intercept_local)
		print_output_chain(c, out);
	fputs("}\n", out);
}
