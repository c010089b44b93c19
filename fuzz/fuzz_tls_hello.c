/* fuzz_tls_hello.c - tls_hello_parse() on arbitrary bytes, checking what
 * it reports: -EAGAIN only when the message is longer than the input, SNI
 * and ALPN within their bounds and alphabets (an SNI that is no plain host
 * name escaped as \DDD). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[TLS_HELLO_SNI_MAX + 1];
	struct tls_hello h;
	int rc = tls_hello_parse(data, size, &h);

	if (rc == -EAGAIN && h.need <= size)
		abort();
	if (rc == 0) {
		if (h.need > size || h.alpn_count > TLS_HELLO_ALPN_MAX)
			abort();
		if (strlen(h.sni) > TLS_HELLO_SNI_TEXT_MAX || (!h.has_sni && h.sni[0]))
			abort();
		if (h.has_sni && !h.sni_invalid &&
		    !tls_hello_host_valid((const uint8_t *)h.sni, strlen(h.sni), host))
			abort();
		for (const char *c = h.sni; h.sni_invalid && *c; c++) /* escaped, lowercase */
			if (*c < 0x21 || *c > 0x7e || (*c >= 'A' && *c <= 'Z') ||
			    (*c == '\\' && (strspn(c + 1, "0123456789") < 3 || c[1] > '2')))
				abort();
		for (size_t i = 0; i < h.alpn_count; i++)
			if (strlen(h.alpn[i]) > TLS_HELLO_ALPN_LEN)
				abort();
	}
	if (tls_hello_host_valid(data, size, host) && strlen(host) > TLS_HELLO_SNI_MAX)
		abort();
	return 0;
}
