#include "config.h"
/* fuzz_dnscrypt_cert.c - a DNSCrypt certificate answer (dnscrypt.c): the
 * input is the DNS message a server sent to the TXT query; the best
 * certificate is picked with the fixed provider key (dnscrypt_fuzz.h) at
 * FUZZ_NOW, and a session made from it as dns_up_crypt.c does. The input
 * is also parsed as one bare certificate. Checks: the tally adds up, a
 * pick is current, of a known system, and only made when one was valid. */
#include <errno.h>
#include <string.h>

#include "dnscrypt_fuzz.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static struct fuzz_keys keys;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnscrypt_cert best, c;
	struct dnscrypt_tally t;
	struct dnscrypt_session s;
	int rc;

	if (!ready) {
		if (sodium_init() < 0)
			return 0;
		fuzz_keys(&keys);
		ready = 1;
	}
	rc = dnscrypt_certs_pick(data, size, keys.provider_pk, FUZZ_NOW, &best, &t);
	CHECK(t.txt == t.form + t.es + t.sig + t.time + t.valid);
	CHECK(rc != 0 || t.valid > 0);
	CHECK(rc != -ENOENT ||
	      t.valid == 0); /* -EBADMSG: the rest did not parse, whatever came before */
	CHECK(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
	if (rc == 0) {
		CHECK(dnscrypt_cert_current(&best, FUZZ_NOW));
		CHECK(best.es == DNSCRYPT_ES_XSALSA20 || best.es == DNSCRYPT_ES_XCHACHA20);
		if (dnscrypt_session_init(&s, &best, keys.client_pk, keys.client_sk) == 0)
			CHECK(s.serial == best.serial && s.es == best.es);
	}
	rc = dnscrypt_cert_parse(data, size, keys.provider_pk, &c);
	CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -EPERM);
	CHECK(rc != 0 || (size >= DNSCRYPT_CERT_LEN && size <= DNSCRYPT_CERT_MAX));
	return 0;
}
