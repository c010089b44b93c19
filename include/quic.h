/* quic.h - read the TLS ClientHello (SNI, ALPN) out of a flow's client
 * Initial packets: QUIC v1 (RFC 9000/9001) and v2 (RFC 9369) Initial keys,
 * header protection, AES-128-GCM, CRYPTO frames reassembled across packets. */
#ifndef QUIC_H
#define QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_hello.h"

#define QUIC_VERSION_1 0x00000001u
#define QUIC_VERSION_2 0x6b3343cfu

/** Longest connection ID in v1/v2 long headers. */
#define QUIC_MAX_CID_LEN 20
/** Most CRYPTO stream bytes a sniff buffers; a ClientHello that needs
 *  more (or data placed beyond it) makes the sniff give up. */
#define QUIC_SNIFF_MAX_BYTES 16384
/** Most Initial packets a sniff decrypts before giving up. */
#define QUIC_SNIFF_MAX_PACKETS 16
/** Most datagrams a sniff looks at before giving up. */
#define QUIC_SNIFF_MAX_DGRAMS 32
/** Most coalesced packets looked at in one datagram (real ones hold up
 *  to four: Initial, 0-RTT, Handshake, 1-RTT). */
#define QUIC_SNIFF_MAX_COALESCED 8
/** Most Initial key sets (one per version + DCID) a sniff derives: a
 *  client needs one, one more after a Retry, one more after Version
 *  Negotiation. Each costs five HMAC-SHA256 (HKDF) calls. */
#define QUIC_SNIFF_MAX_KEYS 4
/** Most disjoint CRYPTO ranges held while frames arrive out of order. */
#define QUIC_SNIFF_MAX_RANGES 64

/** Packet-protection material for one direction of the Initial space. */
struct quic_keys {
	uint8_t key[16]; /**< AEAD_AES_128_GCM key */
	uint8_t iv[12];	 /**< AEAD IV, XORed with the packet number */
	uint8_t hp[16];	 /**< AES-128-ECB header protection key */
};

/** Long-header packet types, the same numbering whatever the version. */
enum quic_pkt_type {
	QUIC_PKT_INITIAL,
	QUIC_PKT_0RTT,
	QUIC_PKT_HANDSHAKE,
	QUIC_PKT_RETRY,
	QUIC_PKT_SHORT, /**< short header (1-RTT): runs to the datagram's end */
};

/** A parsed (still protected) packet header. */
struct quic_hdr {
	enum quic_pkt_type type;
	uint32_t version;
	uint8_t dcid_len;
	uint8_t scid_len;
	uint8_t dcid[QUIC_MAX_CID_LEN];
	uint8_t scid[QUIC_MAX_CID_LEN];
	size_t token_len; /**< Initial only */
	size_t pn_off;	  /**< where the protected packet number starts */
	size_t pkt_len;	  /**< bytes of the datagram this packet takes */
};

/**
 * Parse the header of the packet at the start of @pkt (@len bytes to the
 * datagram's end). Returns 0 for a long header of v1/v2 (type, CIDs, pn_off
 * and pkt_len set; Retry and short headers take the rest of the datagram),
 * -EPROTONOSUPPORT for a long header of another version (version set; this
 * includes Version Negotiation, version 0), -EINVAL when truncated or
 * malformed. A short header returns 0 with type QUIC_PKT_SHORT.
 */
int quic_parse_header(const uint8_t *pkt, size_t len, struct quic_hdr *h);

/**
 * The OpenSSL algorithms Initial packets need (HMAC-SHA256 for HKDF,
 * AES-128-GCM, AES-128-ECB), fetched once, and the contexts that use them.
 * One handle serves any number of sniffs, all on one thread: each worker
 * keeps one for its flows.
 */
struct quic_crypto;

/** Fetch the algorithms; NULL when OpenSSL lacks one or memory is short. */
struct quic_crypto *quic_crypto_new(void);

/** Free @c (NULL is fine) once no sniff uses it. */
void quic_crypto_free(struct quic_crypto *c);

/** How many times @c fetched its algorithms: 1, whatever it was used for
 *  (for tests). */
unsigned quic_crypto_fetches(const struct quic_crypto *c);

