#include "config.h"
/* fuzz_dnscrypt_resp.c - an encrypted DNSCrypt answer (dnscrypt.c), as
 * dns_up.c and dns_up_tcp.c take one: input byte 0 picks the encryption
 * system (bit 0: XChacha20), the rest is the datagram or TCP frame. The
 * nonce it carries is looked up (dnscrypt_answer_nonce), then the answer
 * is opened in place with the fixed session (dnscrypt_fuzz.h) and what
 * comes out inspected as a DNS answer. Checks: an answer opens only if
 * it is long enough, and shrinks by at least header, MAC and a padding byte. */
#include <string.h>

#include "dns_msg.h"
#include "dnscrypt_fuzz.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static struct fuzz_keys keys;
static struct dnscrypt_session sess[2];
static int ready;
static uint8_t buf[65536];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer_info ai;
	struct dnscrypt_cert c;
	const uint8_t *nonce;
	int n;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		fuzz_keys(&keys);
		for (int i = 0; i < 2; i++) {
			fuzz_cert(&keys, (uint16_t)(i + 1), &c);
			if (dnscrypt_session_init(&sess[i], &c, keys.client_pk, keys.client_sk) < 0)
				return 0;
		}
		ready = 1;
	}
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	memcpy(buf, data + 1, size - 1);
	size--;
	nonce = dnscrypt_answer_nonce(buf, size);
	CHECK(!nonce || (nonce == buf + DNSCRYPT_MAGIC_LEN && size >= DNSCRYPT_ANSWER_HDR));
	n = dnscrypt_open(&sess[data[0] & 1], keys.nonce, buf, size);
	if (n < 0)
		return 0;
	CHECK(nonce && (size_t)n + DNSCRYPT_ANSWER_HDR + DNSCRYPT_MAC_LEN + 1 <= size);
	(void)dns_answer_inspect(buf, (size_t)n, &ai);
	return 0;
}
