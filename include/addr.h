/* addr.h - socket addresses: parse, format, compare, hash input, CIDRs. */
#ifndef ADDR_H
#define ADDR_H

#include <netinet/in.h>
#include <sys/socket.h>
#include "sluice.h"

/** An IPv4 or IPv6 socket address; len is the sockaddr length in use. */
struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

/** Room for any formatted address: "[ffff:...:255.255.255.255%iface]:65535". */
#define ADDR_STRLEN 80

/** An address prefix: family, network bytes (in network order), prefix length. */
struct addr_cidr {
	int family;
	uint8_t net[16];
	unsigned prefix;
};

/**
 * Parse "1.2.3.4:53", "[2001:db8::1]:53", or (with need_port false) a bare
 * "1.2.3.4" / "2001:db8::1", whose port is then set to default_port. A
 * link-local IPv6 address may carry its scope: "[fe80::1%eth0]:53" (an
 * interface name or index). Returns 0, -EINVAL, or -ENODEV (no such
 * interface).
 */
int addr_parse(const char *s, bool need_port, uint16_t default_port, struct addr *out);

/** Format as "1.2.3.4:53" or "[2001:db8::1]:53" into buf (ADDR_STRLEN); returns buf. */
const char *addr_fmt(const struct addr *a, char *buf, size_t len);

/** Format the IP only ("1.2.3.4", "2001:db8::1"); returns buf. */
const char *addr_fmt_ip(const struct addr *a, char *buf, size_t len);

/** Fill from a sockaddr of either family; -EAFNOSUPPORT for others. */
int addr_from_sa(struct addr *a, const struct sockaddr *sa, socklen_t len);

/** Turn a v4-mapped IPv6 address (::ffff:a.b.c.d) into plain IPv4, in place. */
void addr_unmap(struct addr *a);

int addr_family(const struct addr *a);
uint16_t addr_port(const struct addr *a);
void addr_set_port(struct addr *a, uint16_t port);

/** Pointer to the raw IP bytes (4 or 16) and their length. */
const uint8_t *addr_ip(const struct addr *a, size_t *len);

/** True when family, IP and port are equal. */
bool addr_equal(const struct addr *a, const struct addr *b);

/** True when family and IP are equal (port ignored). */
bool addr_ip_equal(const struct addr *a, const struct addr *b);

/** True for 0.0.0.0 and ::. */
bool addr_is_any(const struct addr *a);

/**
 * Write a canonical key for hashing: family byte, IP bytes, port (2 bytes).
 * Returns the number of bytes written (at most 19).
 */
size_t addr_key(const struct addr *a, bool with_port, uint8_t *out);

/** Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (full-length prefix). */
int addr_cidr_parse(const char *s, struct addr_cidr *c);

/** True when a's IP lies inside c (v4-mapped addresses match IPv4 prefixes). */
bool addr_cidr_match(const struct addr_cidr *c, const struct addr *a);

/** Format a prefix as "192.0.2.0/24". */
const char *addr_cidr_fmt(const struct addr_cidr *c, char *buf, size_t len);

#endif