/**
 * Derive the Initial keys of @version (RFC 9001 5.2, RFC 9369 3.3) from the
 * Destination Connection ID of the client's first Initial (0..20 bytes), for
 * the client's packets or (@is_server) the server's. 0, -EPROTONOSUPPORT for
 * another version, -EINVAL, or -EIO when OpenSSL fails.
 */
int quic_initial_keys(struct quic_crypto *c, uint32_t version, const uint8_t *dcid, size_t dcid_len,
		      bool is_server, struct quic_keys *out);

/**
 * Remove header protection from and decrypt the Initial packet @h in place:
 * @pkt holds the packet's h->pkt_len bytes and is written to. The full
 * packet number is recovered near @largest_pn + 1 (RFC 9000 A.3; pass 0 for
 * a first packet). On success returns 0, sets *pn, and the plaintext frames
 * are pkt[*payload_off .. *payload_off + *payload_len). -EBADMSG when the
 * AEAD tag does not verify, -EINVAL for a packet too short to protect.
 */
int quic_decrypt_initial(struct quic_crypto *c, uint8_t *pkt, const struct quic_hdr *h,
			 const struct quic_keys *keys, uint64_t largest_pn, uint64_t *pn,
			 size_t *payload_off, size_t *payload_len);

/** Per-flow sniffing state (opaque). */
struct quic_sniff;

/** quic_sniff_feed() outcomes. DONE, NOT_QUIC and GIVEUP are final: later
 *  calls return the same value without looking at the datagram. */
enum quic_sniff_result {
	QUIC_SNIFF_MORE,     /**< ClientHello incomplete: feed the next client datagram */
	QUIC_SNIFF_DONE,     /**< ClientHello read: SNI (maybe none) and ALPN available */
	QUIC_SNIFF_NOT_QUIC, /**< not a decryptable v1/v2 client Initial */
	QUIC_SNIFF_GIVEUP,   /**< a bound was hit or the ClientHello is malformed */
};

/** A new sniff decrypting with @c (not owned: it outlives the sniff, and
 *  the sniff is used on @c's thread only); NULL when out of memory. */
struct quic_sniff *quic_sniff_new(struct quic_crypto *c);

/** Free @s (NULL is fine). */
void quic_sniff_free(struct quic_sniff *s);

/**
 * Feed one UDP datagram from the client. Coalesced packets are walked;
 * Initial packets of v1/v2 are decrypted and their CRYPTO frames (in any
 * order, overlapping) gathered; 0-RTT, Handshake and short-header packets
 * are skipped. The walk stops at the first Initial that does not decrypt
 * (the rule is above sniff_open() in quic.c); keys are derived once per
 * version + DCID, QUIC_SNIFF_MAX_KEYS times per sniff at most. Memory
 * stays within QUIC_SNIFF_MAX_BYTES of CRYPTO data. Sniffs that share a
 * struct quic_crypto must be fed from one thread.
 */
enum quic_sniff_result quic_sniff_feed(struct quic_sniff *s, const uint8_t *dgram, size_t len);

/** The ClientHello's host name (lowercase; in DNS presentation form, \DDD
 *  escapes, when it is not a plain host name: see struct tls_hello), or
 *  NULL when there is none, it is over 255 bytes, or the sniff is not DONE. */
const char *quic_sniff_sni(const struct quic_sniff *s);

/** Store up to @max of the ClientHello's ALPN names (valid while @s
 *  lives) in @out; returns how many were stored (0 before DONE). */
size_t quic_sniff_alpn(const struct quic_sniff *s, const char **out, size_t max);

/** The whole parse result once DONE, else NULL. */
const struct tls_hello *quic_sniff_hello(const struct quic_sniff *s);

/** Version of the Initial packets read (0 before one was decrypted). */
uint32_t quic_sniff_version(const struct quic_sniff *s);

/** Initial packets decrypted so far. */
unsigned quic_sniff_packets(const struct quic_sniff *s);

/** Initial key derivations so far: one per distinct version + DCID at
 *  most, QUIC_SNIFF_MAX_KEYS in all. */
unsigned quic_sniff_derivations(const struct quic_sniff *s);

/** AEAD decryptions tried so far (opened or not). */
unsigned quic_sniff_attempts(const struct quic_sniff *s);

/** Initial packets that did not decrypt (each ended its datagram's walk). */
unsigned quic_sniff_failures(const struct quic_sniff *s);

#endif
