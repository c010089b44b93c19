/* dns_stamp.h - DNS stamps, "sdns://" and a base64url (no padding)
 * payload that describes one server (https://dnscrypt.info/stamps-specifications):
 *   0x00 plain DNS   props addr
 *   0x01 DNSCrypt    props addr pk provider-name
 *   0x02 DoH         props addr hashes hostname path [bootstrap]
 *   0x03 DoT         props addr hashes hostname [bootstrap]
 *   0x04 DoQ         props addr hashes hostname [bootstrap]
 * props is 8 bytes little-endian; strings are a length byte then the
 * bytes; hashes (and bootstrap addresses) a set whose lengths carry 0x80
 * while more follow. dns_stamp_url() turns a stamp into the dns_url the
 * rest of sluice uses. */
#ifndef DNS_STAMP_H
#define DNS_STAMP_H

#include <stddef.h>
#include <stdint.h>

struct dns_url;

enum dns_stamp_proto {
	DNS_STAMP_PLAIN = 0x00,
	DNS_STAMP_DNSCRYPT = 0x01,
	DNS_STAMP_DOH = 0x02,
	DNS_STAMP_DOT = 0x03,
	DNS_STAMP_DOQ = 0x04,
	DNS_STAMP_ODOH = 0x05,
	DNS_STAMP_DNSCRYPT_RELAY = 0x81,
	DNS_STAMP_ODOH_RELAY = 0x85,
};

/** Longest stamp text read (a real one is a few hundred characters). */
#define DNS_STAMP_TEXT_MAX 2048
#define DNS_STAMP_STR_MAX 256 /* a string's 255 bytes and a NUL */
#define DNS_STAMP_HASHES 8

struct dns_stamp {
	uint8_t proto; /* enum dns_stamp_proto */
	uint64_t props;
	char addr[DNS_STAMP_STR_MAX]; /* IP, IP:PORT, [IPv6]:PORT, :PORT or "" */
	uint8_t pk[32];		      /* DNSCrypt: the provider's Ed25519 public key */
	char name[DNS_STAMP_STR_MAX]; /* DNSCrypt: provider name; DoH/DoT/DoQ: host[:port] */
	char path[DNS_STAMP_STR_MAX]; /* DoH */
	uint8_t hashes[DNS_STAMP_HASHES][32];
	size_t n_hashes;
};

/**
 * Decode the stamp s ("sdns://..."): every length checked against what is
 * left, strings printable ASCII, nothing after the last field. Relay and
 * ODoH stamps are decoded no further than their protocol byte. 0, or
 * -EINVAL with a reason in err (which may be NULL).
 */
int dns_stamp_parse(const char *s, struct dns_stamp *st, char *err, size_t errlen);

/**
 * The server a stamp stands for, as dns_url_parse() would give it: plain
 * -> udp://ADDR (port 53); DNSCrypt -> a DNSCrypt server at ADDR (port
 * 443), auth is the provider name and provider_pk its key; DoT ->
 * tls://ADDR#HOSTNAME (or tls://HOSTNAME when ADDR has no address; port
 * 853); DoH -> https://ADDR/PATH#HOSTNAME (or https://HOSTNAME/PATH; port
 * 443). DoQ and the rest are refused. 0, or -EINVAL with a reason in err.
 */
int dns_stamp_url(const char *s, struct dns_url *u, char *err, size_t errlen);

#endif
