/* ipt.c - `sluice rules --iptables` and `--ip6tables`: the same ruleset as
 * nft.c writes, as iptables-restore / ip6tables-restore input, for
 * gateways without nftables. One chain, SLUICE, in the mangle table, jumped
 * to from PREROUTING (and OUTPUT with intercept-local); it never touches
 * other chains' rules. One difference nft does not have: the TPROXY target
 * drops a packet when no socket takes it, so with iptables intercepted ports
 * are always fail-closed. */
#include "config.h"
#include "nft.h"
#include "dns_conf.h"
#include "quic_svc.h"

#include <string.h>

/* At most 15 ports in one multiport match. */
#define IPT_PORTS 15

static void own_marks(const struct cfg *c, const char *chain, FILE *out)
{
	const struct quic_conf *q = quic_conf_get(c);

	fprintf(out, "-A %s -m mark --mark 0x%x -j RETURN\n", chain, c->mark);
	for (size_t i = 0; q && i < q->n_rules; i++)
		if (q->rules[i].action == QUIC_MARK && q->rules[i].mark != c->mark)
			fprintf(out, "-A %s -m mark --mark 0x%x -j RETURN\n", chain, q->rules[i].mark);
}

/* Destinations never intercepted, as in nft.c, plus `bypass`. */
static void bypass(const struct cfg *c, int family, const char *chain, FILE *out)
{
	char list[256], buf[ADDR_STRLEN];

	snprintf(list, sizeof(list), "%s", family == AF_INET ? nft_reserved4 : nft_reserved6);
	for (char *save = NULL, *p = strtok_r(list, ", ", &save); p; p = strtok_r(NULL, ", ", &save))
		fprintf(out, "-A %s -d %s -j RETURN\n", chain, p);
	for (size_t i = 0; i < c->n_bypass; i++)
		if (c->bypass[i].family == family)
			fprintf(out, "-A %s -d %s -j RETURN\n", chain,
				addr_cidr_fmt(&c->bypass[i], buf, sizeof(buf)));
	fprintf(out, "-A %s -m addrtype --dst-type LOCAL -j RETURN\n", chain);
	fprintf(out, "-A %s -m addrtype --dst-type BROADCAST -j RETURN\n", chain);
	fprintf(out, "-A %s -m addrtype --dst-type MULTICAST -j RETURN\n", chain);
}

/* Each run of up to IPT_PORTS of the intercepted ports p: "PREFIX-p PROTO -m multiport --dports P,Q SUFFIX". */
static void per_ports(const struct cfg *c, enum nft_ports p, const char *prefix,
		      const char *suffix, FILE *out)
{
	unsigned n = 0;

	for (size_t i = 0; i < c->n_intercept; i++) {
		if (!nft_port_in(&c->intercept[i], p))
			continue;
		if (n % IPT_PORTS == 0)
			fprintf(out, "%s-p %s -m multiport --dports %u", prefix,
				p == NFT_PORTS_TCP ? "tcp" : "udp", c->intercept[i].port);
		else
			fprintf(out, ",%u", c->intercept[i].port);
		if (++n % IPT_PORTS == 0)
			fprintf(out, " %s\n", suffix);
	}
	if (n % IPT_PORTS)
		fprintf(out, " %s\n", suffix);
}

static const struct addr *listener(const struct cfg *c, int family)
{
	for (size_t i = 0; i < c->n_listen; i++)
		if (addr_family(&c->listen[i]) == family)
			return &c->listen[i];
	for (size_t i = 0; family == AF_INET && i < c->n_listen; i++)
		if (addr_is_any(&c->listen[i]))
			return &c->listen[i];
	return NULL;
}

/* dns-rate-limit (dns) or relay-rate-limit per source, as nft.c writes
 * it, into buf: a hashlimit match and DROP, or "" when off (hashlimit's
 * burst is at most 10,000 and its rate 1,000,000/s). */
static const char *limit_target(const struct cfg *c, bool dns, bool v4, char *buf, size_t len)
{
	struct nft_limit l = nft_limit_of(c, dns);

	if (!l.rate)
		return "";
	snprintf(buf, len,
		 "-m hashlimit --hashlimit-name sluice-%s%d --hashlimit-mode srcip "
		 "--hashlimit-srcmask %d --hashlimit-above %u/sec --hashlimit-burst %u "
		 "--hashlimit-htable-expire 60000 -j DROP",
		 dns ? "dns" : "relay", v4 ? 4 : 6, v4 ? 32 : 64, SL_MIN(l.rate, 1000000u),
		 SL_MIN(l.burst, 10000u));
	return buf;
}

