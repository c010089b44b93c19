/* fuzz_quic.c - feeds 1-3 client datagrams into one quic_sniff.
 *
 * Input, first byte bit 7 clear: raw datagrams. (byte0 % 3) + 1 datagrams,
 * each but the last as a 2-byte big-endian length and its bytes; the last
 * takes what remains. This reaches header parsing and the AEAD check.
 *
 * Bit 7 set: plaintext packets that the harness seals as real client
 * Initials (v2 when bit 0 is set), so the fuzzer also reaches the frame
 * parser, the CRYPTO reassembly and the ClientHello parser behind the AEAD.
 * ((byte0 >> 1) % 3) + 1 packets, each: one byte (pn length - 1 in bits
 * 0-1, packet number in bits 2-7), a 2-byte payload length, the frames. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic.h"
#include "../tests/unit/quic_seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_dcid[8] = {0xf0, 0x0d, 0xca, 0xfe, 1, 2, 3, 4};

static size_t take_len(const uint8_t **p, size_t *left)
{
	size_t n;

	if (*left < 2)
		return 0;
	n = (size_t)(*p)[0] << 8 | (*p)[1];
	*p += 2;
	*left -= 2;
	return n < *left ? n : *left;
}

static void check(struct quic_sniff *s, enum quic_sniff_result r)
{
	const char *sni = quic_sniff_sni(s), *alpn[TLS_HELLO_ALPN_MAX];
	size_t n = quic_sniff_alpn(s, alpn, TLS_HELLO_ALPN_MAX);

	if (r != QUIC_SNIFF_DONE && (sni || n))
		abort();
	if (sni) {
		if (strlen(sni) > TLS_HELLO_SNI_MAX)
			abort();
		for (const char *c = sni; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '_' || *c == '.'))
				abort();
	}
	for (size_t i = 0; i < n; i++)
		if (strlen(alpn[i]) > TLS_HELLO_ALPN_LEN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pkt[4200];
	struct quic_crypto *c;
	struct quic_sniff *s;
	enum quic_sniff_result r = QUIC_SNIFF_MORE;
	const uint8_t *p = data + 1;
	size_t left, count;

	if (size < 1)
		return 0;
	/* a handle per input, so inputs stay independent (a worker has one) */
	c = quic_crypto_new();
	s = c ? quic_sniff_new(c) : NULL;
	if (!s)
		goto done;
	left = size - 1;
	if (!(data[0] & 0x80)) {
		count = data[0] % 3 + 1;
		for (size_t i = 0; i < count; i++) {
			size_t n = i + 1 < count ? take_len(&p, &left) : left;

			r = quic_sniff_feed(s, p, n);
			p += n;
			left -= n;
		}
	} else {
		uint32_t version = data[0] & 1 ? QUIC_VERSION_2 : QUIC_VERSION_1;

		count = (data[0] >> 1) % 3 + 1;
		for (size_t i = 0; i < count && left >= 1; i++) {
			uint8_t b = p[0];
			size_t n, len;

			p++;
			left--;
			n = take_len(&p, &left);
			if (n > 4000)
				n = 4000;
			len = seal_initial(version, fuzz_dcid, sizeof(fuzz_dcid), NULL, 0, NULL, 0,
					   b >> 2, (b & 3) + 1u, p, n, pkt, sizeof(pkt));
			p += n;
			left -= n;
			if (len)
				r = quic_sniff_feed(s, pkt, len);
		}
	}
	check(s, r);
done:
	quic_sniff_free(s);
	quic_crypto_free(c);
	return 0;
}
