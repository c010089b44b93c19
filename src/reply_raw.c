/* reply_raw.c - the raw-socket reply path: builds the IPv4 or IPv6 header
 * and the UDP header (with its checksum) for a reply whose source address
 * and port a local service owns, so sluice can answer without binding. */
#include "config.h"
#include "reply.h"

#include <errno.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

ssize_t reply_build_udp(const struct addr *from, const struct addr *to, const void *payload,
			size_t len, uint8_t *out, size_t outlen)
{
	size_t ipl, ulen = sizeof(struct udphdr) + len, sl, dl;
	const uint8_t *s = addr_ip(from, &sl), *d = addr_ip(to, &dl);
	struct udphdr uh;
	uint32_t sum;
	uint16_t c;

	if (addr_family(from) != addr_family(to) || ulen > 65535)
		return -EINVAL;
	ipl = addr_family(from) == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	if (ipl + ulen > outlen || (ipl == sizeof(struct iphdr) && ipl + ulen > 65535))
		return -EMSGSIZE;
	/* Headers are filled in place and copied: out may have any alignment. */
	if (addr_family(from) == AF_INET) {
		struct iphdr ip = {.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP};

		ip.tot_len = htons((uint16_t)(ipl + ulen)); /* the kernel also fills these */
		memcpy(&ip.saddr, s, 4);
		memcpy(&ip.daddr, d, 4);
		memcpy(out, &ip, sizeof(ip));
	} else {
		struct ip6_hdr ip6 = {.ip6_nxt = IPPROTO_UDP, .ip6_hlim = 64};

		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_plen = htons((uint16_t)ulen);
		memcpy(&ip6.ip6_src, s, 16);
		memcpy(&ip6.ip6_dst, d, 16);
		memcpy(out, &ip6, sizeof(ip6));
	}
	uh.source = htons(addr_port(from));
	uh.dest = htons(addr_port(to));
	uh.len = htons((uint16_t)ulen);
	uh.check = 0;
	memcpy(out + ipl, &uh, sizeof(uh));
	memcpy(out + ipl + sizeof(uh), payload, len);
	/* Pseudo-header: addresses, protocol, UDP length; then header and data. */
	sum = csum_add(0, s, sl);
	sum = csum_add(sum, d, dl);
	sum += IPPROTO_UDP + (uint32_t)ulen;
	sum = csum_add(sum, out + ipl, ulen);
	c = csum_fold(sum);
	if (c == 0)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	out[ipl + 6] = (uint8_t)(c >> 8);
	out[ipl + 7] = (uint8_t)c;
	return (ssize_t)(ipl + ulen);
}

/* RFC 792 / RFC 4443: quote the offending packet (as much as fits). */
#define QUOTE_V4 548 /* 576-byte minimum MTU less the outer headers */
#define QUOTE_V6 1184 /* 1280 less the outer headers */

ssize_t reply_build_unreach(const struct addr *client, const struct addr *dst, const void *payload,
			    size_t len, uint8_t *out, size_t outlen)
{
	bool v4 = addr_family(client) == AF_INET;
	size_t ipl = v4 ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	size_t qmax = v4 ? QUOTE_V4 : QUOTE_V6, icl, ql;
	uint8_t quote[QUOTE_V6 + 64];
	ssize_t n;
	uint32_t sum = 0;
	uint16_t c;

	/* The quoted packet is the client's datagram as it was sent. */
	n = reply_build_udp(client, dst, payload, SL_MIN(len, qmax), quote, sizeof(quote));
	if (n < 0)
		return n;
	ql = SL_MIN((size_t)n, qmax);
	if (v4) { /* the quoted header's total length is the original one */
		uint16_t tot = htons((uint16_t)SL_MIN(len + 28, 65535));

		memcpy(quote + offsetof(struct iphdr, tot_len), &tot, 2);
	}
	icl = 8 + ql;
	if (ipl + icl > outlen)
		return -EMSGSIZE;
	memset(out + ipl, 0, 8);
	if (v4) {
		struct iphdr ip = {.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_ICMP};
		size_t sl;

		ip.tot_len = htons((uint16_t)(ipl + icl));
		memcpy(&ip.saddr, addr_ip(dst, &sl), 4);
		memcpy(&ip.daddr, addr_ip(client, &sl), 4);
		memcpy(out, &ip, sizeof(ip));
		out[ipl] = 3; /* destination unreachable */
		out[ipl + 1] = 3; /* port unreachable */
	} else {
		struct ip6_hdr ip6 = {.ip6_nxt = IPPROTO_ICMPV6, .ip6_hlim = 64};
		size_t sl;

		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_plen = htons((uint16_t)icl);
		memcpy(&ip6.ip6_src, addr_ip(dst, &sl), 16);
		memcpy(&ip6.ip6_dst, addr_ip(client, &sl), 16);
		memcpy(out, &ip6, sizeof(ip6));
		out[ipl] = 1; /* destination unreachable */
		out[ipl + 1] = 4; /* port unreachable */
		sum = csum_add(0, out + offsetof(struct ip6_hdr, ip6_src), 32);
		sum += IPPROTO_ICMPV6 + (uint32_t)icl;
	}
	memcpy(out + ipl + 8, quote, ql);
	sum = csum_add(sum, out + ipl, icl);
	c = csum_fold(sum);
	out[ipl + 2] = (uint8_t)(c >> 8);
	out[ipl + 3] = (uint8_t)c;
	return (ssize_t)(ipl + icl);
}
