/* fuzz_quic.c - feeds 1-3 client datagrams into one quic_sniff, checks
 * what it reports and what it cost. The input is decoded by
 * seal_fuzz_feed() (tests/unit/quic_seal.h, so test_quic.c can replay
 * corpus files):
 *
 * First byte bit 7 clear: raw datagrams. (byte0 % 3) + 1 datagrams,
 * each but the last as a 2-byte big-endian length and its bytes; the last
 * takes what remains. This reaches header parsing and the AEAD check.
 *
 * Bit 7 set: plaintext packets that the harness seals as real client
 * Initials (v2 when bit 0 is set), so the fuzzer also reaches the frame
 * parser, the CRYPTO reassembly and the ClientHello parser behind the AEAD.
 * ((byte0 >> 1) % 3) + 1 packets, each: one byte (pn length - 1 in bits
 * 0-1, packet number in bits 2-7), a 2-byte payload length, the frames. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic.h"
#include "../tests/unit/quic_seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The contract of tls_hello.h: a plain host name (lowercase letters,
 * digits, '-', '_', '.'), or one that is not (sni_invalid) in presentation
 * form: printable bytes other than '\\' and uppercase as they are, every
 * other byte as \DDD, at most TLS_HELLO_SNI_TEXT_MAX characters. */
static bool sni_text_ok(const char *sni)
{
	size_t len = strlen(sni);

	if (len > TLS_HELLO_SNI_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)sni[i];

		if (c == '\\') {
			if (i + 3 >= len || !(sni[i + 1] >= '0' && sni[i + 1] <= '2'))
				return false;
			if (!(sni[i + 2] >= '0' && sni[i + 2] <= '9') ||
			    !(sni[i + 3] >= '0' && sni[i + 3] <= '9'))
				return false;
			i += 3;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z'))
			return false;
	}
	return true;
}

static void check(struct quic_sniff *s, enum quic_sniff_result r)
{
	const char *sni = quic_sniff_sni(s), *alpn[TLS_HELLO_ALPN_MAX];
	size_t n = quic_sniff_alpn(s, alpn, TLS_HELLO_ALPN_MAX);

	if (r != QUIC_SNIFF_DONE && (sni || n))
		abort();
	if (sni && !sni_text_ok(sni))
		abort();
	for (size_t i = 0; i < n; i++)
		if (strlen(alpn[i]) > TLS_HELLO_ALPN_LEN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quic_crypto *c;
	struct quic_sniff *s;
	enum quic_sniff_result r;
	size_t ndgrams = 0;
	bool sealed;

	if (size < 1)
		return 0;
	/* a handle per input, so inputs stay independent (a worker has one) */
	c = quic_crypto_new();
	s = c ? quic_sniff_new(c) : NULL;
	if (!s)
		goto done;
	r = seal_fuzz_feed(s, data, size, &ndgrams, &sealed);
	check(s, r);
	/* the cost bounds: a key set per version + DCID (the sealed packets
	 * share one DCID), a failed Initial ends its datagram */
	if (quic_sniff_derivations(s) > (sealed ? 1u : QUIC_SNIFF_MAX_KEYS) ||
	    quic_sniff_failures(s) > ndgrams ||
	    quic_sniff_attempts(s) >
		(quic_sniff_packets(s) + quic_sniff_failures(s)) * QUIC_SNIFF_MAX_KEYS)
		abort();
done:
	quic_sniff_free(s);
	quic_crypto_free(c);
	return 0;
}
