/* tls_hello.h - read the server name (SNI) and ALPN list out of a TLS
 * ClientHello handshake message (RFC 8446 4.1.2, RFC 6066 3, RFC 7301). */
#ifndef TLS_HELLO_H
#define TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest plain host name (RFC 1035 text form, without the trailing dot). */
#define TLS_HELLO_SNI_MAX 253
/** Longest server_name kept at all, in bytes (a DNS name's wire limit). */
#define TLS_HELLO_SNI_BYTES 255
/** Room for a kept server_name with every byte written \DDD. */
#define TLS_HELLO_SNI_TEXT_MAX (4 * TLS_HELLO_SNI_BYTES)
/** ALPN protocol names kept; later ones are counted in alpn_dropped. */
#define TLS_HELLO_ALPN_MAX 8
/** Longest ALPN protocol name kept (bytes, without the NUL). */
#define TLS_HELLO_ALPN_LEN 31
/** Handshake message type of a ClientHello. */
#define TLS_HELLO_TYPE_CLIENT_HELLO 1

/** What tls_hello_parse() read from one ClientHello. */
struct tls_hello {
	/** Bytes of the whole message (4-byte header + body); on -EAGAIN the
	 *  total the caller must gather before calling again. */
	size_t need;
	/** The host_name from server_name, lowercased, one trailing dot
	 *  removed. One that is not a plain host name (sni_invalid) is kept in
	 *  DNS presentation form, as a query for it would be matched: a byte
	 *  outside 0x21..0x7e, or a '\', is written \DDD ('.' ends a label).
	 *  "" when absent, or longer than TLS_HELLO_SNI_BYTES. */
	char sni[TLS_HELLO_SNI_TEXT_MAX + 1];
	/** A server_name extension carried a host_name. */
	bool has_sni;
	/** ... but it was not a plain LDH/underscore host name of at most
	 *  TLS_HELLO_SNI_MAX (sni holds its escaped form, or ""). */
	bool sni_invalid;
	/** An encrypted_client_hello extension (ECH, 0xfe0d) was present: the
	 *  SNI is then only the outer, public name. */
	bool has_ech;
	/** An ALPN extension was present (it may still list no usable name). */
	bool has_alpn;
	/** ALPN names kept, in the client's order, NUL-terminated. Names
	 *  longer than TLS_HELLO_ALPN_LEN or with bytes outside printable
	 *  ASCII are skipped and counted in alpn_dropped. */
	char alpn[TLS_HELLO_ALPN_MAX][TLS_HELLO_ALPN_LEN + 1];
	size_t alpn_count;
	size_t alpn_dropped;
};

/**
 * Parse a complete handshake message holding a ClientHello: type 1, a
 * 3-byte length, the body. @msg may hold more bytes than the message.
 * Returns 0 (fields of @out set), -EAGAIN when @len is shorter than the
 * message (out->need says how many bytes it takes; nothing else is set), or
 * -EINVAL when the message is not a well-formed ClientHello (wrong type,
 * lengths that do not add up, a duplicated server_name or ALPN extension).
 */
int tls_hello_parse(const uint8_t *msg, size_t len, struct tls_hello *out);

/**
 * Check and normalise a host name as sent in SNI: lowercase it, drop one
 * trailing dot, and accept only labels of [a-z0-9_-] of 1..63 bytes, at
 * most TLS_HELLO_SNI_MAX in all. Writes the result (NUL-terminated) to
 * @out, which holds TLS_HELLO_SNI_MAX + 1 bytes. Returns true when valid.
 */
bool tls_hello_host_valid(const uint8_t *name, size_t len, char *out);

#endif
