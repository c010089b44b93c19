#include "config.h"
/* fuzz_stamp.c - DNS stamps (dns_stamp.c) and the upstream URL parser in
 * front of them (dns_url.c). The input is used twice: as the payload of a
 * stamp (base64url-encoded behind "sdns://", so every byte reaches the
 * field reader) and as URL text (up to its first NUL). Checks: what
 * parses is a server sluice can use (an address with a port, or a name
 * with one; DNSCrypt: an address and a provider name; TLS: a name to verify;
 * HTTPS: a path). */
#include <sodium.h>
#include <string.h>

#include "dns_stamp.h"
#include "dns_url.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static char text[2 * DNS_STAMP_TEXT_MAX + 16];

static void check_url(const char *s)
{
	struct dns_url u;
	char err[300];

	if (dns_url_parse(s, &u, err, sizeof(err)) < 0) {
		CHECK(memchr(err, '\0', sizeof(err)));
		return;
	}
	CHECK(memchr(u.host, '\0', sizeof(u.host)) && memchr(u.auth, '\0', sizeof(u.auth)));
	CHECK(u.port != 0);
	if (!u.is_name)
		CHECK(addr_port(&u.addr) == u.port);
	if (u.proto == DNS_PROTO_DNSCRYPT)
		CHECK(!u.is_name && u.auth[0] != '\0');
	/* https:// (written, or a DoH stamp): a path to ask, nothing else has one */
	CHECK(memchr(u.path, '\0', sizeof(u.path)));
	CHECK(u.proto == DNS_PROTO_HTTPS ? u.path[0] == '/' : u.path[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_stamp st;

	if (size >= DNS_STAMP_TEXT_MAX)
		return 0;
	memcpy(text, "sdns://", 7);
	sodium_bin2base64(text + 7, sizeof(text) - 7, data, size,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (dns_stamp_parse(text, &st, NULL, 0) == 0) {
		CHECK(memchr(st.addr, '\0', sizeof(st.addr)) &&
		      memchr(st.name, '\0', sizeof(st.name)));
		CHECK(st.n_hashes <= DNS_STAMP_HASHES);
	}
	check_url(text);
	memcpy(text, data, size);
	text[size] = '\0';
	check_url(text);
	return 0;
}
