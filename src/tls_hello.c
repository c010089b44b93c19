#include "config.h"
/* tls_hello.c - reads SNI and ALPN out of a TLS ClientHello message. It
 * owns only the parsing of one complete handshake message, byte by byte
 * through the bounds-checked reader (rd.h); it does not reassemble the message
 * (quic.c does that for QUIC CRYPTO frames) and keeps no state.
 *
 *   Handshake { msg_type(1) = 1; length(3); ClientHello body }
 *   ClientHello {
 *       legacy_version(2); random(32);
 *       legacy_session_id<0..32>;            u8 length
 *       cipher_suites<2..2^16-2>;            u16 length
 *       legacy_compression_methods<1..255>;  u8 length
 *       extensions<8..2^16-1>;               u16 length, absent in old hellos
 *   }
 *   Extension { type(2); extension_data<0..2^16-1> }
 *   server_name (0): ServerNameList<1..2^16-1> of { name_type(1); HostName<1..2^16-1> }
 *   ALPN (16): ProtocolNameList<2..2^16-1> of ProtocolName<1..255>
 */
#include "tls_hello.h"
#include "rd.h"

#include <errno.h>
#include <string.h>

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_ECH 0xfe0d
#define SNI_HOST_NAME 0

bool tls_hello_host_valid(const uint8_t *name, size_t len, char *out)
{
	size_t label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > TLS_HELLO_SNI_MAX)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		char c = (char)name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			if (++label > 63)
				goto bad;
		} else {
			goto bad;
		}
		out[i] = c;
	}
	if (label == 0)
		goto bad; /* "a.b.." */
	out[len] = '\0';
	return true;
bad:
	out[0] = '\0';
	return false;
}

/* A host_name that is no plain host name, for rules all the same: one
 * trailing dot dropped, lowercased, other bytes as the DNS presentation form
 * writes them (dns_msg.c), so that a domain rule matches it by its labels
 * whatever the bytes in front, as it does a query name. "" past 255 bytes. */
static void sni_text(const uint8_t *name, size_t len, char *out)
{
	size_t o = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len && len <= TLS_HELLO_SNI_BYTES; i++) {
		uint8_t c = name[i];

		if (c > 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)((uint8_t)(c - 'A') < 26 ? c | 0x20 : c);
			continue;
		}
		out[o++] = '\\';
		out[o++] = (char)('0' + c / 100);
		out[o++] = (char)('0' + c / 10 % 10);
		out[o++] = (char)('0' + c % 10);
	}
	out[o] = '\0';
}

static int parse_sni(struct rd ext, struct tls_hello *h)
{
	struct rd list = rd_vec(&ext, 2), name;
	uint8_t type;

	if (!rd_done(&ext) || !rd_ok(&list) || rd_left(&list) == 0)
		return -EINVAL;
	while (rd_left(&list) > 0) {
		type = rd_u8(&list);
		name = rd_vec(&list, 2);
		if (!rd_ok(&name) || rd_left(&name) == 0)
			return -EINVAL;
		if (type != SNI_HOST_NAME)
			continue;
		/* RFC 6066: at most one name of a type; two would let a client
		 * show the filter one name and the server another. */
		if (h->has_sni)
			return -EINVAL;
		h->has_sni = true;
		h->sni_invalid = !tls_hello_host_valid(rd_ptr(&name), rd_left(&name), h->sni);
		if (h->sni_invalid)
			sni_text(rd_ptr(&name), rd_left(&name), h->sni);
	}
	return 0;
}

static bool alpn_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	return true;
}

static int parse_alpn(struct rd ext, struct tls_hello *h)
{
	struct rd list = rd_vec(&ext, 2), name;

	if (!rd_done(&ext) || !rd_ok(&list) || rd_left(&list) == 0)
		return -EINVAL;
	h->has_alpn = true;
	while (rd_left(&list) > 0) {
		size_t n;

		name = rd_vec(&list, 1);
		n = rd_left(&name);
		if (!rd_ok(&name) || n == 0)
			return -EINVAL;
		if (h->alpn_count == TLS_HELLO_ALPN_MAX || n > TLS_HELLO_ALPN_LEN ||
		    !alpn_printable(rd_ptr(&name), n)) {
			h->alpn_dropped++;
			continue;
		}
		memcpy(h->alpn[h->alpn_count], rd_ptr(&name), n);
		h->alpn[h->alpn_count][n] = '\0';
		h->alpn_count++;
	}
	return 0;
}

static int parse_extensions(struct rd exts, struct tls_hello *h)
{
	bool seen_sni = false, seen_alpn = false;
	struct rd data;
	uint16_t type;
	int rc;

	while (rd_left(&exts) > 0) {
		type = rd_u16(&exts);
		data = rd_vec(&exts, 2);
		if (!rd_ok(&data))
			return -EINVAL;
		if (type == EXT_SERVER_NAME) {
			if (seen_sni)
				return -EINVAL;
			seen_sni = true;
			rc = parse_sni(data, h);
		} else if (type == EXT_ALPN) {
			if (seen_alpn)
				return -EINVAL;
			seen_alpn = true;
			rc = parse_alpn(data, h);
		} else if (type == EXT_ECH) {
			h->has_ech = true;
			rc = 0;
		} else {
			rc = 0;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_body(struct rd body, struct tls_hello *h)
{
	struct rd sid, suites, comp, exts;

	rd_skip(&body, 2 + 32); /* legacy_version and random */
	sid = rd_vec(&body, 1);
	suites = rd_vec(&body, 2);
	comp = rd_vec(&body, 1);
	if (!rd_ok(&comp) || rd_left(&sid) > 32 || rd_left(&suites) < 2 || rd_left(&suites) % 2 ||
	    rd_left(&comp) < 1)
		return -EINVAL;
	if (rd_left(&body) == 0)
		return 0; /* a pre-extension hello: no SNI, no ALPN */
	exts = rd_vec(&body, 2);
	if (!rd_ok(&exts) || !rd_done(&body))
		return -EINVAL;
	return parse_extensions(exts, h);
}

int tls_hello_parse(const uint8_t *msg, size_t len, struct tls_hello *out)
{
	struct rd r = rd_init(msg, len), body;
	uint8_t type = rd_u8(&r);
	size_t blen = (size_t)rd_uint(&r, 3);
	int rc;

	memset(out, 0, sizeof(*out));
	out->need = 4;
	if (!rd_ok(&r))
		return len >= 1 && msg[0] != TLS_HELLO_TYPE_CLIENT_HELLO ? -EINVAL : -EAGAIN;
	if (type != TLS_HELLO_TYPE_CLIENT_HELLO)
		return -EINVAL;
	out->need = 4 + blen;
	body = rd_sub(&r, blen);
	if (!rd_ok(&body))
		return -EAGAIN;
	rc = parse_body(body, out);
	if (rc < 0) {
		size_t need = out->need;

		memset(out, 0, sizeof(*out));
		out->need = need;
	}
	return rc;
}