/* Intercepted datagrams over their limits (after the anti-spoofing check). */
static void limits(const struct cfg *c, bool v4, FILE *out)
{
	char target[256];

	for (int dns = 1; dns >= 0; dns--)
		if (*limit_target(c, dns, v4, target, sizeof(target)))
			per_ports(c, dns ? NFT_PORTS_DNS : NFT_PORTS_RELAY, "-A SLUICE ! -i lo ", target,
				  out);
}

/* Datagrams to dns-listen addresses, before the return for local ones. */
static void listen_limits(const struct cfg *c, bool v4, FILE *out)
{
	const struct dns_conf *d = dns_conf_get(c);
	char ip[ADDR_STRLEN], target[256];

	if (!*limit_target(c, true, v4, target, sizeof(target)))
		return;
	for (size_t i = 0; d && i < d->n_listen; i++) {
		const struct addr *a = &d->listen[i];

		if ((addr_family(a) == AF_INET) == v4)
			fprintf(out, "-A SLUICE ! -i lo -d %s -p udp --dport %u %s\n",
				addr_fmt_ip(a, ip, sizeof(ip)), addr_port(a), target);
	}
}

void ipt_print_rules(const struct cfg *c, int family, FILE *out)
{
	const struct addr *l = listener(c, family);
	char ip[ADDR_STRLEN], target[160];
	bool v4 = family == AF_INET;

	fprintf(out, "# %s input for sluice %s (`sluice rules --%s`).\n"
		     "# Load with: sluice rules --%s -c FILE | %s\n"
		     "# The TPROXY target drops what no socket takes: fail-closed always.\n",
		v4 ? "iptables-restore" : "ip6tables-restore", PACKAGE_VERSION,
		v4 ? "iptables" : "ip6tables", v4 ? "iptables" : "ip6tables",
		v4 ? "iptables-restore --noflush" : "ip6tables-restore --noflush");
	fputs("*mangle\n:SLUICE - [0:0]\n", out);
	if (c->n_ifaces) {
		for (size_t i = 0; i < c->n_ifaces; i++)
			fprintf(out, "-A PREROUTING -i %s -j SLUICE\n", c->ifaces[i]);
		if (c->intercept_local) /* the gateway's own rerouted packets come in on lo */
			fputs("-A PREROUTING -i lo -j SLUICE\n", out);
	} else {
		fputs("-A PREROUTING -j SLUICE\n", out);
	}
	own_marks(c, "SLUICE", out);
	listen_limits(c, v4, out);
	bypass(c, family, "SLUICE", out);
	for (int tcp = 0; c->anti_spoof && tcp < 2; tcp++)
		per_ports(c, tcp ? NFT_PORTS_TCP : NFT_PORTS_UDP, "-A SLUICE ! -i lo ",
			  "-m rpfilter --invert -j DROP", out);
	limits(c, v4, out);
	if (l) {
		snprintf(target, sizeof(target), "-j TPROXY --on-ip %s --on-port %u --tproxy-mark 0x%x",
			 addr_is_any(l) ? (v4 ? "0.0.0.0" : "::") : addr_fmt_ip(l, ip, sizeof(ip)),
			 addr_port(l), c->tproxy_mark);
		/* packets of accepted TCP connections find their socket first */
		if (c->n_tcp_intercept) {
			char mark[96];

			snprintf(mark, sizeof(mark), "-m socket --transparent -j MARK --set-mark 0x%x",
				 c->tproxy_mark);
			per_ports(c, NFT_PORTS_TCP, "-A SLUICE ", mark, out);
		}
		for (int tcp = 0; tcp < 2; tcp++)
			per_ports(c, tcp ? NFT_PORTS_TCP : NFT_PORTS_UDP, "-A SLUICE ", target, out);
	}
	if (c->intercept_local) {
		fputs(":SLUICE_OUT - [0:0]\n-A OUTPUT -j SLUICE_OUT\n", out);
		own_marks(c, "SLUICE_OUT", out);
		bypass(c, family, "SLUICE_OUT", out);
		snprintf(target, sizeof(target), "-j MARK --set-mark 0x%x", c->tproxy_mark);
		for (int tcp = 0; tcp < 2; tcp++)
			per_ports(c, tcp ? NFT_PORTS_TCP : NFT_PORTS_UDP, "-A SLUICE_OUT ", target, out);
	}
	fputs("COMMIT\n", out);
}
