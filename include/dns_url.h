/* dns_url.h - upstream server URLs as the config writes them:
 *   [udp://]HOST[:PORT]            DNS over UDP (TCP after TC), port 53
 *   tcp://HOST[:PORT]              DNS over TCP, port 53
 *   tls://HOST[:PORT][#AUTH-NAME]  DNS over TLS (RFC 7858), port 853
 *   https://HOST[:PORT][/PATH][#AUTH-NAME]
 *                                  DNS over HTTPS (RFC 8484), port 443,
 *                                  PATH /dns-query by default
 *   sdns://STAMP                   a DNS stamp (dns_stamp.h): DNSCrypt, or
 *                                  one of the above
 * HOST is an IPv4 address, an IPv6 address in brackets ([fe80::1%eth0] for
 * a link-local one), or a host name resolved at run time. AUTH-NAME is the
 * name the server's certificate must carry and that goes out as SNI (by
 * default HOST when it is a name, else the address itself is verified). */
#ifndef DNS_URL_H
#define DNS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/** Transports an upstream server can use. */
enum dns_proto { DNS_PROTO_UDP, DNS_PROTO_TCP, DNS_PROTO_TLS, DNS_PROTO_DNSCRYPT, DNS_PROTO_HTTPS };

#define DNS_URL_NAME_MAX 254
#define DNS_URL_PATH_MAX 256

struct dns_url {
	enum dns_proto proto;
	bool is_name;		       /* host is a name, not an address */
	struct addr addr;	       /* when !is_name: the address, with the port */
	uint16_t port;
	char host[DNS_URL_NAME_MAX];   /* as written, without brackets */
	char auth[DNS_URL_NAME_MAX];   /* after '#', "" when none */
	char path[DNS_URL_PATH_MAX];   /* https:// only: from the first '/', "" otherwise */
	uint8_t provider_pk[32];       /* DNSCrypt (a stamp): the provider's Ed25519 key; auth
					  holds the provider name */
};

/** Parse s; on error returns -EINVAL with a reason in err (which may be NULL). */
int dns_url_parse(const char *s, struct dns_url *u, char *err, size_t errlen);

/** The scheme of a transport, "udp", "tcp", "tls", "dnscrypt", "https". */
const char *dns_proto_name(enum dns_proto p);

#endif
